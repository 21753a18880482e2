package expect

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"strconv"
	"sync"

	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
	"github.com/bedrot-label/bedrot/sdk"
)

// DefaultPartialUnexpectedCount caps partial_unexpected_list and the other
// partial lists, as GX's default does.
const DefaultPartialUnexpectedCount = 20

// Options configure a validation run.
type Options struct {
	// ResultFormat is the run's default level: BOOLEAN_ONLY, BASIC, SUMMARY
	// (the default when empty) or COMPLETE. An expectation's own
	// result_format kwarg takes precedence over it.
	ResultFormat string
	// PartialUnexpectedCount caps the partial lists; 0 means the GX default
	// of 20. Use a negative number for none.
	PartialUnexpectedCount int
	// UnexpectedIndexColumnNames, when set, makes unexpected_index_list and
	// partial_unexpected_index_list report these columns' values (e.g. a
	// primary key) instead of row numbers.
	UnexpectedIndexColumnNames []string
	// BatchID, when set, is added to every expectation_config.kwargs as
	// "batch_id", as GX does.
	BatchID string
	// Meta is copied into the result's meta.
	Meta map[string]any
}

// Validator validates a stream of record batches against a suite. It is not
// safe for concurrent use.
type Validator struct {
	suite  *suite.Suite
	schema sdk.Schema
	opts   Options
	exps   []compiled
	evals  []evaluator // the exps that compiled, in order
	rows   int64
}

type compiled struct {
	exp  suite.Expectation
	eval evaluator
	err  error // set when the expectation cannot run on this schema
}

// evaluator is one expectation's running state.
type evaluator interface {
	// add folds a batch in; base is the row number of the batch's first row.
	add(b *sdk.RecordBatch, base int64)
	// finish computes the outcome from everything added so far.
	finish() outcome
}

type outcome struct {
	success bool
	result  *Dict
	quality float64
	err     error
}

// New prepares a validator for rows of the given schema. It fails only when
// the suite itself is invalid or the options are bad; an expectation that
// cannot run on this schema (a missing column, a column of the wrong type)
// is reported in its result with exception_info, as GX does.
func New(s *suite.Suite, schema sdk.Schema, opts Options) (*Validator, error) {
	if s == nil {
		return nil, errors.New("expect: no expectation suite given")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	def := resultFormat{level: levelSummary, partial: DefaultPartialUnexpectedCount, indexColumns: opts.UnexpectedIndexColumnNames}
	switch {
	case opts.PartialUnexpectedCount < 0:
		def.partial = 0
	case opts.PartialUnexpectedCount > 0:
		def.partial = opts.PartialUnexpectedCount
	}
	if opts.ResultFormat != "" {
		rf, err := parseResultFormat(opts.ResultFormat, def)
		if err != nil {
			return nil, fmt.Errorf("expect: options: %w", err)
		}
		def = rf
	}
	for _, name := range opts.UnexpectedIndexColumnNames {
		if schema.Index(name) < 0 {
			return nil, fmt.Errorf("expect: options: unexpected index column %q is not in the schema", name)
		}
	}
	v := &Validator{suite: s, schema: schema, opts: opts}
	for _, e := range s.Expectations {
		c := compiled{exp: e}
		ctx := &compileCtx{schema: schema, exp: e}
		rf, err := parseResultFormat(e.Kwargs["result_format"], def)
		if err == nil {
			ctx.rf = rf
			ctx.mostly = 1
			if m, ok := e.Kwargs["mostly"]; ok {
				ctx.mostly, err = toFloat(m)
			}
		}
		if err == nil {
			c.eval, err = compile(ctx)
		}
		if err != nil {
			c.err = err
		}
		v.exps = append(v.exps, c)
		if c.eval != nil {
			v.evals = append(v.evals, c.eval)
		}
	}
	return v, nil
}

// Add folds a batch into every expectation. The batch must follow the
// validator's schema.
func (v *Validator) Add(b *sdk.RecordBatch) error {
	if b == nil {
		return errors.New("expect: nil batch")
	}
	if err := b.Validate(v.schema); err != nil {
		return fmt.Errorf("expect: batch does not match the schema: %w", err)
	}
	// Expectations keep state of their own and only read the batch, so they
	// fold it in at once, one goroutine each, when there are cores to
	// share: a uniqueness set and a regex check no longer wait for each
	// other. Each sees the batches in order, so results do not change.
	evals := v.evals
	if len(evals) < 2 || runtime.GOMAXPROCS(0) < 2 {
		for _, e := range evals {
			e.add(b, v.rows)
		}
	} else {
		var wg sync.WaitGroup
		for _, e := range evals {
			wg.Go(func() { e.add(b, v.rows) })
		}
		wg.Wait()
	}
	v.rows += int64(b.NumRows)
	return nil
}

// Rows is the number of rows added so far.
func (v *Validator) Rows() int64 { return v.rows }

// Result computes the validation result of everything added so far. It may
// be called more than once.
func (v *Validator) Result() *Result {
	res := &Result{
		SuiteName:       v.suite.Name,
		SuiteParameters: map[string]any{},
		Meta:            map[string]any{},
		Results:         []ExpectationResult{},
	}
	if v.suite.Parameters != nil {
		res.SuiteParameters = v.suite.Parameters
	}
	maps.Copy(res.Meta, v.opts.Meta)
	var scoreSum float64
	for _, c := range v.exps {
		var out outcome
		if c.err != nil {
			out = outcome{err: c.err}
		} else {
			out = c.eval.finish()
		}
		er := ExpectationResult{
			Success: out.success,
			ExpectationConfig: ExpectationConfig{
				Type: c.exp.Type, Kwargs: v.configKwargs(c.exp), Meta: orEmpty(c.exp.Meta),
				ID: c.exp.ID, Notes: c.exp.Notes, Description: c.exp.Description,
			},
			Result:  out.result,
			Meta:    map[string]any{},
			Quality: out.quality,
		}
		if er.Result == nil {
			er.Result = &Dict{}
		}
		if out.err != nil {
			msg := out.err.Error()
			trace := fmt.Sprintf("%s: %s", c.exp.Type, msg)
			er.Success = false
			er.Quality = 0
			er.ExceptionInfo = ExceptionInfo{RaisedException: true, ExceptionMessage: &msg, ExceptionTraceback: &trace}
		}
		res.Results = append(res.Results, er)
		res.Statistics.EvaluatedExpectations++
		if er.Success {
			res.Statistics.SuccessfulExpectations++
		}
		scoreSum += er.Quality
	}
	st := &res.Statistics
	st.UnsuccessfulExpectations = st.EvaluatedExpectations - st.SuccessfulExpectations
	res.Success = st.UnsuccessfulExpectations == 0
	res.DataQualityScore = 1
	if st.EvaluatedExpectations > 0 {
		p := float64(st.SuccessfulExpectations) / float64(st.EvaluatedExpectations) * 100
		st.SuccessPercent = &p
		res.DataQualityScore = scoreSum / float64(st.EvaluatedExpectations)
	}
	return res
}

func (v *Validator) configKwargs(e suite.Expectation) map[string]any {
	kw := make(map[string]any, len(e.Kwargs)+1)
	maps.Copy(kw, e.Kwargs)
	if v.opts.BatchID != "" {
		kw["batch_id"] = v.opts.BatchID
	}
	return kw
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// compileCtx carries what building an evaluator needs.
type compileCtx struct {
	schema sdk.Schema
	exp    suite.Expectation
	rf     resultFormat
	mostly float64
}

func (c *compileCtx) kw(name string) any { return c.exp.Kwargs[name] }

func (c *compileCtx) kwBool(name string, def bool) bool {
	if b, ok := c.exp.Kwargs[name].(bool); ok {
		return b
	}
	return def
}

func (c *compileCtx) kwString(name, def string) string {
	if s, ok := c.exp.Kwargs[name].(string); ok {
		return s
	}
	return def
}

// column resolves a column-naming kwarg.
func (c *compileCtx) column(key string) (int, *sdk.Field, error) {
	name, _ := c.exp.Kwargs[key].(string)
	return c.columnNamed(name)
}

func (c *compileCtx) columnNamed(name string) (int, *sdk.Field, error) {
	i := c.schema.Index(name)
	if i < 0 {
		return 0, nil, fmt.Errorf("column %q is not in the data (columns: %s)", name, columnNames(c.schema))
	}
	return i, &c.schema.Fields[i], nil
}

func columnNames(s sdk.Schema) string {
	b, _ := json.Marshal(schemaColumns(s))
	return string(b)
}

func schemaColumns(s sdk.Schema) []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	}
	return 0, fmt.Errorf("want a number, got %v", v)
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		f, err := x.Float64()
		if err != nil || f != math.Trunc(f) {
			return 0, fmt.Errorf("want a whole number, got %v", v)
		}
		return int64(f), nil
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("want a whole number, got %v", v)
		}
		return int64(x), nil
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("want a whole number, got %v", v)
}

