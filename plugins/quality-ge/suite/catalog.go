package suite

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Domain is the kind of data an expectation looks at.
type Domain string

// Expectation domains, as GX names its base classes.
const (
	DomainTable        Domain = "table"
	DomainColumnMap    Domain = "column_map"
	DomainColumnAgg    Domain = "column_aggregate"
	DomainColumnPair   Domain = "column_pair_map"
	DomainMulticolumn  Domain = "multicolumn_map"
	DomainColumnByType Domain = "column_type" // be_of_type / be_in_type_list
)

// Kind is the JSON shape a kwarg must have.
type Kind int

// Kwarg kinds.
const (
	KindString         Kind = iota // a non-empty string
	KindStringList                 // a list of strings
	KindStringListOpt              // a list of strings or null
	KindNumber                     // a number
	KindNumberOpt                  // a number or null
	KindInt                        // an integer
	KindIntOpt                     // an integer or null
	KindBool                       // true or false
	KindBound                      // a number, a date/time string or null
	KindValueSet                   // a list of scalars (or null)
	KindMostly                     // a number in [0, 1]
	KindRegex                      // a regular expression
	KindRegexList                  // a non-empty list of regular expressions
	KindResultFormat               // a result_format level or object
	KindEnum                       // one of Spec.Enum
	KindQuantileRanges             // {"quantiles": [...], "value_ranges": [[lo, hi], ...]}
	KindAny                        // anything (kept, not used)
)

// Kwarg describes one argument of an expectation type.
type Kwarg struct {
	Name     string
	Kind     Kind
	Required bool
	Enum     []string // KindEnum only
}

// Spec describes a supported expectation type.
type Spec struct {
	Type   string
	Domain Domain
	Kwargs []Kwarg
}

// Kwarg returns the spec of the named kwarg.
func (s *Spec) Kwarg(name string) (Kwarg, bool) {
	for _, k := range s.Kwargs {
		if k.Name == name {
			return k, true
		}
	}
	for _, k := range commonKwargs {
		if k.Name == name {
			return k, true
		}
	}
	return Kwarg{}, false
}

// commonKwargs are accepted by every expectation type ("other parameters"
// in GX's docs). row_condition is accepted only when empty: filtering rows
// is not supported, and silently ignoring a condition would pass bad data.
var commonKwargs = []Kwarg{
	{Name: "result_format", Kind: KindResultFormat},
	{Name: "catch_exceptions", Kind: KindBool},
	{Name: "include_config", Kind: KindBool},
	{Name: "batch_id", Kind: KindAny},
	{Name: "row_condition", Kind: KindAny},
	{Name: "condition_parser", Kind: KindAny},
}

var (
	column      = Kwarg{Name: "column", Kind: KindString, Required: true}
	mostly      = Kwarg{Name: "mostly", Kind: KindMostly}
	minValue    = Kwarg{Name: "min_value", Kind: KindBound}
	maxValue    = Kwarg{Name: "max_value", Kind: KindBound}
	strictMin   = Kwarg{Name: "strict_min", Kind: KindBool}
	strictMax   = Kwarg{Name: "strict_max", Kind: KindBool}
	valueSet    = Kwarg{Name: "value_set", Kind: KindValueSet, Required: true}
	parseDates  = Kwarg{Name: "parse_strings_as_datetimes", Kind: KindBool} // 0.x; dates are typed here
	outFormat   = Kwarg{Name: "output_strftime_format", Kind: KindAny}      // 0.x display only
	crossType   = Kwarg{Name: "allow_cross_type_comparisons", Kind: KindBool}
	columnA     = Kwarg{Name: "column_A", Kind: KindString, Required: true}
	columnB     = Kwarg{Name: "column_B", Kind: KindString, Required: true}
	columnList  = Kwarg{Name: "column_list", Kind: KindStringList, Required: true}
	pairIgnore  = Kwarg{Name: "ignore_row_if", Kind: KindEnum, Enum: []string{"both_values_are_missing", "either_value_is_missing", "neither"}}
	multiIgnore = Kwarg{Name: "ignore_row_if", Kind: KindEnum, Enum: []string{"all_values_are_missing", "any_value_is_missing", "never"}}
)

func between(extra ...Kwarg) []Kwarg {
	return append([]Kwarg{column, minValue, maxValue, strictMin, strictMax}, extra...)
}

