package expect

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/bedrot-label/bedrot/sdk"
)

// sample is one unexpected row kept for the result.
type sample struct {
	row int64
	v   Value
	idx []Value // values of the unexpected_index_column_names, when asked
}

// mapCore is the bookkeeping every map expectation shares: counts, and the
// first unexpected values in row order (only as many as the result format
// shows, so memory stays bounded unless COMPLETE is asked for).
type mapCore struct {
	rf         resultFormat
	mostly     float64
	domain     []string // the column(s) the expectation looks at
	idxCols    []int
	idxFields  []*sdk.Field
	elements   int64 // rows seen
	considered int64 // rows the expectation judged (non-missing, not ignored)
	unexpected int64
	samples    []sample
	// nullness is set for (not_)be_null: GX reports no missing_* keys for
	// them and judges every row.
	nullness bool
	// emptyFails: expect_column_values_to_not_be_null fails on an empty table.
	emptyFails bool
}

func newMapCore(c *compileCtx, domain ...string) (mapCore, error) {
	m := mapCore{rf: c.rf, mostly: c.mostly, domain: domain}
	for _, name := range c.rf.indexColumns {
		i, f, err := c.columnNamed(name)
		if err != nil {
			return m, fmt.Errorf("unexpected_index_column_names: %w", err)
		}
		m.idxCols = append(m.idxCols, i)
		m.idxFields = append(m.idxFields, f)
	}
	return m, nil
}

// limit is how many unexpected values to keep; -1 keeps all.
func (m *mapCore) limit() int {
	switch m.rf.level {
	case levelBooleanOnly:
		return 0
	case levelComplete:
		return -1
	}
	return m.rf.partial
}

func (m *mapCore) wantSample() bool {
	l := m.limit()
	return l < 0 || len(m.samples) < l
}

// keep records an unexpected row (the caller checked wantSample).
func (m *mapCore) keep(b *sdk.RecordBatch, i int, row int64, v Value) {
	m.samples = append(m.samples, sample{row: row, v: v, idx: m.indexValues(b, i)})
}

func (m *mapCore) indexValues(b *sdk.RecordBatch, i int) []Value {
	if len(m.idxCols) == 0 {
		return nil
	}
	out := make([]Value, len(m.idxCols))
	for k, ci := range m.idxCols {
		out[k] = valueAt(&b.Columns[ci], m.idxFields[k], i)
	}
	return out
}

// success applies GX's rule: vacuously true with nothing to judge, else the
// share of expected values must reach mostly.
func (m *mapCore) success() bool {
	if m.nullness {
		if m.elements == 0 {
			return !m.emptyFails
		}
		return float64(m.elements-m.unexpected)/float64(m.elements) >= m.mostly
	}
	if m.elements == 0 || m.considered == 0 {
		return true
	}
	return float64(m.considered-m.unexpected)/float64(m.considered) >= m.mostly
}

func (m *mapCore) quality(success bool) float64 {
	den := m.considered
	if m.nullness {
		den = m.elements
	}
	if den == 0 {
		if success {
			return 1
		}
		return 0
	}
	return float64(den-m.unexpected) / float64(den)
}

