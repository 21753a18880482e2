package sdk

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

// wireSchema has one field of every type, all nullable.
var wireSchema = Schema{Fields: []Field{
	{Name: "s", Type: TypeString, Nullable: true},
	{Name: "i", Type: TypeInt64, Nullable: true},
	{Name: "f", Type: TypeFloat64, Nullable: true},
	{Name: "b", Type: TypeBool, Nullable: true},
	{Name: "d", Type: TypeDate, Nullable: true},
	{Name: "ts", Type: TypeTimestamp, Nullable: true},
	{Name: "dec", Type: TypeDecimal, Nullable: true, Precision: 18, Scale: 12},
}}

// wireRow is one row of wireSchema; null marks the row's values as null in
// every column.
type wireRow struct {
	s    string
	i    int64
	f    float64
	b    bool
	d    int32
	ts   int64
	dec  int64
	null bool
}

var negZero = math.Copysign(0, -1)

// nanWithPayload is a NaN whose mantissa bits are not the default ones, to
// check that floats travel bit for bit.
var nanWithPayload = math.Float64frombits(0x7ff8_0000_dead_beef)

var wireRows = []wireRow{
	{s: "", i: 0, f: 0, b: false, d: 0, ts: 0, dec: 0},
	{s: "héllo, wörld — 日本語 🎵", i: math.MaxInt64, f: math.MaxFloat64, b: true, d: math.MaxInt32, ts: math.MaxInt64, dec: 999_999_999_999_999_999},
	{s: "", i: math.MinInt64, f: negZero, b: false, d: math.MinInt32, ts: math.MinInt64, dec: -999_999_999_999_999_999},
	{s: "a\tb\nc\x00d", i: -1, f: math.NaN(), b: true, d: -719162, ts: -62135596800000000, dec: -1},
	{s: "x", i: 42, f: nanWithPayload, b: true, d: 20_000, ts: 1_764_000_000_000_000, dec: 1_234_567_890_123},
	{s: "", i: 7, f: math.Inf(1), b: false, d: -1, ts: -1, dec: 5},
	{s: "last", i: 8, f: math.Inf(-1), b: true, d: 1, ts: 1, dec: 6},
	{s: "π", i: 9, f: math.SmallestNonzeroFloat64, b: false, d: 2, ts: 2, dec: 7},
}

func buildWireBatch(t *testing.T, rows []wireRow) *RecordBatch {
	t.Helper()
	bb := NewBatchBuilder("stream", wireSchema)
	bb.Reset("stream", "p1")
	for _, r := range rows {
		if r.null {
			for col := range wireSchema.Fields {
				bb.AppendNull(col)
			}
			bb.EndRow()
			continue
		}
		bb.AppendString(0, []byte(r.s))
		bb.AppendInt64(1, r.i)
		bb.AppendFloat64(2, r.f)
		bb.AppendBool(3, r.b)
		bb.AppendInt32(4, r.d)
		bb.AppendInt64(5, r.ts)
		bb.AppendInt64(6, r.dec)
		bb.EndRow()
	}
	b := bb.Batch()
	require.NoError(t, b.Validate(wireSchema))
	return b
}

// roundTrip sends b through the wire encoding and protobuf serialisation.
func roundTrip(t *testing.T, b *RecordBatch) *RecordBatch {
	t.Helper()
	return roundTripCompact(t, b, false)
}

// roundTripCompact is roundTrip with constant columns sent once if
// constants is set, as to a host that accepts them.
func roundTripCompact(t *testing.T, b *RecordBatch, constants bool) *RecordBatch {
	t.Helper()
	data, err := proto.Marshal(batchToProtoCompact(b, constants))
	require.NoError(t, err)
	var msg sourcev1.RecordBatch
	require.NoError(t, proto.Unmarshal(data, &msg))
	got, err := batchFromProto(&msg)
	require.NoError(t, err)
	return got
}

// batchDiff compares batches with floats compared bit for bit (so NaN
// payloads and -0 count) and nil equal to empty.
func batchDiff(want, got *RecordBatch) string {
	notBothEmpty := func(x, y []float64) bool { return len(x) > 0 || len(y) > 0 }
	floatBits := cmp.FilterValues(notBothEmpty, cmp.Transformer("floatBits", func(fs []float64) []uint64 {
		out := make([]uint64, len(fs))
		for i, f := range fs {
			out[i] = math.Float64bits(f)
		}
		return out
	}))
	return cmp.Diff(want, got, floatBits, cmpopts.EquateEmpty())
}

