package parquetfile

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/stretchr/testify/require"
)

// cellsOf converts a batch back into cells (nil for NULL), the inverse of
// buildBatch.
func cellsOf(t testing.TB, s sdk.Schema, b *sdk.RecordBatch) [][]cell {
	t.Helper()
	out := make([][]cell, b.NumRows)
	for r := range out {
		row := make([]cell, len(s.Fields))
		for i, f := range s.Fields {
			c := &b.Columns[i]
			if c.IsNull(r) {
				continue
			}
			switch f.Type {
			case sdk.TypeString:
				row[i] = c.String(r)
			case sdk.TypeInt64, sdk.TypeTimestamp, sdk.TypeDecimal:
				row[i] = c.Int64s[r]
			case sdk.TypeDate:
				row[i] = c.Int32s[r]
			case sdk.TypeFloat64:
				row[i] = c.Float64s[r]
			case sdk.TypeBool:
				row[i] = c.Bools[r]
			default:
				t.Fatalf("unexpected type %s", f.Type)
			}
		}
		out[r] = row
	}
	return out
}

// readResult is everything a Reader returned for one file.
type readResult struct {
	schema    sdk.Schema
	rows      [][]cell
	batchRows []int
	numRows   int64
}

// readAllCells reads a whole file with opts, validating every batch against
// the reader's schema and checking the nil-Null convention.
func readAllCells(t testing.TB, data []byte, opts ReadOptions) readResult {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), opts)
	require.NoError(t, err)
	res := readResult{schema: r.Schema(), numRows: r.NumRows()}
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, b.Validate(res.schema))
		for i, f := range res.schema.Fields {
			c := &b.Columns[i]
			if !f.Nullable {
				require.Nil(t, c.Null, "column %q", f.Name)
			}
			if c.Null != nil {
				require.Contains(t, c.Null, true, "column %q: Null must be nil when the batch has no null", f.Name)
			}
		}
		res.rows = append(res.rows, cellsOf(t, res.schema, b)...)
		res.batchRows = append(res.batchRows, b.NumRows)
	}
	_, err = r.Next()
	require.Equal(t, io.EOF, err, "Next keeps returning io.EOF")
	require.NoError(t, r.Close())
	return res
}

func TestReaderRoundTripsEveryType(t *testing.T) {
	t.Parallel()
	data := writeFile(t, allTypesSchema, Options{}, buildBatch(t, allTypesSchema, allTypesRows))
	res := readAllCells(t, data, ReadOptions{})
	require.Equal(t, allTypesSchema, res.schema)
	require.Equal(t, allTypesRows, res.rows)
	require.Equal(t, []int{len(allTypesRows)}, res.batchRows)
	require.Equal(t, int64(len(allTypesRows)), res.numRows)
	// -0.0 keeps its sign.
	require.True(t, math.Signbit(res.rows[2][5].(float64)))

	// Every snappy/none page layout reads back the same.
	for _, c := range []Compression{CompressionSnappy, CompressionNone, CompressionZstdFastest} {
		data := writeFile(t, allTypesSchema, Options{Compression: c}, buildBatch(t, allTypesSchema, allTypesRows))
		require.Equal(t, allTypesRows, readAllCells(t, data, ReadOptions{BatchRows: 3}).rows)
	}
}

// manyRows repeats allTypesRows with variations: nulls in runs and alone,
// empty strings, and batches without any null in a nullable column.
func manyRows(n int) [][]cell {
	rows := make([][]cell, n)
	for i := range rows {
		row := append([]cell(nil), allTypesRows[i%len(allTypesRows)]...)
		row[0] = fmt.Sprintf("title %d", i%97)
		if i%13 == 0 {
			row[0] = ""
		}
		row[1] = int64(i)
		if i >= n/2 && i < n/2+700 {
			row[8], row[9] = fmt.Sprintf("upc-%d", i), int64(i) // a stretch without nulls
		}
		rows[i] = row
	}
	return rows
}

