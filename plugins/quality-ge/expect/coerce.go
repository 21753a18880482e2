package expect

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// errMixedTypes is GX's message when bounds and column values cannot be
// compared.
var errMixedTypes = errors.New("TypeError: Column values, min_value, and max_value must either be None or of the same type.")

// parseTemporal reads a date or date-time string: ISO 8601 first, then the
// forms python-dateutil's parser accepts. It returns microseconds since the
// epoch (UTC; a zone offset in the text is applied).
func parseTemporal(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{
		"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04", "2006-01-02 15:04",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMicro(), true
		}
	}
	t, ok := parseDateutil(s)
	if !ok {
		return 0, false
	}
	return t.UnixMicro(), true
}

const microsPerDay = 86400 * 1_000_000

// kwValue converts a kwarg scalar to a Value comparable with the column's
// values. ok is false when the kwarg can never equal a value of the column
// (Python compares 1 and "1" as different, never as an error).
func kwValue(f *sdk.Field, v any) (Value, bool) {
	switch x := v.(type) {
	case nil:
		return Value{}, true
	case bool:
		b := int64(0)
		if x {
			b = 1
		}
		switch f.Type {
		case sdk.TypeBool:
			return Value{Kind: KindBool, I: b}, true
		case sdk.TypeInt64:
			return Value{Kind: KindInt, I: b}, true
		case sdk.TypeFloat64:
			return Value{Kind: KindFloat, F: float64(b)}, true
		}
		return Value{}, false
	case json.Number:
		switch f.Type {
		case sdk.TypeInt64:
			if n, err := x.Int64(); err == nil {
				return Value{Kind: KindInt, I: n}, true
			}
			fl, err := x.Float64()
			if err == nil && fl == math.Trunc(fl) && math.Abs(fl) < 1<<63 {
				return Value{Kind: KindInt, I: int64(fl)}, true
			}
			return Value{Kind: KindFloat, F: fl}, err == nil
		case sdk.TypeFloat64:
			fl, err := x.Float64()
			return Value{Kind: KindFloat, F: fl}, err == nil
		case sdk.TypeDecimal:
			r, ok := new(big.Rat).SetString(x.String())
			if !ok {
				return Value{}, false
			}
			r.Mul(r, new(big.Rat).SetFrac(pow10(f.Scale), big.NewInt(1)))
			if !r.IsInt() || !r.Num().IsInt64() {
				return Value{}, false
			}
			return Value{Kind: KindDecimal, I: r.Num().Int64(), Scale: f.Scale}, true
		}
		return Value{}, false
	case string:
		switch f.Type {
		case sdk.TypeString:
			return Value{Kind: KindString, S: x}, true
		case sdk.TypeDate:
			us, ok := parseTemporal(x)
			if !ok || us%microsPerDay != 0 {
				return Value{}, false
			}
			return Value{Kind: KindDate, I: us / microsPerDay}, true
		case sdk.TypeTimestamp:
			us, ok := parseTemporal(x)
			return Value{Kind: KindTimestamp, I: us}, ok
		}
		return Value{}, false
	}
	return Value{}, false
}

