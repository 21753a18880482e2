package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/publish"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/sdk"
)

var (
	trackSchema = sdk.Schema{Fields: []sdk.Field{
		{Name: "isrc", Type: sdk.TypeString}, {Name: "title", Type: sdk.TypeString}, {Name: "released", Type: sdk.TypeDate, Nullable: true},
	}}
	royaltySchema = sdk.Schema{Fields: []sdk.Field{
		{Name: "isrc", Type: sdk.TypeString}, {Name: "sale_month", Type: sdk.TypeDate},
		{Name: "earnings_usd", Type: sdk.TypeDecimal, Precision: 18, Scale: 12}, {Name: "quantity", Type: sdk.TypeInt64},
	}}
)

type lake struct {
	st   storage.Store
	meta metastore.Store
	seq  int
}

func newLake(t *testing.T) *lake {
	dir := t.TempDir()
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	meta, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { meta.Close() })
	return &lake{st: st, meta: meta}
}

// put writes rows as one Parquet file of dataset, replacing its files.
func (l *lake) put(t *testing.T, dataset string, s sdk.Schema, fill func(b *sdk.BatchBuilder)) {
	t.Helper()
	b := sdk.NewBatchBuilder(dataset, s)
	fill(b)
	var buf bytes.Buffer
	w, err := parquetfile.NewWriter(&buf, s, parquetfile.Options{})
	require.NoError(t, err)
	require.NoError(t, w.Write(b.Batch()))
	require.NoError(t, w.Close())
	l.seq++
	key := fmt.Sprintf("curated/%s/part-%d.parquet", dataset, l.seq)
	data := buf.Bytes()
	_, err = l.st.Put(context.Background(), key, bytes.NewReader(data))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	batch := "only" // the same batch id each time: Replace swaps the files
	_, err = l.meta.Commit(context.Background(), metastore.Commit{RunID: fmt.Sprintf("run-%d", l.seq), Replace: true,
		Batches: []metastore.Batch{{Dataset: dataset, ID: batch, RunID: fmt.Sprintf("run-%d", l.seq), Rows: int64(b.Len())}},
		Files: []metastore.File{{Dataset: dataset, Key: key, Size: int64(len(data)), Digest: hex.EncodeToString(sum[:]), Rows: int64(b.Len()),
			BatchID: batch, RunID: fmt.Sprintf("run-%d", l.seq)}}})
	require.NoError(t, err)
}

func day(s string) int32 {
	d, _ := time.Parse(time.DateOnly, s)
	return sdk.DaysSinceEpoch(d)
}

func (l *lake) fill(t *testing.T, months int) {
	l.put(t, "curated.tracks", trackSchema, func(b *sdk.BatchBuilder) {
		for i, title := range []string{"Tidewater", "Salt Lines", "Þögn"} {
			b.AppendString(0, []byte(fmt.Sprintf("QZWFV26001%02d", i)))
			b.AppendString(1, []byte(title))
			if i == 2 {
				b.AppendNull(2)
			} else {
				b.AppendInt32(2, day("2026-01-15"))
			}
			b.EndRow()
		}
	})
	l.put(t, "curated.royalties_monthly", royaltySchema, func(b *sdk.BatchBuilder) {
		for m := range months {
			for i := range 3 {
				b.AppendString(0, []byte(fmt.Sprintf("QZWFV26001%02d", i)))
				b.AppendInt32(1, day(fmt.Sprintf("2026-%02d-01", m+1)))
				b.AppendInt64(2, 1_234_567_890_123) // 1.234567890123 USD
				b.AppendInt64(3, int64(10*(i+1)))
				b.EndRow()
			}
		}
	})
}

var tables = []publish.Table{
	{Name: "dim_track", Dataset: "curated.tracks", PrimaryKey: []string{"isrc"}},
	{Name: "fact_royalties_monthly", Dataset: "curated.royalties_monthly", PrimaryKey: []string{"isrc", "sale_month"},
		ForeignKeys: []publish.ForeignKey{{Columns: []string{"isrc"}, RefTable: "dim_track", RefColumns: []string{"isrc"}}}},
}

