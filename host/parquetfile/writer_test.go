package parquetfile

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/require"
)

// allTypesSchema covers every SDK type, each once REQUIRED and once OPTIONAL,
// in an order that is not alphabetical.
var allTypesSchema = sdk.Schema{Fields: []sdk.Field{
	{Name: "title", Type: sdk.TypeString},
	{Name: "quantity", Type: sdk.TypeInt64},
	{Name: "earnings", Type: sdk.TypeDecimal, Precision: 18, Scale: 12},
	{Name: "sale_date", Type: sdk.TypeDate},
	{Name: "inserted_at", Type: sdk.TypeTimestamp},
	{Name: "ratio", Type: sdk.TypeFloat64},
	{Name: "is_album", Type: sdk.TypeBool},
	{Name: "team_pct", Type: sdk.TypeDecimal, Precision: 5, Scale: 2},
	{Name: "upc", Type: sdk.TypeString, Nullable: true},
	{Name: "streams", Type: sdk.TypeInt64, Nullable: true},
	{Name: "recoup", Type: sdk.TypeDecimal, Precision: 18, Scale: 12, Nullable: true},
	{Name: "paid_on", Type: sdk.TypeDate, Nullable: true},
	{Name: "seen_at", Type: sdk.TypeTimestamp, Nullable: true},
	{Name: "rate", Type: sdk.TypeFloat64, Nullable: true},
	{Name: "explicit", Type: sdk.TypeBool, Nullable: true},
	{Name: "fee", Type: sdk.TypeDecimal, Precision: 9, Scale: 4, Nullable: true},
}}

// cell is one expected value: nil means NULL.
type cell = any

// allTypesRows are the round-trip rows, one []cell per row in schema order.
// Decimals are unscaled int64s, dates days since epoch, timestamps micros.
var allTypesRows = [][]cell{
	{"Canción ñ — 日本語 🎵", int64(0), int64(-690000000000), int32(-1), int64(-1), 0.5, true, int64(10000),
		"190000000001", int64(42), int64(31452187009900), int32(-25567), int64(-2208988800000000), 1.25, false, int64(999999999)},
	{"", int64(math.MaxInt64), int64(999999999999999999), int32(0), int64(0), math.Inf(1), false, int64(-99999),
		nil, nil, nil, nil, nil, nil, nil, nil},
	{"ascii", int64(math.MinInt64), int64(-999999999999999999), int32(20783), int64(1795651200123456), math.Copysign(0, -1), true, int64(0),
		"", int64(-7), int64(-1), int32(-719162), int64(math.MinInt64), math.Inf(-1), true, int64(-999999999)},
	{"Ω", int64(-1), int64(1), int32(2932896), int64(math.MaxInt64), -1e300, false, int64(1),
		nil, int64(0), int64(-999999999999999999), int32(0), int64(0), 0.0, nil, int64(0)},
}

// buildBatch turns rows of cells into a record batch of schema s.
func buildBatch(t testing.TB, s sdk.Schema, rows [][]cell) *sdk.RecordBatch {
	t.Helper()
	bb := sdk.NewBatchBuilder("test", s)
	for _, row := range rows {
		require.Len(t, row, len(s.Fields))
		for i, v := range row {
			if v == nil {
				bb.AppendNull(i)
				continue
			}
			switch x := v.(type) {
			case string:
				bb.AppendString(i, []byte(x))
			case int64:
				bb.AppendInt64(i, x)
			case int32:
				bb.AppendInt32(i, x)
			case float64:
				bb.AppendFloat64(i, x)
			case bool:
				bb.AppendBool(i, x)
			default:
				t.Fatalf("unsupported cell %T", v)
			}
		}
		bb.EndRow()
	}
	b := *bb.Batch()
	return &b
}

