package expect

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/bedrot-label/bedrot/sdk"
)

// MaxExactValues bounds the values kept for an exact median or quantiles
// (float64 each, 80 MB at the bound). Past it the expectation reports an
// exception rather than a guess.
const MaxExactValues = 10_000_000

// aggBase holds what every column aggregate needs.
type aggBase struct {
	c   *compileCtx
	col int
	f   *sdk.Field
}

func newAggBase(c *compileCtx) (aggBase, error) {
	col, f, err := c.column("column")
	return aggBase{c: c, col: col, f: f}, err
}

// between finishes a "metric between min_value and max_value" expectation.
func (a *aggBase) between(observed Value) outcome {
	c := a.c
	ok, err := checkBetween(observed, c.kw("min_value"), c.kw("max_value"), c.kwBool("strict_min", false), c.kwBool("strict_max", false))
	if err != nil {
		return outcome{err: err}
	}
	if !observed.IsNull() && c.kw("min_value") == nil && c.kw("max_value") == nil {
		ok = true
	}
	return aggOutcome(c.rf, ok, observedJSON(observed), nil)
}

func observedJSON(v Value) any {
	if v.IsNull() {
		return nil
	}
	return v
}

// minMaxEval implements expect_column_min_to_be_between / _max_.
type minMaxEval struct {
	aggBase
	isMax bool
	seen  bool
	i     int64
	fl    float64
	s     []byte
}

func compileMinMax(c *compileCtx) (evaluator, error) {
	base, err := newAggBase(c)
	if err != nil {
		return nil, err
	}
	return &minMaxEval{aggBase: base, isMax: c.exp.Type == "expect_column_max_to_be_between"}, nil
}

func (e *minMaxEval) add(b *sdk.RecordBatch, _ int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		switch e.f.Type {
		case sdk.TypeFloat64:
			x := c.Float64s[i]
			if !e.seen || (e.isMax && x > e.fl) || (!e.isMax && x < e.fl) {
				e.fl = x
			}
		case sdk.TypeString:
			x := c.Bytes[c.Offsets[i]:c.Offsets[i+1]]
			if cmp := bytes.Compare(x, e.s); !e.seen || (e.isMax && cmp > 0) || (!e.isMax && cmp < 0) {
				e.s = append(e.s[:0], x...)
			}
		default:
			var x int64
			switch e.f.Type {
			case sdk.TypeDate:
				x = int64(c.Int32s[i])
			case sdk.TypeBool:
				if c.Bools[i] {
					x = 1
				}
			default:
				x = c.Int64s[i]
			}
			if !e.seen || (e.isMax && x > e.i) || (!e.isMax && x < e.i) {
				e.i = x
			}
		}
		e.seen = true
	}
}

func (e *minMaxEval) finish() outcome {
	if !e.seen {
		return e.between(Value{})
	}
	var v Value
	switch e.f.Type {
	case sdk.TypeFloat64:
		v = Value{Kind: KindFloat, F: e.fl}
	case sdk.TypeString:
		v = Value{Kind: KindString, S: string(e.s)}
	case sdk.TypeDate:
		v = Value{Kind: KindDate, I: e.i}
	case sdk.TypeTimestamp:
		v = Value{Kind: KindTimestamp, I: e.i}
	case sdk.TypeDecimal:
		v = Value{Kind: KindDecimal, I: e.i, Scale: e.f.Scale}
	case sdk.TypeBool:
		v = Value{Kind: KindBool, I: e.i}
	default:
		v = Value{Kind: KindInt, I: e.i}
	}
	return e.between(v)
}

// momentsEval implements the sum, mean and standard deviation expectations.
// Integer sums are exact (128-bit); the mean and standard deviation use
// Welford's streaming update.
type momentsEval struct {
	aggBase
	what     string // "sum", "mean", "stdev"
	count    int64
	hi       int64 // 128-bit integer sum, high word
	lo       uint64
	fsum     float64
	mean, m2 float64
}

func compileMoments(c *compileCtx) (evaluator, error) {
	base, err := newAggBase(c)
	if err != nil {
		return nil, err
	}
	switch base.f.Type {
	case sdk.TypeInt64, sdk.TypeFloat64, sdk.TypeDecimal, sdk.TypeBool:
	default:
		return nil, fmt.Errorf("%s needs a numeric column; column %q is %s", c.exp.Type, base.f.Name, base.f.TypeString())
	}
	what := map[string]string{
		"expect_column_sum_to_be_between":   "sum",
		"expect_column_mean_to_be_between":  "mean",
		"expect_column_stdev_to_be_between": "stdev",
	}[c.exp.Type]
	return &momentsEval{aggBase: base, what: what}, nil
}