// roundTripCases are the batches, by name, that every way of sending a
// batch must deliver unchanged.
func roundTripCases() map[string][]wireRow {
	withNulls := append([]wireRow{{null: true}}, wireRows...)
	withNulls = append(withNulls[:4], append([]wireRow{{null: true}}, withNulls[4:]...)...)
	withNulls = append(withNulls, wireRow{null: true})
	return map[string][]wireRow{
		"no nulls":      wireRows,
		"nulls":         withNulls,
		"all null":      {{null: true}, {null: true}, {null: true}},
		"zero rows":     nil,
		"one row":       wireRows[:1],
		"empty strings": {{s: ""}, {s: ""}, {s: ""}},
		"same rows":     {wireRows[1], wireRows[1], wireRows[1], wireRows[1]},
		"same NaN rows": {wireRows[4], wireRows[4]},
	}
}

func TestWireRoundTrip(t *testing.T) {
	t.Parallel()
	for name, rows := range roundTripCases() {
		for _, constants := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/constants=%v", name, constants), func(t *testing.T) {
				t.Parallel()
				want := buildWireBatch(t, rows)
				got := roundTripCompact(t, want, constants)
				require.Empty(t, batchDiff(want, got))
				require.NoError(t, got.Validate(wireSchema))
				require.Equal(t, len(rows), got.NumRows)
				for i, r := range rows {
					require.Equal(t, r.null, got.Columns[0].IsNull(i), "row %d", i)
					if !r.null {
						require.Equal(t, r.s, got.Columns[0].String(i), "row %d", i)
						require.Equal(t, math.Float64bits(r.f), math.Float64bits(got.Columns[2].Float64s[i]), "row %d", i)
					}
				}
			})
		}
	}
}

// TestWireConstantColumns sends a batch whose constant columns (a file
// name, an absent optional column, a fixed percentage) travel once, next to
// columns that vary, and gets the same batch back.
func TestWireConstantColumns(t *testing.T) {
	t.Parallel()
	const n = 1000
	file := Column{Offsets: make([]uint32, n+1)}
	varying := Column{Offsets: make([]uint32, n+1)}
	absent := Column{Int64s: make([]int64, n), Null: make([]bool, n)}
	pct := Column{Int64s: make([]int64, n)}
	nearly := Column{Int64s: make([]int64, n)} // constant but for its last row
	nullsDiffer := Column{Int32s: make([]int32, n), Null: make([]bool, n)}
	for i := range n {
		file.Bytes = append(file.Bytes, "DistroKid_1712345678901.tsv"...)
		file.Offsets[i+1] = uint32(len(file.Bytes))
		varying.Bytes = fmt.Appendf(varying.Bytes, "row %d", i)
		varying.Offsets[i+1] = uint32(len(varying.Bytes))
		absent.Null[i] = true
		pct.Int64s[i] = 100
		nullsDiffer.Null[i] = i%2 == 0
	}
	nearly.Int64s[n-1] = 1
	want := &RecordBatch{Stream: "s", PayloadID: "p", NumRows: n, Columns: []Column{file, varying, absent, pct, nearly, nullsDiffer}}

	msg := batchToProtoCompact(want, true)
	constant := []bool{}
	for _, c := range msg.Columns {
		constant = append(constant, c.Constant)
	}
	require.Equal(t, []bool{true, false, true, true, false, false}, constant)
	full, err := proto.Marshal(batchToProto(want))
	require.NoError(t, err)
	compact, err := proto.Marshal(msg)
	require.NoError(t, err)
	// 27+4 bytes of file name and offset, 8+1 of absent value and null
	// flag, 8 of percentage per row, less the values sent once.
	require.GreaterOrEqual(t, len(full)-len(compact), n*(27+4+8+1+8)-100)

	require.Empty(t, batchDiff(want, roundTripCompact(t, want, true)))
}