// writeFile writes batches into an in-memory Parquet file.
func writeFile(t testing.TB, s sdk.Schema, opts Options, batches ...*sdk.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, opts)
	require.NoError(t, err)
	for _, b := range batches {
		require.NoError(t, w.Write(b))
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func openFile(t testing.TB, data []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	return f
}

// readCells reads every row of f back as cells, using the field types of s.
func readCells(t testing.TB, f *parquet.File, s sdk.Schema) [][]cell {
	t.Helper()
	var out [][]cell
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				cells := make([]cell, len(s.Fields))
				require.Len(t, row, len(s.Fields))
				for _, v := range row {
					i := v.Column()
					if v.IsNull() {
						continue
					}
					f := s.Fields[i]
					switch f.Type {
					case sdk.TypeString:
						cells[i] = string(v.ByteArray())
					case sdk.TypeInt64, sdk.TypeTimestamp:
						cells[i] = v.Int64()
					case sdk.TypeDecimal:
						if f.Precision <= 9 {
							cells[i] = int64(v.Int32())
						} else {
							cells[i] = v.Int64()
						}
					case sdk.TypeDate:
						cells[i] = v.Int32()
					case sdk.TypeFloat64:
						cells[i] = v.Double()
					case sdk.TypeBool:
						cells[i] = v.Boolean()
					}
				}
				out = append(out, cells)
			}
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		require.NoError(t, rows.Close())
	}
	return out
}

func TestSchemaForMapsEveryTypeInDeclaredOrder(t *testing.T) {
	t.Parallel()
	ps, err := SchemaFor(allTypesSchema)
	require.NoError(t, err)
	fields := ps.Fields()
	require.Len(t, fields, len(allTypesSchema.Fields))
	want := map[sdk.Type]struct{ physical, logical string }{
		sdk.TypeString:    {"BYTE_ARRAY", "STRING"},
		sdk.TypeInt64:     {"INT64", "INT(64,true)"}, // parquet-go annotates plain INT64 as signed 64-bit
		sdk.TypeFloat64:   {"DOUBLE", ""},
		sdk.TypeBool:      {"BOOLEAN", ""},
		sdk.TypeDate:      {"INT32", "DATE"},
		sdk.TypeTimestamp: {"INT64", "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)"},
	}
	for i, f := range allTypesSchema.Fields {
		pf := fields[i]
		require.Equal(t, f.Name, pf.Name(), "column %d keeps declared order", i)
		require.Equal(t, f.Nullable, pf.Optional(), f.Name)
		require.Equal(t, !f.Nullable, pf.Required(), f.Name)
		physical := pf.Type().Kind().String()
		logical := ""
		if lt := pf.Type().LogicalType(); lt != nil {
			logical = lt.String()
		}
		if f.Type == sdk.TypeDecimal {
			wantPhysical := "INT64"
			if f.Precision <= 9 {
				wantPhysical = "INT32"
			}
			require.Equal(t, wantPhysical, physical, f.Name)
			require.Equal(t, strings.ToUpper(f.TypeString()), logical, f.Name)
			continue
		}
		require.Equal(t, want[f.Type].physical, physical, f.Name)
		require.Equal(t, want[f.Type].logical, logical, f.Name)
	}
	require.Equal(t, "RLE_DICTIONARY", fields[0].Encoding().String())
	require.Equal(t, "DELTA_BINARY_PACKED", fields[2].Encoding().String())
	require.Equal(t, "RLE_DICTIONARY", fields[3].Encoding().String())
	require.Contains(t, ps.String(), "required binary title (STRING)")
}

func TestSchemaForRejectsInvalidSchemas(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]sdk.Schema{
		"empty":            {},
		"unnamed":          {Fields: []sdk.Field{{Type: sdk.TypeInt64}}},
		"duplicate":        {Fields: []sdk.Field{{Name: "a", Type: sdk.TypeInt64}, {Name: "a", Type: sdk.TypeString}}},
		"comma":            {Fields: []sdk.Field{{Name: "a,b", Type: sdk.TypeInt64}}},
		"unspecified type": {Fields: []sdk.Field{{Name: "a"}}},
		"precision 0":      {Fields: []sdk.Field{{Name: "a", Type: sdk.TypeDecimal, Precision: 0}}},
		"precision 19":     {Fields: []sdk.Field{{Name: "a", Type: sdk.TypeDecimal, Precision: 19, Scale: 2}}},
		"scale > prec":     {Fields: []sdk.Field{{Name: "a", Type: sdk.TypeDecimal, Precision: 4, Scale: 5}}},
		"negative scale":   {Fields: []sdk.Field{{Name: "a", Type: sdk.TypeDecimal, Precision: 4, Scale: -1}}},
	} {
		_, err := SchemaFor(s)
		require.ErrorContains(t, err, "failed to map schema", name)
		_, err = NewWriter(io.Discard, s, Options{})
		require.ErrorContains(t, err, "failed to create parquet writer", name)
	}
}

