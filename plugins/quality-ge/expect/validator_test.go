package expect

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
	"github.com/bedrot-label/bedrot/sdk"
)

func mustSuite(t testing.TB, doc string) *suite.Suite {
	t.Helper()
	s, err := suite.Parse("test_suite", []byte(doc))
	require.NoError(t, err)
	return s
}

// intBatches makes batches of an int64 column "x" holding 0..n-1 mapped by f.
func intBatches(n, size int, f func(i int) (int64, bool)) (sdk.Schema, []*sdk.RecordBatch) {
	schema := sdk.Schema{Fields: []sdk.Field{{Name: "id", Type: sdk.TypeInt64}, {Name: "x", Type: sdk.TypeInt64, Nullable: true}}}
	var out []*sdk.RecordBatch
	for start := 0; start < n; start += size {
		bb := sdk.NewBatchBuilder("s", schema)
		for i := start; i < min(start+size, n); i++ {
			bb.AppendInt64(0, int64(i))
			if v, ok := f(i); ok {
				bb.AppendInt64(1, v)
			} else {
				bb.AppendNull(1)
			}
			bb.EndRow()
		}
		b := *bb.Batch()
		out = append(out, &b)
	}
	return schema, out
}

func validate(t testing.TB, s *suite.Suite, schema sdk.Schema, batches []*sdk.RecordBatch, opts Options) *Result {
	t.Helper()
	v, err := New(s, schema, opts)
	require.NoError(t, err)
	for _, b := range batches {
		require.NoError(t, v.Add(b))
	}
	return v.Result()
}

// resultJSON decodes one expectation's result the way a GX reader sees it.
func resultJSON(t testing.TB, r ExpectationResult) map[string]any {
	t.Helper()
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m["result"].(map[string]any)
}

func TestResultFormatLevelsReportGXKeys(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(10, 3, func(i int) (int64, bool) { return int64(i), i != 4 })
	want := map[string][]string{
		"BOOLEAN_ONLY": {},
		"BASIC": {"element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_list",
			"missing_count", "missing_percent", "unexpected_percent_total", "unexpected_percent_nonmissing"},
		"SUMMARY": {"element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_list",
			"missing_count", "missing_percent", "unexpected_percent_total", "unexpected_percent_nonmissing",
			"partial_unexpected_index_list", "partial_unexpected_counts"},
		"COMPLETE": {"element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_list",
			"missing_count", "missing_percent", "unexpected_percent_total", "unexpected_percent_nonmissing",
			"partial_unexpected_index_list", "partial_unexpected_counts", "unexpected_list", "unexpected_index_list"},
	}
	for level, keys := range want {
		s := mustSuite(t, `{"expect_column_values_to_be_between": {"column": "x", "max_value": 6},
			"expect_column_max_to_be_between": {"column": "x", "max_value": 6},
			"expect_table_columns_to_match_set": {"column_set": ["x"]}}`)
		res := validate(t, s, schema, batches, Options{ResultFormat: level})
		if len(keys) == 0 {
			require.Empty(t, res.Results[0].Result.Keys(), level)
		} else {
			require.Equal(t, keys, res.Results[0].Result.Keys(), level)
		}
		m := resultJSON(t, res.Results[0])
		if level != "BOOLEAN_ONLY" {
			require.InDelta(t, 10.0, m["element_count"], 0)
			require.InDelta(t, 1.0, m["missing_count"], 0)
			require.InDelta(t, 10.0, m["missing_percent"], 1e-9)
			require.InDelta(t, 3.0, m["unexpected_count"], 0)                    // 7, 8, 9
			require.InDelta(t, 100*3/9.0, m["unexpected_percent"], 1e-9)         // of non-missing
			require.InDelta(t, 30.0, m["unexpected_percent_total"], 1e-9)        // of all rows
			require.Equal(t, []any{7.0, 8.0, 9.0}, m["partial_unexpected_list"]) // first seen first
			// Aggregates: observed_value from BASIC on, details from SUMMARY on.
			require.Contains(t, res.Results[1].Result.Keys(), "observed_value")
			require.Equal(t, level != "BASIC", strings.Contains(fmt.Sprint(res.Results[2].Result.Keys()), "details"), level)
		} else {
			require.Empty(t, res.Results[1].Result.Keys())
			require.Equal(t, map[string]any{}, m)
		}
		require.False(t, res.Results[0].Success)
		require.False(t, res.Results[1].Success)
	}
}