// finishMap formats the outcome the way GX's _format_map_output does.
func (m *mapCore) finishMap() outcome {
	ok := m.success()
	out := outcome{success: ok, quality: m.quality(ok)}
	if m.rf.level == levelBooleanOnly {
		return out
	}
	d := &Dict{}
	var unexpectedPct, pctTotal, missingPct, pctNonmissing any
	missing := m.elements - m.considered
	if m.elements > 0 {
		pctTotal = float64(m.unexpected) / float64(m.elements) * 100
		if m.nullness {
			pctNonmissing = pctTotal
		} else {
			missingPct = float64(missing) / float64(m.elements) * 100
			if m.considered > 0 {
				pctNonmissing = float64(m.unexpected) / float64(m.considered) * 100
			}
		}
	}
	unexpectedPct = pctNonmissing
	values := make([]Value, len(m.samples))
	for i, s := range m.samples {
		values[i] = s.v
	}
	partial := values[:min(len(values), m.rf.partial)]
	d.Set("element_count", m.elements)
	d.Set("unexpected_count", m.unexpected)
	d.Set("unexpected_percent", unexpectedPct)
	d.Set("partial_unexpected_list", partial)
	if !m.nullness {
		d.Set("missing_count", missing)
		d.Set("missing_percent", missingPct)
		d.Set("unexpected_percent_total", pctTotal)
		d.Set("unexpected_percent_nonmissing", pctNonmissing)
	}
	out.result = d
	if m.rf.level == levelBasic {
		return out
	}
	index := m.indexList()
	if m.rf.partial > 0 {
		d.Set("partial_unexpected_index_list", index[:min(len(index), m.rf.partial)])
		d.Set("partial_unexpected_counts", valueCounts(values, m.rf.partial))
	}
	if m.rf.level == levelSummary {
		return out
	}
	d.Set("unexpected_list", values)
	d.Set("unexpected_index_list", index)
	return out
}

// indexList is unexpected_index_list: row numbers, or records of the
// domain and index columns when unexpected_index_column_names is set.
func (m *mapCore) indexList() []any {
	out := make([]any, len(m.samples))
	for i, s := range m.samples {
		if len(m.idxCols) == 0 {
			out[i] = s.row
			continue
		}
		rec := Value{Kind: KindRecord}
		switch s.v.Kind {
		case KindRecord:
			rec.Names = append(rec.Names, s.v.Names...)
			rec.L = append(rec.L, s.v.L...)
		case KindTuple:
			rec.Names = append(rec.Names, m.domain...)
			rec.L = append(rec.L, s.v.L...)
		default:
			rec.Names = append(rec.Names, m.domain...)
			rec.L = append(rec.L, s.v)
		}
		for k, ci := range m.rf.indexColumns {
			if !slices.Contains(rec.Names, ci) {
				rec.Names = append(rec.Names, ci)
				rec.L = append(rec.L, s.idx[k])
			}
		}
		out[i] = rec
	}
	return out
}

// valueCounts is partial_unexpected_counts: Counter(values).most_common(n)
// re-sorted by (-count, value), as GX computes it. Records count as tuples.
func valueCounts(values []Value, n int) []any {
	type vc struct {
		v     Value
		count int64
	}
	var counts []vc
	for _, v := range values {
		if v.Kind == KindRecord {
			v = Value{Kind: KindTuple, L: v.L}
		}
		found := false
		for i := range counts {
			if counts[i].v.Kind == v.Kind && compareValues(counts[i].v, v) == 0 {
				counts[i].count++
				found = true
				break
			}
		}
		if !found {
			counts = append(counts, vc{v: v, count: 1})
		}
	}
	slices.SortStableFunc(counts, func(a, b vc) int { return cmp.Compare(b.count, a.count) })
	counts = counts[:min(len(counts), n)]
	slices.SortStableFunc(counts, func(a, b vc) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return compareValues(a.v, b.v)
	})
	out := make([]any, len(counts))
	for i, c := range counts {
		d := &Dict{}
		d.Set("value", c.v)
		d.Set("count", c.count)
		out[i] = d
	}
	return out
}

// colMap is a column map expectation judged value by value.
type colMap struct {
	mapCore
	col int
	f   *sdk.Field
	// bind returns the test for one batch's column: it reports whether
	// non-missing value i is expected. One closure per batch, none per row.
	bind func(c *sdk.Column) func(i int) bool
}

