package datadocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The fixtures in testdata are real results of `bedrot quality run -o json`
// on examples/distrokid: gx_passed with the shipped suite, the gx_failed_*
// ones with a stricter 15-expectation suite at each result_format.

var (
	started  = time.Date(2026, 11, 26, 11, 4, 17, 0, time.UTC)
	finished = started.Add(8 * time.Millisecond)
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func failedPage(t *testing.T, fixture string) Page {
	t.Helper()
	return Page{
		ID: "val-20261126T110417Z-664286", Dataset: "raw.distrokid.earnings", Suite: "distrokid_strict",
		SuiteFile: "config/suites/distrokid_strict.json", StartedAt: started, FinishedAt: finished,
		Rows: 100, Success: false, Score: 0.4353333333333333, Result: readFixture(t, fixture),
	}
}

func render(t *testing.T, p Page) (string, *node) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, RenderValidation(&b, p))
	return b.String(), parseDOM(t, b.Bytes())
}

func renderIndex(t *testing.T, entries []IndexEntry) (string, *node) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, RenderIndex(&b, entries))
	return b.String(), parseDOM(t, b.Bytes())
}

// cell returns the text of the cell labelled label in the row.
func cell(t *testing.T, row *node, label string) string {
	t.Helper()
	for _, c := range row.Children {
		if c.Name != "" && c.Attr["data-label"] == label {
			return c.Text()
		}
	}
	require.Failf(t, "no cell", "row %s has no cell %q", row.Attr["id"], label)
	return ""
}

