package expect

import (
	"errors"
	"slices"
	"sort"

	"github.com/bedrot-label/bedrot/sdk"
)

// aggOutcome formats a table or aggregate expectation's outcome: the
// observed value from BASIC on, details from SUMMARY on.
func aggOutcome(rf resultFormat, success bool, observed any, details *Dict) outcome {
	out := outcome{success: success}
	if success {
		out.quality = 1
	}
	if rf.level == levelBooleanOnly {
		return out
	}
	d := &Dict{}
	d.Set("observed_value", observed)
	if details != nil && rf.level >= levelSummary {
		d.Set("details", details)
	}
	out.result = d
	return out
}

// tableEval implements the table-level expectations.
type tableEval struct {
	c       *compileCtx
	columns []string
	rows    int64
}

func compileTable(c *compileCtx) (evaluator, error) {
	return &tableEval{c: c, columns: schemaColumns(c.schema)}, nil
}

func (e *tableEval) add(b *sdk.RecordBatch, _ int64) { e.rows += int64(b.NumRows) }

func (e *tableEval) finish() outcome {
	c := e.c
	rf := c.rf
	switch c.exp.Type {
	case "expect_column_to_exist":
		name := c.kwString("column", "")
		ok := slices.Contains(e.columns, name)
		if v := c.kw("column_index"); v != nil && ok {
			idx, err := toInt(v)
			if err != nil {
				return outcome{err: err}
			}
			ok = idx >= 0 && int(idx) < len(e.columns) && e.columns[idx] == name
		}
		out := outcome{success: ok}
		if ok {
			out.quality = 1
		}
		if rf.level != levelBooleanOnly {
			out.result = &Dict{}
		}
		return out
	case "expect_table_columns_to_match_ordered_list":
		want, isList := c.kw("column_list").([]any)
		observed := slices.Clone(e.columns)
		if !isList || slices.Equal(stringsOf(want), e.columns) {
			return aggOutcome(rf, true, observed, nil)
		}
		wantS := stringsOf(want)
		var mismatched []any
		for i := 0; i < max(len(wantS), len(e.columns)); i++ {
			var exp, found any
			if i < len(wantS) {
				exp = wantS[i]
			}
			if i < len(e.columns) {
				found = e.columns[i]
			}
			if exp != found {
				m := &Dict{}
				m.Set("Expected Column Position", i)
				m.Set("Expected", exp)
				m.Set("Found", found)
				mismatched = append(mismatched, m)
			}
		}
		d := &Dict{}
		d.Set("mismatched", mismatched)
		return aggOutcome(rf, false, observed, d)
	case "expect_table_columns_to_match_set":
		// As GX 1.x: an equal set (or no set without exact_match) reports
		// the columns in table order; otherwise sorted, with the mismatch.
		want, isList := c.kw("column_set").([]any)
		exact := c.kwBool("exact_match", true)
		wantS := stringsOf(want)
		var unexpected, missing []string
		for _, col := range e.columns {
			if !slices.Contains(wantS, col) {
				unexpected = append(unexpected, col)
			}
		}
		for _, col := range wantS {
			if !slices.Contains(e.columns, col) && !slices.Contains(missing, col) {
				missing = append(missing, col)
			}
		}
		if (!isList && !exact) || (len(unexpected) == 0 && len(missing) == 0) {
			return aggOutcome(rf, true, slices.Clone(e.columns), nil)
		}
		sort.Strings(unexpected)
		sort.Strings(missing)
		m := &Dict{}
		if len(unexpected) > 0 {
			m.Set("unexpected", unexpected)
		}
		if len(missing) > 0 {
			m.Set("missing", missing)
		}
		details := &Dict{}
		details.Set("mismatched", m)
		observed := slices.Clone(e.columns)
		sort.Strings(observed)
		return aggOutcome(rf, !exact && len(missing) == 0, observed, details)
	case "expect_table_row_count_to_be_between", "expect_table_column_count_to_be_between":
		n := e.rows
		if c.exp.Type == "expect_table_column_count_to_be_between" {
			n = int64(len(e.columns))
		}
		ok := true
		if c.kw("min_value") != nil || c.kw("max_value") != nil {
			var err error
			ok, err = checkBetween(Value{Kind: KindInt, I: n}, c.kw("min_value"), c.kw("max_value"), c.kwBool("strict_min", false), c.kwBool("strict_max", false))
			if err != nil {
				return outcome{err: err}
			}
		}
		return aggOutcome(rf, ok, n, nil)
	case "expect_table_row_count_to_equal", "expect_table_column_count_to_equal":
		n := e.rows
		if c.exp.Type == "expect_table_column_count_to_equal" {
			n = int64(len(e.columns))
		}
		want, err := toInt(c.kw("value"))
		if err != nil {
			return outcome{err: err}
		}
		return aggOutcome(rf, n == want, n, nil)
	}
	return outcome{err: errors.New("unknown table expectation " + c.exp.Type)}
}