var catalog = func() map[string]*Spec {
	specs := []*Spec{
		// Column map expectations: one yes/no answer per row.
		{Type: "expect_column_values_to_not_be_null", Domain: DomainColumnMap, Kwargs: []Kwarg{column, mostly}},
		{Type: "expect_column_values_to_be_null", Domain: DomainColumnMap, Kwargs: []Kwarg{column, mostly}},
		{Type: "expect_column_values_to_be_unique", Domain: DomainColumnMap, Kwargs: []Kwarg{column, mostly}},
		{Type: "expect_column_values_to_be_in_set", Domain: DomainColumnMap, Kwargs: []Kwarg{column, valueSet, mostly, parseDates}},
		{Type: "expect_column_values_to_not_be_in_set", Domain: DomainColumnMap, Kwargs: []Kwarg{column, valueSet, mostly, parseDates}},
		{Type: "expect_column_values_to_be_between", Domain: DomainColumnMap, Kwargs: between(mostly, parseDates, outFormat, crossType)},
		{Type: "expect_column_values_to_match_regex", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "regex", Kind: KindRegex, Required: true}, mostly}},
		{Type: "expect_column_values_to_not_match_regex", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "regex", Kind: KindRegex, Required: true}, mostly}},
		{Type: "expect_column_values_to_match_regex_list", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "regex_list", Kind: KindRegexList, Required: true},
			{Name: "match_on", Kind: KindEnum, Enum: []string{"any", "all"}}, mostly}},
		{Type: "expect_column_values_to_not_match_regex_list", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "regex_list", Kind: KindRegexList, Required: true}, mostly}},
		{Type: "expect_column_value_lengths_to_be_between", Domain: DomainColumnMap, Kwargs: []Kwarg{column,
			{Name: "min_value", Kind: KindIntOpt}, {Name: "max_value", Kind: KindIntOpt}, strictMin, strictMax, mostly}},
		{Type: "expect_column_value_lengths_to_equal", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "value", Kind: KindInt, Required: true}, mostly}},
		{Type: "expect_column_values_to_match_strftime_format", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "strftime_format", Kind: KindString, Required: true}, mostly}},
		{Type: "expect_column_values_to_be_dateutil_parseable", Domain: DomainColumnMap, Kwargs: []Kwarg{column, mostly}},
		{Type: "expect_column_values_to_be_json_parseable", Domain: DomainColumnMap, Kwargs: []Kwarg{column, mostly}},
		{Type: "expect_column_values_to_be_increasing", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "strictly", Kind: KindBool}, mostly, parseDates}},
		{Type: "expect_column_values_to_be_decreasing", Domain: DomainColumnMap, Kwargs: []Kwarg{column, {Name: "strictly", Kind: KindBool}, mostly, parseDates}},
		// Column type expectations (map-shaped for text columns, an observed dtype otherwise).
		{Type: "expect_column_values_to_be_of_type", Domain: DomainColumnByType, Kwargs: []Kwarg{column, {Name: "type_", Kind: KindString, Required: true}, mostly}},
		{Type: "expect_column_values_to_be_in_type_list", Domain: DomainColumnByType, Kwargs: []Kwarg{column, {Name: "type_list", Kind: KindStringListOpt, Required: true}, mostly}},
		// Table expectations.
		{Type: "expect_column_to_exist", Domain: DomainTable, Kwargs: []Kwarg{column, {Name: "column_index", Kind: KindIntOpt}}},
		{Type: "expect_table_columns_to_match_ordered_list", Domain: DomainTable, Kwargs: []Kwarg{{Name: "column_list", Kind: KindStringListOpt, Required: true}}},
		{Type: "expect_table_columns_to_match_set", Domain: DomainTable, Kwargs: []Kwarg{{Name: "column_set", Kind: KindStringListOpt, Required: true}, {Name: "exact_match", Kind: KindBool}}},
		{Type: "expect_table_row_count_to_be_between", Domain: DomainTable, Kwargs: []Kwarg{{Name: "min_value", Kind: KindNumberOpt}, {Name: "max_value", Kind: KindNumberOpt}, strictMin, strictMax}},
		{Type: "expect_table_row_count_to_equal", Domain: DomainTable, Kwargs: []Kwarg{{Name: "value", Kind: KindInt, Required: true}}},
		{Type: "expect_table_column_count_to_equal", Domain: DomainTable, Kwargs: []Kwarg{{Name: "value", Kind: KindInt, Required: true}}},
		{Type: "expect_table_column_count_to_be_between", Domain: DomainTable, Kwargs: []Kwarg{{Name: "min_value", Kind: KindNumberOpt}, {Name: "max_value", Kind: KindNumberOpt}, strictMin, strictMax}},
		// Column pair and multicolumn map expectations.
		{Type: "expect_column_pair_values_a_to_be_greater_than_b", Domain: DomainColumnPair, Kwargs: []Kwarg{columnA, columnB, {Name: "or_equal", Kind: KindBool}, pairIgnore, mostly, parseDates, crossType}},
		{Type: "expect_column_pair_values_to_be_equal", Domain: DomainColumnPair, Kwargs: []Kwarg{columnA, columnB, pairIgnore, mostly}},
		{Type: "expect_compound_columns_to_be_unique", Domain: DomainMulticolumn, Kwargs: []Kwarg{columnList, multiIgnore, mostly}},
		// Column aggregate expectations: one observed value per column.
		{Type: "expect_column_min_to_be_between", Domain: DomainColumnAgg, Kwargs: between(parseDates, outFormat)},
		{Type: "expect_column_max_to_be_between", Domain: DomainColumnAgg, Kwargs: between(parseDates, outFormat)},
		{Type: "expect_column_sum_to_be_between", Domain: DomainColumnAgg, Kwargs: between()},
		{Type: "expect_column_mean_to_be_between", Domain: DomainColumnAgg, Kwargs: between()},
		{Type: "expect_column_median_to_be_between", Domain: DomainColumnAgg, Kwargs: between()},
		{Type: "expect_column_stdev_to_be_between", Domain: DomainColumnAgg, Kwargs: between()},
		{Type: "expect_column_unique_value_count_to_be_between", Domain: DomainColumnAgg, Kwargs: between()},
		{Type: "expect_column_proportion_of_unique_values_to_be_between", Domain: DomainColumnAgg, Kwargs: between()},
		{Type: "expect_column_quantile_values_to_be_between", Domain: DomainColumnAgg, Kwargs: []Kwarg{column,
			{Name: "quantile_ranges", Kind: KindQuantileRanges, Required: true}, {Name: "allow_relative_error", Kind: KindAny}}},
		{Type: "expect_column_distinct_values_to_be_in_set", Domain: DomainColumnAgg, Kwargs: []Kwarg{column, {Name: "value_set", Kind: KindValueSet}, parseDates}},
		{Type: "expect_column_distinct_values_to_contain_set", Domain: DomainColumnAgg, Kwargs: []Kwarg{column, valueSet, parseDates}},
		{Type: "expect_column_distinct_values_to_equal_set", Domain: DomainColumnAgg, Kwargs: []Kwarg{column, valueSet, parseDates}},
		{Type: "expect_column_most_common_value_to_be_in_set", Domain: DomainColumnAgg, Kwargs: []Kwarg{column, valueSet, {Name: "ties_okay", Kind: KindBool}}},
	}
	m := make(map[string]*Spec, len(specs))
	for _, s := range specs {
		m[s.Type] = s
	}
	return m
}()

