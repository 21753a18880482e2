package detect

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Reset is a cumulative counter that read lower than the day before it:
// views removed by the platform (often fake ones), a deleted and re-posted
// video, or an API glitch. Gains reports it instead of a negative gain.
type Reset struct {
	// Date is the UTC day of the lower reading.
	Date time.Time
	// Before is the last reading before Date; After is the reading on Date.
	Before, After float64
}

// Gains turns a series of cumulative snapshots (TikTok's view_count read
// once a day) into daily gains, one point per UTC day from the first
// snapshot to the last.
//
//   - The first snapshot's day is Missing: there is nothing to subtract.
//   - A gain that spans skipped days (a snapshot missed, or a Missing point)
//     is spread evenly over the days it covers, so a missed snapshot does
//     not read as a spike the day after.
//   - A counter that goes down is a Reset: the days it covers are Missing
//     (their gain is unknown, never negative), and counting resumes from
//     the lower reading.
//
// Points may come in any order; two snapshots on the same UTC day, or a
// reading that is negative or not finite, are an error.
func Gains(cumulative Series) (Series, []Reset, error) {
	var snaps []Point
	for _, p := range cumulative.Points {
		if p.Missing {
			continue
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Value < 0 {
			return Series{}, nil, fmt.Errorf("detect: %s: cumulative reading %v on %s is not a count; use a finite value >= 0, or set Missing",
				cumulative.Key, p.Value, utcDay(p.Date).Format(time.DateOnly))
		}
		p.Date = utcDay(p.Date)
		snaps = append(snaps, p)
	}
	slices.SortStableFunc(snaps, func(a, b Point) int { return a.Date.Compare(b.Date) })
	out := Series{Key: cumulative.Key}
	if len(snaps) == 0 {
		return out, nil, nil
	}
	for i := 1; i < len(snaps); i++ {
		if snaps[i].Date.Equal(snaps[i-1].Date) {
			return Series{}, nil, fmt.Errorf("detect: %s: two cumulative readings for %s; keep one per UTC day (the day's last reading)",
				cumulative.Key, snaps[i].Date.Format(time.DateOnly))
		}
	}

	var resets []Reset
	out.Points = append(out.Points, Point{Date: snaps[0].Date, Missing: true})
	for i := 1; i < len(snaps); i++ {
		prev, cur := snaps[i-1], snaps[i]
		span := dayNumber(cur.Date) - dayNumber(prev.Date)
		reset := cur.Value < prev.Value
		if reset {
			resets = append(resets, Reset{Date: cur.Date, Before: prev.Value, After: cur.Value})
		}
		gain := (cur.Value - prev.Value) / float64(span)
		for k := 1; k <= span; k++ {
			p := Point{Date: prev.Date.AddDate(0, 0, k)}
			if reset {
				p.Missing = true
			} else {
				p.Value = gain
			}
			out.Points = append(out.Points, p)
		}
	}
	return out, resets, nil
}