func TestWriterRoundTripsEveryType(t *testing.T) {
	t.Parallel()
	data := writeFile(t, allTypesSchema, Options{}, buildBatch(t, allTypesSchema, allTypesRows))
	f := openFile(t, data)
	require.EqualValues(t, len(allTypesRows), f.NumRows())
	got := readCells(t, f, allTypesSchema)
	require.Len(t, got, len(allTypesRows))
	for r := range allTypesRows {
		for c, want := range allTypesRows[r] {
			if x, ok := want.(float64); ok && x == 0 {
				// -0.0 must keep its sign bit.
				require.Equal(t, math.Signbit(x), math.Signbit(got[r][c].(float64)), "row %d col %s", r, allTypesSchema.Fields[c].Name)
			}
			require.Equal(t, want, got[r][c], "row %d col %s", r, allTypesSchema.Fields[c].Name)
		}
	}

	// A generic reader sees the same columns in the same order.
	type earningsRow struct {
		Title    string  `parquet:"title"`
		Earnings int64   `parquet:"earnings"`
		SaleDate int32   `parquet:"sale_date"`
		UPC      *string `parquet:"upc"`
	}
	rows, err := parquet.Read[earningsRow](bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	require.Equal(t, "Canción ñ — 日本語 🎵", rows[0].Title)
	require.Equal(t, int64(-690000000000), rows[0].Earnings)
	require.Equal(t, int32(-1), rows[0].SaleDate)
	require.Nil(t, rows[1].UPC)
	require.NotNil(t, rows[2].UPC)
	require.Empty(t, *rows[2].UPC)
}

func TestWriterFileMetadata(t *testing.T) {
	t.Parallel()
	kv := map[string]string{"bedrot.run_id": "01JDRUN", "bedrot.source": "distrokid", "bedrot.schema": "earnings/v2"}
	batch := buildBatch(t, allTypesSchema, allTypesRows)
	data := writeFile(t, allTypesSchema, Options{KeyValue: kv, CreatedBy: "bedrot version 0.1.0 (build abc123)"}, batch, batch, batch)
	f := openFile(t, data)
	md := f.Metadata()

	require.Equal(t, "bedrot version 0.1.0 (build abc123)", md.CreatedBy)
	for k, v := range kv {
		got, ok := f.Lookup(k)
		require.True(t, ok, k)
		require.Equal(t, v, got)
	}

	// Footer schema as any reader sees it: root + one element per field, in order.
	require.Len(t, md.Schema, len(allTypesSchema.Fields)+1)
	for i, f := range allTypesSchema.Fields {
		el := md.Schema[i+1]
		require.Equal(t, f.Name, el.Name)
		rep, _ := el.RepetitionType.Get()
		if f.Nullable {
			require.Equal(t, format.Optional, rep, f.Name)
		} else {
			require.Equal(t, format.Required, rep, f.Name)
		}
		if f.Type == sdk.TypeDecimal {
			require.Equal(t, strings.ToUpper(f.TypeString()), el.LogicalType.String())
		}
	}

	require.Len(t, md.RowGroups, 1)
	rg := md.RowGroups[0]
	require.EqualValues(t, 3*len(allTypesRows), rg.NumRows)
	for i, cc := range rg.Columns {
		name := allTypesSchema.Fields[i].Name
		require.Equal(t, format.Zstd, cc.MetaData.Codec, name)
		st := cc.MetaData.Statistics
		require.NotNil(t, st.MinValue, name)
		require.NotNil(t, st.MaxValue, name)
		if allTypesSchema.Fields[i].Nullable && name != "upc" && name != "explicit" && name != "fee" {
			require.EqualValues(t, 3, st.NullCount, name) // one null per copy of the rows
		}
	}
	// Chunk statistics hold real bounds: DECIMAL(18,12) min/max are the extremes.
	earnings := rg.Columns[2].MetaData.Statistics
	requireInt64LE(t, -999999999999999999, earnings.MinValue)
	requireInt64LE(t, 999999999999999999, earnings.MaxValue)
	require.EqualValues(t, 6, rg.Columns[8].MetaData.Statistics.NullCount, "upc")

	// Page index (column index + offset index) is present for every column.
	require.Len(t, f.ColumnIndexes(), len(allTypesSchema.Fields))
	require.Len(t, f.OffsetIndexes(), len(allTypesSchema.Fields))
	for i, ci := range f.ColumnIndexes() {
		require.NotEmpty(t, ci.MinValues, allTypesSchema.Fields[i].Name)
		require.NotEmpty(t, ci.NullCounts, allTypesSchema.Fields[i].Name)
	}

	// Data page headers do not repeat them (readers prune with the page
	// index above; computing them again per page is a tenth of the writer).
	for i, cc := range rg.Columns {
		hdr := readPageHeader(t, data, cc.MetaData.DataPageOffset)
		v2, ok := hdr.DataPageHeaderV2.Get()
		require.True(t, ok, "data page v2 for %s", allTypesSchema.Fields[i].Name)
		require.Nil(t, v2.Statistics.MinValue, allTypesSchema.Fields[i].Name)
		require.Nil(t, v2.Statistics.MaxValue, allTypesSchema.Fields[i].Name)
	}
}

func requireInt64LE(t *testing.T, want int64, b []byte) {
	t.Helper()
	require.Len(t, b, 8)
	var got int64
	for i := 7; i >= 0; i-- {
		got = got<<8 | int64(b[i])
	}
	require.Equal(t, want, got)
}

func readPageHeader(t *testing.T, data []byte, offset int64) format.PageHeader {
	t.Helper()
	var hdr format.PageHeader
	r := (&thrift.CompactProtocol{}).NewReader(bytes.NewReader(data[offset:]))
	require.NoError(t, thrift.NewDecoder(r).Decode(&hdr))
	return hdr
}

func TestWriterBoundsRowGroups(t *testing.T) {
	t.Parallel()
	batches := batchesOf(distroKidRows(10_000, 7), 4096)

	for _, n := range []int{0, 2} {
		data := writeFile(t, distroKidSchema, Options{RowGroupRows: 3000, Concurrency: n}, batches...)
		f := openFile(t, data)
		var sizes []int64
		for _, rg := range f.Metadata().RowGroups {
			sizes = append(sizes, rg.NumRows)
		}
		require.Equal(t, []int64{3000, 3000, 3000, 1000}, sizes, "concurrency %d", n)
		require.EqualValues(t, 10_000, f.NumRows(), "concurrency %d", n)
	}

	// A byte bound ends row groups early; checked every few thousand rows.
	data := writeFile(t, distroKidSchema, Options{RowGroupBytes: 1}, batches...)
	f := openFile(t, data)
	require.Greater(t, len(f.Metadata().RowGroups), 2)
	require.EqualValues(t, 10_000, f.NumRows())
	for _, rg := range f.Metadata().RowGroups {
		require.LessOrEqual(t, rg.NumRows, int64(writeChunkRows))
	}

	// Every row survives the splits, in order.
	rows := distroKidRows(10_000, 7)
	got := readCells(t, f, distroKidSchema)
	require.Len(t, got, len(rows))
	for i := range rows {
		require.Equal(t, rows[i].ISRC, got[i][6])
		require.Equal(t, rows[i].Earnings, got[i][13])
	}
}

func TestWriterCopiesTheBatch(t *testing.T) {
	t.Parallel()
	s := sdk.Schema{Fields: []sdk.Field{{Name: "isrc", Type: sdk.TypeString}, {Name: "n", Type: sdk.TypeInt64}}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, Options{})
	require.NoError(t, err)

	b := buildBatch(t, s, [][]cell{{"QZAAA2600001", int64(1)}, {"QZAAA2600002", int64(2)}})
	require.NoError(t, w.Write(b))
	// The caller reuses the batch's memory for the next rows.
	copy(b.Columns[0].Bytes, "XXXXXXXXXXXXYYYYYYYYYYYY")
	b.Columns[1].Int64s[0], b.Columns[1].Int64s[1] = 3, 4
	require.NoError(t, w.Write(b))
	require.EqualValues(t, 4, w.Rows())
	require.NoError(t, w.Close())

	got := readCells(t, openFile(t, buf.Bytes()), s)
	require.Equal(t, [][]cell{
		{"QZAAA2600001", int64(1)}, {"QZAAA2600002", int64(2)},
		{"XXXXXXXXXXXX", int64(3)}, {"YYYYYYYYYYYY", int64(4)},
	}, got)
}

func TestWriterRejectsInvalidBatches(t *testing.T) {
	t.Parallel()
	s := sdk.Schema{Fields: []sdk.Field{
		{Name: "title", Type: sdk.TypeString},
		{Name: "earnings", Type: sdk.TypeDecimal, Precision: 18, Scale: 12},
		{Name: "fee", Type: sdk.TypeDecimal, Precision: 4, Scale: 2, Nullable: true},
	}}
	good := func() *sdk.RecordBatch {
		return buildBatch(t, s, [][]cell{{"añejo", int64(1), int64(9999)}, {"b", int64(-1), nil}})
	}
	for name, tc := range map[string]struct {
		mutate func(b *sdk.RecordBatch)
		want   string
	}{
		"nil batch":            {func(b *sdk.RecordBatch) {}, "batch is nil"},
		"missing column":       {func(b *sdk.RecordBatch) { b.Columns = b.Columns[:2] }, "batch has 2 columns"},
		"short column":         {func(b *sdk.RecordBatch) { b.Columns[1].Int64s = b.Columns[1].Int64s[:1] }, `column "earnings" has 1 values`},
		"null in required":     {func(b *sdk.RecordBatch) { b.Columns[1].Null = []bool{false, true} }, "not nullable"},
		"int64 max in dec(18)": {func(b *sdk.RecordBatch) { b.Columns[1].Int64s[1] = math.MaxInt64 }, `column "earnings" row 1: unscaled value 9223372036854775807 does not fit decimal(18,12)`},
		"int64 min in dec(18)": {func(b *sdk.RecordBatch) { b.Columns[1].Int64s[0] = math.MinInt64 }, "does not fit decimal(18,12)"},
		"10^18 in dec(18)":     {func(b *sdk.RecordBatch) { b.Columns[1].Int64s[0] = 1_000_000_000_000_000_000 }, "does not fit decimal(18,12)"},
		"10^4 in dec(4)":       {func(b *sdk.RecordBatch) { b.Columns[2].Int64s[0] = 10000 }, `column "fee" row 0`},
		"invalid utf-8":        {func(b *sdk.RecordBatch) { b.Columns[0].Bytes[6] = 0xff }, `column "title" row 1: string is not valid UTF-8`},
		"rune split in two": {func(b *sdk.RecordBatch) {
			// "añejo" + "b": move the boundary into the middle of "ñ".
			b.Columns[0].Bytes = []byte("a\xc3\xb1ejob")
			b.Columns[0].Offsets = []uint32{0, 2, 7}
		}, `column "title" row 1`},
		"offsets go backwards": {func(b *sdk.RecordBatch) {
			b.Columns[0].Offsets = []uint32{0, 2, 1, 3}
			b.NumRows = 3
			b.Columns[1].Int64s = []int64{1, 2, 3}
			b.Columns[2].Int64s = []int64{1, 2, 3}
			b.Columns[2].Null = nil
		}, `column "title" row 1`},
		"offsets past data": {func(b *sdk.RecordBatch) { b.Columns[0].Offsets[2] = 99 }, "offsets point past the string data"},
		"offset jumps past end": {func(b *sdk.RecordBatch) {
			b.Columns[0].Offsets = []uint32{0, 100, 7}
		}, `column "title" row 0`},
		"offset past end, ascii": {func(b *sdk.RecordBatch) {
			b.Columns[0].Bytes = []byte("abcdefg")
			b.Columns[0].Offsets = []uint32{0, 100, 7}
		}, `column "title" row 0`},
		"invalid, offsets past end": {func(b *sdk.RecordBatch) {
			b.Columns[0].Bytes = []byte("abc\xffefg")
			b.Columns[0].Offsets = []uint32{0, 100, 7}
		}, `column "title" row 0`},
	} {
		for _, n := range []int{0, 2} {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, s, Options{Concurrency: n})
			require.NoError(t, err)
			b := good()
			if name == "nil batch" {
				b = nil
			} else {
				tc.mutate(b)
			}
			err = w.Write(b)
			require.ErrorContains(t, err, "failed to write batch", name)
			require.ErrorContains(t, err, tc.want, name)
			require.Zero(t, w.Rows(), name)

			// A rejected batch leaves the writer usable.
			require.NoError(t, w.Write(good()), name)
			require.NoError(t, w.Close(), name)
			require.EqualValues(t, 2, openFile(t, buf.Bytes()).NumRows(), name)
		}
	}
}