// Lookup returns the spec of a supported expectation type.
func Lookup(typ string) (*Spec, bool) {
	s, ok := catalog[typ]
	return s, ok
}

// Types lists the supported expectation types, sorted.
func Types() []string {
	out := make([]string, 0, len(catalog))
	for t := range catalog {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// KwargError is a problem with one expectation of a suite.
type KwargError struct {
	Suite string
	Index int    // position in the suite's expectations, from 0
	Type  string // expectation type as written
	Key   string // kwarg name; empty when the problem is the type itself
	Msg   string
}

func (e *KwargError) Error() string {
	where := fmt.Sprintf("suite %q: expectations[%d] (%s)", e.Suite, e.Index, e.Type)
	if e.Key == "" {
		return where + ": " + e.Msg
	}
	return fmt.Sprintf("%s: kwarg %q: %s", where, e.Key, e.Msg)
}

// Validate checks every expectation against the catalog and returns all
// problems joined (nil when the suite is valid).
func (s *Suite) Validate() error {
	var errs []error
	for i, e := range s.Expectations {
		errs = append(errs, validateExpectation(s.Name, i, e)...)
	}
	return errors.Join(errs...)
}

func validateExpectation(suiteName string, idx int, e Expectation) []error {
	bad := func(key, format string, args ...any) error {
		return &KwargError{Suite: suiteName, Index: idx, Type: e.Type, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	spec, ok := Lookup(e.Type)
	if !ok {
		msg := "unknown expectation type"
		if e.Type == "" {
			msg = "the expectation type is empty"
		} else if hint := closestType(e.Type); hint != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", hint)
		}
		return []error{bad("", "%s", msg)}
	}
	var errs []error
	for _, k := range spec.Kwargs {
		if _, ok := e.Kwargs[k.Name]; k.Required && !ok {
			errs = append(errs, bad(k.Name, "is required but missing"))
		}
	}
	keys := make([]string, 0, len(e.Kwargs))
	for k := range e.Kwargs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		k, ok := spec.Kwarg(name)
		if !ok {
			errs = append(errs, bad(name, "is not an argument of this expectation (it takes %s)", kwargNames(spec)))
			continue
		}
		if msg := checkKind(k, e.Kwargs[name]); msg != "" {
			errs = append(errs, bad(name, "%s", msg))
		}
	}
	if v, ok := e.Kwargs["row_condition"]; ok && v != nil && v != "" {
		errs = append(errs, bad("row_condition", "row conditions are not supported; validate a filtered dataset instead"))
	}
	if len(errs) > 0 {
		return errs
	}
	// Cross-kwarg checks GX makes when it builds the configuration.
	minV, hasMin := e.Kwargs["min_value"]
	maxV, hasMax := e.Kwargs["max_value"]
	_, takesBounds := spec.Kwarg("min_value")
	if takesBounds {
		if (spec.Type == "expect_column_values_to_be_between" || spec.Type == "expect_column_value_lengths_to_be_between") && minV == nil && maxV == nil {
			errs = append(errs, bad("min_value", "min_value and max_value cannot both be None (null); give at least one bound"))
		}
		if a, ok := number(minV); ok && hasMin && hasMax {
			if b, ok := number(maxV); ok && a > b {
				errs = append(errs, bad("min_value", "min_value cannot be greater than max_value (%v > %v)", minV, maxV))
			}
		}
	}
	return errs
}

func kwargNames(spec *Spec) string {
	var names []string
	for _, k := range spec.Kwargs {
		names = append(names, k.Name)
	}
	return strings.Join(names, ", ") + " and the common result_format, catch_exceptions, include_config"
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func isInt(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if _, err := n.Int64(); err == nil {
		return true
	}
	f, err := n.Float64()
	return err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53
}

// ResultFormatLevels are the GX result_format levels.
var ResultFormatLevels = []string{"BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE"}

func checkKind(k Kwarg, v any) string {
	switch k.Kind {
	case KindAny:
		return ""
	case KindString:
		if s, ok := v.(string); !ok || s == "" {
			return "must be a non-empty string, got " + jsonKind(v)
		}
	case KindStringList, KindStringListOpt:
		if v == nil && k.Kind == KindStringListOpt {
			return ""
		}
		list, ok := v.([]any)
		if !ok {
			return "must be a list of strings, got " + jsonKind(v)
		}
		for i, e := range list {
			if _, ok := e.(string); !ok {
				return fmt.Sprintf("must be a list of strings; item %d is %s", i, jsonKind(e))
			}
		}
	case KindNumber, KindNumberOpt:
		if v == nil && k.Kind == KindNumberOpt {
			return ""
		}
		if _, ok := number(v); !ok {
			return "must be a number, got " + jsonKind(v)
		}
	case KindInt, KindIntOpt:
		if v == nil && k.Kind == KindIntOpt {
			return ""
		}
		if !isInt(v) {
			return "must be a whole number, got " + jsonKind(v)
		}
	case KindBool:
		if _, ok := v.(bool); !ok {
			return "must be true or false, got " + jsonKind(v)
		}
	case KindBound:
		switch v.(type) {
		case nil, json.Number, string:
		default:
			return "must be a number, a date/time string or null, got " + jsonKind(v)
		}
	case KindValueSet:
		if v == nil {
			return ""
		}
		list, ok := v.([]any)
		if !ok {
			return "must be a list of values, got " + jsonKind(v)
		}
		for i, e := range list {
			switch e.(type) {
			case nil, json.Number, string, bool:
			default:
				return fmt.Sprintf("must be a list of plain values; item %d is %s", i, jsonKind(e))
			}
		}
	case KindMostly:
		f, ok := number(v)
		if !ok {
			return "must be a number between 0 and 1, got " + jsonKind(v)
		}
		if f < 0 || f > 1 {
			return fmt.Sprintf("must be between 0 and 1 (a fraction of rows), got %v", v)
		}
	case KindRegex:
		s, ok := v.(string)
		if !ok {
			return "must be a regular expression string, got " + jsonKind(v)
		}
		if _, err := regexp.Compile(s); err != nil {
			return fmt.Sprintf("is not a valid regular expression (RE2 syntax, no look-arounds or back-references): %v", err)
		}
	case KindRegexList:
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return "must be a non-empty list of regular expressions, got " + jsonKind(v)
		}
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return fmt.Sprintf("item %d must be a regular expression string, got %s", i, jsonKind(e))
			}
			if _, err := regexp.Compile(s); err != nil {
				return fmt.Sprintf("item %d is not a valid regular expression (RE2 syntax): %v", i, err)
			}
		}
	case KindEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(k.Enum, s) {
			return fmt.Sprintf("must be one of %s, got %s", strings.Join(k.Enum, ", "), jsonKind(v))
		}
	case KindResultFormat:
		return checkResultFormat(v)
	case KindQuantileRanges:
		return checkQuantileRanges(v)
	}
	return ""
}

