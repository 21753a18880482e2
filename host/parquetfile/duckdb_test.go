package parquetfile

import (
	"database/sql"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
	"github.com/stretchr/testify/require"
)

// These tests read our files with a real DuckDB (linked through cgo), the
// engine users will point at the raw zone.

func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// writeParquetFile writes batches to path, creating its directories.
func writeParquetFile(t *testing.T, path string, s sdk.Schema, opts Options, batches ...*sdk.RecordBatch) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := NewWriter(f, s, opts)
	require.NoError(t, err)
	for _, b := range batches {
		require.NoError(t, w.Write(b))
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
}

// decimalString renders an unscaled value the way DuckDB prints a DECIMAL.
func decimalString(unscaled *big.Int, scale int) string {
	neg := unscaled.Sign() < 0
	digits := new(big.Int).Abs(unscaled).String()
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	s := digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	require.NoError(t, err, query)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for _, v := range vals {
			if v.Valid {
				out = append(out, v.String)
			} else {
				out = append(out, "NULL")
			}
		}
	}
	require.NoError(t, rows.Err())
	return out
}

func TestDuckDBReadsHivePartitionedFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	kv := map[string]string{"bedrot.run_id": "01JDRUN0000000000000000000", "bedrot.source": "distrokid", "bedrot.schema": "distrokid.earnings/v2"}

	// Partition 1: 300k generated rows in 100k-row groups.
	rows := distroKidRows(300_000, 5)
	day1 := filepath.Join(root, "raw", "source=distrokid", "date=2026-11-26", "part-00000-0193a1b2.zstd.parquet")
	writeParquetFile(t, day1, distroKidSchema, Options{RowGroupRows: 100_000, KeyValue: kv}, batchesOf(rows, 4096)...)

	// Partition 2: hand-picked values with 12 decimals, extremes and a date before 1970.
	special := []distroKidRow{
		{DateInserted: 20783, ReportingDate: -1, SaleMonth: -25567, Store: "Spotify", Artist: "Björk", Title: "Jóga", ISRC: "GBAAA9700001",
			UPC: "", Quantity: -3, TeamPercentage: 10000, SourceType: "Song", Country: "IS",
			Withheld: -690000000000, Earnings: 31452187009900, Recoup: 999999999999999999},
		{DateInserted: 20783, ReportingDate: 0, SaleMonth: 20423, Store: "", Artist: "日本語", Title: "", ISRC: "JPAAA2600001",
			UPC: "190000000000", Quantity: 1, TeamPercentage: -99999, SourceType: "Album", Country: "JP",
			Withheld: -999999999999999999, Earnings: 999999999999999999, Recoup: -1},
	}
	day2 := filepath.Join(root, "raw", "source=distrokid", "date=2026-11-27", "part-00000-0193a1b3.zstd.parquet")
	writeParquetFile(t, day2, distroKidSchema, Options{KeyValue: kv}, batchesOf(special, 4096)...)

	db := openDuckDB(t)
	glob := filepath.Join(root, "raw", "*", "*", "*.parquet")
	from := fmt.Sprintf("read_parquet('%s', hive_partitioning = true)", glob)

	// Types as DuckDB sees them, including the Hive partition columns.
	got := queryStrings(t, db, `SELECT typeof(date_inserted), typeof(sale_month), typeof(store), typeof(quantity),
		typeof(team_percentage), typeof(earnings), typeof(recoup), typeof(upc), typeof(source), typeof("date") FROM `+from+` LIMIT 1`)
	require.Equal(t, []string{"DATE", "DATE", "VARCHAR", "BIGINT", "DECIMAL(5,2)", "DECIMAL(18,12)", "DECIMAL(18,12)", "VARCHAR", "VARCHAR", "DATE"}, got)

	// Column order is the declared order, then the partition columns (DuckDB
	// lists those by name).
	got = queryStrings(t, db, `SELECT column_name FROM (DESCRIBE SELECT * FROM `+from+`)`)
	var want []string
	for _, f := range distroKidSchema.Fields {
		want = append(want, f.Name)
	}
	require.Equal(t, append(want, "date", "source"), got)

	// Decimal sums are exact: compare with big.Int sums as strings.
	sumOf := func(rs []distroKidRow, pick func(distroKidRow) (int64, bool)) string {
		total := new(big.Int)
		for _, r := range rs {
			if v, ok := pick(r); ok {
				total.Add(total, big.NewInt(v))
			}
		}
		return decimalString(total, 12)
	}
	earnings := func(r distroKidRow) (int64, bool) { return r.Earnings, true }
	withheld := func(r distroKidRow) (int64, bool) { return r.Withheld, true }
	recoup := func(r distroKidRow) (int64, bool) { return r.Recoup, r.Recoup != 0 }
	var quantity, upcs int64
	for _, r := range rows {
		quantity += r.Quantity
		if r.UPC != "" {
			upcs++
		}
	}
	got = queryStrings(t, db, `SELECT "date"::VARCHAR, count(*)::VARCHAR, sum(earnings)::VARCHAR, sum(songwriter_royalties_withheld)::VARCHAR,
		sum(recoup)::VARCHAR, sum(quantity)::VARCHAR, count(upc)::VARCHAR FROM `+from+` GROUP BY ALL ORDER BY 1`)
	require.Equal(t, []string{
		"2026-11-26", "300000", sumOf(rows, earnings), sumOf(rows, withheld), sumOf(rows, recoup), fmt.Sprint(quantity), fmt.Sprint(upcs),
		"2026-11-27", "2", sumOf(special, earnings), sumOf(special, withheld), sumOf(special, recoup), "-2", "1",
	}, got)

	// Individual values, exactly.
	got = queryStrings(t, db, `SELECT date_inserted::VARCHAR, reporting_date::VARCHAR, sale_month::VARCHAR, store, artist, title, upc,
		team_percentage::VARCHAR, songwriter_royalties_withheld::VARCHAR, earnings::VARCHAR, recoup::VARCHAR
		FROM `+from+` WHERE "date" = DATE '2026-11-27' ORDER BY quantity`)
	require.Equal(t, []string{
		"2026-11-26", "1969-12-31", "1900-01-01", "Spotify", "Björk", "Jóga", "NULL",
		"100.00", "-0.690000000000", "31.452187009900", "999999.999999999999",
		"2026-11-26", "1970-01-01", "2025-12-01", "", "日本語", "", "190000000000",
		"-999.99", "-999999.999999999999", "999999.999999999999", "-0.000000000001",
	}, got)

	// Footer: codec, row groups, statistics and key/value metadata.
	got = queryStrings(t, db, `SELECT DISTINCT compression FROM parquet_metadata('`+day1+`')`)
	require.Equal(t, []string{"ZSTD"}, got)
	got = queryStrings(t, db, `SELECT DISTINCT row_group_num_rows::VARCHAR FROM parquet_metadata('`+day1+`') ORDER BY 1`)
	require.Equal(t, []string{"100000"}, got)
	got = queryStrings(t, db, `SELECT stats_min_value, stats_max_value, stats_null_count::VARCHAR FROM parquet_metadata('`+day2+`') WHERE path_in_schema = 'earnings'`)
	require.Equal(t, []string{"31.452187009900", "999999.999999999999", "0"}, got)
	got = queryStrings(t, db, `SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata('`+day2+`') ORDER BY 1`)
	require.Equal(t, []string{
		"bedrot.run_id", kv["bedrot.run_id"],
		"bedrot.schema", kv["bedrot.schema"],
		"bedrot.source", kv["bedrot.source"],
	}, got)
}