func (e *momentsEval) addInt(x int64) {
	var carry uint64
	e.lo, carry = bits.Add64(e.lo, uint64(x), 0)
	e.hi += int64(carry)
	if x < 0 {
		e.hi-- // sign extension of x
	}
}

func (e *momentsEval) welford(x float64) {
	e.count++
	d := x - e.mean
	e.mean += d / float64(e.count)
	e.m2 += d * (x - e.mean)
}

func (e *momentsEval) add(b *sdk.RecordBatch, _ int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	scale := 1.0
	if e.f.Type == sdk.TypeDecimal {
		scale = math.Pow10(int(e.f.Scale))
	}
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		switch e.f.Type {
		case sdk.TypeFloat64:
			x := c.Float64s[i]
			e.fsum += x
			e.welford(x)
		case sdk.TypeBool:
			var x int64
			if c.Bools[i] {
				x = 1
			}
			e.addInt(x)
			e.welford(float64(x))
		default:
			x := c.Int64s[i]
			e.addInt(x)
			e.welford(float64(x) / scale)
		}
	}
}

// intSum returns the exact integer sum, or ok=false past int64.
func (e *momentsEval) intSum() (int64, bool) {
	v := int64(e.lo)
	return v, (e.hi == 0 && v >= 0) || (e.hi == -1 && v < 0)
}

func (e *momentsEval) finish() outcome {
	var v Value
	switch e.what {
	case "sum":
		switch e.f.Type {
		case sdk.TypeFloat64:
			v = Value{Kind: KindFloat, F: e.fsum}
		default:
			s, ok := e.intSum()
			switch {
			case !ok:
				f := float64(e.hi)*math.Pow(2, 64) + float64(e.lo)
				if e.f.Type == sdk.TypeDecimal {
					f /= math.Pow10(int(e.f.Scale))
				}
				v = Value{Kind: KindFloat, F: f}
			case e.f.Type == sdk.TypeDecimal:
				v = Value{Kind: KindDecimal, I: s, Scale: e.f.Scale}
			default:
				v = Value{Kind: KindInt, I: s}
			}
		}
	case "mean":
		if e.count > 0 {
			v = Value{Kind: KindFloat, F: e.mean}
			if s, ok := e.intSum(); ok && e.f.Type != sdk.TypeFloat64 {
				f := float64(s) / float64(e.count)
				if e.f.Type == sdk.TypeDecimal {
					f /= math.Pow10(int(e.f.Scale))
				}
				v.F = f
			}
		}
	case "stdev":
		if e.count > 1 {
			v = Value{Kind: KindFloat, F: math.Sqrt(e.m2 / float64(e.count-1))}
		}
	}
	return e.between(v)
}

// quantileEval implements the median and quantile expectations exactly, by
// keeping the values (up to MaxExactValues).
type quantileEval struct {
	aggBase
	values   []float64
	isInt    bool
	overflow bool
}

func compileQuantiles(c *compileCtx) (evaluator, error) {
	base, err := newAggBase(c)
	if err != nil {
		return nil, err
	}
	switch base.f.Type {
	case sdk.TypeInt64, sdk.TypeFloat64, sdk.TypeDecimal, sdk.TypeBool:
	default:
		return nil, fmt.Errorf("%s needs a numeric column; column %q is %s", c.exp.Type, base.f.Name, base.f.TypeString())
	}
	if s, ok := c.kw("allow_relative_error").(string); ok && !slices.Contains([]string{"linear", "lower", "higher", "midpoint", "nearest"}, s) {
		return nil, fmt.Errorf("allow_relative_error %q must be one of linear, lower, higher, midpoint, nearest", s)
	}
	return &quantileEval{aggBase: base, isInt: base.f.Type == sdk.TypeInt64}, nil
}

func (e *quantileEval) add(b *sdk.RecordBatch, _ int64) {
	if e.overflow {
		return
	}
	c := &b.Columns[e.col]
	n := b.NumRows
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		x, _ := valueAt(c, e.f, i).float()
		e.values = append(e.values, x)
	}
	if len(e.values) > MaxExactValues {
		e.overflow = true
		e.values = nil
	}
}

