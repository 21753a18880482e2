package sdk

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var builderSchema = Schema{Fields: []Field{
	{Name: "s", Type: TypeString, Nullable: true},
	{Name: "i", Type: TypeInt64, Nullable: true},
	{Name: "f", Type: TypeFloat64, Nullable: true},
	{Name: "b", Type: TypeBool, Nullable: true},
	{Name: "d", Type: TypeDate, Nullable: true},
	{Name: "ts", Type: TypeTimestamp, Nullable: true},
	{Name: "dec", Type: TypeDecimal, Nullable: true, Precision: 10, Scale: 2},
}}

// appendRow appends row r to every column, null where nulls[r] is set.
func appendRow(bb *BatchBuilder, r int, null bool) {
	for col, f := range builderSchema.Fields {
		if null {
			bb.AppendNull(col)
			continue
		}
		switch f.Type {
		case TypeString:
			bb.AppendString(col, []byte{'a' + byte(r%26)})
		case TypeInt64, TypeTimestamp, TypeDecimal:
			bb.AppendInt64(col, int64(r))
		case TypeFloat64:
			bb.AppendFloat64(col, float64(r)+0.5)
		case TypeBool:
			bb.AppendBool(col, r%2 == 1)
		case TypeDate:
			bb.AppendInt32(col, int32(r))
		}
	}
	bb.EndRow()
}

func TestBatchBuilderNullPositions(t *testing.T) {
	t.Parallel()
	const n = 20
	cases := map[string][]int{
		"none":    nil,
		"first":   {0},
		"middle":  {7},
		"last":    {n - 1},
		"several": {0, 3, 4, 18, 19},
		"all": func() []int {
			v := make([]int, n)
			for i := range v {
				v[i] = i
			}
			return v
		}(),
		"late one": {n - 2},
	}
	for name, nullRows := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			isNull := make([]bool, n)
			for _, r := range nullRows {
				isNull[r] = true
			}
			bb := NewBatchBuilder("s", builderSchema)
			for r := 0; r < n; r++ {
				appendRow(bb, r, isNull[r])
			}
			require.Equal(t, n, bb.Len())
			b := bb.Batch()
			require.NoError(t, b.Validate(builderSchema))
			require.Equal(t, "s", b.Stream)
			for col := range builderSchema.Fields {
				c := &b.Columns[col]
				if len(nullRows) == 0 {
					require.Nil(t, c.Null, "column %d: no nulls means a nil Null", col)
				} else {
					require.Len(t, c.Null, n, "column %d", col)
				}
				for r := 0; r < n; r++ {
					require.Equal(t, isNull[r], c.IsNull(r), "column %d row %d", col, r)
				}
			}
			for r := 0; r < n; r++ {
				if isNull[r] {
					require.Equal(t, "", b.Columns[0].String(r))
					require.Zero(t, b.Columns[1].Int64s[r])
					require.Zero(t, b.Columns[2].Float64s[r])
					require.False(t, b.Columns[3].Bools[r])
					require.Zero(t, b.Columns[4].Int32s[r])
					continue
				}
				require.Equal(t, string([]byte{'a' + byte(r%26)}), b.Columns[0].String(r))
				require.Equal(t, int64(r), b.Columns[1].Int64s[r])
				require.Equal(t, float64(r)+0.5, b.Columns[2].Float64s[r])
				require.Equal(t, r%2 == 1, b.Columns[3].Bools[r])
				require.Equal(t, int32(r), b.Columns[4].Int32s[r])
				require.Equal(t, int64(r), b.Columns[5].Int64s[r])
				require.Equal(t, int64(r), b.Columns[6].Int64s[r])
			}
		})
	}
}

