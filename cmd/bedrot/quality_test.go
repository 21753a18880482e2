package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
)

func TestQualityRunAndResults(t *testing.T) {
	t.Parallel()
	suites, err := filepath.Abs(filepath.Join("..", "..", "config", "suites"))
	require.NoError(t, err)
	c := newCLI(t, "BEDROT_QUALITY_SUITES_DIR="+suites)
	c.setupLake()
	c.ok("plugin", "install", plugintest.Build(t, "plugins/quality-ge/cmd/bedrot-validator-quality-ge"))
	p, _ := export(t, t.TempDir(), "DistroKid_q.tsv", exportgen.Options{Rows: 3000, Seed: 9})
	c.ok("ingest", "distrokid", p)

	// -o json prints the GX 1.x validation result itself.
	out := c.ok("quality", "run", "raw.distrokid.earnings", "-o", "json")
	var doc struct {
		Success    bool `json:"success"`
		Statistics struct {
			Evaluated int `json:"evaluated_expectations"`
		} `json:"statistics"`
		Results []map[string]any `json:"results"`
		Meta    map[string]any   `json:"meta"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.True(t, doc.Success)
	require.Equal(t, len(doc.Results), doc.Statistics.Evaluated)
	require.Positive(t, doc.Statistics.Evaluated)
	require.Equal(t, 1.0, doc.Meta["data_quality_score"])

	// A file that breaks its suite: exit 5, and the text says what failed.
	csv := filepath.Join(t.TempDir(), "daily.csv")
	require.NoError(t, os.WriteFile(csv, []byte("video_id,view_count\n731,5\n,3\n733,-2\n"), 0o644))
	r := c.run("quality", "run", "--suite", filepath.Join(suites, "staging.tiktok_daily_metrics.json"), csv)
	require.Equal(t, 5, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "daily.csv: FAILED against suite staging.tiktok_daily_metrics")
	require.Contains(t, r.stdout, "FAIL expect_column_values_to_be_between view_count: 1 of 3 unexpected (33.33%), e.g. [-2]")
	require.Contains(t, r.stdout, "FAIL expect_column_values_to_not_be_null video_id: 1 of 3 unexpected")

	// A dataset without a suite is a usage error naming the file to write.
	r = c.run("quality", "run", "raw.distrokid.nothing")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, filepath.Join(suites, "raw.distrokid.nothing.json"))

	// The ingest validated its payload before commit (recorded with its
	// run), the manual run recorded one more; files are not recorded.
	list := c.json("quality", "results")
	items := list["items"].([]any)
	require.Len(t, items, 2, "files are not recorded, datasets are")
	item := items[0].(map[string]any)
	require.Equal(t, "raw.distrokid.earnings", item["dataset"])
	require.Equal(t, true, item["success"])
	require.Empty(t, item["run_id"], "the newest is the manual run")
	require.NotEmpty(t, items[1].(map[string]any)["run_id"], "the ingest's validation names its run")
	one := c.ok("quality", "results", item["id"].(string))
	require.Contains(t, one, "raw.distrokid.earnings: PASSED against suite raw.distrokid.earnings")
	docs := "file://" + filepath.Join(c.lake, "raw", "source=distrokid", "_datadocs", "earnings", item["id"].(string)+".html")
	require.Contains(t, one, "Data docs: "+docs)
	require.FileExists(t, strings.TrimPrefix(docs, "file://"))
}
