package datadocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Display limits keep a page readable and its size bounded when a result
// carries COMPLETE lists of millions of values.
const (
	maxSamples    = 100  // partial_unexpected_list / _counts entries shown
	maxUnexpected = 1000 // unexpected_list entries shown (COMPLETE)
	maxIndexes    = 100  // row indexes shown
	maxValueRunes = 500  // runes of one value shown
)

// gxResult is the part of a GX validation result the pages show.
type gxResult struct {
	SuiteName  string                     `json:"suite_name"`
	Statistics gxStatistics               `json:"statistics"`
	Meta       map[string]json.RawMessage `json:"meta"`
	Results    []json.RawMessage          `json:"results"`

	expectations []gxExpectationResult
}

type gxStatistics struct {
	Evaluated      *float64 `json:"evaluated_expectations"`
	Successful     *float64 `json:"successful_expectations"`
	Unsuccessful   *float64 `json:"unsuccessful_expectations"`
	SuccessPercent *float64 `json:"success_percent"`
}

type gxExpectationResult struct {
	Success bool `json:"success"`
	Config  struct {
		Type            string                     `json:"type"`
		ExpectationType string                     `json:"expectation_type"` // GX 0.x
		Kwargs          map[string]json.RawMessage `json:"kwargs"`
		Meta            map[string]json.RawMessage `json:"meta"`
		Description     string                     `json:"description"`
	} `json:"expectation_config"`
	Result        map[string]json.RawMessage `json:"result"`
	ExceptionInfo json.RawMessage            `json:"exception_info"`
}

type gxException struct {
	Raised    bool    `json:"raised_exception"`
	Message   *string `json:"exception_message"`
	Traceback *string `json:"exception_traceback"`
}

func parseResult(data []byte) (*gxResult, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the GX validation result is empty")
	}
	var res gxResult
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("the result is not GX validation result JSON: %w", err)
	}
	if res.Results == nil {
		return nil, errors.New(`the result is not GX validation result JSON: it has no "results" list`)
	}
	res.expectations = make([]gxExpectationResult, len(res.Results))
	for i, raw := range res.Results {
		if err := json.Unmarshal(raw, &res.expectations[i]); err != nil {
			return nil, fmt.Errorf("results[%d]: %w", i, err)
		}
	}
	return &res, nil
}

// exception returns the error an expectation raised, if any. GX 1.x has one
// {raised_exception, exception_message, exception_traceback} object; some
// GX 0.x results key such objects by metric.
func (r *gxExpectationResult) exception() (gxException, bool) {
	if len(r.ExceptionInfo) == 0 || string(r.ExceptionInfo) == "null" {
		return gxException{}, false
	}
	var one gxException
	if err := json.Unmarshal(r.ExceptionInfo, &one); err == nil && one.Raised {
		return one, true
	}
	var byMetric map[string]gxException
	if err := json.Unmarshal(r.ExceptionInfo, &byMetric); err != nil {
		return gxException{}, false
	}
	keys := make([]string, 0, len(byMetric))
	for k := range byMetric {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if e := byMetric[k]; e.Raised {
			return e, true
		}
	}
	return gxException{}, false
}

// value is one value from the data or the result, ready to show.
type value struct {
	Text string
	// Kind is str, num, bool, null, empty (the empty string) or json
	// (an object or a list, shown as compact JSON).
	Kind string
	// Truncated is set when Text was cut to maxValueRunes.
	Truncated bool
}

func newValue(raw json.RawMessage) value {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return value{Text: "null", Kind: "null"}
	}
	var v value
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			v = value{Text: string(raw), Kind: "json"}
			break
		}
		if s == "" {
			return value{Text: "(empty string)", Kind: "empty"}
		}
		v = value{Text: s, Kind: "str"}
	case 't', 'f':
		v = value{Text: string(raw), Kind: "bool"}
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			v = value{Text: string(raw), Kind: "json"}
			break
		}
		v = value{Text: readableJSON(b.String(), true), Kind: "json"}
	default:
		v = value{Text: string(raw), Kind: "num"}
	}
	if utf8.RuneCountInString(v.Text) > maxValueRunes {
		r := []rune(v.Text)
		v.Text = string(r[:maxValueRunes]) + "…"
		v.Truncated = true
	}
	return v
}

