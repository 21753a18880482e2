package parquetfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/require"
)

// mixedSchema mixes every SDK type, nullable and not, with a unique string
// column that outgrows a small dictionary and a text column that holds long
// values now and then.
var mixedSchema = sdk.Schema{Fields: []sdk.Field{
	{Name: "id", Type: sdk.TypeString},
	{Name: "seq", Type: sdk.TypeInt64},
	{Name: "note", Type: sdk.TypeString, Nullable: true},
	{Name: "amount", Type: sdk.TypeDecimal, Precision: 18, Scale: 12, Nullable: true},
	{Name: "pct", Type: sdk.TypeDecimal, Precision: 5, Scale: 2},
	{Name: "day", Type: sdk.TypeDate, Nullable: true},
	{Name: "seen_at", Type: sdk.TypeTimestamp},
	{Name: "ratio", Type: sdk.TypeFloat64, Nullable: true},
	{Name: "flag", Type: sdk.TypeBool},
	{Name: "store", Type: sdk.TypeString},
}}

const (
	mixedSeq  = 1 // column index of seq, the row's index
	mixedNote = 2
)

// mixedRows generates n deterministic rows of mixedSchema. Row i has seq i;
// every 53rd note is a distinct ~26 KB text, others are short, empty or
// NULL; ratios are multiples of 1/4, so any reader's sums are exact.
func mixedRows(n int) [][]cell {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	long := strings.Repeat("Ω long text ", 2000)
	rows := make([][]cell, n)
	for i := range rows {
		var note cell = fmt.Sprintf("note %d", r.IntN(50))
		switch {
		case i%53 == 0:
			note = fmt.Sprintf("%08d ", i) + long
		case i%5 == 0:
			note = nil
		case i%11 == 0:
			note = ""
		}
		var amount cell = r.Int64N(2*999999999999999999+1) - 999999999999999999
		if i%7 == 0 {
			amount = nil
		}
		var day cell = int32(r.IntN(40000) - 10000)
		if i%13 == 0 {
			day = nil
		}
		var ratio cell = float64(r.IntN(4001)-2000) / 4
		if i%17 == 0 {
			ratio = nil
		}
		rows[i] = []cell{
			fmt.Sprintf("ID-%04d-%0290d", i%1000, i), // 298 bytes, unique
			int64(i),
			note,
			amount,
			int64(r.IntN(2*99999+1) - 99999),
			day,
			r.Int64N(4e15) - 1e15,
			ratio,
			r.IntN(2) == 0,
			stores[r.IntN(len(stores))],
		}
	}
	return rows
}

// mixedBatchSizes are the row counts of consecutive batches, cycled: some
// cross 1000-row groups, some fill one exactly, one is empty.
var mixedBatchSizes = []int{1, 999, 1000, 1001, 0, 3, 4096, 5000, 250, 7, 2048, 1}

// mixedBatches cuts rows into batches of mixedBatchSizes.
func mixedBatches(t testing.TB, rows [][]cell) []*sdk.RecordBatch {
	var out []*sdk.RecordBatch
	for lo, i := 0, 0; lo < len(rows); i++ {
		hi := min(lo+mixedBatchSizes[i%len(mixedBatchSizes)], len(rows))
		out = append(out, buildBatch(t, mixedSchema, rows[lo:hi]))
		lo = hi
	}
	return out
}

// mixedFixture is the input of the concurrent round-trip tests.
type mixedFixture struct {
	rows    [][]cell
	batches []*sdk.RecordBatch
	opts    Options
	groups  []int64 // expected rows of every row group
}

// newMixedFixture returns 23,456 mixed rows in batches of mixedBatchSizes,
// and options for 1000-row groups with a 16 KiB dictionary bound.
func newMixedFixture(t testing.TB) mixedFixture {
	rows := mixedRows(23_456)
	f := mixedFixture{
		rows:    rows,
		batches: mixedBatches(t, rows),
		opts: Options{
			RowGroupRows:       1000,
			DictionaryMaxBytes: 16 << 10,
			KeyValue:           map[string]string{"bedrot.run_id": "01JDRUNCONC", "bedrot.source": "mixed"},
			CreatedBy:          "bedrot version test",
		},
	}
	for lo := 0; lo < len(rows); lo += 1000 {
		f.groups = append(f.groups, int64(min(1000, len(rows)-lo)))
	}
	return f
}

