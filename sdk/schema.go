package sdk

import (
	"fmt"
	"time"
)

// Type is the logical type of a column. The host maps each type to an exact
// Parquet type when it writes the raw zone.
type Type int32

// Column types. Values travel in the column slot named in each comment.
const (
	TypeUnspecified Type = iota
	// TypeString is UTF-8 text (Column.Bytes + Column.Offsets).
	TypeString
	// TypeInt64 is a signed 64-bit integer (Column.Int64s).
	TypeInt64
	// TypeFloat64 is an IEEE-754 double (Column.Float64s). Never use it for money.
	TypeFloat64
	// TypeBool is a boolean (Column.Bools).
	TypeBool
	// TypeDate is a calendar date, days since 1970-01-01 (Column.Int32s).
	TypeDate
	// TypeTimestamp is an instant, microseconds since the Unix epoch, UTC (Column.Int64s).
	TypeTimestamp
	// TypeDecimal is an exact decimal: the unscaled value in Column.Int64s,
	// with Field.Precision (at most 18) and Field.Scale.
	TypeDecimal
)

var typeNames = map[Type]string{
	TypeString: "string", TypeInt64: "int64", TypeFloat64: "float64", TypeBool: "bool",
	TypeDate: "date", TypeTimestamp: "timestamp", TypeDecimal: "decimal",
}

// String returns the type's lower-case name, e.g. "decimal".
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", int32(t))
}

// Field is one column of a stream's schema.
type Field struct {
	Name      string
	Type      Type
	Nullable  bool
	Precision int32 // TypeDecimal only
	Scale     int32 // TypeDecimal only
	Doc       string
}

// TypeString renders the field's type the way users read it, e.g. "decimal(18,12)".
func (f Field) TypeString() string {
	if f.Type == TypeDecimal {
		return fmt.Sprintf("decimal(%d,%d)", f.Precision, f.Scale)
	}
	return f.Type.String()
}

// Schema is an ordered list of fields. Record batches carry one column per
// field, in this order.
type Schema struct {
	Fields []Field
}

// Index returns the position of the named field, or -1.
func (s Schema) Index(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Stream is one dataset a source can produce.
type Stream struct {
	Name        string
	Doc         string
	Schema      Schema
	PrimaryKey  []string
	CursorField string
}

// DaysSinceEpoch converts a date to the TypeDate representation.
func DaysSinceEpoch(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