func psql(t *testing.T, query string) string {
	t.Helper()
	out, err := exec.Command("psql", pgtest.URL(), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query).CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.TrimSpace(string(out))
}

func schemaFor(t *testing.T) (string, string) {
	schema := fmt.Sprintf("analytics_test_%d", time.Now().UnixNano())
	role := schema + "_bi"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgtest.URL())
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			_, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
			conn.Close(context.Background())
		}
	})
	return schema, role
}

// Marts land as a star schema a real client reads through stable views.
func TestPublishStarSchemaReadByPsql(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	l.fill(t, 4)
	schema, role := schemaFor(t)
	opts := publish.Options{URL: pgtest.URL(), Schema: schema, ReaderRole: role, DateDimension: []string{"fact_royalties_monthly.sale_month"}}
	res, err := publish.Publish(context.Background(), l.st, l.meta, tables, opts)
	require.NoError(t, err)
	require.EqualValues(t, 12, res[1].Rows)
	require.Equal(t, "v_royalties_monthly", res[1].View)

	// Exact decimals, the dimension join and the date dimension, by psql.
	require.Equal(t, "12|14.814814681476|240", psql(t, "SELECT count(*), sum(earnings_usd), sum(quantity) FROM "+schema+".v_royalties_monthly"))
	require.Equal(t, "Þögn|120", psql(t, "SELECT t.title, sum(f.quantity) FROM "+schema+".v_royalties_monthly f JOIN "+schema+
		".v_track t USING (isrc) WHERE t.released IS NULL GROUP BY 1"))
	require.Equal(t, "2026-01-01|2026-04-01|91", psql(t, "SELECT min(date), max(date), count(*) FROM "+schema+".v_date"))
	// Keys are declared; the BI role may read but not write.
	require.Equal(t, "PRIMARY KEY|FOREIGN KEY", psql(t, "SELECT string_agg(constraint_type, '|' ORDER BY constraint_type DESC) FROM information_schema.table_constraints "+
		"WHERE table_schema = '"+schema+"' AND table_name = 'fact_royalties_monthly' AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"))
	require.Equal(t, "t|f", psql(t, fmt.Sprintf("SELECT has_table_privilege('%[1]s', '%[2]s.v_royalties_monthly', 'SELECT'), has_table_privilege('%[1]s', '%[2]s.v_royalties_monthly', 'INSERT')", role, schema)))
}

// Republishing while a reader queries the views: every read sees the old
// or the new data whole, never an empty, half-loaded or missing table.
func TestRepublishIsAtomicForReaders(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	l.fill(t, 2)
	schema, role := schemaFor(t)
	opts := publish.Options{URL: pgtest.URL(), Schema: schema, ReaderRole: role}
	ctx := context.Background()
	_, err := publish.Publish(ctx, l.st, l.meta, tables, opts)
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, pgtest.URL())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var stop atomic.Bool
	var wg sync.WaitGroup
	seen := map[int64]int{}
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			var n int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".v_royalties_monthly").Scan(&n); err != nil {
				readErr = err
				return
			}
			seen[n]++
		}
	}()
	for round := range 4 {
		l.fill(t, 3+round)
		_, err := publish.Publish(ctx, l.st, l.meta, tables, opts)
		require.NoError(t, err)
	}
	stop.Store(true)
	wg.Wait()
	require.NoError(t, readErr, "a reader never fails during a swap")
	t.Logf("reads by row count: %v", seen)
	for n := range seen {
		require.Contains(t, []int64{6, 9, 12, 15, 18}, n, "reads see whole publications only")
	}
	require.Equal(t, "18", psql(t, "SELECT count(*) FROM "+schema+".v_royalties_monthly"))
	require.Equal(t, "", psql(t, "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = '"+schema+"' AND table_name LIKE '%load%'"),
		"no load table is left behind")
}
