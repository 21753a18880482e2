package expect

import (
	"testing"
	"time"
)

// FuzzParseDateutil checks the date parser never panics and that what it
// accepts is a real instant.
func FuzzParseDateutil(f *testing.F) {
	for _, s := range []string{"2020-01-02", "Jan 01 1970 12:00:01", "01/02/2020 3pm", "+", "12:", "1.", ":1", "2021-03-12 08:00:00+01:00", "Z 1", "20200102T1200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, ok := parseDateutil(s); ok && tm.Year() > 9999 {
			t.Fatalf("%q parsed to %v", s, tm.Format(time.RFC3339))
		}
	})
}

// FuzzStrptime checks format compilation and matching never panic.
func FuzzStrptime(f *testing.F) {
	f.Add("%Y-%m-%d", "2020-01-02")
	f.Add("%d %b %Y %I%p %%", "1 jan 2020 3PM %")
	f.Add("%j.%y %z", "001.24 +0130")
	f.Fuzz(func(t *testing.T, format, s string) {
		if p, err := compileStrptime(format); err == nil {
			p.match([]byte(s))
		}
	})
}