func TestWriterLifecycle(t *testing.T) {
	t.Parallel()
	s := sdk.Schema{Fields: []sdk.Field{{Name: "n", Type: sdk.TypeInt64}}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, Options{})
	require.NoError(t, err)
	require.NoError(t, w.Write(&sdk.RecordBatch{NumRows: 0}), "empty batch is a no-op")
	require.NoError(t, w.Close())
	require.ErrorContains(t, w.Write(buildBatch(t, s, [][]cell{{int64(1)}})), "closed")
	require.ErrorContains(t, w.Close(), "closed")
	f := openFile(t, buf.Bytes())
	require.Zero(t, f.NumRows(), "a file without rows is still valid")

	_, err = NewWriter(io.Discard, s, Options{Compression: Compression(99)})
	require.ErrorContains(t, err, "unknown compression")

	for _, c := range []struct {
		c    Compression
		want format.CompressionCodec
	}{{CompressionZstdFastest, format.Zstd}, {CompressionSnappy, format.Snappy}, {CompressionNone, format.Uncompressed}} {
		data := writeFile(t, s, Options{Compression: c.c}, buildBatch(t, s, [][]cell{{int64(1)}}))
		require.Equal(t, c.want, openFile(t, data).Metadata().RowGroups[0].Columns[0].MetaData.Codec)
	}

	// Defaults: created_by names the project.
	data := writeFile(t, s, Options{}, buildBatch(t, s, [][]cell{{int64(1)}}))
	require.Equal(t, DefaultCreatedBy, openFile(t, data).Metadata().CreatedBy)
}