func TestPartialListsKeepTheFirstTwentyInRowOrder(t *testing.T) {
	t.Parallel()
	// Values 0..999 in batches of 7 rows; odd values are unexpected. The
	// value i%5 repeats so partial_unexpected_counts has ties to order.
	schema, batches := intBatches(1000, 7, func(i int) (int64, bool) { return int64(i % 10), true })
	s := mustSuite(t, `{"expect_column_values_to_be_in_set": {"column": "x", "value_set": [0, 2, 4, 6, 8]}}`)
	res := validate(t, s, schema, batches, Options{})
	m := resultJSON(t, res.Results[0])
	require.InDelta(t, 500.0, m["unexpected_count"], 0)
	var wantList, wantIdx []any
	for i := 0; len(wantList) < 20; i++ {
		if i%2 == 1 {
			wantList = append(wantList, float64(i%10))
			wantIdx = append(wantIdx, float64(i))
		}
	}
	require.Equal(t, wantList, m["partial_unexpected_list"])
	require.Equal(t, wantIdx, m["partial_unexpected_index_list"])
	// Counted over the 20 partial values, sorted by count then value.
	require.Equal(t, []any{
		map[string]any{"value": 1.0, "count": 4.0}, map[string]any{"value": 3.0, "count": 4.0},
		map[string]any{"value": 5.0, "count": 4.0}, map[string]any{"value": 7.0, "count": 4.0},
		map[string]any{"value": 9.0, "count": 4.0},
	}, m["partial_unexpected_counts"])
	require.NotContains(t, m, "unexpected_list")

	// COMPLETE lists everything, and counts over everything.
	res = validate(t, s, schema, batches, Options{ResultFormat: "COMPLETE", PartialUnexpectedCount: 3})
	m = resultJSON(t, res.Results[0])
	require.Len(t, m["unexpected_list"], 500)
	require.Len(t, m["unexpected_index_list"], 500)
	require.Len(t, m["partial_unexpected_list"], 3)
	require.Equal(t, []any{
		map[string]any{"value": 1.0, "count": 100.0}, map[string]any{"value": 3.0, "count": 100.0},
		map[string]any{"value": 5.0, "count": 100.0},
	}, m["partial_unexpected_counts"])
}

func TestMapMemoryStaysBounded(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(200_000, 4096, func(i int) (int64, bool) { return int64(i), true })
	s := mustSuite(t, `{"expect_column_values_to_be_between": {"column": "x", "max_value": -1},
		"expect_column_values_to_not_be_null": {"column": "x"}}`)
	v, err := New(s, schema, Options{})
	require.NoError(t, err)
	for _, b := range batches {
		require.NoError(t, v.Add(b))
	}
	require.Len(t, v.exps[0].eval.(*colMap).samples, DefaultPartialUnexpectedCount)
	res := v.Result()
	require.InDelta(t, 200_000.0, resultJSON(t, res.Results[0])["unexpected_count"], 0)
	require.True(t, res.Results[1].Success)
}

func TestUniquenessReportsFirstOccurrencesFoundLate(t *testing.T) {
	t.Parallel()
	// Row 0 and row 999 share a value; rows 500.. repeat in pairs.
	schema, batches := intBatches(1000, 64, func(i int) (int64, bool) {
		switch {
		case i == 999:
			return 0, true
		case i >= 500 && i < 998:
			return int64(100000 + i/2), true
		case i == 998:
			return 0, false
		}
		return int64(i), true
	})
	s := mustSuite(t, `{"expect_column_values_to_be_unique": {"column": "x", "result_format": {"result_format": "SUMMARY", "partial_unexpected_count": 5}}}`)
	res := validate(t, s, schema, batches, Options{})
	m := resultJSON(t, res.Results[0])
	require.InDelta(t, 2.0+498, m["unexpected_count"], 0)
	require.InDelta(t, 1.0, m["missing_count"], 0)
	require.Equal(t, []any{0.0, 500.0, 501.0, 502.0, 503.0}, m["partial_unexpected_index_list"])
	require.Equal(t, []any{0.0, 100250.0, 100250.0, 100251.0, 100251.0}, m["partial_unexpected_list"])
	require.False(t, res.Results[0].Success)
	require.InDelta(t, 1-500.0/999, res.Results[0].Quality, 1e-12)
}