func checkResultFormat(v any) string {
	switch x := v.(type) {
	case string:
		if !slices.Contains(ResultFormatLevels, x) {
			return fmt.Sprintf("must be one of %s, got %q", strings.Join(ResultFormatLevels, ", "), x)
		}
	case map[string]any:
		for key, val := range x {
			switch key {
			case "result_format":
				if s, ok := val.(string); !ok || !slices.Contains(ResultFormatLevels, s) {
					return fmt.Sprintf("result_format.result_format must be one of %s, got %s", strings.Join(ResultFormatLevels, ", "), jsonKind(val))
				}
			case "partial_unexpected_count":
				if !isInt(val) {
					return "result_format.partial_unexpected_count must be a whole number, got " + jsonKind(val)
				}
			case "unexpected_index_column_names":
				if msg := checkKind(Kwarg{Kind: KindStringListOpt}, val); msg != "" {
					return "result_format.unexpected_index_column_names " + msg
				}
			case "include_unexpected_rows", "return_unexpected_index_query", "exclude_unexpected_values":
				if _, ok := val.(bool); !ok {
					return fmt.Sprintf("result_format.%s must be true or false, got %s", key, jsonKind(val))
				}
			default:
				return fmt.Sprintf("result_format has an unknown key %q", key)
			}
		}
	default:
		return "must be a level name or an object, got " + jsonKind(v)
	}
	return ""
}