// compile builds the evaluator of one expectation.
func compile(c *compileCtx) (evaluator, error) {
	switch c.exp.Type {
	case "expect_column_values_to_not_be_null", "expect_column_values_to_be_null":
		return compileNullness(c)
	case "expect_column_values_to_be_unique":
		return compileUnique(c)
	case "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set":
		return compileInSet(c)
	case "expect_column_values_to_be_between":
		return compileValuesBetween(c)
	case "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
		"expect_column_values_to_match_regex_list", "expect_column_values_to_not_match_regex_list":
		return compileRegex(c)
	case "expect_column_value_lengths_to_be_between", "expect_column_value_lengths_to_equal":
		return compileLengths(c)
	case "expect_column_values_to_match_strftime_format":
		return compileStrftime(c)
	case "expect_column_values_to_be_dateutil_parseable":
		return compileDateutil(c)
	case "expect_column_values_to_be_json_parseable":
		return compileJSONParseable(c)
	case "expect_column_values_to_be_increasing", "expect_column_values_to_be_decreasing":
		return compileMonotonic(c)
	case "expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list":
		return compileType(c)
	case "expect_column_to_exist", "expect_table_columns_to_match_ordered_list", "expect_table_columns_to_match_set",
		"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal",
		"expect_table_column_count_to_equal", "expect_table_column_count_to_be_between":
		return compileTable(c)
	case "expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_equal":
		return compilePair(c)
	case "expect_compound_columns_to_be_unique":
		return compileCompoundUnique(c)
	case "expect_column_min_to_be_between", "expect_column_max_to_be_between":
		return compileMinMax(c)
	case "expect_column_sum_to_be_between", "expect_column_mean_to_be_between", "expect_column_stdev_to_be_between":
		return compileMoments(c)
	case "expect_column_median_to_be_between", "expect_column_quantile_values_to_be_between":
		return compileQuantiles(c)
	case "expect_column_unique_value_count_to_be_between", "expect_column_proportion_of_unique_values_to_be_between":
		return compileUniqueCount(c)
	case "expect_column_distinct_values_to_be_in_set", "expect_column_distinct_values_to_contain_set",
		"expect_column_distinct_values_to_equal_set", "expect_column_most_common_value_to_be_in_set":
		return compileDistinct(c)
	}
	return nil, fmt.Errorf("expectation type %s is not implemented", c.exp.Type)
}