func TestUnexpectedIndexColumnNames(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(6, 4, func(i int) (int64, bool) { return int64(i % 3), true })
	s := mustSuite(t, `{"expect_column_values_to_be_in_set": {"column": "x", "value_set": [0, 1]},
		"expect_column_values_to_be_unique": {"column": "x"}}`)
	res := validate(t, s, schema, batches, Options{ResultFormat: "COMPLETE", UnexpectedIndexColumnNames: []string{"id"}})
	m := resultJSON(t, res.Results[0])
	require.Equal(t, []any{map[string]any{"x": 2.0, "id": 2.0}, map[string]any{"x": 2.0, "id": 5.0}}, m["unexpected_index_list"])
	m = resultJSON(t, res.Results[1])
	require.Len(t, m["unexpected_index_list"], 6)
	require.Equal(t, map[string]any{"x": 0.0, "id": 0.0}, m["unexpected_index_list"].([]any)[0])
	require.Equal(t, map[string]any{"x": 2.0, "id": 5.0}, m["unexpected_index_list"].([]any)[5])

	_, err := New(s, schema, Options{UnexpectedIndexColumnNames: []string{"nope"}})
	require.ErrorContains(t, err, `unexpected index column "nope" is not in the schema`)
}

func TestSuiteResultJSON(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(4, 10, func(i int) (int64, bool) { return int64(i), true })
	s := mustSuite(t, `{"name": "label_suite", "expectations": [
		{"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 1}, "meta": {"owner": "data"}, "id": "e1"},
		{"type": "expect_table_row_count_to_equal", "kwargs": {"value": 4}},
		{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "missing_column"}}]}`)
	res := validate(t, s, schema, batches, Options{BatchID: "lake-raw.demo", Meta: map[string]any{"run": "r1"}})
	raw, err := json.Marshal(res)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, false, doc["success"])
	require.Equal(t, "label_suite", doc["suite_name"])
	require.Equal(t, map[string]any{}, doc["suite_parameters"])
	require.Nil(t, doc["id"])
	require.Contains(t, doc, "id")
	require.Equal(t, map[string]any{
		"evaluated_expectations": 3.0, "successful_expectations": 1.0, "unsuccessful_expectations": 2.0,
		"success_percent": percent(1, 3), // as Python computes it
	}, doc["statistics"])
	meta := doc["meta"].(map[string]any)
	require.Equal(t, "r1", meta["run"])
	// between: 3 of 4 values pass (0.75); row count: 1; exception: 0.
	require.InDelta(t, (0.75+1+0)/3, meta["data_quality_score"], 1e-12)
	require.InDelta(t, (0.75+1+0)/3, res.DataQualityScore, 1e-12)

	results := doc["results"].([]any)
	first := results[0].(map[string]any)
	require.Equal(t, map[string]any{
		"type":   "expect_column_values_to_be_between",
		"kwargs": map[string]any{"column": "x", "min_value": 1.0, "batch_id": "lake-raw.demo"},
		"meta":   map[string]any{"owner": "data"},
		"id":     "e1",
	}, first["expectation_config"])
	require.Equal(t, map[string]any{"raised_exception": false, "exception_traceback": nil, "exception_message": nil}, first["exception_info"])
	require.Equal(t, map[string]any{}, first["meta"])
	require.Equal(t, map[string]any{"observed_value": 4.0}, results[1].(map[string]any)["result"])

	// A missing column is an exception on that expectation only, as in GX.
	third := results[2].(map[string]any)
	require.Equal(t, false, third["success"])
	ei := third["exception_info"].(map[string]any)
	require.Equal(t, true, ei["raised_exception"])
	require.Contains(t, ei["exception_message"], `column "missing_column" is not in the data`)
	require.Equal(t, map[string]any{}, third["result"])
}