func TestReaderMultipleRowGroupsAndBatchSizes(t *testing.T) {
	t.Parallel()
	rows := manyRows(5000)
	var batches []*sdk.RecordBatch
	for lo := 0; lo < len(rows); lo += 1200 {
		batches = append(batches, buildBatch(t, allTypesSchema, rows[lo:min(lo+1200, len(rows))]))
	}
	data := writeFile(t, allTypesSchema, Options{RowGroupRows: 777}, batches...)
	require.Len(t, openFile(t, data).RowGroups(), 7)
	for _, batchRows := range []int{1, 500, 777, 4096, 10_000} {
		res := readAllCells(t, data, ReadOptions{BatchRows: batchRows})
		require.Equal(t, rows, res.rows, "BatchRows %d", batchRows)
		require.Equal(t, int64(len(rows)), res.numRows)
		// Batches span row groups: all are full but the last.
		for i, n := range res.batchRows {
			if i < len(res.batchRows)-1 {
				require.Equal(t, batchRows, n)
			} else {
				require.Equal(t, len(rows)-batchRows*i, n)
			}
		}
	}
}

func TestReaderManyPagesAndDictionaryFallback(t *testing.T) {
	t.Parallel()
	// Long, mostly unique strings overflow the 1 MiB dictionary, so a chunk
	// holds dictionary pages, then PLAIN pages; 60k int64s and dates make
	// several pages too.
	s := sdk.Schema{Fields: []sdk.Field{
		{Name: "id", Type: sdk.TypeString},
		{Name: "blob", Type: sdk.TypeString, Nullable: true},
		{Name: "n", Type: sdk.TypeInt64},
		{Name: "day", Type: sdk.TypeDate, Nullable: true},
	}}
	const n = 60_000
	long := strings.Repeat("ü", 3000)
	var want [][]cell
	var batches []*sdk.RecordBatch
	for lo := 0; lo < n; lo += 4096 {
		var chunk [][]cell
		for i := lo; i < min(lo+4096, n); i++ {
			var blob, day cell = fmt.Sprintf("short %d", i%50), int32(i % 400)
			switch {
			case i%100 == 0:
				blob = fmt.Sprintf("%06d", i) + long
			case i%7 == 0:
				blob, day = nil, nil
			}
			chunk = append(chunk, []cell{fmt.Sprintf("ID-%032d", i), blob, int64(i) * 7919, day})
		}
		want = append(want, chunk...)
		batches = append(batches, buildBatch(t, s, chunk))
	}
	data := writeFile(t, s, Options{RowGroupRows: 40_000}, batches...)
	f := openFile(t, data)
	require.Len(t, f.RowGroups(), 2)
	for col := range s.Fields {
		require.Greater(t, len(f.OffsetIndexes()[col].PageLocations), 1, "column %d has one page only", col)
	}
	res := readAllCells(t, data, ReadOptions{BatchRows: 3000})
	require.Equal(t, s, res.schema)
	require.Equal(t, want, res.rows)
}

func TestReaderProjection(t *testing.T) {
	t.Parallel()
	rows := manyRows(3000)
	data := writeFile(t, allTypesSchema, Options{RowGroupRows: 1000}, buildBatch(t, allTypesSchema, rows))

	cols := []string{"recoup", "title", "sale_date", "upc"}
	res := readAllCells(t, data, ReadOptions{Columns: cols, BatchRows: 512})
	var fields []sdk.Field
	idx := make([]int, len(cols))
	for i, name := range cols {
		idx[i] = allTypesSchema.Index(name)
		fields = append(fields, allTypesSchema.Fields[idx[i]])
	}
	require.Equal(t, sdk.Schema{Fields: fields}, res.schema)
	require.Len(t, res.rows, len(rows))
	for r, row := range rows {
		for i, j := range idx {
			require.Equal(t, row[j], res.rows[r][i], "row %d column %q", r, cols[i])
		}
	}

	for _, tc := range []struct {
		cols []string
		msg  string
	}{
		{[]string{"title", "nope"}, `column "nope" is not in the file (its columns: title, quantity,`},
		{[]string{"title", "title"}, `column "title" is projected twice`},
		{[]string{}, "the projection names no columns"},
	} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{Columns: tc.cols})
		require.ErrorContains(t, err, tc.msg)
	}
}

