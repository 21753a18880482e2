package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
)

func TestQueryReadsDatasetsReadOnly(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	p, sum := export(t, t.TempDir(), "DistroKid_query.tsv", exportgen.Options{Rows: 4000, Seed: 21})
	c.ok("ingest", "distrokid", p)

	// The exact decimal total of the export, through DuckDB, as CSV.
	out := c.ok("query", "--format", "csv", "SELECT count(*) AS n, CAST(sum(earnings_usd) AS VARCHAR) AS usd FROM raw.distrokid_earnings")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "n,usd", lines[0])
	n, usd, _ := strings.Cut(lines[1], ",")
	require.Equal(t, "4000", n)
	require.Equal(t, addE12(t, sum.Earnings), addE12(t, usd))

	// -o json gives JSON rows; the quoted dataset name works too.
	out = c.ok("query", "-o", "json", `SELECT count(DISTINCT isrc) AS isrcs FROM "raw.distrokid.earnings"`)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	require.Len(t, rows, 1)
	require.Positive(t, rows[0]["isrcs"])

	// Writes are refused as a usage error, and nothing is written.
	r := c.run("query", "COPY (SELECT 1) TO 'x.csv'")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "only read-only queries are allowed")
	r = c.run("query", "SELECT 1; SELECT 2")
	require.Equal(t, 2, r.code, r.stderr)
	r = c.run("query", "SELECT * FROM raw.nothing_here")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "nothing_here")
}