func (e *colMap) add(b *sdk.RecordBatch, base int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	e.elements += int64(n)
	ok := e.bind(c)
	want := e.limit() != 0
	if c.Null == nil && e.f.Type != sdk.TypeFloat64 {
		e.considered += int64(n)
		for i := 0; i < n; i++ {
			if !ok(i) {
				e.unexpected++
				if want && e.wantSample() {
					e.keep(b, i, base+int64(i), valueAt(c, e.f, i))
				}
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		e.considered++
		if !ok(i) {
			e.unexpected++
			if want && e.wantSample() {
				e.keep(b, i, base+int64(i), valueAt(c, e.f, i))
			}
		}
	}
}

func (e *colMap) finish() outcome { return e.finishMap() }

func newColMap(c *compileCtx) (*colMap, error) {
	col, f, err := c.column("column")
	if err != nil {
		return nil, err
	}
	core, err := newMapCore(c, f.Name)
	if err != nil {
		return nil, err
	}
	return &colMap{mapCore: core, col: col, f: f}, nil
}

// nullness implements expect_column_values_to_(not_)be_null: the nulls (or
// the non-nulls) are the unexpected values.
type nullnessEval struct {
	mapCore
	col     int
	f       *sdk.Field
	notNull bool
}

func compileNullness(c *compileCtx) (evaluator, error) {
	col, f, err := c.column("column")
	if err != nil {
		return nil, err
	}
	core, err := newMapCore(c, f.Name)
	if err != nil {
		return nil, err
	}
	notNull := c.exp.Type == "expect_column_values_to_not_be_null"
	core.nullness = true
	core.emptyFails = notNull
	return &nullnessEval{mapCore: core, col: col, f: f, notNull: notNull}, nil
}

func (e *nullnessEval) add(b *sdk.RecordBatch, base int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	e.elements += int64(n)
	e.considered += int64(n)
	nulls := nullCount(c, e.f, n)
	if e.notNull {
		e.unexpected += nulls
	} else {
		e.unexpected += int64(n) - nulls
	}
	if e.limit() == 0 || (e.notNull && nulls == 0) || (!e.notNull && nulls == int64(n)) {
		return
	}
	for i := 0; i < n && e.wantSample(); i++ {
		if isNullAt(c, e.f, i) == e.notNull {
			e.keep(b, i, base+int64(i), valueAt(c, e.f, i))
		}
	}
}

func (e *nullnessEval) finish() outcome { return e.finishMap() }

// compileInSet implements expect_column_values_to_(not_)be_in_set.
func compileInSet(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	negate := c.exp.Type == "expect_column_values_to_not_be_in_set"
	raw := c.kw("value_set")
	if raw == nil {
		// GX: a null value_set is vacuously satisfied.
		e.bind = func(*sdk.Column) func(int) bool { return func(int) bool { return true } }
		return e, nil
	}
	set, err := newValueSet(e.f, raw.([]any))
	if err != nil {
		return nil, err
	}
	in := set.bind
	if negate {
		e.bind = func(col *sdk.Column) func(int) bool {
			has := in(col)
			return func(i int) bool { return !has(i) }
		}
	} else {
		e.bind = in
	}
	return e, nil
}

// compileValuesBetween implements expect_column_values_to_be_between.
func compileValuesBetween(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	if e.f.Type == sdk.TypeString && c.kwBool("parse_strings_as_datetimes", false) {
		// 0.x suites compare text columns as dates with this flag.
		asTime := sdk.Field{Name: e.f.Name, Type: sdk.TypeTimestamp}
		r, err := newRange(&asTime, c.kw("min_value"), c.kw("max_value"), c.kwBool("strict_min", false), c.kwBool("strict_max", false))
		if err != nil {
			return nil, err
		}
		e.bind = func(col *sdk.Column) func(int) bool {
			one := sdk.Column{Int64s: []int64{0}}
			test := r.bind(&one)
			return func(i int) bool {
				us, ok := parseTemporal(col.String(i))
				if !ok {
					return false
				}
				one.Int64s[0] = us
				return test(0)
			}
		}
		return e, nil
	}
	r, err := newRange(e.f, c.kw("min_value"), c.kw("max_value"), c.kwBool("strict_min", false), c.kwBool("strict_max", false))
	if err != nil {
		if c.kwBool("allow_cross_type_comparisons", false) {
			e.bind = func(*sdk.Column) func(int) bool { return func(int) bool { return false } }
			return e, nil
		}
		return nil, err
	}
	e.bind = r.bind
	return e, nil
}

// compileRegex implements the four regex expectations. Matching is
// Python's re.search (unanchored), with Go's RE2 syntax.
func compileRegex(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	var res []*regexp.Regexp
	if s, ok := c.kw("regex").(string); ok {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", s, err)
		}
		res = append(res, re)
	}
	if list, ok := c.kw("regex_list").([]any); ok {
		for _, x := range list {
			s, _ := x.(string)
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fmt.Errorf("regex %q: %w", s, err)
			}
			res = append(res, re)
		}
	}
	var test func(s []byte) bool
	switch c.exp.Type {
	case "expect_column_values_to_match_regex":
		re := res[0]
		test = re.Match
	case "expect_column_values_to_not_match_regex":
		re := res[0]
		test = func(s []byte) bool { return !re.Match(s) }
	case "expect_column_values_to_match_regex_list":
		if c.kwString("match_on", "any") == "all" {
			test = func(s []byte) bool {
				for _, re := range res {
					if !re.Match(s) {
						return false
					}
				}
				return true
			}
		} else {
			test = func(s []byte) bool {
				for _, re := range res {
					if re.Match(s) {
						return true
					}
				}
				return false
			}
		}
	default: // not_match_regex_list
		test = func(s []byte) bool {
			for _, re := range res {
				if re.Match(s) {
					return false
				}
			}
			return true
		}
	}
	e.bind = textTest(e.f, memoTest(test))
	return e, nil
}