func TestReaderEmptyFileAndMetadata(t *testing.T) {
	t.Parallel()
	kv := map[string]string{"bedrot.run_id": "01JDRUN", "bedrot.source": "distrokid"}
	data := writeFile(t, distroKidSchema, Options{KeyValue: kv})
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, distroKidSchema, r.Schema())
	require.Equal(t, int64(0), r.NumRows())
	v, ok := r.Lookup("bedrot.run_id")
	require.True(t, ok)
	require.Equal(t, "01JDRUN", v)
	_, ok = r.Lookup("missing")
	require.False(t, ok)
	_, err = r.Next()
	require.Equal(t, io.EOF, err)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err = r.Next()
	require.ErrorContains(t, err, "reader is closed")

	_, err = NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{BatchRows: -1})
	require.ErrorContains(t, err, "batch rows -1 is negative")
}

func TestReaderSchemaIsACopy(t *testing.T) {
	t.Parallel()
	data := writeFile(t, distroKidSchema, Options{}, batchesOf(distroKidRows(10, 1), 10)...)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	require.NoError(t, err)
	s := r.Schema()
	s.Fields[0].Name = "changed"
	require.Equal(t, "date_inserted", r.Schema().Fields[0].Name)
}

func TestReaderDistroKidRoundTrip(t *testing.T) {
	t.Parallel()
	batches := batchesOf(distroKidRows(20_000, 3), 4096)
	var want [][]cell
	for _, b := range batches {
		want = append(want, cellsOf(t, distroKidSchema, b)...)
	}
	data := writeFile(t, distroKidSchema, Options{RowGroupRows: 8000}, batches...)
	res := readAllCells(t, data, ReadOptions{})
	require.Equal(t, distroKidSchema, res.schema)
	require.Equal(t, want, res.rows)
	require.Equal(t, []int{8192, 8192, 3616}, res.batchRows)
}

func TestReaderReportsTruncatedAndCorruptFiles(t *testing.T) {
	t.Parallel()
	data := writeFile(t, distroKidSchema, Options{RowGroupRows: 2000}, batchesOf(distroKidRows(6000, 2), 4096)...)
	open := func(b []byte) (*Reader, error) {
		return NewReader(bytes.NewReader(b), int64(len(b)), ReadOptions{})
	}

	_, err := open(nil)
	require.ErrorContains(t, err, "it is 0 bytes long, too short for a Parquet file")
	_, err = open(data[:len(data)/2])
	require.ErrorContains(t, err, "truncated or not a Parquet file?")
	require.ErrorContains(t, err, "invalid magic footer")
	_, err = open(bytes.Repeat([]byte("date,store\n"), 20))
	require.ErrorContains(t, err, "invalid magic header")

	// The footer survives but the data before it was cut short: the
	// chunks past the cut lie outside the file.
	f := openFile(t, data)
	footerLen := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	footer := data[len(data)-8-footerLen:]
	cut := append(append([]byte(nil), data[:len(data)/2]...), footer...)
	_, err = open(cut)
	require.ErrorContains(t, err, "lies outside the")
	require.ErrorContains(t, err, "truncated or corrupt?")

	// A flipped byte inside a page: the page checksum catches it, and the
	// error names the row group and column.
	md := f.Metadata().RowGroups[1].Columns[8].MetaData // quantity
	bad := append([]byte(nil), data...)
	bad[md.DataPageOffset+md.TotalCompressedSize-10] ^= 0x5A
	r, err := open(bad)
	require.NoError(t, err)
	var nerr error
	var read int
	for nerr == nil {
		var b *sdk.RecordBatch
		b, nerr = r.Next()
		if nerr == nil {
			read += b.NumRows
		}
	}
	require.ErrorIs(t, nerr, parquet.ErrCorrupted)
	require.ErrorContains(t, nerr, `row group 1, column "quantity"`)
	require.Less(t, read, 4000)
	_, again := r.Next()
	require.Equal(t, nerr, again, "errors are sticky")
	require.NoError(t, r.Close())

	// Garbage over a whole page header and body.
	bad = append([]byte(nil), data...)
	md = f.Metadata().RowGroups[0].Columns[3].MetaData // store
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 {
		start = md.DictionaryPageOffset
	}
	for i := start; i < start+md.TotalCompressedSize; i++ {
		bad[i] = byte(i*31 + 7)
	}
	r, err = open(bad)
	require.NoError(t, err)
	_, err = r.Next()
	require.ErrorContains(t, err, `row group 0, column "store"`)
}

