// Package datadocs renders validation results as static HTML pages, like
// Great Expectations' Data Docs: one page per validation (the suite, every
// expectation with its status, counts, unexpected samples, observed values
// and errors) and an index page that links to them.
//
// The pages are self-contained: the CSS is inline, there is no JavaScript and
// no external resource (fonts, images, CDNs), so they open offline from the
// lake's folder with a file:// URL. A Content-Security-Policy meta tag forbids
// scripts and remote loads as a second line of defence; every value that comes
// from the data is escaped by html/template and shown as text.
//
// The validation result is the GX validation result JSON the host records
// (GX 1.x; the 0.x dialect — expectation_type, meta.expectation_suite_name —
// is read as well), at any result_format level.
package datadocs

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// Page is one validation to render with RenderValidation.
type Page struct {
	// ID is the validation's ID (val-...).
	ID string
	// Dataset is the validated dataset (raw.distrokid.earnings) or file.
	Dataset string
	// Suite is the suite's name; SuiteFile is its path (optional).
	Suite     string
	SuiteFile string
	// RunID is the pipeline run that validated (optional).
	RunID      string
	StartedAt  time.Time
	FinishedAt time.Time
	// Rows is the number of rows validated.
	Rows    int64
	Success bool
	// Score is the data quality score, 0 to 1.
	Score float64
	// Result is the GX validation result JSON.
	Result []byte
	// IndexHref is the link back to the index, relative to the page
	// (default "index.html", the index in the same folder).
	IndexHref string
}

// IndexEntry is one validation listed by RenderIndex.
type IndexEntry struct {
	ID        string
	Dataset   string
	Suite     string
	StartedAt time.Time
	Rows      int64
	Success   bool
	// Score is the data quality score, 0 to 1.
	Score float64
	// Href is the link to the validation's page, relative to the index
	// (for example "val-20261126T110045Z-7f7180.html").
	Href string
}

// DefaultIndexHref is the link from a page back to its index when
// Page.IndexHref is empty.
const DefaultIndexHref = "index.html"

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("datadocs").ParseFS(templateFS, "templates/*.tmpl"))

// RenderValidation writes the HTML page of one validation to w. It fails when
// p.Result is not a GX validation result.
func RenderValidation(w io.Writer, p Page) error {
	res, err := parseResult(p.Result)
	if err != nil {
		return fmt.Errorf("datadocs: validation %q: %w", p.ID, err)
	}
	v := newPageView(p, res)
	if err := templates.ExecuteTemplate(w, "validation", v); err != nil {
		return fmt.Errorf("datadocs: render validation %q: %w", p.ID, err)
	}
	return nil
}

// RenderIndex writes the index page listing entries, in the order given
// (callers pass them newest first, as the metastore lists them).
func RenderIndex(w io.Writer, entries []IndexEntry) error {
	if err := templates.ExecuteTemplate(w, "index", newIndexView(entries)); err != nil {
		return fmt.Errorf("datadocs: render index: %w", err)
	}
	return nil
}

// timeView is a timestamp as shown (UTC) and as machine-readable datetime.
type timeView struct {
	ISO  string
	Text string
}

func newTime(t time.Time) timeView {
	if t.IsZero() {
		return timeView{}
	}
	t = t.UTC()
	return timeView{ISO: t.Format(time.RFC3339), Text: t.Format("2006-01-02 15:04:05 UTC")}
}

func verdict(success bool) (text, class string) {
	if success {
		return "PASSED", "pass"
	}
	return "FAILED", "fail"
}

// formatCount formats an integer with thousands separators: 120,000.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatPercent formats a percentage with at most two decimals, without
// rounding a small non-zero share to 0% or a near-total one to 100%.
func formatPercent(p float64) string {
	switch {
	case p > 0 && p < 0.01:
		return "<0.01%"
	case p > 99.99 && p < 100:
		return ">99.99%"
	}
	return strconv.FormatFloat(roundTo(p, 2), 'f', -1, 64) + "%"
}

func roundTo(f float64, decimals int) float64 {
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

// formatScore formats a 0..1 score with three decimals, as the CLI does.
func formatScore(s float64) string {
	return strconv.FormatFloat(s, 'f', 3, 64)
}