func TestRenderValidationFailedSummary(t *testing.T) {
	t.Parallel()
	_, dom := render(t, failedPage(t, "gx_failed_summary.json"))

	title := dom.byName("title")
	require.Len(t, title, 1)
	require.Equal(t, "FAILED · raw.distrokid.earnings · distrokid_strict — Data Docs", title[0].Text())
	require.Equal(t, "raw.distrokid.earnings FAILED", dom.byName("h1")[0].Text())

	summary := dom.byID("summary").Parent.Text()
	for _, want := range []string{
		"Result FAILED", "Data quality score", "0.435", "Suite distrokid_strict config/suites/distrokid_strict.json",
		"Rows validated 100", "Started 2026-11-26 11:04:17 UTC", "Finished 2026-11-26 11:04:17 UTC",
		"Duration 8ms", "Validation ID val-20261126T110417Z-664286",
	} {
		require.Contains(t, summary, want)
	}
	meter := dom.byName("meter")
	require.Len(t, meter, 1)
	require.Equal(t, "0.4353333333333333", meter[0].Attr["value"])

	stats := dom.byID("statistics").Parent.Text()
	require.Contains(t, stats, "Evaluated expectations 15")
	require.Contains(t, stats, "Successful expectations 4")
	require.Contains(t, stats, "Unsuccessful expectations 11")
	require.Contains(t, stats, "of which raised an error 1")
	require.Contains(t, stats, "Success percent 26.67%")

	// The failed expectations are listed with links to their rows.
	nav := dom.byID("failed").Parent
	links := nav.byName("a")
	require.Len(t, links, 11)
	require.Equal(t, "#e3", links[0].Attr["href"])
	require.Contains(t, nav.Text(), "expect_column_values_to_be_in_set on store FAILED")
	require.Contains(t, nav.Text(), "expect_column_values_to_not_be_null on no_such_column ERROR")

	rows := dom.byID("expectations").byName("tbody")[0].byName("tr")
	require.Len(t, rows, 15)
	statuses := make([]string, len(rows))
	for i, r := range rows {
		statuses[i] = r.Attr["class"]
	}
	require.Equal(t, []string{"pass", "pass", "fail", "pass", "fail", "fail", "fail", "fail", "fail", "error", "fail", "fail", "fail", "fail", "pass"}, statuses)

	// A failed column-map expectation: type, column, kwargs, counts, samples with counts.
	e3 := dom.byID("e3")
	require.Equal(t, "3", cell(t, e3, "#"))
	require.Equal(t, "FAILED", cell(t, e3, "Status"))
	require.Equal(t, "expect_column_values_to_be_in_set Column: store value_set: [\"Spotify\", \"Apple Music\"] Only the two big DSPs are expected in this test.",
		cell(t, e3, "Expectation"))
	require.Equal(t, "100", cell(t, e3, "Rows checked"))
	require.Equal(t, "55 55%", cell(t, e3, "Unexpected"))
	require.Equal(t, "0 0%", cell(t, e3, "Missing"))
	require.Equal(t, "—", cell(t, e3, "Observed value"))
	samples := cell(t, e3, "Unexpected values and errors")
	require.True(t, strings.HasPrefix(samples, "TikTok × 4 times YouTube (Red) × 3 times Pandora × 2 times"), samples)
	require.Contains(t, samples, "Most common unexpected values, with counts. Row indexes of the first unexpected values: 0, 3, 5, 6, 9")
	th := e3.byName("th")
	require.Len(t, th, 1, "the expectation cell is the row header")
	require.Equal(t, "Expectation", th[0].Attr["data-label"])
	require.Equal(t, "row", th[0].Attr["scope"])

	// Percent of non-null values and of all rows differ when values are missing.
	e5 := dom.byID("e5")
	require.Equal(t, "98 100% of non-null 98% of all rows", cell(t, e5, "Unexpected"))
	require.Equal(t, "2 2%", cell(t, e5, "Missing"))
	require.Contains(t, cell(t, e5, "Expectation"), "mostly: 0.9 regex: ^US")

	// Numbers keep their precision; negative values show as they are.
	require.Contains(t, cell(t, dom.byID("e6"), "Unexpected values and errors"), "-0.026910840795 × 1 times")

	// Nulls are shown as null, not as an empty string.
	e7 := dom.byID("e7")
	nulls := e7.byClass("v-null")
	require.Len(t, nulls, 1)
	require.Equal(t, "null", nulls[0].Text())
	require.Contains(t, cell(t, e7, "Unexpected values and errors"), "null × 2 times")

	// An aggregate: observed value, no counts.
	e8 := dom.byID("e8")
	require.Equal(t, "FAILED", cell(t, e8, "Status"))
	require.Equal(t, "expect_table_row_count_to_be_between min_value: 1000", cell(t, e8, "Expectation"))
	require.Equal(t, "100", cell(t, e8, "Observed value"))
	require.Equal(t, "—", cell(t, e8, "Unexpected"))
	require.Contains(t, e8.byClass("empty")[0].Attr["data-label"], "Rows checked", "cells with nothing to show are hidden on phones")
	require.Equal(t, "36.379292819923", cell(t, dom.byID("e9"), "Observed value"))

	// An expectation that raised an error shows the message and the traceback.
	e10 := dom.byID("e10")
	require.Equal(t, "ERROR", cell(t, e10, "Status"))
	errCell := cell(t, e10, "Unexpected values and errors")
	require.True(t, strings.HasPrefix(errCell, `Error: column "no_such_column" is not in the data`), errCell)
	require.Contains(t, errCell, "Traceback expect_column_values_to_not_be_null: column")

	// Details of an aggregate are folded.
	e11 := dom.byID("e11")
	require.Contains(t, cell(t, e11, "Expectation"), "Columns: store, artist")
	obs := cell(t, e11, "Observed value")
	require.True(t, strings.HasPrefix(obs, `["date_inserted", "reporting_date", "sale_month", "store"`), obs)
	require.Contains(t, obs, `Details { "mismatched": [`)

	// Compound values (counted as lists of the columns' values) show as compact JSON.
	require.Contains(t, cell(t, dom.byID("e12"), "Unexpected values and errors"), `["Spotify", "US"] × 5 times`)

	// Non-ASCII values survive.
	require.Contains(t, cell(t, dom.byID("e14"), "Unexpected values and errors"), "Café Señor × 3 times")

	// A passed expectation has no samples.
	e15 := dom.byID("e15")
	require.Equal(t, "PASSED", cell(t, e15, "Status"))
	require.Equal(t, "—", cell(t, e15, "Unexpected values and errors"))
	require.Equal(t, "0 0%", cell(t, e15, "Unexpected"))
}

func TestRenderValidationComplete(t *testing.T) {
	t.Parallel()
	_, dom := render(t, failedPage(t, "gx_failed_complete.json"))
	e3 := dom.byID("e3")
	details := e3.byName("details")
	require.Len(t, details, 1)
	require.Equal(t, "All 55 unexpected values", details[0].byName("summary")[0].Text())
	require.Len(t, details[0].byName("li"), 55)
	// 98 ISRCs: all of them listed.
	require.Equal(t, "All 98 unexpected values", dom.byID("e5").byName("summary")[0].Text())
}