// writeGenericFile writes rows with parquet-go's own writer, as a third-party
// tool would.
func writeGenericFile(t *testing.T, schema *parquet.Schema, rows []parquet.Row, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, append([]parquet.WriterOption{schema}, opts...)...)
	_, err := w.WriteRows(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestReaderOtherPhysicalEncodings(t *testing.T) {
	t.Parallel()
	// parquet.Group orders fields by name.
	schema := parquet.NewSchema("other", parquet.Group{
		"a_fixed_dec":  parquet.Optional(parquet.Decimal(3, 12, parquet.FixedLenByteArrayType(9))),
		"b_bytes_dec":  parquet.Decimal(2, 18, parquet.ByteArrayType),
		"c_float":      parquet.Optional(parquet.Leaf(parquet.FloatType)),
		"d_int96":      parquet.Leaf(parquet.Int96Type),
		"e_int8":       parquet.Int(8),
		"f_uint32":     parquet.Optional(parquet.Uint(32)),
		"g_ts_ms":      parquet.Timestamp(parquet.Millisecond),
		"h_ts_ns":      parquet.Optional(parquet.Timestamp(parquet.Nanosecond)),
		"i_plain_i32":  parquet.Leaf(parquet.Int32Type),
		"j_enum":       parquet.Enum(),
		"k_delta_str":  parquet.Encoded(parquet.String(), &parquet.DeltaByteArray),
		"l_dict_int64": parquet.Optional(parquet.Encoded(parquet.Leaf(parquet.Int64Type), &parquet.RLEDictionary)),
		"m_dict_dbl":   parquet.Encoded(parquet.Leaf(parquet.DoubleType), &parquet.RLEDictionary),
		"n_dict_ts":    parquet.Encoded(parquet.Timestamp(parquet.Millisecond), &parquet.RLEDictionary),
		"o_bss_float":  parquet.Encoded(parquet.Leaf(parquet.FloatType), &parquet.ByteStreamSplit),
	})
	fixed := func(v int64) []byte { // 9-byte big-endian two's complement
		b := make([]byte, 9)
		binary.BigEndian.PutUint64(b[1:], uint64(v))
		if v < 0 {
			b[0] = 0xFF
		}
		return b
	}
	int96 := func(t time.Time) deprecated.Int96 {
		days := t.Unix()/86400 + julianDayOfEpoch
		if t.Unix()%86400 < 0 {
			days--
		}
		midnight := time.Unix((days-julianDayOfEpoch)*86400, 0)
		nanos := uint64(t.Sub(midnight))
		return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days)}
	}
	ts := []time.Time{
		time.Date(2026, 11, 26, 13, 14, 15, 123456000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 1000, time.UTC),
	}
	var rows []parquet.Row
	var want [][]cell
	for i := range 3000 {
		v := int64(i*i) - 1_000_000
		ti := ts[i%3].Add(time.Duration(i) * time.Millisecond)
		nullable := i%4 != 1
		opt := func(col int, val parquet.Value) parquet.Value {
			if !nullable {
				return parquet.NullValue().Level(0, 0, col)
			}
			return val.Level(0, 1, col)
		}
		rows = append(rows, parquet.Row{
			opt(0, parquet.FixedLenByteArrayValue(fixed(v*1_000_003))),
			parquet.ByteArrayValue(minimalBigEndian(v, i%3)).Level(0, 0, 1),
			opt(2, parquet.FloatValue(float32(i)+0.25)),
			parquet.Int96Value(int96(ti)).Level(0, 0, 3),
			parquet.Int32Value(int32(int8(i))).Level(0, 0, 4),
			opt(5, parquet.Int32Value(int32(uint32(4_000_000_000+i)))),
			parquet.Int64Value(ti.UnixMilli()).Level(0, 0, 6),
			opt(7, parquet.Int64Value(ti.UnixNano()-1)),
			parquet.Int32Value(int32(-i)).Level(0, 0, 8),
			parquet.ByteArrayValue([]byte([]string{"SONG", "ALBUM", ""}[i%3])).Level(0, 0, 9),
			parquet.ByteArrayValue(fmt.Appendf(nil, "prefix-%05d", i)).Level(0, 0, 10),
			opt(11, parquet.Int64Value(int64(i%5)-2)),
			parquet.DoubleValue(float64(i%3)/4).Level(0, 0, 12),
			parquet.Int64Value(ts[i%3].UnixMilli()).Level(0, 0, 13),
			parquet.FloatValue(-float32(i)).Level(0, 0, 14),
		})
		floorMicros := func(t time.Time) int64 { return t.Add(-time.Nanosecond).Truncate(time.Microsecond).UnixMicro() }
		row := []cell{
			v * 1_000_003, v, float64(float32(i) + 0.25), ti.UnixMicro(), int64(int8(i)), int64(4_000_000_000 + i),
			ti.UnixMilli() * 1000, floorMicros(ti), int64(-i), []string{"SONG", "ALBUM", ""}[i%3],
			fmt.Sprintf("prefix-%05d", i), int64(i%5) - 2, float64(i%3) / 4, ts[i%3].UnixMilli() * 1000, float64(-float32(i)),
		}
		if !nullable {
			for _, c := range []int{0, 2, 5, 7, 11} {
				row[c] = nil
			}
		}
		want = append(want, row)
	}
	data := writeGenericFile(t, schema, rows, parquet.MaxRowsPerRowGroup(1000), parquet.PageBufferSize(4096))
	res := readAllCells(t, data, ReadOptions{BatchRows: 1024})
	require.Equal(t, sdk.Schema{Fields: []sdk.Field{
		{Name: "a_fixed_dec", Type: sdk.TypeDecimal, Precision: 12, Scale: 3, Nullable: true},
		{Name: "b_bytes_dec", Type: sdk.TypeDecimal, Precision: 18, Scale: 2},
		{Name: "c_float", Type: sdk.TypeFloat64, Nullable: true},
		{Name: "d_int96", Type: sdk.TypeTimestamp},
		{Name: "e_int8", Type: sdk.TypeInt64},
		{Name: "f_uint32", Type: sdk.TypeInt64, Nullable: true},
		{Name: "g_ts_ms", Type: sdk.TypeTimestamp},
		{Name: "h_ts_ns", Type: sdk.TypeTimestamp, Nullable: true},
		{Name: "i_plain_i32", Type: sdk.TypeInt64},
		{Name: "j_enum", Type: sdk.TypeString},
		{Name: "k_delta_str", Type: sdk.TypeString},
		{Name: "l_dict_int64", Type: sdk.TypeInt64, Nullable: true},
		{Name: "m_dict_dbl", Type: sdk.TypeFloat64},
		{Name: "n_dict_ts", Type: sdk.TypeTimestamp},
		{Name: "o_bss_float", Type: sdk.TypeFloat64},
	}}, res.schema)
	require.Equal(t, want, res.rows)
}

func TestReaderRejectsValuesOutOfRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		node parquet.Node
		val  parquet.Value
		msg  string
	}{
		{parquet.Timestamp(parquet.Millisecond), parquet.Int64Value(math.MaxInt64 / 999), "timestamp 9232604641496272 ms is out of the range of int64 microseconds"},
		{parquet.Decimal(0, 18, parquet.FixedLenByteArrayType(9)), parquet.FixedLenByteArrayValue([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}), "decimal value of 9 bytes does not fit 64 bits"},
		{parquet.Decimal(0, 18, parquet.ByteArrayType), parquet.ByteArrayValue(nil), "decimal value has no bytes"},
	} {
		schema := parquet.NewSchema("range", parquet.Group{"v": tc.node})
		data := writeGenericFile(t, schema, []parquet.Row{{tc.val.Level(0, 0, 0)}})
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{})
		require.NoError(t, err)
		_, err = r.Next()
		require.ErrorContains(t, err, `row group 0, column "v", rows from 0: `+tc.msg)
	}
}

func TestReaderRejectsUnsupportedColumns(t *testing.T) {
	t.Parallel()
	schema := parquet.NewSchema("unsupported", parquet.Group{
		"a_ok":     parquet.Leaf(parquet.Int64Type),
		"b_list":   parquet.List(parquet.Leaf(parquet.Int64Type)),
		"c_uint64": parquet.Uint(64),
		"d_time":   parquet.Time(parquet.Microsecond),
		"e_blob":   parquet.Leaf(parquet.ByteArrayType),
		"f_rep":    parquet.Repeated(parquet.String()),
		"g_struct": parquet.Group{"x": parquet.Leaf(parquet.Int64Type)},
		"h_dec38":  parquet.Decimal(2, 38, parquet.FixedLenByteArrayType(16)),
		"i_uuid":   parquet.UUID(),
	})
	data := writeGenericFile(t, schema, nil)

	_, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	require.ErrorContains(t, err, `column "b_list" has unsupported type LIST (nested)`)
	for col, what := range map[string]string{
		"b_list":   "LIST (nested)",
		"c_uint64": "INT64 (INT(64,false))",
		"d_time":   "INT64 (TIME(isAdjustedToUTC=true,unit=MICROS))",
		"e_blob":   "BYTE_ARRAY;",
		"f_rep":    "repeated BYTE_ARRAY (STRING)",
		"g_struct": "group (nested)",
		"h_dec38":  "FIXED_LEN_BYTE_ARRAY (DECIMAL(38,2))",
		"i_uuid":   "FIXED_LEN_BYTE_ARRAY (UUID)",
	} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{Columns: []string{"a_ok", col}})
		require.ErrorContains(t, err, fmt.Sprintf("column %q has unsupported type %s", col, what))
	}
	// Projected away, they are no obstacle.
	res := readAllCells(t, data, ReadOptions{Columns: []string{"a_ok"}})
	require.Equal(t, sdk.Schema{Fields: []sdk.Field{{Name: "a_ok", Type: sdk.TypeInt64}}}, res.schema)
}

