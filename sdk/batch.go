package sdk

import "fmt"

// Column holds the values of one field for every row of a batch. Exactly one
// value slot is used, chosen by the field's Type (see the Type constants).
// Null marks missing values (nil means no nulls); the value slot still holds a
// zero value at a null position so that indexes line up.
type Column struct {
	Int64s   []int64
	Int32s   []int32
	Float64s []float64
	Bools    []bool
	// Bytes and Offsets hold strings: value i is Bytes[Offsets[i]:Offsets[i+1]],
	// so len(Offsets) is the row count plus one.
	Bytes   []byte
	Offsets []uint32
	Null    []bool
}

// String returns string value i without copying more than the value.
func (c *Column) String(i int) string { return string(c.Bytes[c.Offsets[i]:c.Offsets[i+1]]) }

// IsNull reports whether value i is null.
func (c *Column) IsNull(i int) bool { return c.Null != nil && c.Null[i] }

// RecordBatch is a columnar slice of one stream's rows. Batches cross the
// plugin boundary whole: aim for 1k–8k rows each, never a message per row.
type RecordBatch struct {
	// Stream names the stream the rows belong to.
	Stream string
	// PayloadID links the rows to the original payload they were parsed
	// from (see Emitter.BeginPayload). Empty when rows have no payload.
	PayloadID string
	// NumRows is the number of rows; every column has this many values.
	NumRows int
	// Columns follow the stream schema's field order.
	Columns []Column
}

// Validate checks that the batch has one column per field, each with NumRows
// values in the slot its type uses.
func (b *RecordBatch) Validate(s Schema) error {
	if len(b.Columns) != len(s.Fields) {
		return fmt.Errorf("stream %q: batch has %d columns, schema has %d fields", b.Stream, len(b.Columns), len(s.Fields))
	}
	for i, f := range s.Fields {
		c := &b.Columns[i]
		var n int
		switch f.Type {
		case TypeString:
			n = len(c.Offsets) - 1
			if len(c.Offsets) > 0 && int(c.Offsets[len(c.Offsets)-1]) > len(c.Bytes) {
				return fmt.Errorf("stream %q: column %q: offsets point past the string data", b.Stream, f.Name)
			}
		case TypeInt64, TypeTimestamp, TypeDecimal:
			n = len(c.Int64s)
		case TypeDate:
			n = len(c.Int32s)
		case TypeFloat64:
			n = len(c.Float64s)
		case TypeBool:
			n = len(c.Bools)
		default:
			return fmt.Errorf("stream %q: column %q has unsupported type %s", b.Stream, f.Name, f.Type)
		}
		if n != b.NumRows {
			return fmt.Errorf("stream %q: column %q has %d values, batch has %d rows", b.Stream, f.Name, n, b.NumRows)
		}
		if c.Null != nil && len(c.Null) != b.NumRows {
			return fmt.Errorf("stream %q: column %q has %d null flags, batch has %d rows", b.Stream, f.Name, len(c.Null), b.NumRows)
		}
		if c.Null != nil && !f.Nullable {
			for _, isNull := range c.Null {
				if isNull {
					return fmt.Errorf("stream %q: column %q is not nullable but holds a null", b.Stream, f.Name)
				}
			}
		}
	}
	return nil
}

// BatchBuilder appends rows to a RecordBatch column by column. It is a
// convenience for plugin authors; plugins may fill Columns directly.
type BatchBuilder struct {
	schema Schema
	batch  RecordBatch
}

// NewBatchBuilder returns a builder for the stream's schema.
func NewBatchBuilder(stream string, schema Schema) *BatchBuilder {
	b := &BatchBuilder{schema: schema}
	b.Reset(stream, "")
	return b
}

// Reset empties the builder for a new batch, keeping allocated capacity.
func (b *BatchBuilder) Reset(stream, payloadID string) {
	cols := b.batch.Columns
	if len(cols) != len(b.schema.Fields) {
		cols = make([]Column, len(b.schema.Fields))
	}
	for i := range cols {
		c := &cols[i]
		c.Int64s, c.Int32s, c.Float64s, c.Bools = c.Int64s[:0], c.Int32s[:0], c.Float64s[:0], c.Bools[:0]
		c.Bytes = c.Bytes[:0]
		c.Offsets = append(c.Offsets[:0], 0)
		c.Null = nil
	}
	b.batch = RecordBatch{Stream: stream, PayloadID: payloadID, Columns: cols}
}

// Len is the number of rows appended since the last Reset.
func (b *BatchBuilder) Len() int { return b.batch.NumRows }

// EndRow finishes the current row; call it once every column has a value.
func (b *BatchBuilder) EndRow() { b.batch.NumRows++ }

// Batch returns the batch built so far. It shares memory with the builder:
// emit it before calling Reset.
func (b *BatchBuilder) Batch() *RecordBatch { return &b.batch }

func (b *BatchBuilder) markNull(col int, isNull bool) {
	c := &b.batch.Columns[col]
	if isNull && c.Null == nil {
		// cap(c.Offsets) is a size hint for string columns only; other
		// columns keep Offsets at one element, so never go below the rows.
		c.Null = make([]bool, b.batch.NumRows, max(b.batch.NumRows+1, cap(c.Offsets)))
	}
	if c.Null != nil {
		c.Null = append(c.Null, isNull)
	}
}

// AppendString appends a string value to column col.
func (b *BatchBuilder) AppendString(col int, v []byte) {
	c := &b.batch.Columns[col]
	c.Bytes = append(c.Bytes, v...)
	c.Offsets = append(c.Offsets, uint32(len(c.Bytes)))
	b.markNull(col, false)
}

// AppendInt64 appends an INT64, TIMESTAMP or DECIMAL (unscaled) value.
func (b *BatchBuilder) AppendInt64(col int, v int64) {
	c := &b.batch.Columns[col]
	c.Int64s = append(c.Int64s, v)
	b.markNull(col, false)
}

// AppendInt32 appends a DATE value (days since epoch).
func (b *BatchBuilder) AppendInt32(col int, v int32) {
	c := &b.batch.Columns[col]
	c.Int32s = append(c.Int32s, v)
	b.markNull(col, false)
}

// AppendFloat64 appends a FLOAT64 value.
func (b *BatchBuilder) AppendFloat64(col int, v float64) {
	c := &b.batch.Columns[col]
	c.Float64s = append(c.Float64s, v)
	b.markNull(col, false)
}

// AppendBool appends a BOOL value.
func (b *BatchBuilder) AppendBool(col int, v bool) {
	c := &b.batch.Columns[col]
	c.Bools = append(c.Bools, v)
	b.markNull(col, false)
}

// AppendNull appends a null to column col, with a zero value in its slot.
func (b *BatchBuilder) AppendNull(col int) {
	c := &b.batch.Columns[col]
	switch b.schema.Fields[col].Type {
	case TypeString:
		c.Offsets = append(c.Offsets, uint32(len(c.Bytes)))
	case TypeInt64, TypeTimestamp, TypeDecimal:
		c.Int64s = append(c.Int64s, 0)
	case TypeDate:
		c.Int32s = append(c.Int32s, 0)
	case TypeFloat64:
		c.Float64s = append(c.Float64s, 0)
	case TypeBool:
		c.Bools = append(c.Bools, false)
	}
	b.markNull(col, true)
}