func TestRenderValidationBasic(t *testing.T) {
	t.Parallel()
	_, dom := render(t, failedPage(t, "gx_failed_basic.json"))
	// BASIC has no partial_unexpected_counts: the sample list is shown as is.
	samples := cell(t, dom.byID("e3"), "Unexpected values and errors")
	require.True(t, strings.HasPrefix(samples, "YouTube (Ads) YouTube (Red) iTunes Match YouTube (Red)"), samples)
	require.Contains(t, samples, "Sample of unexpected values (first 20 of 55)")
	require.NotContains(t, samples, "times")
}

func TestRenderValidationBooleanOnly(t *testing.T) {
	t.Parallel()
	_, dom := render(t, failedPage(t, "gx_failed_boolean_only.json"))
	e3 := dom.byID("e3")
	require.Equal(t, "FAILED", cell(t, e3, "Status"))
	for _, label := range []string{"Rows checked", "Unexpected", "Missing", "Observed value", "Unexpected values and errors"} {
		require.Equal(t, "—", cell(t, e3, label), label)
	}
	require.Equal(t, "ERROR", cell(t, dom.byID("e10"), "Status"))
}

func TestRenderValidationPassed(t *testing.T) {
	t.Parallel()
	p := Page{ID: "val-1", Dataset: "raw.distrokid.earnings", Suite: "raw.distrokid.earnings", StartedAt: started,
		Rows: 100, Success: true, Score: 1, Result: readFixture(t, "gx_passed.json"), IndexHref: "../index.html"}
	_, dom := render(t, p)
	require.Equal(t, "raw.distrokid.earnings PASSED", dom.byName("h1")[0].Text())
	require.Nil(t, dom.byID("failed"), "no failed-expectations list when all passed")
	rows := dom.byID("expectations").byName("tbody")[0].byName("tr")
	require.Len(t, rows, 16)
	for _, r := range rows {
		require.Equal(t, "pass", r.Attr["class"])
	}
	require.Empty(t, dom.byClass("fail"))
	require.Contains(t, dom.byID("statistics").Parent.Text(), "Success percent 100%")
	// The link back to the index is the one given.
	back := dom.all(func(n *node) bool { return n.Attr["rel"] == "index" })
	require.Len(t, back, 1)
	require.Equal(t, "../index.html", back[0].Attr["href"])
	require.NotContains(t, dom.Text(), "Finished", "no finish time given")
}

// TestRenderValidationGX0 reads the GX 0.x dialect: expectation_type, the
// suite name in meta, exception_info keyed by metric, meta.notes as a string.
func TestRenderValidationGX0(t *testing.T) {
	t.Parallel()
	result := `{
	  "success": false, "evaluation_parameters": {},
	  "statistics": {"evaluated_expectations": 2, "successful_expectations": 0, "unsuccessful_expectations": 2, "success_percent": 0.0},
	  "meta": {"great_expectations_version": "0.18.12", "expectation_suite_name": "legacy_suite"},
	  "results": [
	    {"success": false,
	     "expectation_config": {"expectation_type": "expect_column_values_to_be_between",
	       "kwargs": {"column": "streams", "min_value": 0, "batch_id": "abc"}, "meta": {"notes": "Streams are counts."}},
	     "result": {"element_count": 120000, "unexpected_count": 3, "unexpected_percent": 0.0025,
	       "partial_unexpected_list": [-1, -5, -1]},
	     "exception_info": {"raised_exception": false, "exception_message": null, "exception_traceback": null}},
	    {"success": false,
	     "expectation_config": {"expectation_type": "expect_column_pair_values_a_to_be_greater_than_b",
	       "kwargs": {"column_A": "gross", "column_B": "net"}},
	     "result": {},
	     "exception_info": {"('column_pair_values.a_greater_than_b.unexpected_count', (), ())":
	       {"raised_exception": true, "exception_message": "KeyError: 'gross'", "exception_traceback": "Traceback ...\nKeyError: 'gross'"}}}
	  ]}`
	_, dom := render(t, Page{ID: "val-0", Dataset: "raw.dsp.streams", Rows: 120000, Result: []byte(result)})
	require.Equal(t, "FAILED · raw.dsp.streams · legacy_suite — Data Docs", dom.byName("title")[0].Text())
	require.Contains(t, dom.byID("summary").Parent.Text(), "Great Expectations version 0.18.12")
	e1 := dom.byID("e1")
	require.Equal(t, "expect_column_values_to_be_between Column: streams min_value: 0 Streams are counts.", cell(t, e1, "Expectation"),
		"batch_id is left out")
	require.Equal(t, "120,000", cell(t, e1, "Rows checked"))
	require.Equal(t, "3 <0.01%", cell(t, e1, "Unexpected"))
	require.Equal(t, "-1 -5 -1 Sample of unexpected values (first 3 of 3)", cell(t, e1, "Unexpected values and errors"))
	e2 := dom.byID("e2")
	require.Equal(t, "ERROR", cell(t, e2, "Status"))
	require.Contains(t, cell(t, e2, "Expectation"), "Columns: gross, net")
	require.Equal(t, "Error: KeyError: 'gross' Traceback Traceback ... KeyError: 'gross'", cell(t, e2, "Unexpected values and errors"))
}