func TestBatchBuilderResetReuses(t *testing.T) {
	t.Parallel()
	bb := NewBatchBuilder("s", builderSchema)
	for r := 0; r < 100; r++ {
		appendRow(bb, r, r == 50)
	}
	first := bb.Batch()
	require.Equal(t, 100, first.NumRows)
	int64Buf := &first.Columns[1].Int64s[0]
	bytesCap := cap(first.Columns[0].Bytes)

	bb.Reset("t", "p9")
	b := bb.Batch()
	require.Equal(t, 0, bb.Len())
	require.Equal(t, "t", b.Stream)
	require.Equal(t, "p9", b.PayloadID)
	require.NoError(t, b.Validate(builderSchema))
	for col := range b.Columns {
		require.Nil(t, b.Columns[col].Null, "column %d", col)
	}
	require.Equal(t, []uint32{0}, b.Columns[0].Offsets)
	require.Empty(t, b.Columns[0].Bytes)

	for r := 0; r < 10; r++ {
		appendRow(bb, r, false)
	}
	require.NoError(t, b.Validate(builderSchema))
	require.Equal(t, 10, b.NumRows)
	require.Same(t, int64Buf, &b.Columns[1].Int64s[0], "Reset must keep the allocated values")
	require.Equal(t, bytesCap, cap(b.Columns[0].Bytes))
	require.Equal(t, "a", b.Columns[0].String(0))
	require.Equal(t, "j", b.Columns[0].String(9))
	require.Nil(t, b.Columns[1].Null, "nulls of the previous batch must not leak")
}

func TestRecordBatchValidate(t *testing.T) {
	t.Parallel()
	schema := Schema{Fields: []Field{
		{Name: "name", Type: TypeString},
		{Name: "n", Type: TypeInt64, Nullable: true},
		{Name: "flag", Type: TypeBool},
	}}
	good := func() *RecordBatch {
		return &RecordBatch{Stream: "st", NumRows: 2, Columns: []Column{
			{Bytes: []byte("abcd"), Offsets: []uint32{0, 2, 4}},
			{Int64s: []int64{1, 0}, Null: []bool{false, true}},
			{Bools: []bool{true, false}},
		}}
	}
	require.NoError(t, good().Validate(schema))

	cases := []struct {
		name   string
		mutate func(b *RecordBatch)
		want   string
	}{
		{"too few columns", func(b *RecordBatch) { b.Columns = b.Columns[:2] }, "batch has 2 columns, schema has 3 fields"},
		{"too many columns", func(b *RecordBatch) { b.Columns = append(b.Columns, Column{}) }, "batch has 4 columns, schema has 3 fields"},
		{"short int column", func(b *RecordBatch) { b.Columns[1].Int64s = b.Columns[1].Int64s[:1] }, `column "n" has 1 values, batch has 2 rows`},
		{"long bool column", func(b *RecordBatch) { b.Columns[2].Bools = append(b.Columns[2].Bools, true) }, `column "flag" has 3 values`},
		{"short string column", func(b *RecordBatch) { b.Columns[0].Offsets = []uint32{0, 4} }, `column "name" has 1 values`},
		{"wrong slot", func(b *RecordBatch) { b.Columns[1] = Column{Int32s: []int32{1, 2}} }, `column "n" has 0 values`},
		{"wrong row count", func(b *RecordBatch) { b.NumRows = 3 }, "batch has 3 rows"},
		{"null flags length", func(b *RecordBatch) { b.Columns[1].Null = []bool{true} }, `column "n" has 1 null flags, batch has 2 rows`},
		{"null in non-nullable", func(b *RecordBatch) { b.Columns[2].Null = []bool{false, true} }, `column "flag" is not nullable but holds a null`},
		{"offsets past data", func(b *RecordBatch) { b.Columns[0].Offsets = []uint32{0, 2, 5} }, `column "name": offsets point past the string data`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := good()
			tc.mutate(b)
			err := b.Validate(schema)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), `stream "st"`)
		})
	}

	// A Null slice of all false is allowed in a non-nullable column.
	b := good()
	b.Columns[2].Null = []bool{false, false}
	require.NoError(t, b.Validate(schema))

	// An unsupported field type is reported.
	bad := Schema{Fields: []Field{{Name: "x", Type: TypeUnspecified}}}
	err := (&RecordBatch{Stream: "st", Columns: []Column{{}}}).Validate(bad)
	require.ErrorContains(t, err, `column "x" has unsupported type`)
}

func TestSchemaHelpers(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1, builderSchema.Index("i"))
	require.Equal(t, -1, builderSchema.Index("missing"))
	require.Equal(t, "decimal(10,2)", builderSchema.Fields[6].TypeString())
	require.Equal(t, "timestamp", builderSchema.Fields[5].TypeString())
	require.Equal(t, "type(99)", Type(99).String())
}
