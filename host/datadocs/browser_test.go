package datadocs

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds Debian's chromium. The browser test fails, never
// skips, when it is missing: the pages must be checked in a real browser.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	require.FailNow(t, "chromium is not installed",
		"The Data Docs browser test needs a headless Chromium: run `make chromium` "+
			"(it runs `apt-get install -y chromium` on Debian), then run the tests again.")
	return ""
}

// writeFile renders into dir/name.
func writeFile(t *testing.T, dir, name string, render func(*bytes.Buffer) error) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, render(&b))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
}

// TestBrowser opens the index in headless Chromium over file://, clicks
// through to a failed validation, reads what a user sees and checks that
// values from the data cannot run script.
func TestBrowser(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)

	dir := t.TempDir()
	failedID := "val-20261126T110417Z-664286"
	failed := failedPage(t, "gx_failed_summary.json")
	failed.Result = injectedResult(t)
	failed.Suite = "distrokid_strict"
	writeFile(t, dir, failedID+".html", func(b *bytes.Buffer) error { return RenderValidation(b, failed) })
	passed := Page{ID: "val-20261126T110045Z-7f7180", Dataset: "raw.distrokid.earnings", Suite: "raw.distrokid.earnings",
		StartedAt: started.Add(-4 * time.Minute), Rows: 100, Success: true, Score: 1, Result: readFixture(t, "gx_passed.json")}
	writeFile(t, dir, passed.ID+".html", func(b *bytes.Buffer) error { return RenderValidation(b, passed) })
	writeFile(t, dir, "index.html", func(b *bytes.Buffer) error { return RenderIndex(b, indexEntries()) })

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(bctx, steps...), what)
	}
	evalBool := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[bool](expr))
		require.NoError(t, err, expr)
		return v
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return v
	}
	title := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Title())
		require.NoError(t, err)
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Location())
		require.NoError(t, err)
		return v
	}
	clickAndWaitLoad := func(sel string) {
		t.Helper()
		_, err := chromedp.Run(bctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
		require.NoError(t, err, "click %s", sel)
	}

	// The index.
	indexURL := "file://" + filepath.ToSlash(filepath.Join(dir, "index.html"))
	run("open the index", chromedp.Navigate(indexURL), chromedp.WaitVisible(chromedp.CSS("table.index")))
	require.Equal(t, "Validations of raw.distrokid.earnings — Data Docs", title())
	rows := text("table.index tbody")
	require.Contains(t, rows, failedID)
	require.Contains(t, rows, "FAILED")
	require.Contains(t, rows, "PASSED")
	shotDir := t.TempDir()
	idxShot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	checkPNG(t, idxShot, 1280)
	saveScreenshot(t, shotDir, "index.png", idxShot)

	// Click through to the failed validation.
	clickAndWaitLoad(`a[href="` + failedID + `.html"]`)
	require.Equal(t, "file://"+filepath.ToSlash(filepath.Join(dir, failedID+".html")), location())
	run("wait for the expectations", chromedp.WaitVisible(chromedp.CSS("#e3")))
	wantTitle := `FAILED · raw.distrokid.earnings · distrokid_strict — Data Docs`
	require.Equal(t, wantTitle, title(), "no injected script changed the title")
	require.Equal(t, "raw.distrokid.earnings FAILED", text("h1"))

	// The failed expectation's row as the user sees it (innerText: rendered, visible text).
	row := text("#e3")
	for _, want := range []string{"FAILED", "expect_column_values_to_be_in_set", "Column: store", "100", "55", "55%", "TikTok", "×4"} {
		require.Contains(t, row, want)
	}
	// The injected values are visible as text, and created no element.
	require.Contains(t, row, injectedScript)
	require.Contains(t, row, injectedImg)
	require.True(t, evalBool(`document.querySelectorAll("script, img, iframe, object, embed").length === 0`))
	require.Contains(t, text("#e10"), `column "<b>x</b>" & <script>alert(1)</script>`)
	require.True(t, evalBool(`document.querySelectorAll("#e10 b").length === 0`))
	require.True(t, evalBool(`document.title === `+jsString(wantTitle)))
	// Nothing was fetched: the page is self-contained.
	require.True(t, evalBool(`performance.getEntriesByType("resource").length === 0`))
	// The styles applied: the failed row's badge is not the default inline look.
	require.True(t, evalBool(`getComputedStyle(document.querySelector("#e3 .badge")).borderRadius !== "0px"`))

	// The failed-expectations list links to the row.
	run("follow the failed link", chromedp.Click(chromedp.CSS(`#failed + ol a[href="#e10"]`)))
	require.True(t, strings.HasSuffix(location(), "#e10"), location())
	require.True(t, evalBool(`document.querySelector("#e10").getBoundingClientRect().top < innerHeight`), "the row is scrolled into view")

	// Screenshot of the desktop page.
	full, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	checkPNG(t, full, 1280)
	saveScreenshot(t, shotDir, "validation.png", full)

	// A phone: no horizontal scrolling, the table becomes labelled cards.
	run("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	run("wait for the layout", chromedp.WaitVisible(chromedp.CSS("#e3")))
	require.True(t, evalBool(`document.documentElement.scrollWidth <= innerWidth`), "no horizontal scroll on a phone")
	require.True(t, evalBool(`getComputedStyle(document.querySelector("#e3")).display === "block"`), "rows are cards on a phone")
	require.True(t, evalBool(`getComputedStyle(document.querySelector("#e3 [data-label='Rows checked']"), "::before").content === '"Rows checked"'`),
		"cells are labelled on a phone")
	require.True(t, evalBool(`getComputedStyle(document.querySelector("#e3 thead, table.exp thead tr")).position === "absolute"`), "column headers are visually hidden on a phone")
	run("scroll to the failed row", chromedp.Evaluate[chromedp.Void](`document.querySelector("#e3").scrollIntoView()`))
	phone, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	checkPNG(t, phone, 390*2)
	saveScreenshot(t, shotDir, "validation-phone.png", phone)
	run("back to desktop", chromedp.EmulateReset())

	// Back to the index by the page's link.
	clickAndWaitLoad(`a[rel="index"]`)
	require.Equal(t, indexURL, location())
	clickAndWaitLoad(`a[href="val-20261126T110045Z-7f7180.html"]`)
	require.Equal(t, "raw.distrokid.earnings PASSED", text("h1"))
	require.True(t, evalBool(`document.querySelectorAll("tbody tr.pass").length === 16 && !document.querySelector("#failed")`))
}

// checkPNG decodes a screenshot and checks its width.
func checkPNG(t *testing.T, b []byte, width int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err, "the screenshot is a PNG")
	require.Equal(t, width, img.Bounds().Dx())
	require.Greater(t, img.Bounds().Dy(), 300)
}

// saveScreenshot writes a screenshot into the test's temp dir, and also into
// $DATADOCS_SCREENSHOT_DIR when set, to look at it after the run.
func saveScreenshot(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	if keep := os.Getenv("DATADOCS_SCREENSHOT_DIR"); keep != "" {
		require.NoError(t, os.MkdirAll(keep, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(keep, name), b, 0o644))
		t.Logf("screenshot: %s", filepath.Join(keep, name))
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