// withConcurrency returns opts with Concurrency n.
func withConcurrency(opts Options, n int) Options {
	opts.Concurrency = n
	return opts
}

// writeCounted writes batches like writeFile and checks Rows after each.
func writeCounted(t *testing.T, s sdk.Schema, opts Options, batches []*sdk.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, opts)
	require.NoError(t, err)
	var rows int64
	for _, b := range batches {
		require.NoError(t, w.Write(b))
		rows += int64(b.NumRows)
		require.Equal(t, rows, w.Rows())
	}
	require.NoError(t, w.Close())
	require.Equal(t, rows, w.Rows())
	return buf.Bytes()
}

func TestConcurrentWriterRoundTrip(t *testing.T) {
	t.Parallel()
	fx := newMixedFixture(t)
	sequential := writeCounted(t, mixedSchema, fx.opts, fx.batches)
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("concurrency-%d", n), func(t *testing.T) {
			t.Parallel()
			data := writeCounted(t, mixedSchema, withConcurrency(fx.opts, n), fx.batches)

			// The same rows, in the same order, through parquet-go's
			// row reader and through ours.
			f := openFile(t, data)
			require.EqualValues(t, len(fx.rows), f.NumRows())
			requireSameRows(t, fx.rows, readCells(t, f, mixedSchema))
			res := readAllCells(t, data, ReadOptions{BatchRows: 777})
			requireSameRows(t, fx.rows, res.rows)

			// Row for row, and byte for byte, what a sequential Writer writes.
			requireSameRows(t, readCells(t, openFile(t, sequential), mixedSchema), readCells(t, f, mixedSchema))
			require.True(t, bytes.Equal(sequential, data), "the file equals the sequential Writer's")

			requireMixedMetadata(t, fx, f, data)
		})
	}
}

// requireSameRows compares rows one by one, for a readable failure.
func requireSameRows(t *testing.T, want, got [][]cell) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i], got[i], "row %d", i)
	}
}

// requireMixedMetadata checks the footer of a mixedFixture file: row groups,
// chunk statistics, page index, bare page headers, dictionary fallback and
// key/value metadata.
func requireMixedMetadata(t *testing.T, fx mixedFixture, f *parquet.File, data []byte) {
	t.Helper()
	md := f.Metadata()
	var sizes []int64
	for _, rg := range md.RowGroups {
		sizes = append(sizes, rg.NumRows)
	}
	require.Equal(t, fx.groups, sizes)
	require.Equal(t, fx.opts.CreatedBy, md.CreatedBy)
	for k, v := range fx.opts.KeyValue {
		got, ok := f.Lookup(k)
		require.True(t, ok, k)
		require.Equal(t, v, got)
	}

	cols := len(mixedSchema.Fields)
	require.Len(t, f.ColumnIndexes(), len(md.RowGroups)*cols)
	require.Len(t, f.OffsetIndexes(), len(md.RowGroups)*cols)
	first := 0
	for g, rg := range md.RowGroups {
		rows := fx.rows[first : first+int(rg.NumRows)]
		for c, cc := range rg.Columns {
			name := mixedSchema.Fields[c].Name
			where := fmt.Sprintf("row group %d column %s", g, name)
			st := cc.MetaData.Statistics
			nulls := 0
			for _, row := range rows {
				if row[c] == nil {
					nulls++
				}
			}
			require.EqualValues(t, nulls, st.NullCount, where)
			require.NotEmpty(t, st.MaxValue, where)
			if c == mixedSeq {
				requireInt64LE(t, int64(first), st.MinValue)
				requireInt64LE(t, int64(first)+rg.NumRows-1, st.MaxValue)
			}

			// Page index: a column index with bounds and null counts, and an
			// offset index whose pages start at data pages without
			// statistics in their headers.
			ci := f.ColumnIndexes()[g*cols+c]
			require.NotEmpty(t, ci.MinValues, where)
			require.Len(t, ci.NullCounts, len(ci.MinValues), where)
			require.NotZero(t, cc.ColumnIndexOffset, where)
			require.NotZero(t, cc.OffsetIndexOffset, where)
			pages := f.OffsetIndexes()[g*cols+c].PageLocations
			require.Len(t, pages, len(ci.MinValues), where)
			require.Zero(t, pages[0].FirstRowIndex, where)
			if c == mixedSeq {
				// The bounds are this row group's, not those of another
				// row group encoded by the same column writers.
				requireInt64LE(t, int64(first), ci.MinValues[0])
				requireInt64LE(t, int64(first)+rg.NumRows-1, ci.MaxValues[len(ci.MaxValues)-1])
				for i, p := range pages {
					requireInt64LE(t, int64(first)+p.FirstRowIndex, ci.MinValues[i])
				}
			}
			require.Equal(t, cc.MetaData.DataPageOffset, pages[0].Offset, where)
			for _, p := range pages {
				hdr := readPageHeader(t, data, p.Offset)
				v2, ok := hdr.DataPageHeaderV2.Get()
				require.True(t, ok, where)
				require.Nil(t, v2.Statistics.MinValue, where)
				require.Nil(t, v2.Statistics.MaxValue, where)
			}
		}

		// 1000 unique 298-byte ids, and the long notes, outgrow the 16 KiB
		// dictionary: each full row group falls back to PLAIN pages.
		if rg.NumRows == 1000 {
			for _, c := range []int{0, mixedNote} {
				encodings := map[format.Encoding]bool{}
				for _, es := range rg.Columns[c].MetaData.EncodingStats {
					if es.PageType == format.DataPageV2 {
						encodings[es.Encoding] = true
					}
				}
				require.Equal(t, map[format.Encoding]bool{format.RLEDictionary: true, format.Plain: true}, encodings,
					"row group %d column %s", g, mixedSchema.Fields[c].Name)
			}
		}
		first += int(rg.NumRows)
	}
}

