package marts_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/marts"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/staging"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/sdk"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// one runs a query that returns one value.
func one(t *testing.T, eng *sqlengine.Engine, q string) string {
	t.Helper()
	var out string
	_, err := eng.Query(context.Background(), q, func(r *sqlengine.Rows) error {
		for r.Next() {
			out = strings.TrimSpace(strings.Join(strings.Fields(strings.TrimSpace(valueText(r.Values()[0]))), " "))
		}
		return r.Err()
	})
	require.NoError(t, err, q)
	return out
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	}
	b, _ := sqlNullString(v)
	return b
}

func sqlNullString(v any) (string, error) {
	var s sql.NullString
	err := s.Scan(v)
	return s.String, err
}

func TestRoyaltiesMonthlyVersionsAndIdempotence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	meta, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { meta.Close() })
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(dir, "plugins")}, meta)
	_, err = host.Install(ctx, plugintest.Build(t, "plugins/distrokid/cmd/bedrot-source-distrokid"))
	require.NoError(t, err)
	p := &pipeline.Pipeline{Store: st, Meta: meta, Plugins: host}
	var files []string
	for _, f := range []string{"DistroKid_2026_catalog_restated.tsv", "DistroKid_current15_quoted_utf8.tsv"} {
		abs, err := filepath.Abs(filepath.Join("..", "..", "examples", "distrokid", f))
		require.NoError(t, err)
		files = append(files, abs)
	}
	_, err = p.Ingest(ctx, pipeline.Request{Source: "distrokid", Config: sdk.Config{"files": strings.Join(files, string(os.PathListSeparator))}})
	require.NoError(t, err)
	eng, err := sqlengine.New(sqlengine.Options{Store: st, Meta: meta})
	require.NoError(t, err)
	_, err = staging.Build(ctx, staging.Deps{Store: st, Meta: meta, Engine: eng}, staging.Options{})
	require.NoError(t, err)

	m, err := marts.Parse(filepath.Join("..", "..", "config", "marts", "royalties_monthly.sql"), mustRead(t, filepath.Join("..", "..", "config", "marts", "royalties_monthly.sql")))
	require.NoError(t, err)
	deps := marts.Deps{Store: st, Meta: meta, Engine: eng}
	res, err := marts.Build(ctx, deps, []marts.Mart{m})
	require.NoError(t, err)
	require.True(t, res[0].Built)

	// The mart's total equals the sum of every DistroKid input row, to the
	// cent and beyond: the restated month is neither dropped nor doubled.
	input := one(t, eng, `SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM raw.distrokid_earnings`)
	require.Equal(t, input, one(t, eng, `SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM curated.royalties_monthly`))
	require.Equal(t, "3", one(t, eng, `SELECT count(*) FROM curated.royalties_monthly WHERE restated`), "the three restated September rows")

	// Unchanged inputs: nothing is rebuilt, no file changes.
	before, err := meta.ListFiles(ctx, m.Dataset())
	require.NoError(t, err)
	res, err = marts.Build(ctx, deps, []marts.Mart{m})
	require.NoError(t, err)
	require.False(t, res[0].Built)
	after, err := meta.ListFiles(ctx, m.Dataset())
	require.NoError(t, err)
	require.Equal(t, before, after)

	// A new version is published beside the old one, which stays readable.
	v2 := m
	v2.Version = "1.1"
	v2.SQL = strings.Replace(m.SQL, "-- version: 1.0", "-- version: 1.1", 1)
	v2.SQL = strings.Replace(v2.SQL, "max(reporting_date) AS last_reported", "max(reporting_date) AS last_reported,\n    min(reporting_date) AS first_reported", 1)
	res, err = marts.Build(ctx, deps, []marts.Mart{v2})
	require.NoError(t, err)
	require.True(t, res[0].Built)
	require.True(t, strings.HasPrefix(res[0].Key, "curated/mart=royalties_monthly/version=v1.1/"), res[0].Key)
	require.NotEmpty(t, one(t, eng, `SELECT CAST(min(first_reported) AS VARCHAR) FROM curated.royalties_monthly`), "the current name reads v1.1")
	require.Equal(t, input, one(t, eng, `SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM curated.royalties_monthly_v1_0`), "v1.0 stays readable")
	_, err = eng.Query(ctx, `SELECT first_reported FROM curated.royalties_monthly_v1_0`, func(*sqlengine.Rows) error { return nil })
	require.Error(t, err, "v1.0 is the old definition")
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestParseNeedsAVersion(t *testing.T) {
	t.Parallel()
	_, err := marts.Parse("config/marts/x.sql", []byte("SELECT 1"))
	require.ErrorContains(t, err, `-- version: "" must look like 1.0`)
	m, err := marts.Parse("config/marts/track_performance.sql", []byte("-- version: 2.3\n-- primary_key: isrc, date\nSELECT 1"))
	require.NoError(t, err)
	require.Equal(t, "track_performance", m.Name)
	require.Equal(t, []string{"isrc", "date"}, m.PrimaryKey)
	require.Equal(t, "curated.track_performance.v2_3", m.Dataset())
}