// quantile computes numpy's quantile with the given interpolation.
func quantile(sorted []float64, q float64, method string) float64 {
	n := len(sorted)
	idx := q * float64(n-1)
	lo := int(math.Floor(idx))
	hi := min(lo+1, n-1)
	switch method {
	case "lower":
		return sorted[lo]
	case "higher":
		return sorted[int(math.Ceil(idx))]
	case "midpoint":
		if float64(lo) == idx {
			return sorted[lo]
		}
		return (sorted[lo] + sorted[hi]) / 2
	case "linear":
		return sorted[lo] + (sorted[hi]-sorted[lo])*(idx-float64(lo))
	}
	return sorted[int(math.RoundToEven(idx))]
}

func (e *quantileEval) finish() outcome {
	c := e.c
	if e.overflow {
		return outcome{err: fmt.Errorf("column %q has more than %d values; the exact median/quantiles are computed up to that many values only", e.f.Name, MaxExactValues)}
	}
	sorted := slices.Clone(e.values)
	sort.Float64s(sorted)
	if c.exp.Type == "expect_column_median_to_be_between" {
		var v Value
		if n := len(sorted); n > 0 {
			m := sorted[n/2]
			if n%2 == 0 {
				m = (sorted[n/2-1] + sorted[n/2]) / 2
			}
			v = Value{Kind: KindFloat, F: m}
		}
		return e.between(v)
	}
	qr, _ := c.kw("quantile_ranges").(map[string]any)
	qs, _ := qr["quantiles"].([]any)
	ranges, _ := qr["value_ranges"].([]any)
	method, _ := c.kw("allow_relative_error").(string)
	if method == "" {
		method = "nearest"
	}
	var quantiles, values []any
	var details []any
	ok := len(sorted) > 0
	for i, qv := range qs {
		q, err := toFloat(qv)
		if err != nil {
			return outcome{err: fmt.Errorf("quantiles[%d]: %w", i, err)}
		}
		quantiles = append(quantiles, q)
		if len(sorted) == 0 {
			values = append(values, nil)
			details = append(details, false)
			continue
		}
		x := quantile(sorted, q, method)
		var obs Value
		if e.isInt && method != "linear" && method != "midpoint" {
			obs = Value{Kind: KindInt, I: int64(x)}
		} else {
			obs = Value{Kind: KindFloat, F: x}
		}
		values = append(values, obs)
		pair, _ := ranges[i].([]any)
		good, err := checkBetween(obs, pair[0], pair[1], false, false)
		if err != nil {
			return outcome{err: err}
		}
		if pair[0] == nil && pair[1] == nil {
			good = true
		}
		details = append(details, good)
		ok = ok && good
	}
	observed := &Dict{}
	observed.Set("quantiles", quantiles)
	observed.Set("values", values)
	d := &Dict{}
	d.Set("success_details", details)
	return aggOutcome(c.rf, ok, observed, d)
}

// uniqueCountEval implements expect_column_unique_value_count_to_be_between
// and expect_column_proportion_of_unique_values_to_be_between with the
// compact hash table of unique.go.
type uniqueCountEval struct {
	aggBase
	table   hashTable
	h       hasher
	nonnull int64
}

func compileUniqueCount(c *compileCtx) (evaluator, error) {
	base, err := newAggBase(c)
	if err != nil {
		return nil, err
	}
	return &uniqueCountEval{aggBase: base, h: newHasher()}, nil
}

func (e *uniqueCountEval) add(b *sdk.RecordBatch, _ int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		e.nonnull++
		e.table.upsert(e.h.hashAt(c, e.f, i), 1)
	}
}

func (e *uniqueCountEval) finish() outcome {
	distinct := int64(e.table.n)
	if e.c.exp.Type == "expect_column_unique_value_count_to_be_between" {
		return e.between(Value{Kind: KindInt, I: distinct})
	}
	p := 0.0
	if e.nonnull > 0 {
		p = float64(distinct) / float64(e.nonnull)
	}
	return e.between(Value{Kind: KindFloat, F: p})
}

// distinctEval implements the distinct-value expectations and
// expect_column_most_common_value_to_be_in_set. It counts every distinct
// value exactly, so memory grows with the column's cardinality: these
// expectations are meant for low-cardinality columns (DSP, currency,
// territory).
type distinctEval struct {
	aggBase
	strs   map[string]int64
	ints   map[int64]int64
	floats map[float64]int64
}