func TestDuckDBReadsConcurrentWriterFiles(t *testing.T) {
	t.Parallel()
	fx := newMixedFixture(t)
	want := make([]string, 0, len(fx.rows)*len(mixedSchema.Fields))
	for _, row := range fx.rows {
		want = append(want, duckDBCells(row)...)
	}
	db := openDuckDB(t)
	for _, n := range []int{2, 4} {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("mixed-%d.parquet", n))
		writeParquetFile(t, path, mixedSchema, withConcurrency(fx.opts, n), fx.batches...)
		from := fmt.Sprintf("read_parquet('%s', file_row_number = true)", path)

		// Every value of every row, in file order.
		got := queryStrings(t, db, `SELECT id, seq::VARCHAR, note, amount::VARCHAR, pct::VARCHAR,
			(day - DATE '1970-01-01')::VARCHAR, epoch_us(seen_at)::VARCHAR, (ratio * 4)::BIGINT::VARCHAR, flag::VARCHAR, store
			FROM `+from+` ORDER BY file_row_number`)
		require.Len(t, got, len(want), "concurrency %d", n)
		for i := 0; i < len(want); i += len(mixedSchema.Fields) {
			end := i + len(mixedSchema.Fields)
			require.Equal(t, want[i:end], got[i:end], "concurrency %d, row %d", n, i/len(mixedSchema.Fields))
		}

		// Row groups, statistics and key/value metadata as DuckDB sees them.
		got = queryStrings(t, db, `SELECT row_group_num_rows::VARCHAR FROM parquet_metadata('`+path+`')
			WHERE path_in_schema = 'seq' ORDER BY row_group_id`)
		var sizes []string
		for _, s := range fx.groups {
			sizes = append(sizes, strconv.FormatInt(s, 10))
		}
		require.Equal(t, sizes, got)
		got = queryStrings(t, db, `SELECT count(*)::VARCHAR, count(stats_max_value)::VARCHAR, count(stats_null_count)::VARCHAR
			FROM parquet_metadata('`+path+`')`)
		chunks := strconv.Itoa(len(fx.groups) * len(mixedSchema.Fields))
		require.Equal(t, []string{chunks, chunks, chunks}, got)
		got = queryStrings(t, db, `SELECT min(stats_min_value::BIGINT)::VARCHAR, max(stats_max_value::BIGINT)::VARCHAR
			FROM parquet_metadata('`+path+`') WHERE path_in_schema = 'seq'`)
		require.Equal(t, []string{"0", strconv.Itoa(len(fx.rows) - 1)}, got)
		got = queryStrings(t, db, `SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata('`+path+`') ORDER BY 1`)
		require.Equal(t, []string{"bedrot.run_id", "01JDRUNCONC", "bedrot.source", "mixed"}, got)
	}
}