func TestReaderReadsDuckDBFiles(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	for name, tc := range map[string]struct {
		options string
		u32Base int64
	}{
		"v1-snappy": {"", 4_000_000_000},
		// DuckDB's DELTA_BINARY_PACKED pages of UINTEGER carry values past
		// MaxInt32, which parquet-go rejects ("first value out of range"):
		// V2 files keep UINTEGER values below 2^31.
		"v2-zstd": {", PARQUET_VERSION V2, COMPRESSION zstd", 2_000_000_000},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReaderReadsDuckDBFile(t, db, tc.options, tc.u32Base)
		})
	}
}

// testReaderReadsDuckDBFile reads a file DuckDB writes with the given extra
// COPY options.
func testReaderReadsDuckDBFile(t *testing.T, db *sql.DB, options string, u32Base int64) {
	path := filepath.Join(t.TempDir(), "duck.parquet")
	const n = 5000
	_, err := db.Exec(fmt.Sprintf(`COPY (
		SELECT
			i::INTEGER AS i32,
			CASE WHEN i %% 7 = 0 THEN NULL ELSE (i * 2 - 3000)::INTEGER END AS i32_null,
			(i %% 100 - 50)::SMALLINT AS i16,
			(%d + i)::UINTEGER AS u32,
			(i * 1000003)::BIGINT AS i64,
			(i %% 5)::BIGINT AS i64_lowcard,
			CASE WHEN i %% 3 = 0 THEN NULL ELSE (i + 0.25)::FLOAT END AS f32,
			(i / 8)::DOUBLE AS f64,
			i %% 3 = 0 AS flag,
			CASE WHEN i %% 11 = 0 THEN NULL WHEN i %% 11 = 1 THEN '' ELSE 'store-' || (i %% 10)::VARCHAR END AS store,
			'row-' || i::VARCHAR || '-é' AS unique_str,
			DATE '1969-12-01' + (i %% 400)::INTEGER AS day,
			make_timestamp((i - 2500)::BIGINT * 123456789)::TIMESTAMP_MS AS ts_ms,
			make_timestamp((i - 2500)::BIGINT * 123456789) AS ts_us,
			make_timestamptz(2026, 11, 26, 12, 0, 0.5, 'UTC') + to_microseconds(i) AS ts_tz,
			CASE WHEN i %% 2 = 0 THEN TIMESTAMP_NS '1969-12-31 23:59:59.999999999' ELSE TIMESTAMP_NS '2026-11-26 12:00:00.123456789' END AS ts_ns,
			((i - 2500) / 10)::DECIMAL(4,1) AS dec4,
			((i - 2500) * 1.25)::DECIMAL(9,2) AS dec9,
			CASE WHEN i %% 5 = 0 THEN NULL ELSE ((i - 2500) * 1000.000001)::DECIMAL(18,6) END AS dec18
		FROM range(%d) t(i)
	) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048%s)`, u32Base, n, path, options))
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	f := openFile(t, data)
	require.Greater(t, len(f.RowGroups()), 1)
	// The physical and logical types DuckDB chose, which the test is about.
	for col, want := range map[string]string{
		"i32": "INT32 INT(32,true)", "u32": "INT32 INT(32,false)", "f32": "FLOAT ", "f64": "DOUBLE ",
		"ts_ms": "INT64 TIMESTAMP(isAdjustedToUTC=false,unit=MILLIS)", "ts_ns": "INT64 TIMESTAMP(isAdjustedToUTC=false,unit=NANOS)",
		"ts_tz": "INT64 TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)",
		"dec4":  "INT32 DECIMAL(4,1)", "dec9": "INT32 DECIMAL(9,2)", "dec18": "INT64 DECIMAL(18,6)",
	} {
		typ := f.Root().Column(col).Type()
		got := typ.Kind().String() + " "
		if lt := typ.LogicalType(); lt != nil {
			got += lt.String()
		}
		require.Equal(t, want, got, col)
	}

	res := readAllCells(t, data, ReadOptions{BatchRows: 1000})
	field := func(name string, typ sdk.Type) sdk.Field { return sdk.Field{Name: name, Type: typ, Nullable: true} }
	dec := func(name string, p, s int32) sdk.Field {
		return sdk.Field{Name: name, Type: sdk.TypeDecimal, Precision: p, Scale: s, Nullable: true}
	}
	require.Equal(t, sdk.Schema{Fields: []sdk.Field{
		field("i32", sdk.TypeInt64), field("i32_null", sdk.TypeInt64), field("i16", sdk.TypeInt64), field("u32", sdk.TypeInt64),
		field("i64", sdk.TypeInt64), field("i64_lowcard", sdk.TypeInt64), field("f32", sdk.TypeFloat64), field("f64", sdk.TypeFloat64),
		field("flag", sdk.TypeBool), field("store", sdk.TypeString), field("unique_str", sdk.TypeString), field("day", sdk.TypeDate),
		field("ts_ms", sdk.TypeTimestamp), field("ts_us", sdk.TypeTimestamp), field("ts_tz", sdk.TypeTimestamp), field("ts_ns", sdk.TypeTimestamp),
		dec("dec4", 4, 1), dec("dec9", 9, 2), dec("dec18", 18, 6),
	}}, res.schema)

	nsPos := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	tz := time.Date(2026, 11, 26, 12, 0, 0, 500_000_000, time.UTC).UnixMicro()
	roundHalfAway := func(num, den int64) int64 { // DuckDB rounds casts half away from zero
		q, r := num/den, num%den
		if 2*abs(r) >= den {
			if num < 0 {
				q--
			} else {
				q++
			}
		}
		return q
	}
	require.Len(t, res.rows, n)
	for i, got := range res.rows {
		k := int64(i)
		us := (k - 2500) * 123456789
		var want []cell
		want = append(want, k, nullIf(i%7 == 0, k*2-3000), k%100-50, u32Base+k, k*1000003, k%5,
			nullIf(i%3 == 0, float64(float32(k)+0.25)), float64(k)/8, i%3 == 0)
		switch i % 11 {
		case 0:
			want = append(want, nil)
		case 1:
			want = append(want, "")
		default:
			want = append(want, fmt.Sprintf("store-%d", i%10))
		}
		want = append(want, fmt.Sprintf("row-%d-é", i), int32(-31+i%400))
		want = append(want, roundHalfAway(us, 1000)*1000, us, tz+k) // DuckDB's cast to TIMESTAMP_MS rounds
		if i%2 == 0 {
			want = append(want, int64(-1)) // floored to 23:59:59.999999, not truncated to 1970
		} else {
			want = append(want, nsPos.UnixMicro())
		}
		want = append(want, roundHalfAway(k-2500, 1), (k-2500)*125, nullIf(i%5 == 0, (k-2500)*1000000001))
		require.Equal(t, want, got, "row %d", i)
	}

	// Projection over a DuckDB file, in a new order.
	proj := readAllCells(t, data, ReadOptions{Columns: []string{"dec18", "store", "ts_ms"}})
	require.Len(t, proj.rows, n)
	for i, row := range proj.rows {
		require.Equal(t, []cell{res.rows[i][18], res.rows[i][9], res.rows[i][12]}, row)
	}
}