func pow10(n int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// valueSet is a typed membership test built from a GX value_set.
type valueSet struct {
	bind func(c *sdk.Column) func(i int) bool
	// values are the members that can match, as Values (for reporting).
	values []Value
}

func newValueSet(f *sdk.Field, raw []any) (*valueSet, error) {
	vs := &valueSet{}
	for _, x := range raw {
		if v, ok := kwValue(f, x); ok && !v.IsNull() {
			vs.values = append(vs.values, v)
		}
	}
	switch f.Type {
	case sdk.TypeString:
		m := make(map[string]struct{}, len(vs.values))
		for _, v := range vs.values {
			m[v.S] = struct{}{}
		}
		vs.bind = func(c *sdk.Column) func(int) bool {
			bs, off := c.Bytes, c.Offsets
			return func(i int) bool {
				_, ok := m[string(bs[off[i]:off[i+1]])]
				return ok
			}
		}
	case sdk.TypeInt64, sdk.TypeDecimal, sdk.TypeDate, sdk.TypeTimestamp:
		m := make(map[int64]struct{}, len(vs.values))
		var small []int64
		for _, v := range vs.values {
			if v.Kind == KindFloat {
				continue // a non-whole number never equals an integer
			}
			m[v.I] = struct{}{}
		}
		for k := range m {
			small = append(small, k)
		}
		vs.bind = func(c *sdk.Column) func(int) bool {
			get := intGetter(c, f)
			if len(small) <= 8 {
				return func(i int) bool {
					x := get(i)
					for _, s := range small {
						if s == x {
							return true
						}
					}
					return false
				}
			}
			return func(i int) bool {
				_, ok := m[get(i)]
				return ok
			}
		}
	case sdk.TypeFloat64:
		m := make(map[float64]struct{}, len(vs.values))
		for _, v := range vs.values {
			fl, _ := v.float()
			m[fl] = struct{}{}
		}
		vs.bind = func(c *sdk.Column) func(int) bool {
			fs := c.Float64s
			return func(i int) bool {
				_, ok := m[fs[i]]
				return ok
			}
		}
	case sdk.TypeBool:
		var has [2]bool
		for _, v := range vs.values {
			if v.I == 0 || v.I == 1 {
				has[v.I] = true
			}
		}
		vs.bind = func(c *sdk.Column) func(int) bool {
			bs := c.Bools
			return func(i int) bool {
				if bs[i] {
					return has[1]
				}
				return has[0]
			}
		}
	default:
		return nil, fmt.Errorf("column %q has unsupported type %s", f.Name, f.TypeString())
	}
	return vs, nil
}

// valueRange is a typed between-test built from min_value/max_value.
type valueRange struct {
	bind func(c *sdk.Column) func(i int) bool
}

// newRange builds the test "min ≤ v ≤ max" (strict bounds exclude
// equality) for a column. Bounds must be of the column's kind: numbers for
// numeric columns, date strings for date and timestamp columns, strings for
// string columns (compared as Python compares str).
func newRange(f *sdk.Field, minV, maxV any, strictMin, strictMax bool) (*valueRange, error) {
	switch f.Type {
	case sdk.TypeInt64, sdk.TypeDecimal, sdk.TypeDate, sdk.TypeTimestamp:
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		var loR, hiR *big.Rat
		if minV != nil {
			r, err := boundRat(f, minV)
			if err != nil {
				return nil, err
			}
			loR = r
			lo = ceilInt(r, strictMin)
		}
		if maxV != nil {
			r, err := boundRat(f, maxV)
			if err != nil {
				return nil, err
			}
			hiR = r
			hi = floorInt(r, strictMax)
		}
		if loR != nil && hiR != nil && loR.Cmp(hiR) > 0 {
			return nil, errors.New("ValueError: min_value cannot be greater than max_value")
		}
		return &valueRange{bind: func(c *sdk.Column) func(int) bool {
			if f.Type == sdk.TypeDate {
				d := c.Int32s
				return func(i int) bool { v := int64(d[i]); return v >= lo && v <= hi }
			}
			d := c.Int64s
			return func(i int) bool { v := d[i]; return v >= lo && v <= hi }
		}}, nil
	case sdk.TypeFloat64:
		lo, hi := math.Inf(-1), math.Inf(1)
		if minV != nil {
			x, err := boundFloat(minV)
			if err != nil {
				return nil, err
			}
			lo = x
		}
		if maxV != nil {
			x, err := boundFloat(maxV)
			if err != nil {
				return nil, err
			}
			hi = x
		}
		if lo > hi {
			return nil, errors.New("ValueError: min_value cannot be greater than max_value")
		}
		return &valueRange{bind: func(c *sdk.Column) func(int) bool {
			d := c.Float64s
			return func(i int) bool {
				v := d[i]
				return (v > lo || (!strictMin && v == lo)) && (v < hi || (!strictMax && v == hi))
			}
		}}, nil
	case sdk.TypeString:
		var lo, hi *string
		for _, b := range []struct {
			v   any
			dst **string
		}{{minV, &lo}, {maxV, &hi}} {
			if b.v == nil {
				continue
			}
			s, ok := b.v.(string)
			if !ok {
				return nil, errMixedTypes
			}
			*b.dst = &s
		}
		if lo != nil && hi != nil && *lo > *hi {
			return nil, errors.New("ValueError: min_value cannot be greater than max_value")
		}
		return &valueRange{bind: func(c *sdk.Column) func(int) bool {
			bs, off := c.Bytes, c.Offsets
			return func(i int) bool {
				v := string(bs[off[i]:off[i+1]]) // no allocation: compared only
				if lo != nil && (v < *lo || (strictMin && v == *lo)) {
					return false
				}
				return hi == nil || !(v > *hi || (strictMax && v == *hi))
			}
		}}, nil
	}
	return nil, errMixedTypes
}

func boundFloat(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errMixedTypes
	}
	return n.Float64()
}