// readableJSON undoes the \u003c, \u003e and \u0026 escapes Go's JSON
// encoder writes (the page escapes them itself) and, when spaced, puts a
// space after the commas and colons outside strings so that a long list
// wraps between its items.
func readableJSON(s string, spaced bool) string {
	var b strings.Builder
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && c == '\\' && i+1 < len(s):
			if s[i+1] == 'u' && i+6 <= len(s) {
				switch s[i+2 : i+6] {
				case "003c", "003C":
					b.WriteByte('<')
					i += 5
					continue
				case "003e", "003E":
					b.WriteByte('>')
					i += 5
					continue
				case "0026":
					b.WriteByte('&')
					i += 5
					continue
				}
			}
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case c == '"':
			inString = !inString
		case !inString && spaced && (c == ',' || c == ':'):
			b.WriteByte(c)
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// typeParts splits an expectation type after each underscore, so that the
// page can offer a line break there.
func typeParts(t string) []string {
	return strings.SplitAfter(t, "_")
}

// kwarg is one expectation argument.
type kwarg struct {
	Key   string
	Value value
}

// sample is an unexpected value with its count when GX reported one.
type sample struct {
	Value value
	Count string
}

// expView is one row of the expectations table.
type expView struct {
	N           int
	Anchor      string
	Status      string // PASSED, FAILED or ERROR
	StatusClass string // pass, fail or error
	Type        string
	TypeParts   []string
	TargetLabel string // Column, Columns
	Target      string
	Kwargs      []kwarg
	Description string

	Checked            string
	Unexpected         string
	UnexpectedPct      string
	UnexpectedPctTotal string // share of all rows, when it differs
	Missing            string
	MissingPct         string

	Observed *value
	Details  string

	Samples     []sample
	SampleCaps  string // "Most common unexpected values" / "Unexpected values (sample)"
	SamplesNote string
	Indexes     string
	All         []value
	AllNote     string

	Error     string
	Traceback string
}

// statsView is the statistics block.
type statsView struct {
	Evaluated      string
	Successful     string
	Unsuccessful   string
	Errors         string
	SuccessPercent string
}

// pageView is what the validation template renders.
type pageView struct {
	Page
	Title        string
	Verdict      string
	VerdictClass string
	Started      timeView
	Finished     timeView
	Duration     string
	RowsText     string
	ScoreText    string
	ScorePercent string
	GXVersion    string
	Stats        statsView
	Expectations []expView
	Failed       []expView
}

func newPageView(p Page, res *gxResult) pageView {
	v := pageView{Page: p}
	if v.IndexHref == "" {
		v.IndexHref = DefaultIndexHref
	}
	if v.Suite == "" {
		v.Suite = res.SuiteName
	}
	if v.Suite == "" {
		v.Suite = metaString(res.Meta, "expectation_suite_name") // GX 0.x
	}
	v.Verdict, v.VerdictClass = verdict(p.Success)
	v.Title = fmt.Sprintf("%s · %s · %s — Data Docs", v.Verdict, p.Dataset, v.Suite)
	v.Started = newTime(p.StartedAt)
	v.Finished = newTime(p.FinishedAt)
	if !p.StartedAt.IsZero() && !p.FinishedAt.IsZero() && !p.FinishedAt.Before(p.StartedAt) {
		v.Duration = p.FinishedAt.Sub(p.StartedAt).Round(time.Millisecond).String()
	}
	v.RowsText = formatCount(p.Rows)
	v.ScoreText = formatScore(p.Score)
	v.ScorePercent = formatPercent(p.Score * 100)
	v.GXVersion = metaString(res.Meta, "great_expectations_version")

	errs := 0
	for i := range res.expectations {
		e := newExpView(i, &res.expectations[i])
		if e.StatusClass == "error" {
			errs++
		}
		v.Expectations = append(v.Expectations, e)
		if e.StatusClass != "pass" {
			v.Failed = append(v.Failed, e)
		}
	}
	v.Stats = newStatsView(res.Statistics, v.Expectations, errs)
	return v
}

func newStatsView(s gxStatistics, exps []expView, errs int) statsView {
	passed := 0
	for _, e := range exps {
		if e.StatusClass == "pass" {
			passed++
		}
	}
	num := func(f *float64, fallback int) string {
		if f == nil {
			return formatCount(int64(fallback))
		}
		return formatCount(int64(math.Round(*f)))
	}
	st := statsView{
		Evaluated:    num(s.Evaluated, len(exps)),
		Successful:   num(s.Successful, passed),
		Unsuccessful: num(s.Unsuccessful, len(exps)-passed),
		Errors:       formatCount(int64(errs)),
	}
	switch {
	case s.SuccessPercent != nil:
		st.SuccessPercent = formatPercent(*s.SuccessPercent)
	case s.Evaluated == nil && len(exps) > 0:
		st.SuccessPercent = formatPercent(100 * float64(passed) / float64(len(exps)))
	default:
		st.SuccessPercent = "n/a" // GX reports null when nothing was evaluated
	}
	return st
}

// targetKeys are the kwargs shown as the expectation's target.
var targetKeys = []string{"column", "column_list", "column_A", "column_B"}

func newExpView(i int, r *gxExpectationResult) expView {
	e := expView{N: i + 1, Anchor: fmt.Sprintf("e%d", i+1)}
	e.Type = r.Config.Type
	if e.Type == "" {
		e.Type = r.Config.ExpectationType
	}
	if e.Type == "" {
		e.Type = "(unnamed expectation)"
	}
	e.TypeParts = typeParts(e.Type)
	e.Status, e.StatusClass = verdict(r.Success)
	if exc, ok := r.exception(); ok {
		e.Status, e.StatusClass = "ERROR", "error"
		if exc.Message != nil {
			e.Error = *exc.Message
		}
		if exc.Traceback != nil && *exc.Traceback != e.Error {
			e.Traceback = *exc.Traceback
		}
		if e.Error == "" {
			e.Error = "The expectation raised an error without a message."
		}
	}

	kw := r.Config.Kwargs
	e.TargetLabel, e.Target = target(kw)
	keys := make([]string, 0, len(kw))
	for k := range kw {
		if k == "batch_id" || slices.Contains(targetKeys, k) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.Kwargs = append(e.Kwargs, kwarg{Key: k, Value: newValue(kw[k])})
	}
	e.Description = r.Config.Description
	if e.Description == "" {
		e.Description = notes(r.Config.Meta)
	}

	res := r.Result
	if n, ok := intField(res, "element_count"); ok {
		e.Checked = formatCount(n)
	}
	if n, ok := intField(res, "unexpected_count"); ok {
		e.Unexpected = formatCount(n)
		if p, ok := floatField(res, "unexpected_percent"); ok {
			e.UnexpectedPct = formatPercent(p)
		}
		if p, ok := floatField(res, "unexpected_percent_total"); ok && formatPercent(p) != e.UnexpectedPct {
			e.UnexpectedPctTotal = formatPercent(p)
		}
	}
	if n, ok := intField(res, "missing_count"); ok {
		e.Missing = formatCount(n)
		if p, ok := floatField(res, "missing_percent"); ok {
			e.MissingPct = formatPercent(p)
		}
	}
	if raw, ok := res["observed_value"]; ok {
		ov := newValue(raw)
		e.Observed = &ov
	}
	if raw, ok := res["details"]; ok && string(raw) != "null" && string(raw) != "{}" {
		var b bytes.Buffer
		if json.Indent(&b, raw, "", "  ") == nil {
			e.Details = readableJSON(b.String(), false)
		}
	}

	e.Samples, e.SampleCaps, e.SamplesNote = samples(res, e.Unexpected)
	if idx, total := valueList(res, "partial_unexpected_index_list", maxIndexes); len(idx) > 0 {
		texts := make([]string, len(idx))
		for j, v := range idx {
			texts[j] = v.Text
		}
		e.Indexes = strings.Join(texts, ", ")
		if total > len(idx) {
			e.Indexes += ", …"
		}
	}
	if all, total := valueList(res, "unexpected_list", maxUnexpected); len(all) > 0 {
		e.All = all
		e.AllNote = fmt.Sprintf("All %s unexpected values", formatCount(int64(total)))
		if total > len(all) {
			e.AllNote = fmt.Sprintf("First %s of %s unexpected values", formatCount(int64(len(all))), formatCount(int64(total)))
		}
	}
	return e
}

// samples returns the unexpected samples: partial_unexpected_counts (value
// and count) when GX reported them (SUMMARY and COMPLETE), else the
// partial_unexpected_list (BASIC).
func samples(res map[string]json.RawMessage, unexpected string) (out []sample, caption, note string) {
	var counts []struct {
		Value json.RawMessage `json:"value"`
		Count json.RawMessage `json:"count"`
	}
	if raw, ok := res["partial_unexpected_counts"]; ok && json.Unmarshal(raw, &counts) == nil && len(counts) > 0 {
		shown := counts[:min(len(counts), maxSamples)]
		for _, c := range shown {
			s := sample{Value: newValue(c.Value)}
			if cv := newValue(c.Count); cv.Kind == "num" {
				s.Count = cv.Text
			}
			out = append(out, s)
		}
		caption = "Most common unexpected values, with counts"
		if len(counts) > len(shown) {
			note = fmt.Sprintf("%d of %d shown", len(shown), len(counts))
		}
		return out, caption, note
	}
	list, total := valueList(res, "partial_unexpected_list", maxSamples)
	if len(list) == 0 {
		return nil, "", ""
	}
	for _, v := range list {
		out = append(out, sample{Value: v})
	}
	caption = "Sample of unexpected values"
	note = fmt.Sprintf("first %d", len(list))
	if unexpected != "" {
		note += " of " + unexpected
	}
	if total > len(list) {
		note = fmt.Sprintf("first %d of %d listed", len(list), total)
	}
	return out, caption, note
}

// valueList decodes a list of values, keeping at most limit, and returns
// the list's full length.
func valueList(res map[string]json.RawMessage, key string, limit int) ([]value, int) {
	raw, ok := res[key]
	if !ok {
		return nil, 0
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, 0
	}
	out := make([]value, 0, min(len(list), limit))
	for _, r := range list[:min(len(list), limit)] {
		out = append(out, newValue(r))
	}
	return out, len(list)
}

func target(kw map[string]json.RawMessage) (label, text string) {
	str := func(k string) string {
		var s string
		if raw, ok := kw[k]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	if c := str("column"); c != "" {
		return "Column", c
	}
	var cols []string
	if raw, ok := kw["column_list"]; ok && json.Unmarshal(raw, &cols) == nil && len(cols) > 0 {
		return "Columns", strings.Join(cols, ", ")
	}
	if a, b := str("column_A"), str("column_B"); a != "" || b != "" {
		return "Columns", a + ", " + b
	}
	return "", ""
}

// notes reads meta.notes: a string, a list of strings or {format, content}.
func notes(meta map[string]json.RawMessage) string {
	raw, ok := meta["notes"]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "\n")
	}
	var obj struct {
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != nil {
		if json.Unmarshal(obj.Content, &s) == nil {
			return s
		}
		if json.Unmarshal(obj.Content, &list) == nil {
			return strings.Join(list, "\n")
		}
	}
	return ""
}

func metaString(meta map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := meta[key]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func floatField(m map[string]json.RawMessage, key string) (float64, bool) {
	var f *float64
	raw, ok := m[key]
	if !ok || json.Unmarshal(raw, &f) != nil || f == nil {
		return 0, false
	}
	return *f, true
}

func intField(m map[string]json.RawMessage, key string) (int64, bool) {
	f, ok := floatField(m, key)
	if !ok {
		return 0, false
	}
	return int64(math.Round(f)), true
}