// errWriter fails after limit bytes.
type errWriter struct{ limit int }

func (e *errWriter) Write(p []byte) (int, error) {
	if len(p) > e.limit {
		return 0, io.ErrShortWrite
	}
	e.limit -= len(p)
	return len(p), nil
}

func TestWriterReportsOutputErrors(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 2} {
		w, err := NewWriter(&errWriter{limit: 100}, distroKidSchema, Options{RowGroupRows: 1000, Concurrency: n})
		require.NoError(t, err)
		var werr error
		for _, b := range batchesOf(distroKidRows(20_000, 3), 4096) {
			if werr = w.Write(b); werr != nil {
				break
			}
		}
		if werr == nil {
			werr = w.Close()
		} else {
			require.ErrorIs(t, w.Write(batchesOf(distroKidRows(1, 3), 1)[0]), io.ErrShortWrite, "errors are sticky")
			require.Error(t, w.Close())
		}
		require.ErrorIs(t, werr, io.ErrShortWrite, "concurrency %d", n)
		require.ErrorContains(t, werr, "failed to write row group", "concurrency %d", n)
	}
}

// TestWriterMemoryIsBounded writes 1M rows (four 256k-row groups) and checks
// the live heap never grows by more than a row group's worth of compact,
// compressed buffers. It is deliberately not parallel: it measures the
// process heap.
func TestWriterMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1M rows")
	}
	batches := batchesOf(distroKidRows(1<<20, 11), 4096)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	w, err := NewWriter(io.Discard, distroKidSchema, Options{})
	require.NoError(t, err)
	var peak uint64
	for i, b := range batches {
		require.NoError(t, w.Write(b))
		if i%16 == 15 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	require.NoError(t, w.Close())
	growth := int64(peak) - int64(base)
	t.Logf("1M rows, 256k-row groups: peak live heap growth %.1f MiB", float64(growth)/(1<<20))
	require.Less(t, growth, int64(32<<20))
}