const (
	injectedScript = `<script>document.title='pwned'</script>`
	injectedImg    = `<img src=x onerror="document.title='pwned'">`
)

// injectedResult is the summary fixture with hostile values in a sample, a
// kwarg, an observed value, an exception message and the suite name.
func injectedResult(t *testing.T) []byte {
	t.Helper()
	var res map[string]any
	require.NoError(t, json.Unmarshal(readFixture(t, "gx_failed_summary.json"), &res))
	res["suite_name"] = `"><script>document.title='pwned'</script>`
	results := res["results"].([]any)
	e3 := results[2].(map[string]any)
	r := e3["result"].(map[string]any)
	r["partial_unexpected_counts"] = append([]any{
		map[string]any{"value": injectedScript, "count": 1},
		map[string]any{"value": injectedImg, "count": 1},
	}, r["partial_unexpected_counts"].([]any)...)
	kw := e3["expectation_config"].(map[string]any)["kwargs"].(map[string]any)
	kw["value_set"] = []any{"Spotify", `</style><script>document.title='pwned'</script>`}
	results[7].(map[string]any)["result"].(map[string]any)["observed_value"] = `<iframe src="https://example.com"></iframe>`
	exc := results[9].(map[string]any)["exception_info"].(map[string]any)
	exc["exception_message"] = `column "<b>x</b>" & <script>alert(1)</script>`
	b, err := json.Marshal(res)
	require.NoError(t, err)
	return b
}

func TestRenderValidationEscapesData(t *testing.T) {
	t.Parallel()
	p := Page{ID: `val-"><script>x</script>`, Dataset: `raw.<b>bold</b>`, SuiteFile: `suites/<i>s</i>.json`,
		StartedAt: started, Result: injectedResult(t), IndexHref: `javascript:document.title='pwned'`}
	html, dom := render(t, p)

	// No element came from the data: the only elements are the template's.
	for _, tag := range []string{"script", "img", "iframe", "b", "i"} {
		require.Empty(t, dom.byName(tag), "<%s> from the data must be text", tag)
	}
	require.NotRegexp(t, regexp.MustCompile(`(?i)<(script|img|iframe)\b`), html)
	require.Contains(t, html, "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;")

	// The values are shown as text, exactly.
	samples := cell(t, dom.byID("e3"), "Unexpected values and errors")
	require.True(t, strings.HasPrefix(samples, injectedScript+" × 1 times "+injectedImg+" × 1 times"), samples)
	require.Contains(t, cell(t, dom.byID("e3"), "Expectation"), `value_set: ["Spotify", "</style><script>document.title='pwned'</script>"]`,
		"JSON with Go's \\u003c escapes undone, shown as text")
	require.Equal(t, `<iframe src="https://example.com"></iframe>`, cell(t, dom.byID("e8"), "Observed value"))
	require.Contains(t, cell(t, dom.byID("e10"), "Unexpected values and errors"), `Error: column "<b>x</b>" & <script>alert(1)</script>`)
	require.Equal(t, `FAILED · raw.<b>bold</b> · "><script>document.title='pwned'</script> — Data Docs`, dom.byName("title")[0].Text())
	require.Contains(t, dom.byID("summary").Parent.Text(), `Validation ID val-"><script>x</script>`)
	require.Contains(t, dom.byID("summary").Parent.Text(), `suites/<i>s</i>.json`)

	// A javascript: link is neutralised by html/template.
	back := dom.all(func(n *node) bool { return n.Attr["rel"] == "index" })
	require.Len(t, back, 1)
	require.Equal(t, "#ZgotmplZ", back[0].Attr["href"])
}

