package staging

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/plugins/tiktok"
)

// A rebuilt staging partition that breaks its dataset's suite is held: it
// is quarantined whole with its validation, and the previous version stays
// in staging; the design's TikTok daily suite ships and passes on good data.
func TestPartitionsBreakingTheirSuiteAreHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLake(t, backends["folder+sqlite"])
	_, err := l.p.Plugins.Install(ctx, plugintest.Build(t, "plugins/quality-ge/cmd/bedrot-validator-quality-ge"))
	require.NoError(t, err)
	suites := t.TempDir()
	shipped, err := os.ReadFile(filepath.Join("..", "..", "config", "suites", "staging.streaming.tiktok_video_daily.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(suites, "staging.streaming.tiktok_video_daily.json"), shipped, 0o644))
	l.deps.Quality = &quality.Service{Store: l.st, Meta: l.meta, Plugins: l.p.Plugins, SuitesDir: suites}
	opts := Options{Domains: []string{"streaming"}}

	w := &rawWriter{l: l}
	w.write(t, "tiktok", "videos", tiktok.VideosSchema,
		video("A", "2026-01-01T08:00:00Z", "2026-01-01T20:00:00Z", 100, 10, 1, 0))
	w.write(t, "tiktok", "videos", tiktok.VideosSchema,
		video("A", "2026-01-01T08:00:00Z", "2026-01-02T20:00:00Z", 150, 12, 1, 0))
	res, err := Build(ctx, l.deps, opts)
	require.NoError(t, err)
	require.Zero(t, res.Held, "the shipped suite passes on good data")
	before := manifestOf(t, l, "staging.streaming.tiktok_video_daily")
	require.NotEmpty(t, before)
	vals, err := l.meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: "staging.streaming.tiktok_video_daily"})
	require.NoError(t, err)
	require.NotEmpty(t, vals)

	// A stricter suite the next build's data breaks: no day may gain views.
	require.NoError(t, os.WriteFile(filepath.Join(suites, "staging.streaming.tiktok_video_daily.json"),
		[]byte(`[{"expect_column_values_to_be_between": {"column": "views", "max_value": 0}}]`), 0o644))
	w.write(t, "tiktok", "videos", tiktok.VideosSchema,
		video("A", "2026-01-01T08:00:00Z", "2026-01-03T20:00:00Z", 400, 20, 1, 0))
	res, err = Build(ctx, l.deps, opts)
	require.NoError(t, err)
	require.Equal(t, 1, res.Held)
	var held PartitionResult
	for _, p := range res.Partitions {
		if p.Action == Held {
			held = p
		}
	}
	require.Equal(t, "staging.streaming.tiktok_video_daily", held.Dataset)
	require.True(t, strings.Contains(held.Key, "/_quarantine/"), held.Key)
	require.NotEmpty(t, held.Validation)
	require.Equal(t, before, manifestOf(t, l, "staging.streaming.tiktok_video_daily"), "the previous version stays in staging")
	q, err := l.meta.ListFiles(ctx, "quarantine.staging")
	require.NoError(t, err)
	require.Len(t, q, 2, "the held file and its reason, listed")
	reason := readKey(t, l, held.Key+".reason.json")
	require.Contains(t, reason, `"validation"`)
	require.Contains(t, reason, "breaks its expectation suite")
}

func readKey(t *testing.T, l *lake, key string) string {
	t.Helper()
	obj, err := l.st.Open(context.Background(), key)
	require.NoError(t, err)
	defer obj.Close()
	b := make([]byte, obj.Size())
	_, err = obj.ReadAt(b, 0)
	require.NoError(t, err)
	return string(b)
}