func compileDistinct(c *compileCtx) (evaluator, error) {
	base, err := newAggBase(c)
	if err != nil {
		return nil, err
	}
	return &distinctEval{aggBase: base, strs: map[string]int64{}, ints: map[int64]int64{}, floats: map[float64]int64{}}, nil
}

func (e *distinctEval) add(b *sdk.RecordBatch, _ int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		switch e.f.Type {
		case sdk.TypeString:
			e.strs[string(c.Bytes[c.Offsets[i]:c.Offsets[i+1]])]++
		case sdk.TypeFloat64:
			x := c.Float64s[i]
			if x == 0 {
				x = 0
			}
			e.floats[x]++
		case sdk.TypeDate:
			e.ints[int64(c.Int32s[i])]++
		case sdk.TypeBool:
			if c.Bools[i] {
				e.ints[1]++
			} else {
				e.ints[0]++
			}
		default:
			e.ints[c.Int64s[i]]++
		}
	}
}

type valueCount struct {
	v     Value
	count int64
}

func (e *distinctEval) counts() []valueCount {
	var out []valueCount
	for s, n := range e.strs {
		out = append(out, valueCount{Value{Kind: KindString, S: s}, n})
	}
	for x, n := range e.floats {
		out = append(out, valueCount{Value{Kind: KindFloat, F: x}, n})
	}
	kind := map[sdk.Type]Kind{sdk.TypeInt64: KindInt, sdk.TypeDate: KindDate, sdk.TypeTimestamp: KindTimestamp, sdk.TypeDecimal: KindDecimal, sdk.TypeBool: KindBool}[e.f.Type]
	for x, n := range e.ints {
		out = append(out, valueCount{Value{Kind: kind, I: x, Scale: e.f.Scale}, n})
	}
	slices.SortFunc(out, func(a, b valueCount) int { return compareValues(a.v, b.v) })
	return out
}

func (e *distinctEval) finish() outcome {
	c := e.c
	counts := e.counts()
	var expected []Value
	raw, hasSet := c.kw("value_set").([]any)
	for _, x := range raw {
		if v, ok := kwValue(e.f, x); ok {
			expected = append(expected, v)
		}
	}
	in := func(v Value, set []Value) bool {
		return slices.ContainsFunc(set, func(w Value) bool { return equalValues(v, w) })
	}
	observed := make([]Value, len(counts))
	for i, vc := range counts {
		observed[i] = vc.v
	}
	if c.exp.Type == "expect_column_most_common_value_to_be_in_set" {
		var modes []Value
		var top int64
		for _, vc := range counts {
			switch {
			case vc.count > top:
				top, modes = vc.count, []Value{vc.v}
			case vc.count == top:
				modes = append(modes, vc.v)
			}
		}
		hits := 0
		for _, m := range modes {
			if in(m, expected) {
				hits++
			}
		}
		ok := hits > 0
		if !c.kwBool("ties_okay", false) {
			ok = len(modes) == 1 && hits == 1
		}
		if modes == nil {
			modes = []Value{}
		}
		return aggOutcome(c.rf, ok, modes, nil)
	}
	var ok bool
	switch c.exp.Type {
	case "expect_column_distinct_values_to_be_in_set":
		ok = true
		if hasSet {
			for _, v := range observed {
				ok = ok && in(v, expected)
			}
		}
	case "expect_column_distinct_values_to_contain_set":
		ok = true
		for _, v := range expected {
			ok = ok && in(v, observed)
		}
		for _, x := range raw {
			if _, convertible := kwValue(e.f, x); !convertible && x != nil {
				ok = false // a value of another type can never be present
			}
		}
	case "expect_column_distinct_values_to_equal_set":
		ok = true
		for _, v := range observed {
			ok = ok && in(v, expected)
		}
		for _, v := range expected {
			ok = ok && in(v, observed)
		}
		for _, x := range raw {
			if _, convertible := kwValue(e.f, x); !convertible && x != nil {
				ok = false
			}
		}
	}
	vcs := make([]any, len(counts))
	for i, vc := range counts {
		d := &Dict{}
		d.Set("value", vc.v)
		d.Set("count", vc.count)
		vcs[i] = d
	}
	details := &Dict{}
	details.Set("value_counts", vcs)
	return aggOutcome(c.rf, ok, observed, details)
}