func TestEmptySuiteAndEmptyData(t *testing.T) {
	t.Parallel()
	schema, _ := intBatches(0, 1, nil)
	res := validate(t, &suite.Suite{Name: "empty"}, schema, nil, Options{})
	require.True(t, res.Success)
	require.Nil(t, res.Statistics.SuccessPercent)
	require.InDelta(t, 1.0, res.DataQualityScore, 0)
	raw, err := json.Marshal(res)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"success_percent":null`)
	require.Contains(t, string(raw), `"results":[]`)

	// No rows at all: map expectations are vacuously true, not_be_null fails.
	s := mustSuite(t, `{"expect_column_values_to_be_between": {"column": "x", "min_value": 0},
		"expect_column_values_to_not_be_null": {"column": "x"}, "expect_column_mean_to_be_between": {"column": "x", "min_value": 0}}`)
	res = validate(t, s, schema, nil, Options{})
	require.True(t, res.Results[0].Success)
	m := resultJSON(t, res.Results[0])
	require.Nil(t, m["unexpected_percent"])
	require.Nil(t, m["missing_percent"])
	require.False(t, res.Results[1].Success)
	require.False(t, res.Results[2].Success)
}

func TestTypedColumns(t *testing.T) {
	t.Parallel()
	schema := sdk.Schema{Fields: []sdk.Field{
		{Name: "revenue", Type: sdk.TypeDecimal, Precision: 18, Scale: 4, Nullable: true},
		{Name: "report_date", Type: sdk.TypeDate},
		{Name: "ingested_at", Type: sdk.TypeTimestamp},
		{Name: "ratio", Type: sdk.TypeFloat64, Nullable: true},
		{Name: "explicit", Type: sdk.TypeBool},
	}}
	day := func(s string) int32 { tm, _ := time.Parse("2006-01-02", s); return sdk.DaysSinceEpoch(tm) }
	ts := func(s string) int64 { tm, _ := time.Parse(time.RFC3339, s); return tm.UnixMicro() }
	bb := sdk.NewBatchBuilder("s", schema)
	rows := []struct {
		rev   int64
		date  string
		at    string
		ratio float64
		expl  bool
	}{
		{125000, "2024-01-01", "2024-01-01T10:00:00Z", 0.5, false},
		{-5, "2024-01-31", "2024-01-31T23:59:59Z", math.NaN(), true},
		{100000000, "2024-02-01", "2024-02-01T00:00:00.5Z", 1.5, false},
	}
	for _, r := range rows {
		bb.AppendInt64(0, r.rev)
		bb.AppendInt32(1, day(r.date))
		bb.AppendInt64(2, ts(r.at))
		bb.AppendFloat64(3, r.ratio)
		bb.AppendBool(4, r.expl)
		bb.EndRow()
	}
	b := bb.Batch()
	s := mustSuite(t, `[
		{"expect_column_values_to_be_between": {"column": "revenue", "min_value": 0, "max_value": 10000}},
		{"expect_column_values_to_be_between": {"column": "revenue", "min_value": 12.5, "strict_min": true}},
		{"expect_column_values_to_be_between": {"column": "report_date", "min_value": "2024-01-01", "max_value": "2024-01-31"}},
		{"expect_column_values_to_be_in_set": {"column": "report_date", "value_set": ["2024-01-01", "2024-02-01"]}},
		{"expect_column_values_to_be_between": {"column": "ingested_at", "max_value": "2024-02-01T00:00:00Z"}},
		{"expect_column_values_to_not_be_null": {"column": "ratio"}},
		{"expect_column_sum_to_be_between": {"column": "revenue", "min_value": 10012.4995, "max_value": 10012.4995}},
		{"expect_column_max_to_be_between": {"column": "report_date", "max_value": "2024-02-01"}},
		{"expect_column_values_to_be_in_set": {"column": "explicit", "value_set": [false]}},
		{"expect_column_values_to_be_of_type": {"column": "revenue", "type_": "Decimal"}},
		{"expect_column_values_to_match_regex": {"column": "revenue", "regex": "^-?\\d+\\.\\d{4}$"}}
	]`)
	res := validate(t, s, schema, []*sdk.RecordBatch{b}, Options{ResultFormat: "COMPLETE"})
	list := func(i int) []any { return resultJSON(t, res.Results[i])["unexpected_list"].([]any) }
	require.Equal(t, []any{-0.0005}, list(0))                      // decimals as numbers
	require.Equal(t, []any{12.5, -0.0005}, list(1))                // exact decimal bound, strict
	require.Equal(t, []any{"2024-02-01"}, list(2))                 // dates as ISO strings
	require.Equal(t, []any{"2024-01-31"}, list(3))                 // value_set strings parsed as dates
	require.Equal(t, []any{"2024-02-01T00:00:00.500000"}, list(4)) // timestamps as ISO strings
	require.Equal(t, []any{nil}, list(5))                          // NaN is missing, as in pandas
	require.True(t, res.Results[6].Success, "%v", resultJSON(t, res.Results[6]))
	require.Equal(t, 10012.4995, resultJSON(t, res.Results[6])["observed_value"])
	require.Equal(t, "2024-02-01", resultJSON(t, res.Results[7])["observed_value"])
	require.Equal(t, []any{true}, list(8))
	require.True(t, res.Results[9].Success)
	require.True(t, res.Results[10].Success, "decimal text keeps its scale: %v", list(10))
}

func TestTypeMismatchIsAnException(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(3, 3, func(i int) (int64, bool) { return int64(i), true })
	s := mustSuite(t, `[{"expect_column_value_lengths_to_equal": {"column": "x", "value": 1}},
		{"expect_column_values_to_be_between": {"column": "x", "min_value": "a"}},
		{"expect_column_values_to_not_be_null": {"column": "x"}}]`)
	res := validate(t, s, schema, batches, Options{})
	require.True(t, res.Results[0].ExceptionInfo.RaisedException)
	require.Contains(t, *res.Results[0].ExceptionInfo.ExceptionMessage, `needs a string column; column "x" is int64`)
	require.True(t, res.Results[1].ExceptionInfo.RaisedException)
	require.Contains(t, *res.Results[1].ExceptionInfo.ExceptionMessage, "must either be None or of the same type")
	require.True(t, res.Results[2].Success)
	require.Equal(t, 1, res.Statistics.SuccessfulExpectations)
}

func TestNewAndAddErrors(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(3, 3, func(i int) (int64, bool) { return int64(i), true })
	_, err := New(nil, schema, Options{})
	require.ErrorContains(t, err, "no expectation suite")
	_, err = New(&suite.Suite{Name: "bad", Expectations: []suite.Expectation{{Type: "expect_nothing"}}}, schema, Options{})
	require.ErrorContains(t, err, `suite "bad": expectations[0] (expect_nothing): unknown expectation type`)
	_, err = New(&suite.Suite{Name: "ok"}, schema, Options{ResultFormat: "EVERYTHING"})
	require.ErrorContains(t, err, "result_format must be one of")

	v, err := New(&suite.Suite{Name: "ok"}, schema, Options{})
	require.NoError(t, err)
	require.ErrorContains(t, v.Add(nil), "nil batch")
	bad := *batches[0]
	bad.Columns = bad.Columns[:1]
	require.ErrorContains(t, v.Add(&bad), "batch has 1 columns, schema has 2 fields")
	require.NoError(t, v.Add(batches[0]))
	require.Equal(t, int64(3), v.Rows())
}

func TestResultIsRepeatable(t *testing.T) {
	t.Parallel()
	schema, batches := intBatches(100, 10, func(i int) (int64, bool) { return int64(i % 7), true })
	s, err := suite.ParseFile(filepath.Join("..", "testdata", "suites", "tiktok_daily_metrics.json"))
	require.NoError(t, err)
	s.Expectations = append(s.Expectations, suite.Expectation{Type: "expect_column_values_to_be_unique", Kwargs: map[string]any{"column": "x"}})
	s.Expectations[0].Kwargs["column"] = "x"
	s.Expectations[1].Kwargs["column"] = "x"
	v, err := New(s, schema, Options{})
	require.NoError(t, err)
	for _, b := range batches {
		require.NoError(t, v.Add(b))
	}
	a, err := json.Marshal(v.Result())
	require.NoError(t, err)
	b, err := json.Marshal(v.Result())
	require.NoError(t, err)
	require.JSONEq(t, string(a), string(b))
}

func TestValueRendering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    Value
		json string
		py   string
	}{
		{Value{Kind: KindFloat, F: 2}, "2.0", "2.0"},
		{Value{Kind: KindFloat, F: 1e16}, "1e+16", "1e+16"},
		{Value{Kind: KindFloat, F: 0.0001}, "0.0001", "0.0001"},
		{Value{Kind: KindFloat, F: 0.00001}, "1e-05", "1e-05"},
		{Value{Kind: KindFloat, F: math.Inf(1)}, `"Infinity"`, "inf"},
		{Value{Kind: KindDecimal, I: 1250, Scale: 2}, "12.5", "12.50"},
		{Value{Kind: KindDecimal, I: -5, Scale: 3}, "-0.005", "-0.005"},
		{Value{Kind: KindDecimal, I: 7, Scale: 0}, "7.0", "7"},
		{Value{Kind: KindBool, I: 1}, "true", "True"},
		{Value{Kind: KindString, S: `a"b`}, `"a\"b"`, `a"b`},
		{Value{Kind: KindDate, I: -1}, `"1969-12-31"`, "1969-12-31"},
		{Value{Kind: KindTimestamp, I: 1}, `"1970-01-01T00:00:00.000001"`, "1970-01-01 00:00:00.000001"},
		{Value{}, "null", "None"},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err)
		require.Equal(t, tc.json, string(b))
		require.Equal(t, tc.py, string(appendPyStr(nil, tc.v)))
	}
}

