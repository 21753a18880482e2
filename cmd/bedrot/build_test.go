package main_test

import (
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pgtest"
)

// From the sample exports to BI: staging and the royalties mart are built,
// a rebuild changes nothing, and DuckDB over curated/ and psql over the
// published analytics view see the same total as the raw exports.
func TestBuildAndPublishSeeTheSameTotals(t *testing.T) {
	t.Parallel()
	marts, err := filepath.Abs(filepath.Join("..", "..", "config", "marts"))
	require.NoError(t, err)
	schema := fmt.Sprintf("analytics_cli_%d", time.Now().UnixNano())
	role := "bedrot_bi"
	t.Cleanup(func() {
		_ = exec.Command("psql", pgtest.URL(), "-qc", "DROP SCHEMA IF EXISTS "+schema+" CASCADE").Run()
	})
	c := newCLI(t, "BEDROT_CURATED_MARTS_DIR="+marts, "BEDROT_CURATED_ANALYTICS_URL="+pgtest.URL(), "BEDROT_CURATED_ANALYTICS_SCHEMA="+schema)
	c.setupLake()
	// The pipeline's later steps run after the ingest when asked.
	out := c.ok("ingest", "distrokid", "../../examples/distrokid/DistroKid_2026_catalog_restated.tsv", "../../examples/distrokid/DistroKid_current15_quoted_utf8.tsv",
		"--then", "build")
	require.Contains(t, out, "rebuilt    staging.royalties.earnings year=2026")
	require.Contains(t, out, "royalties_monthly v1.0")
	again := c.ok("build")
	require.Contains(t, again, "Staging: 0 partition(s) rebuilt")
	require.Contains(t, again, "up to date")

	// Lineage joins up from the mart back to the source.
	lin := c.ok("lineage", "curated.royalties_monthly")
	for _, want := range []string{"build.mart.royalties_monthly", "staging.royalties.earnings", "build.staging", "raw.distrokid.earnings", "ingest.distrokid", "(source) distrokid"} {
		require.Contains(t, lin, want)
	}

	total := func(q string) string {
		return strings.Split(strings.TrimSpace(c.ok("query", "--format", "csv", q)), "\n")[1]
	}
	raw := total("SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM raw.distrokid_earnings")
	require.Equal(t, raw, total("SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM curated.royalties_monthly"))

	// DuckDB itself, reading curated/ with hive partitioning, agrees.
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	var direct string
	require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM read_parquet('%s', hive_partitioning = true) WHERE version = 'v1.0'`,
		filepath.Join(c.lake, "curated", "mart=royalties_monthly", "*", "*.parquet"))).Scan(&direct))
	require.Equal(t, raw, direct)

	c.ok("publish")
	psql, err := exec.Command("psql", pgtest.URL(), "-XAtc", "SELECT sum(earnings_usd) FROM "+schema+".v_royalties_monthly").CombinedOutput()
	require.NoError(t, err, string(psql))
	require.Equal(t, raw, strings.TrimSpace(string(psql)), "psql over analytics sees the same total")
	keys, err := exec.Command("psql", pgtest.URL(), "-XAtc", "SELECT string_agg(table_name || ':' || constraint_type, ',' ORDER BY table_name, constraint_type) "+
		"FROM information_schema.table_constraints WHERE table_schema = '"+schema+"' AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') "+
		"AND table_name IN ('dim_track', 'dim_date', 'fact_royalties_monthly')").CombinedOutput()
	require.NoError(t, err, string(keys))
	require.Equal(t, "dim_date:PRIMARY KEY,dim_track:PRIMARY KEY,fact_royalties_monthly:FOREIGN KEY,fact_royalties_monthly:FOREIGN KEY",
		strings.TrimSpace(string(keys)), "a star schema: the fact references dim_track and dim_date")
	grant, err := exec.Command("psql", pgtest.URL(), "-XAtc", "SELECT has_table_privilege('"+role+"', '"+schema+".v_royalties_monthly', 'SELECT')").CombinedOutput()
	require.NoError(t, err, string(grant))
	require.Equal(t, "t", strings.TrimSpace(string(grant)))
}