func TestRenderValidationTruncatesLongValues(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxValueRunes+10)
	var many []string
	for range maxUnexpected + 5 {
		many = append(many, "x")
	}
	res := map[string]any{
		"success": false, "statistics": map[string]any{"evaluated_expectations": 1, "successful_expectations": 0, "unsuccessful_expectations": 1, "success_percent": 0},
		"results": []any{map[string]any{
			"success":            false,
			"expectation_config": map[string]any{"type": "expect_column_values_to_match_regex", "kwargs": map[string]any{"column": "title", "regex": "^a"}},
			"result": map[string]any{"element_count": 2000, "unexpected_count": len(many), "unexpected_percent": 50.25,
				"partial_unexpected_list": []any{long}, "unexpected_list": many},
		}},
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	_, dom := render(t, Page{ID: "val-long", Dataset: "d", Suite: "s", Result: b})
	e1 := dom.byID("e1")
	sample := e1.byClass("samples")[0].byClass("v")[0].Text()
	require.Equal(t, strings.Repeat("é", maxValueRunes)+"…", sample)
	require.Contains(t, cell(t, e1, "Unexpected values and errors"), "(truncated)")
	require.Equal(t, "First 1,000 of 1,005 unexpected values", e1.byName("summary")[0].Text())
	require.Len(t, e1.byName("details")[0].byName("li"), maxUnexpected)
	require.Equal(t, "1,005 50.25%", cell(t, e1, "Unexpected"))
}

func TestRenderValidationNoExpectations(t *testing.T) {
	t.Parallel()
	res := `{"success": true, "suite_name": "empty", "statistics": {"evaluated_expectations": 0, "successful_expectations": 0,
	  "unsuccessful_expectations": 0, "success_percent": null}, "results": []}`
	_, dom := render(t, Page{ID: "val-e", Dataset: "d", Success: true, Score: 1, Result: []byte(res)})
	require.Contains(t, dom.byID("statistics").Parent.Text(), "Success percent n/a")
	require.Contains(t, dom.byID("expectations").Text(), "The suite has no expectations; nothing was evaluated.")
	require.Empty(t, dom.byClass("exp"))
}