func TestDateutilAndStrptime(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"2020-01-02":                    "2020-01-02T00:00:00Z",
		"Jan 01 1970 12:00:01":          "1970-01-01T12:00:01Z",
		"01/02/2020":                    "2020-01-02T00:00:00Z",
		"13/02/2020":                    "2020-02-13T00:00:00Z",
		"2 January 2020 3pm":            "2020-01-02T15:00:00Z",
		"20200102":                      "2020-01-02T00:00:00Z",
		"2021-03-12 08:00:00+01:00":     "2021-03-12T07:00:00Z",
		"Mon, 15 Mar 2021 10:00:00 GMT": "2021-03-15T10:00:00Z",
		"2020-01-01T12:30:00.25Z":       "2020-01-01T12:30:00.25Z",
	} {
		got, ok := parseDateutil(s)
		require.True(t, ok, s)
		require.Equal(t, want, got.Format(time.RFC3339Nano), s)
	}
	for _, s := range []string{"", "not a date", "32/13/2020", "2020-02-30", "25:00", "1 2 3 4 5"} {
		_, ok := parseDateutil(s)
		require.False(t, ok, s)
	}
	p, err := compileStrptime("%d.%m.%Y %I:%M %p")
	require.NoError(t, err)
	require.True(t, p.match([]byte("31.12.2024 12:30 AM")))
	require.True(t, p.match([]byte("1.2.2024  9:05 pm")))
	require.False(t, p.match([]byte("31.11.2024 12:30 AM")))
	require.False(t, p.match([]byte("31.12.2024 13:30 PM")))
	_, err = compileStrptime("%Q")
	require.ErrorContains(t, err, "bad directive")
	p, err = compileStrptime("%j/%y")
	require.NoError(t, err)
	require.True(t, p.match([]byte("366/24")))
	require.False(t, p.match([]byte("366/23")))
}

func percent(a, b int) float64 { return float64(a) / float64(b) * 100 }

func TestMemoTestRemembersAndStaysBounded(t *testing.T) {
	calls := 0
	test := func(s []byte) bool { calls++; return len(s)%2 == 0 }
	m := memoTest(test)
	for range 3 {
		for _, v := range []string{"", "a", "ab", "abc"} {
			if got, want := m([]byte(v)), len(v)%2 == 0; got != want {
				t.Fatalf("memoTest(%q) = %v, want %v", v, got, want)
			}
		}
	}
	if calls != 4 {
		t.Fatalf("test ran %d times for 4 distinct values", calls)
	}
	// Past the bound, values are tested every time, and still right.
	for i := range memoMaxValues + 10 {
		m(fmt.Appendf(nil, "v%d", i))
	}
	calls = 0
	for range 2 {
		if got, want := m([]byte("beyond the bound")), len("beyond the bound")%2 == 0; got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if calls != 2 {
		t.Fatalf("a value seen after the memo filled was remembered (%d calls for 2 lookups)", calls)
	}
}
