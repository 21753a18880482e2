package expect

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// Kind is the type of a Value.
type Kind uint8

// Value kinds. Dates, timestamps and decimals keep the SDK's encodings.
const (
	KindNull      Kind = iota
	KindInt            // I
	KindFloat          // F
	KindString         // S
	KindBool           // I (0 or 1)
	KindDate           // I: days since 1970-01-01
	KindTimestamp      // I: microseconds since the epoch, UTC
	KindDecimal        // I: unscaled, with Scale
	KindTuple          // L: a row of a column pair (a JSON list)
	KindRecord         // L with Names: a row of several columns (a JSON object)
)

// Value is one cell value as reported in results (unexpected values,
// observed values). Values are built only on the rare paths (an unexpected
// value, a distinct value), never per row.
type Value struct {
	Kind  Kind
	I     int64
	F     float64
	S     string
	Scale int32
	L     []Value
	Names []string
}

// IsNull reports whether the value is null.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// valueAt reads cell i of a column as a Value.
func valueAt(c *sdk.Column, f *sdk.Field, i int) Value {
	if c.IsNull(i) {
		return Value{}
	}
	switch f.Type {
	case sdk.TypeString:
		return Value{Kind: KindString, S: c.String(i)}
	case sdk.TypeInt64:
		return Value{Kind: KindInt, I: c.Int64s[i]}
	case sdk.TypeFloat64:
		x := c.Float64s[i]
		if x != x {
			return Value{}
		}
		return Value{Kind: KindFloat, F: x}
	case sdk.TypeBool:
		if c.Bools[i] {
			return Value{Kind: KindBool, I: 1}
		}
		return Value{Kind: KindBool}
	case sdk.TypeDate:
		return Value{Kind: KindDate, I: int64(c.Int32s[i])}
	case sdk.TypeTimestamp:
		return Value{Kind: KindTimestamp, I: c.Int64s[i]}
	case sdk.TypeDecimal:
		return Value{Kind: KindDecimal, I: c.Int64s[i], Scale: f.Scale}
	}
	return Value{}
}

// isNullAt reports whether cell i counts as missing: null, or a float NaN
// (pandas, and so GX, treats NaN as missing).
func isNullAt(c *sdk.Column, f *sdk.Field, i int) bool {
	if c.Null != nil && c.Null[i] {
		return true
	}
	if f.Type == sdk.TypeFloat64 {
		x := c.Float64s[i]
		return x != x
	}
	return false
}

// nullCount counts the missing cells of a column batch.
func nullCount(c *sdk.Column, f *sdk.Field, n int) int64 {
	var k int64
	if f.Type == sdk.TypeFloat64 {
		fs := c.Float64s[:n]
		if c.Null == nil {
			for _, x := range fs {
				if x != x {
					k++
				}
			}
			return k
		}
		nulls := c.Null[:n]
		for i, x := range fs {
			if nulls[i] || x != x {
				k++
			}
		}
		return k
	}
	if c.Null == nil {
		return 0
	}
	for _, isNull := range c.Null[:n] {
		if isNull {
			k++
		}
	}
	return k
}

// float returns the value as a float64 (numbers, dates and timestamps).
func (v Value) float() (float64, bool) {
	switch v.Kind {
	case KindInt, KindBool:
		return float64(v.I), true
	case KindFloat:
		return v.F, true
	case KindDecimal:
		return float64(v.I) / math.Pow10(int(v.Scale)), true
	case KindDate:
		return float64(v.I) * 86400e6, true
	case KindTimestamp:
		return float64(v.I), true
	}
	return 0, false
}

func isNumeric(k Kind) bool {
	return k == KindInt || k == KindFloat || k == KindDecimal || k == KindBool
}
func isTemporal(k Kind) bool { return k == KindDate || k == KindTimestamp }

// comparable reports whether two kinds can be ordered against each other.
func comparableKinds(a, b Kind) bool {
	return a == b || (isNumeric(a) && isNumeric(b)) || (isTemporal(a) && isTemporal(b))
}