// boundRat converts a bound into the column's integer units (days for
// dates, microseconds for timestamps, unscaled units for decimals).
func boundRat(f *sdk.Field, v any) (*big.Rat, error) {
	switch f.Type {
	case sdk.TypeInt64, sdk.TypeDecimal:
		n, ok := v.(json.Number)
		if !ok {
			return nil, errMixedTypes
		}
		r, ok := new(big.Rat).SetString(n.String())
		if !ok {
			return nil, fmt.Errorf("bound %s is not a number", n)
		}
		if f.Type == sdk.TypeDecimal {
			r.Mul(r, new(big.Rat).SetInt(pow10(f.Scale)))
		}
		return r, nil
	case sdk.TypeDate, sdk.TypeTimestamp:
		s, ok := v.(string)
		if !ok {
			return nil, errMixedTypes
		}
		us, ok := parseTemporal(s)
		if !ok {
			return nil, fmt.Errorf("bound %q is not a date or time GX could parse", s)
		}
		if f.Type == sdk.TypeDate {
			return big.NewRat(us, microsPerDay), nil
		}
		return new(big.Rat).SetInt64(us), nil
	}
	return nil, errMixedTypes
}

// ceilInt is the smallest integer ≥ r (> r when strict), clamped to int64.
func ceilInt(r *big.Rat, strict bool) int64 {
	q := new(big.Int).Div(r.Num(), r.Denom()) // floor (Euclidean; denom > 0)
	if r.IsInt() {
		if strict {
			q.Add(q, big.NewInt(1))
		}
	} else {
		q.Add(q, big.NewInt(1))
	}
	return clamp(q)
}

// floorInt is the largest integer ≤ r (< r when strict), clamped to int64.
func floorInt(r *big.Rat, strict bool) int64 {
	q := new(big.Int).Div(r.Num(), r.Denom())
	if r.IsInt() && strict {
		q.Sub(q, big.NewInt(1))
	}
	return clamp(q)
}

func clamp(q *big.Int) int64 {
	if q.IsInt64() {
		return q.Int64()
	}
	if q.Sign() < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}

// checkBetween applies min/max bounds to an observed aggregate value, as
// GX's _validate_metric_value_between does. Bounds are numbers for numeric
// observations and date strings for temporal ones.
func checkBetween(obs Value, minV, maxV any, strictMin, strictMax bool) (bool, error) {
	if obs.IsNull() {
		return false, nil
	}
	bound := func(v any) (Value, error) {
		switch x := v.(type) {
		case json.Number:
			if isNumeric(obs.Kind) {
				if n, err := x.Int64(); err == nil {
					return Value{Kind: KindInt, I: n}, nil
				}
				fl, err := x.Float64()
				return Value{Kind: KindFloat, F: fl}, err
			}
		case string:
			if isTemporal(obs.Kind) {
				us, ok := parseTemporal(x)
				if !ok {
					return Value{}, fmt.Errorf("bound %q is not a date or time GX could parse", x)
				}
				return Value{Kind: KindTimestamp, I: us}, nil
			}
			if obs.Kind == KindString {
				return Value{Kind: KindString, S: x}, nil
			}
		}
		return Value{}, errMixedTypes
	}
	ok := true
	if minV != nil {
		b, err := bound(minV)
		if err != nil {
			return false, err
		}
		c := compareValues(obs, b)
		ok = ok && (c > 0 || (!strictMin && c == 0))
	}
	if maxV != nil {
		b, err := bound(maxV)
		if err != nil {
			return false, err
		}
		c := compareValues(obs, b)
		ok = ok && (c < 0 || (!strictMax && c == 0))
	}
	return ok, nil
}

// appendPyStr renders a value as Python's str() does for the value pandas
// holds (GX applies regexes to column.astype(str)).
func appendPyStr(b []byte, v Value) []byte {
	switch v.Kind {
	case KindString:
		return append(b, v.S...)
	case KindInt:
		return strconv.AppendInt(b, v.I, 10)
	case KindFloat:
		return append(b, pyFloatRepr(v.F)...)
	case KindBool:
		if v.I != 0 {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case KindDate:
		return time.Unix(v.I*86400, 0).UTC().AppendFormat(b, "2006-01-02")
	case KindTimestamp:
		t := time.UnixMicro(v.I).UTC()
		if t.Nanosecond() == 0 {
			return t.AppendFormat(b, "2006-01-02 15:04:05")
		}
		return t.AppendFormat(b, "2006-01-02 15:04:05.000000")
	case KindDecimal:
		return append(b, decimalText(v.I, v.Scale, false)...)
	}
	return append(b, "None"...)
}

// pyFloatRepr is Python's repr(float): the shortest round-trip digits,
// positional between 1e-4 and 1e16, else scientific with a two-digit
// exponent; whole numbers keep ".0".
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}