func checkQuantileRanges(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return `must be an object {"quantiles": [...], "value_ranges": [[min, max], ...]}, got ` + jsonKind(v)
	}
	qs, ok1 := m["quantiles"].([]any)
	rs, ok2 := m["value_ranges"].([]any)
	if !ok1 || !ok2 {
		return `must have a "quantiles" list and a "value_ranges" list`
	}
	if len(qs) != len(rs) {
		return fmt.Sprintf("has %d quantiles but %d value_ranges; they must pair up", len(qs), len(rs))
	}
	for i, q := range qs {
		f, ok := number(q)
		if !ok || f < 0 || f > 1 {
			return fmt.Sprintf("quantiles[%d] must be a number between 0 and 1, got %s", i, jsonKind(q))
		}
	}
	for i, r := range rs {
		pair, ok := r.([]any)
		if !ok || len(pair) != 2 {
			return fmt.Sprintf("value_ranges[%d] must be a [min, max] pair", i)
		}
		for _, b := range pair {
			if _, ok := number(b); !ok && b != nil {
				return fmt.Sprintf("value_ranges[%d] bounds must be numbers or null, got %s", i, jsonKind(b))
			}
		}
	}
	for k := range m {
		if k != "quantiles" && k != "value_ranges" {
			return fmt.Sprintf("has an unknown key %q", k)
		}
	}
	return ""
}

// closestType suggests a supported type for a misspelt one.
func closestType(typ string) string {
	best, bestD := "", 4
	for t := range catalog {
		if d := editDistance(typ, t); d < bestD || (d == bestD && t < best) {
			best, bestD = t, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