func TestWireMalformedConstantColumns(t *testing.T) {
	t.Parallel()
	two := uint32sToBytes([]uint32{0, 1, 2})
	cases := map[string]struct {
		rows int64
		col  *sourcev1.Column
		msg  string
	}{
		"two values":    {3, &sourcev1.Column{Constant: true, Int64S: make([]byte, 16)}, "holds 2 values"},
		"two strings":   {3, &sourcev1.Column{Constant: true, Bytes: []byte("ab"), Offsets: two}, "holds 2 values"},
		"bad offsets":   {3, &sourcev1.Column{Constant: true, Bytes: []byte("a"), Offsets: uint32sToBytes([]uint32{0, 5})}, "offsets 0..5"},
		"two nulls":     {3, &sourcev1.Column{Constant: true, Int64S: make([]byte, 8), Nulls: []byte{1, 1}}, "nulls"},
		"too many rows": {maxConstantRows + 1, &sourcev1.Column{Constant: true, Int64S: make([]byte, 8)}, "rows (at most"},
		"too many bytes": {maxConstantRows, &sourcev1.Column{Constant: true, Bytes: make([]byte, 1000), Offsets: uint32sToBytes([]uint32{0, 1000})},
			"exceeds"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := batchFromProto(&sourcev1.RecordBatch{Stream: "s", NumRows: tc.rows, Columns: []*sourcev1.Column{tc.col}})
			require.ErrorContains(t, err, "column 0")
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestWireRoundTripHandBuiltColumns(t *testing.T) {
	t.Parallel()
	// Columns filled directly, without the builder: only the slot each
	// type uses is set, and a column without nulls has a nil Null.
	want := &RecordBatch{
		Stream:    "hand",
		PayloadID: "p7",
		NumRows:   3,
		Columns: []Column{
			{Bytes: []byte("ab" + "" + "ü"), Offsets: []uint32{0, 2, 2, 4}},
			{Int64s: []int64{math.MinInt64, 0, math.MaxInt64}, Null: []bool{false, true, false}},
			{Float64s: []float64{negZero, math.NaN(), 1.5}},
			{Bools: []bool{true, false, true}},
			{Int32s: []int32{-1, math.MinInt32, math.MaxInt32}},
		},
	}
	got := roundTrip(t, want)
	require.Empty(t, batchDiff(want, got))
	require.Nil(t, got.Columns[0].Null)
	require.Equal(t, "", got.Columns[0].String(1))
	require.Equal(t, "ü", got.Columns[0].String(2))
	require.True(t, math.Signbit(got.Columns[2].Float64s[0]), "-0 must keep its sign")
}

func TestWireZeroColumns(t *testing.T) {
	t.Parallel()
	want := &RecordBatch{Stream: "empty", NumRows: 0, Columns: []Column{}}
	got := roundTrip(t, want)
	require.Empty(t, batchDiff(want, got))
}

func TestWireMalformedColumns(t *testing.T) {
	t.Parallel()
	cases := map[string]*sourcev1.Column{
		"int64 bytes":   {Int64S: make([]byte, 12)},
		"int32 bytes":   {Int32S: make([]byte, 6)},
		"float64 bytes": {Float64S: make([]byte, 7)},
		"offsets bytes": {Offsets: make([]byte, 5)},
	}
	for name, col := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg := &sourcev1.RecordBatch{Stream: "s", NumRows: 1, Columns: []*sourcev1.Column{{}, col}}
			_, err := batchFromProto(msg)
			require.Error(t, err)
			require.Contains(t, err.Error(), "column 1")
			require.Contains(t, err.Error(), "not a multiple of")
		})
	}
}

func TestBytesToInt64sUnaligned(t *testing.T) {
	t.Parallel()
	// A buffer that does not start on an 8-byte boundary is decoded by
	// copying, with the same values.
	want := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}
	buf := make([]byte, 1+8*len(want))
	copy(buf[1:], int64sToBytes(want))
	got, err := bytesToInt64s(buf[1:])
	require.NoError(t, err)
	require.Equal(t, want, got)

	want32 := []int32{math.MinInt32, -1, 0, 1, math.MaxInt32}
	buf = make([]byte, 1+4*len(want32))
	copy(buf[1:], int32sToBytes(want32))
	got32, err := bytesToInt32s(buf[1:])
	require.NoError(t, err)
	require.Equal(t, want32, got32)
}

func TestStreamAndSpecWire(t *testing.T) {
	t.Parallel()
	st := Stream{
		Name: "earnings", Doc: "rows", PrimaryKey: []string{"id", "date"}, CursorField: "date",
		Schema: Schema{Fields: []Field{
			{Name: "id", Type: TypeString, Doc: "the id"},
			{Name: "amount", Type: TypeDecimal, Nullable: true, Precision: 18, Scale: 12},
			{Name: "date", Type: TypeDate},
		}},
	}
	require.Empty(t, cmp.Diff(st, streamFromProto(streamToProto(st))))

	spec := Spec{Name: "x", Version: "1.2.3", Description: "d", Author: "a", Params: []Param{
		{Name: "token", Description: "api token", Required: true, Secret: true},
		{Name: "inbox", Description: "folder", Default: "/tmp"},
	}}
	require.Empty(t, cmp.Diff(spec, specFromProto(specToProto(spec))))

	problems := []Problem{{File: "a.tsv", Line: 3, Field: "amount", Message: "not a number"}, {File: "b.tsv", Message: "empty"}}
	require.Empty(t, cmp.Diff(problems, problemsFromProto(problemsToProto(problems))))
}