func TestDuckDBReadsEveryType(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "all.parquet")
	writeParquetFile(t, path, allTypesSchema, Options{}, buildBatch(t, allTypesSchema, allTypesRows))
	db := openDuckDB(t)
	from := fmt.Sprintf("read_parquet('%s')", path)

	got := queryStrings(t, db, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM `+from+`)`)
	require.Equal(t, []string{
		"title", "VARCHAR", "quantity", "BIGINT", "earnings", "DECIMAL(18,12)", "sale_date", "DATE",
		"inserted_at", "TIMESTAMP WITH TIME ZONE", "ratio", "DOUBLE", "is_album", "BOOLEAN", "team_pct", "DECIMAL(5,2)",
		"upc", "VARCHAR", "streams", "BIGINT", "recoup", "DECIMAL(18,12)", "paid_on", "DATE",
		"seen_at", "TIMESTAMP WITH TIME ZONE", "rate", "DOUBLE", "explicit", "BOOLEAN", "fee", "DECIMAL(9,4)",
	}, got)

	// Rows 0 and 3. Row 3's timestamp is math.MaxInt64 micros, which DuckDB
	// reads as TIMESTAMPTZ 'infinity' (epoch_us gives NULL); parquet-go reads
	// it back bit for bit (TestWriterRoundTripsEveryType).
	got = queryStrings(t, db, `SELECT title, quantity::VARCHAR, earnings::VARCHAR, sale_date::VARCHAR, epoch_us(inserted_at)::VARCHAR,
		ratio::VARCHAR, is_album::VARCHAR, team_pct::VARCHAR, upc, streams::VARCHAR, recoup::VARCHAR, paid_on::VARCHAR,
		epoch_us(seen_at)::VARCHAR, rate::VARCHAR, explicit::VARCHAR, fee::VARCHAR FROM `+from+` WHERE quantity IN (0, -1) ORDER BY quantity DESC`)
	require.Equal(t, []string{
		"Canción ñ — 日本語 🎵", "0", "-0.690000000000", "1969-12-31", "-1", "0.5", "true", "100.00",
		"190000000001", "42", "31.452187009900", "1900-01-01", "-2208988800000000", "1.25", "false", "99999.9999",
		"Ω", "-1", "0.000000000001", "9999-12-31", "NULL", "-1e+300", "false", "0.01",
		"NULL", "0", "-999999.999999999999", "1970-01-01", "0", "0.0", "NULL", "0.0000",
	}, got)

	// Nulls, empty strings and extremes of the other rows.
	got = queryStrings(t, db, `SELECT count(upc)::VARCHAR, count(*) FILTER (WHERE upc = '')::VARCHAR, count(recoup)::VARCHAR,
		min(quantity)::VARCHAR, max(quantity)::VARCHAR, min(earnings)::VARCHAR, max(earnings)::VARCHAR, min(sale_date)::VARCHAR FROM `+from)
	require.Equal(t, []string{"2", "1", "3", "-9223372036854775808", "9223372036854775807",
		"-999999.999999999999", "999999.999999999999", "1969-12-31"}, got)
}