// compareValues orders two values; values of incomparable kinds order by kind.
func compareValues(a, b Value) int {
	if a.Kind == b.Kind {
		switch a.Kind {
		case KindNull:
			return 0
		case KindString:
			return strings.Compare(a.S, b.S)
		case KindFloat:
			return cmp.Compare(a.F, b.F)
		case KindDecimal:
			if a.Scale == b.Scale {
				return cmp.Compare(a.I, b.I)
			}
		case KindTuple, KindRecord:
			for i := 0; i < len(a.L) && i < len(b.L); i++ {
				if c := compareValues(a.L[i], b.L[i]); c != 0 {
					return c
				}
			}
			return cmp.Compare(len(a.L), len(b.L))
		default:
			return cmp.Compare(a.I, b.I)
		}
	}
	if comparableKinds(a.Kind, b.Kind) {
		if a.Kind == KindInt && b.Kind == KindInt {
			return cmp.Compare(a.I, b.I)
		}
		x, _ := a.float()
		y, _ := b.float()
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a.Kind, b.Kind)
}

// equalValues reports whether two values are equal the way Python's == sees
// them (1 == 1.0; a date equals a midnight timestamp).
func equalValues(a, b Value) bool {
	if a.Kind == KindNull || b.Kind == KindNull {
		return a.Kind == b.Kind
	}
	if !comparableKinds(a.Kind, b.Kind) {
		return false
	}
	return compareValues(a, b) == 0
}

// MarshalJSON renders the value the way GX's JSON serialisation does:
// dates and timestamps as ISO 8601 strings, decimals as numbers.
func (v Value) MarshalJSON() ([]byte, error) {
	return v.appendJSON(nil), nil
}

func (v Value) appendJSON(b []byte) []byte {
	switch v.Kind {
	case KindNull:
		return append(b, "null"...)
	case KindInt:
		return strconv.AppendInt(b, v.I, 10)
	case KindFloat:
		return appendFloat(b, v.F)
	case KindString:
		s, _ := json.Marshal(v.S)
		return append(b, s...)
	case KindBool:
		return strconv.AppendBool(b, v.I != 0)
	case KindDate:
		b = append(b, '"')
		b = time.Unix(v.I*86400, 0).UTC().AppendFormat(b, "2006-01-02")
		return append(b, '"')
	case KindTimestamp:
		b = append(b, '"')
		b = append(b, formatTimestamp(v.I)...)
		return append(b, '"')
	case KindDecimal:
		return append(b, decimalText(v.I, v.Scale, true)...)
	case KindTuple:
		b = append(b, '[')
		for i, e := range v.L {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = e.appendJSON(b)
		}
		return append(b, ']')
	case KindRecord:
		b = append(b, '{')
		for i, e := range v.L {
			if i > 0 {
				b = append(b, ", "...)
			}
			k, _ := json.Marshal(v.Names[i])
			b = append(b, k...)
			b = append(b, ": "...)
			b = e.appendJSON(b)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

// String renders the value for messages and data docs.
func (v Value) String() string {
	if v.Kind == KindString {
		return v.S
	}
	return string(bytes.Trim(v.appendJSON(nil), `"`))
}

// appendFloat writes a float the way Python's json module does (2.0, not 2);
// infinities and NaN, which JSON cannot carry, become strings.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	}
	// Python's json module writes floats with repr().
	return append(b, pyFloatRepr(f)...)
}

// formatTimestamp renders microseconds since the epoch as Python's
// isoformat() does for a naive UTC datetime.
func formatTimestamp(us int64) string {
	t := time.UnixMicro(us).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// decimalText renders an unscaled decimal exactly. asFloat mimics Python's
// float(Decimal) repr: trailing zeros dropped, at least one fractional digit.
func decimalText(unscaled int64, scale int32, asFloat bool) string {
	neg := unscaled < 0
	u := uint64(unscaled)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	var s string
	if scale <= 0 {
		s = digits + strings.Repeat("0", int(-scale))
		if asFloat {
			s += ".0"
		}
	} else {
		for len(digits) <= int(scale) {
			digits = "0" + digits
		}
		intPart, frac := digits[:len(digits)-int(scale)], digits[len(digits)-int(scale):]
		if asFloat {
			frac = strings.TrimRight(frac, "0")
			if frac == "" {
				frac = "0"
			}
		}
		s = intPart + "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}