// Bounds of memoTest's memory: distinct values remembered, and the longest
// value remembered.
const (
	memoMaxValues = 1 << 16
	memoMaxLen    = 256
)

// memoTest remembers test's outcome per distinct value, for up to
// memoMaxValues values: a column of ISRCs, stores or countries repeats a few
// thousand values across millions of rows, and a map lookup costs a tenth of
// a regex match. test must depend on the value alone. Not safe for
// concurrent use (an evaluator folds in one batch at a time).
func memoTest(test func(s []byte) bool) func(s []byte) bool {
	memo := make(map[string]bool)
	return func(s []byte) bool {
		if r, ok := memo[string(s)]; ok {
			return r
		}
		r := test(s)
		if len(memo) < memoMaxValues && len(s) <= memoMaxLen {
			memo[string(s)] = r
		}
		return r
	}
}

// textTest applies a test to a column's text: string values as they are,
// other types as Python's str() renders them (GX applies regexes to
// column.astype(str)).
func textTest(f *sdk.Field, test func(s []byte) bool) func(c *sdk.Column) func(i int) bool {
	if f.Type == sdk.TypeString {
		return func(c *sdk.Column) func(i int) bool {
			bs, off := c.Bytes, c.Offsets
			return func(i int) bool { return test(bs[off[i]:off[i+1]]) }
		}
	}
	return func(c *sdk.Column) func(i int) bool {
		var buf []byte
		return func(i int) bool {
			buf = appendPyStr(buf[:0], valueAt(c, f, i))
			return test(buf)
		}
	}
}

func needString(f *sdk.Field, what string) error {
	if f.Type != sdk.TypeString {
		return fmt.Errorf("%s needs a string column; column %q is %s", what, f.Name, f.TypeString())
	}
	return nil
}