// minimalBigEndian encodes v in the fewest two's complement bytes, plus
// extra sign-extension bytes, as Spark and pyarrow write BYTE_ARRAY decimals.
func minimalBigEndian(v int64, extra int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	out := b[:]
	for len(out) > 1 && ((out[0] == 0 && out[1]&0x80 == 0) || (out[0] == 0xFF && out[1]&0x80 != 0)) {
		out = out[1:]
	}
	ext := byte(0)
	if v < 0 {
		ext = 0xFF
	}
	return append(bytes.Repeat([]byte{ext}, extra), out...)
}

func nullIf(null bool, v cell) cell {
	if null {
		return nil
	}
	return v
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestReaderRejectsUnsupportedDuckDBColumns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested.parquet")
	db := openDuckDB(t)
	_, err := db.Exec(fmt.Sprintf(`COPY (
		SELECT 1::BIGINT AS id, [1, 2, 3] AS tags, {'a': 1} AS props, 12345.67::DECIMAL(38, 2) AS big, '\xAA'::BLOB AS raw,
			42::UBIGINT AS ub, TIME '12:34:56' AS t
	) TO '%s' (FORMAT parquet)`, path))
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for col, what := range map[string]string{
		"tags":  "LIST (nested)",
		"props": "group (nested)",
		"big":   "FIXED_LEN_BYTE_ARRAY (DECIMAL(38,2))",
		"raw":   "BYTE_ARRAY;",
		"ub":    "INT64 (INT(64,false))",
		"t":     "INT64 (TIME(",
	} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{Columns: []string{"id", col}})
		require.ErrorContains(t, err, fmt.Sprintf("column %q has unsupported type %s", col, what))
	}
	res := readAllCells(t, data, ReadOptions{Columns: []string{"id"}})
	require.Equal(t, [][]cell{{int64(1)}}, res.rows)
}

