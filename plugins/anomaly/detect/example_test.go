package detect_test

import (
	"fmt"
	"time"

	"github.com/bedrot-label/bedrot/plugins/anomaly/detect"
)

// A track's daily Spotify streams: a steady weekly rhythm, then bot streams
// on one Wednesday.
func ExampleDetect() {
	week := []float64{1350, 940, 1010, 1020, 1080, 1240, 1420} // Sunday to Saturday
	wiggle := []float64{0, 25, -30, 10, -15, 35, -20, 5, -10}
	start := time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC) // a Sunday
	series := detect.Series{Key: "USRC12345678/spotify/streams"}
	for i := range 70 {
		v := week[i%7] + wiggle[i%len(wiggle)]
		if i == 59 {
			v = 12430
		}
		series.Points = append(series.Points, detect.Point{Date: start.AddDate(0, 0, i), Value: v})
	}

	findings, err := detect.Detect(series, detect.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f.Direction, f.Severity, f.Date.Format(time.DateOnly))
		fmt.Println(f.Reason)
	}
	// Output:
	// spike high 2026-03-04
	// streams 12,430 on 2026-03-04 are 50.1 robust deviations above the expected 1,015 for a Wednesday (normal range 810 to 1,271)
}

// TikTok reports a video's views as a running total; Gains turns it into
// daily views, spreads a gap evenly, and reports a fall in the total
// instead of a negative day.
func ExampleGains() {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	totals := []float64{48211, 49630, 51102, 52400, 50210, 51890}
	cum := detect.Series{Key: "7569912233445566778/tiktok/views"}
	for i, v := range totals {
		cum.Points = append(cum.Points, detect.Point{Date: start.AddDate(0, 0, i), Value: v})
	}
	cum.Points[2].Missing = true // no snapshot that day

	daily, resets, err := detect.Gains(cum)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range daily.Points {
		if p.Missing {
			fmt.Println(p.Date.Format(time.DateOnly), "unknown")
			continue
		}
		fmt.Println(p.Date.Format(time.DateOnly), p.Value)
	}
	for _, r := range resets {
		fmt.Printf("reset on %s: %.0f -> %.0f\n", r.Date.Format(time.DateOnly), r.Before, r.After)
	}
	// Output:
	// 2026-03-01 unknown
	// 2026-03-02 1419
	// 2026-03-03 1385
	// 2026-03-04 1385
	// 2026-03-05 unknown
	// 2026-03-06 1680
	// reset on 2026-03-05: 52400 -> 50210
}
