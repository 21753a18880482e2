package sqlengine

import (
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Column is one result column.
type Column struct {
	Name string
	// Type is DuckDB's type name, e.g. "VARCHAR", "DECIMAL(18,12)", "DATE".
	Type string
}

// Rows streams a query's result. It is valid only inside the callback of
// Query.
type Rows struct {
	rows *sql.Rows
	cols []Column
	vals []any
	ptrs []any
	n    int64
	err  error
}

func newRows(r *sql.Rows) (*Rows, error) {
	types, err := r.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("failed to read the result's columns: %w", err)
	}
	rows := &Rows{rows: r, cols: make([]Column, len(types)), vals: make([]any, len(types)), ptrs: make([]any, len(types))}
	for i, t := range types {
		rows.cols[i] = Column{Name: t.Name(), Type: t.DatabaseTypeName()}
		rows.ptrs[i] = &rows.vals[i]
	}
	return rows, nil
}

// Columns describes the result's columns.
func (r *Rows) Columns() []Column { return r.cols }

// Next advances to the next row and reports whether there is one. After it
// returns false, Err tells whether the result ended or failed.
func (r *Rows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		if r.err == nil {
			if err := r.rows.Err(); err != nil {
				r.err = queryError(err)
			}
		}
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = fmt.Errorf("failed to read row %d: %w", r.n+1, err)
		return false
	}
	r.n++
	return true
}

// Values returns the current row's values as duckdb-go returns them (nil for
// NULL, int64, float64, string, bool, time.Time, duckdb.Decimal, *big.Int,
// []byte, []any, map[string]any, duckdb.OrderedMap, …). The slice is reused
// by the next call of Next.
func (r *Rows) Values() []any { return r.vals }

// Err returns the error that ended the rows, if any.
func (r *Rows) Err() error { return r.err }

// Count is the number of rows read so far.
func (r *Rows) Count() int64 { return r.n }

// kind classifies a rendered value.
type kind int

const (
	kindNull kind = iota
	kindNumber
	kindBool
	kindString
	kindNested // lists, structs, maps, unions: rendered as JSON
)

// render turns a value of a column of type typ into text: numbers exactly as
// DuckDB holds them (decimals with their full scale), times in RFC 3339 / ISO
// 8601 form (DATE 2026-11-26, TIMESTAMP 2026-11-26T10:00:00.5, TIMESTAMPTZ in
// UTC with Z), UUIDs in their usual form, blobs with non-printable bytes as
// \xHH, NaN and infinities as NaN, Infinity, -Infinity. Nested values report
// kindNested and no text.
func render(v any, typ string) (string, kind) {
	switch x := v.(type) {
	case nil:
		return "", kindNull
	case bool:
		return strconv.FormatBool(x), kindBool
	case int8:
		return strconv.FormatInt(int64(x), 10), kindNumber
	case int16:
		return strconv.FormatInt(int64(x), 10), kindNumber
	case int32:
		return strconv.FormatInt(int64(x), 10), kindNumber
	case int64:
		return strconv.FormatInt(x, 10), kindNumber
	case int:
		return strconv.Itoa(x), kindNumber
	case uint8:
		return strconv.FormatUint(uint64(x), 10), kindNumber
	case uint16:
		return strconv.FormatUint(uint64(x), 10), kindNumber
	case uint32:
		return strconv.FormatUint(uint64(x), 10), kindNumber
	case uint64:
		return strconv.FormatUint(x, 10), kindNumber
	case float32:
		return formatFloat(float64(x), 32)
	case float64:
		return formatFloat(x, 64)
	case *big.Int:
		if x == nil {
			return "", kindNull
		}
		return x.String(), kindNumber
	case duckdb.Decimal:
		return formatDecimal(x), kindNumber
	case string:
		return x, kindString
	case []byte:
		if strings.EqualFold(typ, "UUID") && len(x) == 16 {
			return formatUUID(x), kindString
		}
		return formatBlob(x), kindString
	case duckdb.UUID:
		return formatUUID(x[:]), kindString
	case *duckdb.UUID:
		return formatUUID(x[:]), kindString
	case time.Time:
		return formatTime(x, typ), kindString
	case duckdb.Interval:
		return formatInterval(x), kindString
	case []any, map[string]any, duckdb.OrderedMap, *duckdb.OrderedMap, duckdb.Map, duckdb.Union:
		return "", kindNested
	default:
		return fmt.Sprint(x), kindString
	}
}

