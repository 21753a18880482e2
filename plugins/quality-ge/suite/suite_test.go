package suite_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
)

func fixture(name string) string { return filepath.Join("..", "testdata", "suites", name) }

func TestParseV0Dialect(t *testing.T) {
	t.Parallel()
	s, err := suite.ParseFile(fixture("dsp_streams_daily.v0.json"))
	require.NoError(t, err)
	require.Equal(t, "dsp_streams_daily.warning", s.Name)
	require.Equal(t, suite.DialectV0, s.Dialect)
	require.Len(t, s.Expectations, 6)
	e := s.Expectations[3]
	require.Equal(t, "expect_column_values_to_match_regex", e.Type)
	require.Equal(t, "isrc", e.Column())
	require.Equal(t, json.Number("0.99"), e.Kwargs["mostly"])
	require.Equal(t, map[string]any{"notes": map[string]any{"format": "markdown", "content": "ISRC without dashes."}}, e.Meta)
	require.Nil(t, s.Expectations[5].Kwargs["max_value"])
	require.Contains(t, s.Expectations[5].Kwargs, "max_value")
	require.Equal(t, map[string]any{}, s.Parameters)
}

func TestParseV1Dialect(t *testing.T) {
	t.Parallel()
	s, err := suite.ParseFile(fixture("dsp_streams_daily.v1.json"))
	require.NoError(t, err)
	require.Equal(t, "dsp_streams_daily", s.Name)
	require.Equal(t, suite.DialectV1, s.Dialect)
	require.Equal(t, "2f0c7a8e-3b1d-4c55-9a51-4f7e0c2d9b10", s.ID)
	require.Equal(t, "Daily stream counts delivered by DSPs. Owner: data-eng.", s.Notes)
	require.Len(t, s.Expectations, 4)
	require.Equal(t, "ISRCs are 12 characters, no dashes.", s.Expectations[1].Description)
	require.Equal(t, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", s.Expectations[1].ID)
	// Kwargs written inline next to "type".
	inline := s.Expectations[3]
	require.Equal(t, "expect_compound_columns_to_be_unique", inline.Type)
	require.Equal(t, []any{"report_date", "dsp", "territory", "isrc"}, inline.Kwargs["column_list"])
	require.NotContains(t, inline.Kwargs, "id")
	require.Equal(t, "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60", inline.ID)
}

func TestParseShorthandObjectIsNamedAfterTheFile(t *testing.T) {
	t.Parallel()
	s, err := suite.ParseFile(fixture("tiktok_daily_metrics.json"))
	require.NoError(t, err)
	require.Equal(t, "tiktok_daily_metrics", s.Name)
	require.Equal(t, suite.DialectShorthand, s.Dialect)
	require.Len(t, s.Expectations, 2)
	// Object key order is the suite's order.
	require.Equal(t, "expect_column_values_to_not_be_null", s.Expectations[0].Type)
	require.Equal(t, map[string]any{"column": "video_id"}, s.Expectations[0].Kwargs)
	require.Equal(t, "expect_column_values_to_be_between", s.Expectations[1].Type)
	require.Equal(t, map[string]any{"column": "view_count", "min_value": json.Number("0")}, s.Expectations[1].Kwargs)
}

func TestParseShorthandList(t *testing.T) {
	t.Parallel()
	s, err := suite.ParseFile(fixture("shorthand_list.json"))
	require.NoError(t, err)
	require.Equal(t, "shorthand_list", s.Name)
	var types []string
	for _, e := range s.Expectations {
		types = append(types, e.Type+":"+e.Column())
	}
	require.Equal(t, []string{
		"expect_table_row_count_to_be_between:",
		"expect_column_values_to_not_be_null:isrc",
		"expect_column_values_to_not_be_null:dsp",
		"expect_column_values_to_be_unique:line_id",
	}, types)
	require.Equal(t, map[string]any{"owner": "finance"}, s.Expectations[3].Meta)
	require.NotContains(t, s.Expectations[3].Kwargs, "meta")
}

func TestShorthandInsideExpectationsList(t *testing.T) {
	t.Parallel()
	s, err := suite.Parse("x", []byte(`{"name": "mixed", "expectations": [
		{"expect_column_values_to_not_be_null": {"column": "a"}},
		{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "b"}}]}`))
	require.NoError(t, err)
	require.Equal(t, "mixed", s.Name)
	require.Len(t, s.Expectations, 2)
	require.Equal(t, "a", s.Expectations[0].Column())
	require.Equal(t, "b", s.Expectations[1].Column())
}

func TestMarshalWritesV1AndRoundTrips(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dsp_streams_daily.v0.json", "dsp_streams_daily.v1.json", "tiktok_daily_metrics.json", "shorthand_list.json"} {
		s, err := suite.ParseFile(fixture(name))
		require.NoError(t, err, name)
		out, err := suite.Marshal(s)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(out, &doc))
		require.Equal(t, s.Name, doc["name"], name)
		require.NotContains(t, doc, "expectation_suite_name")
		require.Contains(t, doc, "suite_parameters")
		for _, e := range doc["expectations"].([]any) {
			em := e.(map[string]any)
			require.Contains(t, em, "type")
			require.NotContains(t, em, "expectation_type")
			require.Contains(t, em, "kwargs")
		}
		back, err := suite.Parse("other", out)
		require.NoError(t, err, name)
		require.Equal(t, s.Expectations, back.Expectations, name)
		require.Equal(t, s.Name, back.Name)
		require.Equal(t, s.ID, back.ID)
		require.Equal(t, suite.DialectV1, back.Dialect)
	}
	// Exact numbers survive: json.Number keeps the text.
	s, err := suite.Parse("n", []byte(`{"expect_column_sum_to_be_between": {"column": "revenue", "min_value": 12345678901234567890.125}}`))
	require.NoError(t, err)
	out, err := suite.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(out), "12345678901234567890.125")
}