// compileLengths implements expect_column_value_lengths_to_be_between and
// _to_equal; a length counts characters, as Python's len() does.
func compileLengths(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	if err := needString(e.f, "a value-length expectation"); err != nil {
		return nil, err
	}
	lo, hi := int64(-1<<62), int64(1<<62)
	if c.exp.Type == "expect_column_value_lengths_to_equal" {
		n, err := toInt(c.kw("value"))
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		lo, hi = n, n
	} else {
		if v := c.kw("min_value"); v != nil {
			n, err := toInt(v)
			if err != nil {
				return nil, fmt.Errorf("min_value: %w", err)
			}
			lo = n
			if c.kwBool("strict_min", false) {
				lo++
			}
		}
		if v := c.kw("max_value"); v != nil {
			n, err := toInt(v)
			if err != nil {
				return nil, fmt.Errorf("max_value: %w", err)
			}
			hi = n
			if c.kwBool("strict_max", false) {
				hi--
			}
		}
	}
	e.bind = func(col *sdk.Column) func(int) bool {
		bs, off := col.Bytes, col.Offsets
		return func(i int) bool {
			n := int64(utf8.RuneCount(bs[off[i]:off[i+1]]))
			return n >= lo && n <= hi
		}
	}
	return e, nil
}

// compileStrftime implements expect_column_values_to_match_strftime_format
// with Python's strptime rules.
func compileStrftime(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	if err := needString(e.f, "expect_column_values_to_match_strftime_format"); err != nil {
		return nil, err
	}
	p, err := compileStrptime(c.kwString("strftime_format", ""))
	if err != nil {
		return nil, fmt.Errorf("strftime_format: %w", err)
	}
	e.bind = textTest(e.f, p.match)
	return e, nil
}

// compileDateutil implements expect_column_values_to_be_dateutil_parseable.
func compileDateutil(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	if err := needString(e.f, "expect_column_values_to_be_dateutil_parseable"); err != nil {
		return nil, err
	}
	e.bind = textTest(e.f, func(s []byte) bool {
		_, ok := parseDateutil(string(s))
		return ok
	})
	return e, nil
}

// compileJSONParseable implements expect_column_values_to_be_json_parseable.
func compileJSONParseable(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	if err := needString(e.f, "expect_column_values_to_be_json_parseable"); err != nil {
		return nil, err
	}
	e.bind = textTest(e.f, json.Valid)
	return e, nil
}

// compileMonotonic implements expect_column_values_to_be_increasing and
// _decreasing: each non-missing value is compared with the previous
// non-missing one (pandas' diff() on the null-filtered column); the first
// value always passes. The comparison carries over batch boundaries.
func compileMonotonic(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	strictly := c.kwBool("strictly", false)
	dec := c.exp.Type == "expect_column_values_to_be_decreasing"
	// sign of (cur - prev) that is allowed.
	okCmp := func(d int) bool {
		if dec {
			d = -d
		}
		if strictly {
			return d > 0
		}
		return d >= 0
	}
	switch e.f.Type {
	case sdk.TypeInt64, sdk.TypeTimestamp, sdk.TypeDecimal, sdk.TypeDate:
		var prev int64
		started := false
		e.bind = func(col *sdk.Column) func(int) bool {
			get := intGetter(col, e.f)
			return func(i int) bool {
				v := get(i)
				ok := !started || okCmp(cmp.Compare(v, prev))
				prev, started = v, true
				return ok
			}
		}
	case sdk.TypeFloat64:
		var prev float64
		started := false
		e.bind = func(col *sdk.Column) func(int) bool {
			fs := col.Float64s
			return func(i int) bool {
				v := fs[i]
				ok := !started || okCmp(cmp.Compare(v, prev))
				prev, started = v, true
				return ok
			}
		}
	default:
		return nil, fmt.Errorf("%s needs a numeric, date or timestamp column; column %q is %s", c.exp.Type, e.f.Name, e.f.TypeString())
	}
	return e, nil
}

// intGetter reads int-like columns (int64, timestamp, decimal, date).
func intGetter(c *sdk.Column, f *sdk.Field) func(i int) int64 {
	if f.Type == sdk.TypeDate {
		d := c.Int32s
		return func(i int) int64 { return int64(d[i]) }
	}
	d := c.Int64s
	return func(i int) int64 { return d[i] }
}