// duckDBCells renders a mixedSchema row as the query in
// TestDuckDBReadsConcurrentWriterFiles prints it.
func duckDBCells(row []cell) []string {
	out := make([]string, len(row))
	for i, v := range row {
		if v == nil {
			out[i] = "NULL"
			continue
		}
		switch mixedSchema.Fields[i].Name {
		case "amount":
			out[i] = decimalString(big.NewInt(v.(int64)), 12)
		case "pct":
			out[i] = decimalString(big.NewInt(v.(int64)), 2)
		case "ratio":
			out[i] = strconv.FormatInt(int64(v.(float64)*4), 10)
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

func TestConcurrentWriterRowGroupBytes(t *testing.T) {
	t.Parallel()
	// Small batches: the bound is checked after every chunk, here every
	// batch, so row groups end within 100 rows of where it is reached.
	const batchRows = 100
	rows := distroKidRows(50_000, 13)
	batches := batchesOf(rows, batchRows)

	// The batch data of a row: string bytes plus 8 bytes a 64-bit value
	// (quantity and the decimals), 4 a date or a string's offset.
	rowBytes := func(r distroKidRow) int64 {
		n := int64(5*8 + 3*4 + 7*4)
		for _, s := range []string{r.Store, r.Artist, r.Title, r.ISRC, r.UPC, r.SourceType, r.Country} {
			n += int64(len(s))
		}
		return n
	}
	const bound = 1 << 20
	var want []int64
	var groupRows, groupBytes int64
	for lo := 0; lo < len(rows); lo += batchRows {
		for _, r := range rows[lo:min(lo+batchRows, len(rows))] {
			groupRows++
			groupBytes += rowBytes(r)
		}
		if groupBytes >= bound || lo+batchRows >= len(rows) {
			want = append(want, groupRows)
			groupRows, groupBytes = 0, 0
		}
	}
	require.Greater(t, len(want), 3)

	data := writeFile(t, distroKidSchema, Options{Concurrency: 2, RowGroupBytes: bound}, batches...)
	f := openFile(t, data)
	var sizes []int64
	for _, rg := range f.Metadata().RowGroups {
		sizes = append(sizes, rg.NumRows)
	}
	require.Equal(t, want, sizes)
	got := readCells(t, f, distroKidSchema)
	require.Len(t, got, len(rows))
	for i := range rows {
		require.Equal(t, rows[i].ISRC, got[i][6], "row %d", i)
		require.Equal(t, rows[i].Earnings, got[i][13], "row %d", i)
	}
}

// gateWriter blocks every Write until open is closed.
type gateWriter struct {
	open chan struct{}
	buf  bytes.Buffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.open
	return g.buf.Write(p)
}

func TestConcurrentWriterBoundsRowGroupsInFlight(t *testing.T) {
	t.Parallel()
	rows := mixedRows(5000)
	var batches []*sdk.RecordBatch
	for lo := 0; lo < len(rows); lo += 100 {
		batches = append(batches, buildBatch(t, mixedSchema, rows[lo:lo+100]))
	}
	out := &gateWriter{open: make(chan struct{})}
	// Uncompressed, a row group is larger than parquet-go's 32 KiB write
	// buffer: its commit reaches the output.
	w, err := NewWriter(out, mixedSchema, Options{Concurrency: 2, RowGroupRows: 1000, Compression: CompressionNone})
	require.NoError(t, err)

	var accepted atomic.Int64
	done := make(chan error, 1)
	go func() {
		for _, b := range batches {
			if err := w.Write(b); err != nil {
				done <- err
				return
			}
			accepted.Add(int64(b.NumRows))
		}
		done <- w.Close()
	}()

	// The first row group's commit waits for the output, so the second one
	// waits for its turn, and Write blocks before a third begins.
	require.Eventually(t, func() bool { return accepted.Load() >= 2000 }, 10*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.EqualValues(t, 2000, accepted.Load(), "no third row group while two are in flight")
	select {
	case err := <-done:
		t.Fatalf("writer finished with the output blocked: %v", err)
	default:
	}

	close(out.open)
	require.NoError(t, <-done)
	require.EqualValues(t, 5000, accepted.Load())
	requireSameRows(t, rows, readCells(t, openFile(t, out.buf.Bytes()), mixedSchema))
}

func TestConcurrentWriterEncodingError(t *testing.T) {
	t.Parallel()
	rows := mixedRows(10_000)
	batches := mixedBatches(t, rows)
	w, err := NewWriter(io.Discard, mixedSchema, Options{Concurrency: 2, RowGroupRows: 1000})
	require.NoError(t, err)
	// Every page compression now fails, on the row groups' goroutines.
	z := w.codec.(*zstdCodec)
	z.encOnce.Do(func() { z.encErr = errors.New("injected encoder failure") })

	var werr error
	for _, b := range batches {
		if werr = w.Write(b); werr != nil {
			break
		}
	}
	// The first row group fails; Write notices at the latest when the third
	// row group waits for a slot.
	require.Error(t, werr, "a later Write returns the encoding error")
	require.ErrorContains(t, werr, "injected encoder failure")
	require.ErrorContains(t, werr, "failed to write")
	require.Equal(t, werr, w.Write(batches[0]), "errors are sticky")
	require.Equal(t, werr, w.Close(), "Close waits for the row groups and returns the error")
	require.ErrorContains(t, w.Close(), "closed")
	require.ErrorContains(t, w.Write(batches[0]), "closed")
	requireNoPending(t, w)
}

func TestConcurrentWriterEncodingErrorSurfacesFromClose(t *testing.T) {
	t.Parallel()
	rows := mixedRows(500)
	w, err := NewWriter(io.Discard, mixedSchema, Options{Concurrency: 2, RowGroupRows: 1000})
	require.NoError(t, err)
	z := w.codec.(*zstdCodec)
	z.encOnce.Do(func() { z.encErr = errors.New("injected encoder failure") })
	// One row group, sealed by Close: Write cannot see its error.
	require.NoError(t, w.Write(buildBatch(t, mixedSchema, rows)))
	err = w.Close()
	require.ErrorContains(t, err, "injected encoder failure")
	require.ErrorContains(t, w.Write(buildBatch(t, mixedSchema, rows[:1])), "closed")
	requireNoPending(t, w)
}

func TestConcurrentWriterRejectsInvalidBatches(t *testing.T) {
	t.Parallel()
	rows := mixedRows(6000)
	bad := buildBatch(t, mixedSchema, rows[:10])
	bad.Columns[4].Int64s[3] = 100000 // does not fit pct's DECIMAL(5,2)
	seq, err := NewWriter(io.Discard, mixedSchema, Options{})
	require.NoError(t, err)
	want := seq.Write(bad)
	require.ErrorContains(t, want, `column "pct" row 3`)

	var buf bytes.Buffer
	w, err := NewWriter(&buf, mixedSchema, Options{Concurrency: 2, RowGroupRows: 1000})
	require.NoError(t, err)
	var written int64
	for i, b := range mixedBatches(t, rows) {
		require.NoError(t, w.Write(b))
		written += int64(b.NumRows)
		if i%3 == 1 {
			// Between row groups or in the middle of one.
			require.EqualError(t, w.Write(bad), want.Error(), "the error a sequential Writer returns")
			require.Equal(t, written, w.Rows())
		}
	}
	require.NoError(t, w.Close())
	requireSameRows(t, rows, readCells(t, openFile(t, buf.Bytes()), mixedSchema))
}

func TestConcurrentBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		n                   int
		rows, bytes         int64 // row group bounds
		seenRows, seenBytes int64
		want                int64
	}{
		{"before any row: half of RowGroupBytes", 2, 1000, 64 << 20, 0, 0, 32 << 20},
		{"half a row group of the rows seen", 2, 1000, 64 << 20, 10, 2000, 1000 * 200 / 2},
		{"per extra row group in flight", 4, 1000, 64 << 20, 10, 2000, 3 * 1000 * 200 / 2},
		{"at most half of RowGroupBytes", 2, 1 << 20, 64 << 20, 10, 2000, 32 << 20},
		{"no overflow for huge RowGroupRows", 2, math.MaxInt64, 1 << 30, 1, 1 << 20, 1 << 29},
	} {
		c := newConcurrent(nil, nil, tc.n, tc.rows, tc.bytes)
		c.seenRows, c.seenBytes = tc.seenRows, tc.seenBytes
		require.Equal(t, tc.want, c.budget(), tc.name)
	}
}

// requireNoPending checks that every byte a concurrent Writer counted as
// pending was released.
func requireNoPending(t *testing.T, w *Writer) {
	t.Helper()
	w.conc.mu.Lock()
	defer w.conc.mu.Unlock()
	require.Zero(t, w.conc.pending)
}

func TestConcurrentWriterLifecycle(t *testing.T) {
	t.Parallel()
	_, err := NewWriter(io.Discard, mixedSchema, Options{Concurrency: -1})
	require.ErrorContains(t, err, "concurrency -1 is negative")

	// No rows: a valid empty file.
	var buf bytes.Buffer
	w, err := NewWriter(&buf, mixedSchema, Options{Concurrency: 2})
	require.NoError(t, err)
	require.NoError(t, w.Write(&sdk.RecordBatch{NumRows: 0}))
	require.NoError(t, w.Close())
	require.Zero(t, openFile(t, buf.Bytes()).NumRows())

	// Every codec, with the default row group size (one row group).
	rows := mixedRows(3000)
	batches := mixedBatches(t, rows)
	for _, c := range []Compression{CompressionZstd, CompressionZstdFastest, CompressionSnappy, CompressionNone} {
		data := writeFile(t, mixedSchema, Options{Concurrency: 2, Compression: c}, batches...)
		require.True(t, bytes.Equal(writeFile(t, mixedSchema, Options{Compression: c}, batches...), data), "compression %d", c)
		f := openFile(t, data)
		require.Len(t, f.Metadata().RowGroups, 1)
		requireSameRows(t, rows, readCells(t, f, mixedSchema))
	}
}

// TestConcurrentWriterAbandoned checks that a Writer dropped without Close,
// with a row group half full, leaves no goroutine behind. It is not
// parallel: it counts the process's goroutines.
func TestConcurrentWriterAbandoned(t *testing.T) {
	before := runtime.NumGoroutine()
	rows := mixedRows(2500)
	w, err := NewWriter(io.Discard, mixedSchema, Options{Concurrency: 2, RowGroupRows: 1000})
	require.NoError(t, err)
	for _, b := range mixedBatches(t, rows) {
		require.NoError(t, w.Write(b))
	}
	// Not require.Eventually: it polls on a goroutine of its own.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left behind")
	runtime.KeepAlive(w)
}

// cloneBatch deep-copies a batch, as a producer hands a fresh batch to every
// Write.
func cloneBatch(b *sdk.RecordBatch) *sdk.RecordBatch {
	c := *b
	c.Columns = slices.Clone(b.Columns)
	for i := range c.Columns {
		col := &c.Columns[i]
		col.Int64s = slices.Clone(col.Int64s)
		col.Int32s = slices.Clone(col.Int32s)
		col.Float64s = slices.Clone(col.Float64s)
		col.Bools = slices.Clone(col.Bools)
		col.Bytes = slices.Clone(col.Bytes)
		col.Offsets = slices.Clone(col.Offsets)
		col.Null = slices.Clone(col.Null)
	}
	return &c
}

// TestConcurrentWriterMemoryIsBounded hands a concurrent Writer 1M fresh
// rows (four 256k-row groups, ~45 MB of batch data each) faster than it can
// encode them, and checks that the batches it retains stay within its
// pending budget (half a row group): the live heap grows by that budget
// plus two row groups of pages (~47 MiB), not by whole row groups of
// batches (70-100 MiB without the budget). It is deliberately not parallel:
// it measures the process heap.
func TestConcurrentWriterMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1M rows")
	}
	templates := batchesOf(distroKidRows(16*4096, 11), 4096)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	w, err := NewWriter(io.Discard, distroKidSchema, Options{Concurrency: 2})
	require.NoError(t, err)
	var peak uint64
	for i := range 256 {
		require.NoError(t, w.Write(cloneBatch(templates[i%len(templates)])))
		w.conc.mu.Lock()
		pending := w.conc.pending
		w.conc.mu.Unlock()
		require.LessOrEqual(t, pending, w.conc.budget())
		if i%64 == 63 { // every 256k rows: rare enough for Write to outrun the encoders
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	require.NoError(t, w.Close())
	requireNoPending(t, w)
	growth := int64(peak) - int64(base)
	t.Logf("1M rows, 256k-row groups, concurrency 2: peak live heap growth %.1f MiB", float64(growth)/(1<<20))
	require.Less(t, growth, int64(64<<20))
}
