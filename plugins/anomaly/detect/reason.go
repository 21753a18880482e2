package detect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// reason words a finding for a person, for example "streams 12,430 on
// 2026-03-04 are 8.1 robust deviations above the expected 1,020 for a
// Wednesday (normal range 700 to 1,480)".
func (d *Detector) reason(f Finding, wd time.Weekday) string {
	verb := "is"
	if strings.HasSuffix(d.metric, "s") {
		verb = "are"
	}
	side := "above"
	if f.Direction == Drop {
		side = "below"
	}
	when := ""
	if !d.opts.NoSeasonality {
		when = " for a " + wd.String()
	}
	return fmt.Sprintf("%s %s on %s %s %.1f robust deviations %s the expected %s%s (normal range %s to %s)",
		d.metric, formatCount(f.Value), f.Date.Format(time.DateOnly), verb, math.Abs(f.Score), side,
		formatCount(f.Expected), when, formatCount(f.Lower), formatCount(f.Upper))
}

// formatCount writes a count with thousands separators: whole numbers from
// 10 up, one decimal below 10 unless the value is whole.
func formatCount(v float64) string {
	if v < 10 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
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

// levelChange words a level factor: "about 3.2x the old one", "about 40%
// of the old one", "under 1% of the old one".
func levelChange(f float64) string {
	switch {
	case f >= 10:
		return "about " + strconv.FormatFloat(f, 'f', 0, 64) + "x the old one"
	case f >= 1:
		return "about " + strconv.FormatFloat(f, 'f', 1, 64) + "x the old one"
	case f >= 0.01:
		return "about " + strconv.FormatFloat(100*f, 'f', 0, 64) + "% of the old one"
	default:
		return "under 1% of the old one"
	}
}