// TestReaderMemoryIsBounded reads a file whose single row group decodes to
// ~40 MB and checks the live heap grows by about a page per column, not by
// the row group. It is deliberately not parallel: it measures the process
// heap.
func TestReaderMemoryIsBounded(t *testing.T) {
	const rows = 250_000
	data := writeFile(t, distroKidSchema, Options{RowGroupRows: rows}, batchesOf(distroKidRows(rows, 9), 4096)...)
	require.Len(t, openFile(t, data).RowGroups(), 1)
	runtime.GC()
	runtime.GC() // the second cycle also empties sync.Pools filled while writing
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	r, err := NewReader(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	require.NoError(t, err)
	var peak uint64
	var total int
	for i := 0; ; i++ {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		total += b.NumRows
		if i%4 == 3 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	require.NoError(t, r.Close())
	require.Equal(t, rows, total)
	growth := int64(peak) - int64(base)
	t.Logf("%d rows in one row group (%.1f MB file): peak live heap growth %.1f MiB", rows, float64(len(data))/1e6, float64(growth)/(1<<20))
	require.Less(t, growth, int64(12<<20))
}

// A nullable column holding only nulls (an export without extra columns)
// reads back as nulls, whatever its type and encoding.
func TestReaderAllNullColumns(t *testing.T) {
	t.Parallel()
	s := sdk.Schema{Fields: []sdk.Field{
		{Name: "id", Type: sdk.TypeInt64},
		{Name: "extra", Type: sdk.TypeString, Nullable: true},
		{Name: "day", Type: sdk.TypeDate, Nullable: true},
		{Name: "amount", Type: sdk.TypeDecimal, Precision: 18, Scale: 12, Nullable: true},
	}}
	rows := make([][]cell, 300)
	for i := range rows {
		rows[i] = []cell{int64(i), nil, nil, nil}
	}
	data := writeFile(t, s, Options{}, buildBatch(t, s, rows))
	res := readAllCells(t, data, ReadOptions{BatchRows: 128})
	require.Equal(t, rows, res.rows)
}