func TestZstdCodecRoundTrip(t *testing.T) {
	t.Parallel()
	c := newZstdCodec(zstd.SpeedDefault, 1)
	defer c.close()
	src := bytes.Repeat([]byte("QZAAA2600001 Spotify US 0.000123456789\n"), 10_000)
	enc, err := c.Encode(nil, src)
	require.NoError(t, err)
	require.Less(t, len(enc), len(src)/10)
	dec, err := c.Decode(nil, enc)
	require.NoError(t, err)
	require.Equal(t, src, dec)
	_, err = c.Decode(nil, []byte("not zstd"))
	require.ErrorContains(t, err, "failed to decode zstd page")
	require.Equal(t, "ZSTD", c.String())
}

func TestWriterHighCardinalityAndLongStrings(t *testing.T) {
	t.Parallel()
	s := sdk.Schema{Fields: []sdk.Field{
		{Name: "id", Type: sdk.TypeString},
		{Name: "blob", Type: sdk.TypeString, Nullable: true},
		{Name: "n", Type: sdk.TypeInt64},
	}}
	const rows = 40_000
	const bigValue = 200 << 10
	big := strings.Repeat("é", bigValue/2)
	var want [][]cell
	var batches []*sdk.RecordBatch
	for lo := 0; lo < rows; lo += 4096 {
		var chunk [][]cell
		for i := lo; i < min(lo+4096, rows); i++ {
			var blob cell = fmt.Sprintf("short %d", i)
			switch {
			case i%200 == 0:
				blob = fmt.Sprintf("%06d", i) + big
			case i%7 == 0:
				blob = nil
			}
			chunk = append(chunk, []cell{fmt.Sprintf("ID-%036d", i), blob, int64(i)})
		}
		want = append(want, chunk...)
		batches = append(batches, buildBatch(t, s, chunk))
	}
	data := writeFile(t, s, Options{Compression: CompressionNone, RowGroupBytes: 1 << 30}, batches...)
	f := openFile(t, data)
	require.Equal(t, want, readCells(t, f, s))

	// 40k unique 39-byte ids outgrow the 1 MiB dictionary: the chunk
	// switches to PLAIN pages after its dictionary pages.
	md := f.Metadata()
	require.Equal(t, 1, len(md.RowGroups))
	encodings := []format.Encoding(md.RowGroups[0].Columns[0].MetaData.Encoding)
	require.Contains(t, encodings, format.Plain)
	require.Contains(t, encodings, format.RLEDictionary)

	// 200 distinct 200 KiB blobs: the dictionary stops near its 1 MiB bound
	// (checked every 1 MiB of text) instead of holding all 40 MiB, and the
	// PLAIN pages after it are cut at about pageBytes: at most two slices
	// of text, plus the page header's min/max statistics, which parquet-go
	// does not truncate (so a page can carry two more long values).
	blob := md.RowGroups[0].Columns[1].MetaData
	require.Contains(t, []format.Encoding(blob.Encoding), format.Plain)
	require.NotZero(t, blob.DictionaryPageOffset)
	dictPage := blob.DataPageOffset - blob.DictionaryPageOffset
	require.Less(t, dictPage, int64(3<<20), "dictionary page bytes")
	pages := f.OffsetIndexes()[1].PageLocations
	require.GreaterOrEqual(t, len(pages), rows/200*bigValue/(pageBytes+bigValue))
	for _, p := range pages {
		require.LessOrEqual(t, int(p.CompressedPageSize), 2*pageBytes+3*bigValue+4096)
	}
}