func TestRenderValidationRejectsBadResults(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		result string
		want   string
	}{
		"empty":      {"", `datadocs: validation "val-x": the GX validation result is empty`},
		"not JSON":   {"<html>", `datadocs: validation "val-x": the result is not GX validation result JSON: invalid character '<'`},
		"no results": {`{"success": true}`, `datadocs: validation "val-x": the result is not GX validation result JSON: it has no "results" list`},
		"bad entry":  {`{"results": [{"success": true}, {"success": "yes"}]}`, `datadocs: validation "val-x": results[1]: json: cannot unmarshal string`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			err := RenderValidation(&b, Page{ID: "val-x", Result: []byte(tc.result)})
			require.ErrorContains(t, err, tc.want)
			require.Zero(t, b.Len(), "nothing is written for a bad result")
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderReportsWriteErrors(t *testing.T) {
	t.Parallel()
	err := RenderValidation(failingWriter{}, failedPage(t, "gx_failed_summary.json"))
	require.ErrorContains(t, err, `datadocs: render validation "val-20261126T110417Z-664286"`)
	require.ErrorContains(t, err, "disk full")
	err = RenderIndex(failingWriter{}, nil)
	require.ErrorContains(t, err, "datadocs: render index")
	require.ErrorContains(t, err, "disk full")
}

func indexEntries() []IndexEntry {
	return []IndexEntry{
		{ID: "val-20261126T110417Z-664286", Dataset: "raw.distrokid.earnings", Suite: "distrokid_strict", StartedAt: started,
			Rows: 100, Success: false, Score: 0.4353, Href: "val-20261126T110417Z-664286.html"},
		{ID: "val-20261126T110045Z-7f7180", Dataset: "raw.distrokid.earnings", Suite: "raw.distrokid.earnings",
			StartedAt: started.Add(-4 * time.Minute), Rows: 1234567, Success: true, Score: 1, Href: "val-20261126T110045Z-7f7180.html"},
	}
}

func TestRenderIndex(t *testing.T) {
	t.Parallel()
	_, dom := renderIndex(t, indexEntries())
	require.Equal(t, "Validations of raw.distrokid.earnings — Data Docs", dom.byName("title")[0].Text())
	require.Contains(t, dom.byName("header")[0].Text(), "2 validations: 1 passed, 1 failed.")
	rows := dom.byName("tbody")[0].byName("tr")
	require.Len(t, rows, 2)
	require.Equal(t, "fail", rows[0].Attr["class"])
	require.Equal(t, "val-20261126T110417Z-664286", cell(t, rows[0], "Validation"))
	require.Equal(t, "val-20261126T110417Z-664286.html", rows[0].byName("a")[0].Attr["href"])
	require.Equal(t, "2026-11-26 11:04:17 UTC", cell(t, rows[0], "Started"))
	require.Equal(t, "2026-11-26T11:04:17Z", rows[0].byName("time")[0].Attr["datetime"])
	require.Equal(t, "FAILED", cell(t, rows[0], "Result"))
	require.Equal(t, "0.435", cell(t, rows[0], "Score"))
	require.Equal(t, "1,234,567", cell(t, rows[1], "Rows"))
	require.Equal(t, "PASSED", cell(t, rows[1], "Result"))
	require.Equal(t, "raw.distrokid.earnings", cell(t, rows[1], "Suite"))
}

func TestRenderIndexSeveralDatasetsAndEscaping(t *testing.T) {
	t.Parallel()
	entries := append(indexEntries(), IndexEntry{ID: "<script>x</script>", Dataset: "raw.<i>x</i>", Suite: "s",
		Href: "javascript:alert(1)"}, IndexEntry{ID: "val-nolink", Dataset: "raw.y"})
	html, dom := renderIndex(t, entries)
	require.Equal(t, "Validations — Data Docs", dom.byName("title")[0].Text())
	require.Contains(t, dom.byName("header")[0].Text(), "4 validations: 1 passed, 3 failed.")
	require.Empty(t, dom.byName("script"))
	require.Empty(t, dom.byName("i"))
	require.NotContains(t, html, "<script>")
	rows := dom.byName("tbody")[0].byName("tr")
	require.Equal(t, "<script>x</script>", cell(t, rows[2], "Validation"))
	require.Equal(t, "#ZgotmplZ", rows[2].byName("a")[0].Attr["href"])
	require.Equal(t, "—", cell(t, rows[2], "Started"))
	require.Empty(t, rows[3].byName("a"), "no link without an Href")
}

func TestRenderIndexEmpty(t *testing.T) {
	t.Parallel()
	_, dom := renderIndex(t, nil)
	require.Contains(t, dom.byName("main")[0].Text(), "No validations recorded yet.")
	require.Contains(t, dom.byName("header")[0].Text(), "0 validations: 0 passed, 0 failed.")
	require.Empty(t, dom.byName("table"))
}

// TestPagesAreSelfContainedAndAccessible checks every page kind for what
// makes it readable offline and with assistive technology.
func TestPagesAreSelfContainedAndAccessible(t *testing.T) {
	t.Parallel()
	pages := map[string][]byte{}
	for _, f := range []string{"gx_passed.json", "gx_failed_summary.json", "gx_failed_complete.json", "gx_failed_basic.json", "gx_failed_boolean_only.json"} {
		var b bytes.Buffer
		require.NoError(t, RenderValidation(&b, failedPage(t, f)))
		pages[f] = b.Bytes()
	}
	var idx bytes.Buffer
	require.NoError(t, RenderIndex(&idx, indexEntries()))
	pages["index"] = idx.Bytes()

	for name, html := range pages {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dom := parseDOM(t, html)
			require.True(t, bytes.HasPrefix(html, []byte("<!DOCTYPE html>\n")))
			htmlEl := dom.byName("html")
			require.Len(t, htmlEl, 1)
			require.Equal(t, "en", htmlEl[0].Attr["lang"])
			metas := map[string]string{}
			for _, m := range dom.byName("meta") {
				metas[m.Attr["name"]+m.Attr["http-equiv"]+m.Attr["charset"]] = m.Attr["content"]
			}
			require.Contains(t, metas, "utf-8")
			require.Equal(t, "width=device-width, initial-scale=1", metas["viewport"])
			require.Contains(t, metas["Content-Security-Policy"], "default-src 'none'")
			require.NotContains(t, metas["Content-Security-Policy"], "script-src")

			// Offline: no scripts, no external resources of any kind.
			require.Empty(t, dom.byName("script"))
			require.Empty(t, dom.byName("link"))
			require.Empty(t, dom.all(func(n *node) bool { _, ok := n.Attr["src"]; return ok }))
			require.Empty(t, dom.all(func(n *node) bool { return n.Attr["style"] != "" }), "no inline style attributes")
			for _, a := range dom.byName("a") {
				href := a.Attr["href"]
				require.NotRegexp(t, `^[a-z]+:`, href, "links are relative")
			}
			styles := dom.byName("style")
			require.Len(t, styles, 1)
			css := styles[0].Text()
			require.NotContains(t, css, "@import")
			require.NotContains(t, css, "url(")
			require.NotContains(t, css, "@font-face")

			// One h1, a main landmark, a skip link to an existing id.
			require.Len(t, dom.byName("h1"), 1)
			require.Len(t, dom.byName("main"), 1)
			skip := dom.byClass("skip")
			require.Len(t, skip, 1)
			require.NotNil(t, dom.byID(strings.TrimPrefix(skip[0].Attr["href"], "#")))

			// Tables: a caption each, column headers scoped, row headers scoped.
			for _, table := range dom.byName("table") {
				require.Len(t, table.byName("caption"), 1)
				for _, th := range table.byName("th") {
					if th.ancestor("thead") != nil {
						require.Equal(t, "col", th.Attr["scope"], th.Text())
					} else {
						require.Equal(t, "row", th.Attr["scope"], th.Text())
					}
				}
				// On phones the cells are labelled with their column's header.
				if hasClass(table, "cards") {
					var heads []string
					for _, th := range table.byName("thead")[0].byName("th") {
						heads = append(heads, th.Text())
					}
					for _, tr := range table.byName("tbody")[0].byName("tr") {
						var labels []string
						for _, c := range tr.Children {
							if c.Name != "" {
								labels = append(labels, c.Attr["data-label"])
							}
						}
						require.Equal(t, heads, labels)
					}
				}
			}
			// Status is told in words, not by colour alone.
			for _, b := range dom.byClass("badge") {
				require.Contains(t, []string{"PASSED", "FAILED", "ERROR"}, b.Text())
			}
			// ids are unique.
			seen := map[string]bool{}
			for _, n := range dom.all(func(n *node) bool { return n.Attr["id"] != "" }) {
				require.False(t, seen[n.Attr["id"]], "duplicate id %s", n.Attr["id"])
				seen[n.Attr["id"]] = true
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 120000: "120,000", 1234567: "1,234,567", -4500: "-4,500"} {
		require.Equal(t, want, formatCount(in), in)
	}
	for in, want := range map[float64]string{0: "0%", 55.00000000000001: "55%", 66.66666666666666: "66.67%", 2: "2%",
		0.0025: "<0.01%", 99.999: ">99.99%", 100: "100%", 0.5: "0.5%"} {
		require.Equal(t, want, formatPercent(in), in)
	}
	require.Equal(t, "0.435", formatScore(0.4353333333333333))
	require.Equal(t, "1.000", formatScore(1))
	for raw, want := range map[string]value{
		`null`: {Text: "null", Kind: "null"}, `""`: {Text: "(empty string)", Kind: "empty"}, `" a "`: {Text: " a ", Kind: "str"},
		`1.50`: {Text: "1.50", Kind: "num"}, `true`: {Text: "true", Kind: "bool"},
		`{"b": 1, "a": [1, 2]}`:                           {Text: `{"b": 1, "a": [1, 2]}`, Kind: "json"},
		`["a,b:c", "\u003cx\u003e \u0026 \\u003c \"q\""]`: {Text: `["a,b:c", "<x> & \\u003c \"q\""]`, Kind: "json"},
	} {
		require.Equal(t, want, newValue(json.RawMessage(raw)), raw)
	}
}
