package expect

import (
	"bytes"
	"cmp"
	"fmt"
	"math"

	"github.com/bedrot-label/bedrot/sdk"
)

// pairEval implements the column pair map expectations
// (expect_column_pair_values_a_to_be_greater_than_b, _to_be_equal).
type pairEval struct {
	mapCore
	ca, cb int
	fa, fb *sdk.Field
	ignore string
	// ok judges the comparison result cmp(A, B).
	ok func(c int) bool
	// compare binds a batch's two columns to a comparison of row i.
	compare func(a, b *sdk.Column) func(i int) int
}

func compilePair(c *compileCtx) (evaluator, error) {
	ca, fa, err := c.column("column_A")
	if err != nil {
		return nil, err
	}
	cb, fb, err := c.column("column_B")
	if err != nil {
		return nil, err
	}
	core, err := newMapCore(c, fa.Name, fb.Name)
	if err != nil {
		return nil, err
	}
	e := &pairEval{mapCore: core, ca: ca, cb: cb, fa: fa, fb: fb, ignore: c.kwString("ignore_row_if", "both_values_are_missing")}
	if c.exp.Type == "expect_column_pair_values_to_be_equal" {
		e.ok = func(c int) bool { return c == 0 }
	} else if c.kwBool("or_equal", false) {
		e.ok = func(c int) bool { return c >= 0 }
	} else {
		e.ok = func(c int) bool { return c > 0 }
	}
	e.compare, err = pairComparer(fa, fb)
	if err != nil {
		if c.kwBool("allow_cross_type_comparisons", false) {
			e.compare = func(a, b *sdk.Column) func(int) int { return func(int) int { return math.MinInt } }
			return e, nil
		}
		return nil, err
	}
	return e, nil
}

// pairComparer builds a typed comparison of two columns' cells.
func pairComparer(fa, fb *sdk.Field) (func(a, b *sdk.Column) func(i int) int, error) {
	intLike := func(f *sdk.Field) bool {
		return f.Type == sdk.TypeInt64 || f.Type == sdk.TypeDecimal || f.Type == sdk.TypeDate || f.Type == sdk.TypeTimestamp || f.Type == sdk.TypeBool
	}
	switch {
	case fa.Type == sdk.TypeString && fb.Type == sdk.TypeString:
		return func(a, b *sdk.Column) func(int) int {
			return func(i int) int {
				return bytes.Compare(a.Bytes[a.Offsets[i]:a.Offsets[i+1]], b.Bytes[b.Offsets[i]:b.Offsets[i+1]])
			}
		}, nil
	case fa.Type == fb.Type && intLike(fa) && fa.Type != sdk.TypeBool && (fa.Type != sdk.TypeDecimal || fa.Scale == fb.Scale):
		return func(a, b *sdk.Column) func(int) int {
			ga, gb := intGetter(a, fa), intGetter(b, fb)
			return func(i int) int { return cmp.Compare(ga(i), gb(i)) }
		}, nil
	case isTemporalType(fa.Type) && isTemporalType(fb.Type):
		return func(a, b *sdk.Column) func(int) int {
			return func(i int) int {
				x, _ := valueAt(a, fa, i).float()
				y, _ := valueAt(b, fb, i).float()
				return cmp.Compare(x, y)
			}
		}, nil
	case isNumericType(fa.Type) && isNumericType(fb.Type):
		return func(a, b *sdk.Column) func(int) int {
			return func(i int) int {
				x, _ := valueAt(a, fa, i).float()
				y, _ := valueAt(b, fb, i).float()
				return cmp.Compare(x, y)
			}
		}, nil
	}
	return nil, fmt.Errorf("TypeError: cannot compare column %q (%s) with column %q (%s)", fa.Name, fa.TypeString(), fb.Name, fb.TypeString())
}

func isTemporalType(t sdk.Type) bool { return t == sdk.TypeDate || t == sdk.TypeTimestamp }
func isNumericType(t sdk.Type) bool {
	return t == sdk.TypeInt64 || t == sdk.TypeFloat64 || t == sdk.TypeDecimal || t == sdk.TypeBool
}

func (e *pairEval) add(b *sdk.RecordBatch, base int64) {
	a, bb := &b.Columns[e.ca], &b.Columns[e.cb]
	n := b.NumRows
	e.elements += int64(n)
	compare := e.compare(a, bb)
	for i := 0; i < n; i++ {
		ma, mb := isNullAt(a, e.fa, i), isNullAt(bb, e.fb, i)
		switch {
		case e.ignore == "both_values_are_missing" && ma && mb:
			continue
		case e.ignore == "either_value_is_missing" && (ma || mb):
			continue
		}
		e.considered++
		// A comparison with a missing value is False in pandas.
		if ma || mb || !e.ok(compare(i)) {
			e.unexpected++
			if e.limit() != 0 && e.wantSample() {
				v := Value{Kind: KindTuple, L: []Value{valueAt(a, e.fa, i), valueAt(bb, e.fb, i)}}
				e.keep(b, i, base+int64(i), v)
			}
		}
	}
}

func (e *pairEval) finish() outcome { return e.finishMap() }