// kwargErrors unwraps a joined error into its KwargErrors.
func kwargErrors(t *testing.T, err error) []*suite.KwargError {
	t.Helper()
	require.Error(t, err)
	var out []*suite.KwargError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil {
			if _, isKwarg := e.(*suite.KwargError); !isKwarg {
				walk(u)
				return
			}
		}
		var ke *suite.KwargError
		if errors.As(e, &ke) {
			out = append(out, ke)
		}
	}
	walk(err)
	return out
}

func TestValidationReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := suite.ParseFile(fixture("broken.json"))
	errs := kwargErrors(t, err)
	type key struct {
		index int
		typ   string
		kwarg string
	}
	got := map[key]string{}
	for _, e := range errs {
		require.Equal(t, "broken", e.Suite)
		got[key{e.Index, e.Type, e.Key}] = e.Error()
	}
	want := []struct {
		k    key
		text string
	}{
		{key{0, "expect_column_values_to_be_betwen", ""}, "did you mean expect_column_values_to_be_between?"},
		{key{1, "expect_column_values_to_be_between", "column"}, "is required but missing"},
		{key{2, "expect_column_values_to_not_be_null", "colour"}, "is not an argument of this expectation"},
		{key{3, "expect_column_values_to_be_in_set", "value_set"}, "must be a list of values"},
		{key{4, "expect_column_values_to_not_be_null", "mostly"}, "between 0 and 1"},
		{key{5, "expect_column_values_to_match_regex", "regex"}, "not a valid regular expression"},
		{key{6, "expect_compound_columns_to_be_unique", "ignore_row_if"}, "must be one of all_values_are_missing"},
		{key{7, "expect_table_row_count_to_equal", "value"}, "must be a whole number"},
	}
	for _, w := range want {
		msg, ok := got[w.k]
		require.True(t, ok, "no error for %+v; got %v", w.k, err)
		require.Contains(t, msg, w.text)
		require.Contains(t, msg, `suite "broken"`)
		require.Contains(t, msg, w.k.typ)
	}
	require.Len(t, errs, len(want), "%v", err)
	require.Contains(t, err.Error(), `suite "broken": expectations[2] (expect_column_values_to_not_be_null): kwarg "colour"`)
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc, want string
	}{
		{"invalid JSON names line and column", "{\n  \"name\": \"x\",\n  \"expectations\": [,]\n}", "line 3, column"},
		{"truncated JSON", `{"name": "x", "expectations": [`, "ends early"},
		{"trailing data", `{"expect_column_to_exist": {"column": "a"}} {}`, "after the JSON document"},
		{"duplicate key", `{"expect_column_to_exist": {"column": "a", "column": "b"}}`, `key "column" appears twice`},
		{"not an object", `42`, "want a JSON object or list"},
		{"expectations not a list", `{"name": "x", "expectations": {}}`, `"expectations" must be a list`},
		{"expectation not an object", `{"name": "x", "expectations": [3]}`, "expectations[0]: want an object"},
		{"no type", `{"name": "x", "expectations": [{"kwargs": {}}]}`, `no "type" (1.x) or "expectation_type" (0.x) key`},
		{"type not a string", `{"name": "x", "expectations": [{"type": 7}]}`, "type must be a string"},
		{"kwargs not an object", `{"name": "x", "expectations": [{"type": "expect_column_to_exist", "kwargs": []}]}`, `kwarg "kwargs": must be an object`},
		{"kwargs both inline and nested", `{"name": "x", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "column_index": 0}]}`, `kwarg "column_index": stands next to "kwargs"`},
		{"unknown suite key", `{"name": "x", "expectatons": [], "expectations": []}`, `unknown top-level key "expectatons"`},
		{"shorthand kwargs not an object", `{"expect_column_to_exist": "a"}`, "the kwargs must be an object"},
		{"shorthand list entry", `["expect_column_to_exist"]`, "entry 0: want an object"},
		{"row_condition", `{"expect_column_to_exist": {"column": "a", "row_condition": "b > 1"}}`, "row conditions are not supported"},
		{"empty column name", `{"expect_column_values_to_be_unique": {"column": ""}}`, `kwarg "column": must be a non-empty string`},
		{"bad result_format", `{"expect_column_values_to_be_unique": {"column": "a", "result_format": "FULL"}}`, "must be one of BOOLEAN_ONLY, BASIC, SUMMARY, COMPLETE"},
		{"bad result_format object", `{"expect_column_values_to_be_unique": {"column": "a", "result_format": {"result_format": "SUMMARY", "partial": 3}}}`, `unknown key "partial"`},
		{"both bounds null", `{"expect_column_values_to_be_between": {"column": "a", "min_value": null}}`, "cannot both be None"},
		{"min above max", `{"expect_column_values_to_be_between": {"column": "a", "min_value": 3, "max_value": 1}}`, "cannot be greater than max_value"},
		{"aggregate min above max", `{"expect_column_mean_to_be_between": {"column": "a", "min_value": 5, "max_value": 1}}`, "cannot be greater than max_value"},
		{"bound of wrong type", `{"expect_column_min_to_be_between": {"column": "a", "min_value": [1]}}`, "must be a number, a date/time string or null"},
		{"quantile ranges unpaired", `{"expect_column_quantile_values_to_be_between": {"column": "a", "quantile_ranges": {"quantiles": [0.5], "value_ranges": []}}}`, "pair up"},
		{"quantile out of range", `{"expect_column_quantile_values_to_be_between": {"column": "a", "quantile_ranges": {"quantiles": [2], "value_ranges": [[1, 2]]}}}`, "between 0 and 1"},
		{"regex list empty", `{"expect_column_values_to_match_regex_list": {"column": "a", "regex_list": []}}`, "non-empty list of regular expressions"},
		{"string list item", `{"expect_table_columns_to_match_set": {"column_set": ["a", 1]}}`, "item 1 is the number 1"},
		{"boolean", `{"expect_column_values_to_be_increasing": {"column": "a", "strictly": "yes"}}`, "must be true or false"},
		{"value set item", `{"expect_column_values_to_be_in_set": {"column": "a", "value_set": [{"x": 1}]}}`, "item 0 is an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := suite.Parse("sfx", []byte(tc.doc))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestEveryTypeHasASpec(t *testing.T) {
	t.Parallel()
	types := suite.Types()
	require.GreaterOrEqual(t, len(types), 25)
	for _, typ := range types {
		spec, ok := suite.Lookup(typ)
		require.True(t, ok)
		require.True(t, strings.HasPrefix(spec.Type, "expect_"))
		_, ok = spec.Kwarg("result_format")
		require.True(t, ok, "%s takes result_format", typ)
	}
	_, ok := suite.Lookup("expect_the_unexpected")
	require.False(t, ok)
}