func formatFloat(f float64, bits int) (string, kind) {
	switch {
	case math.IsNaN(f):
		return "NaN", kindString
	case math.IsInf(f, 1):
		return "Infinity", kindString
	case math.IsInf(f, -1):
		return "-Infinity", kindString
	}
	if a := math.Abs(f); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, bits), kindNumber
	}
	return strconv.FormatFloat(f, 'g', -1, bits), kindNumber
}

// formatDecimal renders a decimal with its full scale, as DuckDB's
// CAST(… AS VARCHAR) does: DECIMAL(18,3) 1.5 is 1.500.
func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	s := new(big.Int).Abs(d.Value).String()
	if sc := int(d.Scale); sc > 0 {
		if len(s) <= sc {
			s = strings.Repeat("0", sc-len(s)+1) + s
		}
		s = s[:len(s)-sc] + "." + s[len(s)-sc:]
	}
	if d.Value.Sign() < 0 {
		s = "-" + s
	}
	return s
}

func formatUUID(b []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&15])
	}
	return string(out)
}

func formatBlob(b []byte) string {
	const hexd = "0123456789ABCDEF"
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteString(`\x`)
		sb.WriteByte(hexd[c>>4])
		sb.WriteByte(hexd[c&15])
	}
	return sb.String()
}

func formatTime(t time.Time, typ string) string {
	switch strings.ToUpper(typ) {
	case "DATE":
		return t.Format(time.DateOnly)
	case "TIME":
		return t.Format("15:04:05.999999")
	case "TIMETZ", "TIME WITH TIME ZONE":
		return t.Format("15:04:05.999999Z07:00")
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "DATETIME":
		return t.Format("2006-01-02T15:04:05.999999")
	case "TIMESTAMP_NS":
		return t.Format("2006-01-02T15:04:05.999999999")
	case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	default:
		return t.Format(time.RFC3339Nano)
	}
}

// formatInterval renders an interval as DuckDB does: 1 year 2 months 3 days 04:05:06.5.
func formatInterval(iv duckdb.Interval) string {
	var parts []string
	unit := func(n int64, name string) {
		if n == 0 {
			return
		}
		s := fmt.Sprintf("%d %s", n, name)
		if n != 1 && n != -1 {
			s += "s"
		}
		parts = append(parts, s)
	}
	unit(int64(iv.Months/12), "year")
	unit(int64(iv.Months%12), "month")
	unit(int64(iv.Days), "day")
	if iv.Micros != 0 || len(parts) == 0 {
		m := iv.Micros
		sign := ""
		if m < 0 {
			sign, m = "-", -m
		}
		s := fmt.Sprintf("%s%02d:%02d:%02d", sign, m/3_600_000_000, m/60_000_000%60, m/1_000_000%60)
		if frac := m % 1_000_000; frac != 0 {
			s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// text renders a value for CSV and table output; nested values as JSON.
func text(v any, typ string) (string, bool) {
	s, k := render(v, typ)
	switch k {
	case kindNull:
		return "", false
	case kindNested:
		return string(appendJSON(nil, v, typ)), true
	}
	return s, true
}

// appendJSON appends v as JSON: numbers as exact JSON numbers, NaN and
// infinities as strings, everything else as render says, lists as arrays,
// structs and maps as objects (struct fields sorted by name, maps in their
// order).
func appendJSON(b []byte, v any, typ string) []byte {
	s, k := render(v, typ)
	switch k {
	case kindNull:
		return append(b, "null"...)
	case kindNumber, kindBool:
		return append(b, s...)
	case kindString:
		return appendJSONString(b, s)
	}
	switch x := v.(type) {
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e, "")
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k], "")
		}
		return append(b, '}')
	case duckdb.OrderedMap:
		return appendOrderedMap(b, x.Keys(), x.Values())
	case *duckdb.OrderedMap:
		return appendOrderedMap(b, x.Keys(), x.Values())
	case duckdb.Map:
		keys := make([]any, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, c any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(c)) })
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = x[k]
		}
		return appendOrderedMap(b, keys, vals)
	case duckdb.Union:
		return appendJSON(b, x.Value, "")
	}
	return appendJSONString(b, fmt.Sprint(v))
}

func appendOrderedMap(b []byte, keys, vals []any) []byte {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		ks, _ := text(k, "")
		b = appendJSONString(b, ks)
		b = append(b, ':')
		b = appendJSON(b, vals[i], "")
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, fmt.Sprintf(`\u%04x`, r)...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