func stringsOf(list []any) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// typeNames lists, per column type, the dtype GX (pandas) reports and the
// type names users write in type_ / type_list (numpy, pandas, Python, SQL
// and Spark spellings) that match it.
var typeNames = map[sdk.Type]struct {
	observed string
	mapPath  bool // pandas holds these as Python objects: GX judges per value
	aliases  []string
}{
	sdk.TypeInt64: {"int64", false, []string{"int", "int64", "int_", "integer", "Int64", "Int64Dtype", "long", "INTEGER", "INT", "INT64", "BIGINT", "IntegerType", "LongType", "NUMBER"}},
	sdk.TypeFloat64: {"float64", false, []string{"float", "float64", "float_", "double", "Float64", "Float64Dtype",
		"FLOAT", "FLOAT64", "DOUBLE", "DOUBLE_PRECISION", "REAL", "DoubleType", "FloatType"}},
	sdk.TypeBool: {"bool_", false, []string{"bool", "bool_", "boolean", "bool8", "BooleanDtype", "BOOLEAN", "BOOL", "BooleanType"}},
	sdk.TypeTimestamp: {"datetime64", false, []string{"datetime64", "datetime64[ns]", "datetime64[us]", "datetime64[ns, UTC]", "datetime64[us, UTC]",
		"DatetimeTZDtype", "DatetimeTZDtypeType", "datetime", "Timestamp", "TIMESTAMP", "DATETIME", "TimestampType"}},
	sdk.TypeString: {"str", true, []string{"str", "string", "str_", "unicode", "object", "object_", "O", "StringDtype",
		"STRING", "VARCHAR", "TEXT", "CHAR", "NVARCHAR", "StringType"}},
	sdk.TypeDate:    {"date", true, []string{"date", "datetime.date", "object", "object_", "O", "DATE", "DateType"}},
	sdk.TypeDecimal: {"Decimal", true, []string{"Decimal", "decimal", "decimal.Decimal", "object", "object_", "O", "DECIMAL", "NUMERIC", "DecimalType"}},
}

// objectNames are numpy's names of the object dtype: asked of a column that
// pandas holds as Python objects, GX answers with the dtype ("object_")
// instead of judging values.
var objectNames = []string{"object", "object_", "O"}

// typeEval implements expect_column_values_to_be_of_type and
// _to_be_in_type_list. Typed columns report their dtype as observed_value;
// columns pandas keeps as Python objects (text, dates, decimals) are judged
// value by value, as GX does, so every non-missing value shares the verdict
// (unless the object dtype itself is asked for).
type typeEval struct {
	colMap
	match   bool
	mapPath bool
	c       *compileCtx
}

func compileType(c *compileCtx) (evaluator, error) {
	e, err := newColMap(c)
	if err != nil {
		return nil, err
	}
	info := typeNames[e.f.Type]
	var wanted []string
	if s, ok := c.kw("type_").(string); ok {
		wanted = []string{s}
	}
	list, isList := c.kw("type_list").([]any)
	wanted = append(wanted, stringsOf(list)...)
	match, objectAsked := false, false
	for _, w := range wanted {
		if slices.Contains(info.aliases, w) {
			match = true
		}
		if info.mapPath && slices.Contains(objectNames, w) {
			match, objectAsked = true, true
		}
	}
	if c.exp.Type == "expect_column_values_to_be_in_type_list" && !isList {
		match = true // a null type_list accepts any type
	}
	e.bind = func(*sdk.Column) func(int) bool { return func(int) bool { return match } }
	return &typeEval{colMap: *e, match: match, mapPath: info.mapPath && !objectAsked, c: c}, nil
}

func (e *typeEval) finish() outcome {
	if e.mapPath {
		return e.finishMap()
	}
	observed := typeNames[e.f.Type].observed
	if typeNames[e.f.Type].mapPath {
		observed = "object_"
	}
	return aggOutcome(e.c.rf, e.match, observed, nil)
}
