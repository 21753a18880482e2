package detect

import (
	"math"
)

// obs is one usable day of history, on the log scale.
type obs struct {
	day int     // days since 1970-01-01
	dow int     // time.Weekday
	y   float64 // log(1 + value), moved by any later level shift
}

// baseline is the model's view of one day, on the log scale.
type baseline struct {
	yhat  float64 // expected log(1 + value)
	sigma float64 // in-window robust standard deviation of a day around yhat, before floors
}

// fitter estimates the baseline for a day from trailing history. It keeps
// scratch space so that a long run does not allocate per day.
type fitter struct {
	seasonal, trend bool
	buf             []float64
	byDow           [7][]float64
	blocks          []float64
	centers         []float64
	slopes          []float64
}

// fit returns the baseline for day t (weekday dow) from hist, the usable
// days of the trailing window in ascending order. ok is false when the
// history cannot support a judgement (too few days overall, or fewer than
// two earlier days of the same weekday when seasonality is on).
//
// The model, on y = log(1 + value):
//
//	y(day) = a + s[weekday] + b * (day - t) + noise
//
// b is a Theil–Sen slope over weekly block medians, s is the per-weekday
// median of the detrended values and a is the median of what is left. The
// in-window noise scale (1.4826 x the median absolute residual, widened by
// the uncertainty of the estimates themselves) is what the Detector falls
// back on in the first weeks, before it has enough forecast errors.
func (f *fitter) fit(hist []obs, t, dow int) (baseline, bool) {
	var s, s0 [7]float64
	var cnt [7]int
	for _, h := range hist {
		cnt[h.dow]++
	}
	if f.seasonal && cnt[dow] < 2 {
		return baseline{}, false
	}
	valid := func(d int) bool { return !f.seasonal || cnt[d] >= 2 }

	// First weekday pattern, from raw medians, so that the weekly blocks
	// below are compared on a level footing.
	if f.seasonal {
		for d := range f.byDow {
			f.byDow[d] = f.byDow[d][:0]
		}
		f.buf = f.buf[:0]
		for _, h := range hist {
			if valid(h.dow) {
				f.byDow[h.dow] = append(f.byDow[h.dow], h.y)
				f.buf = append(f.buf, h.y)
			}
		}
		all := median(f.buf)
		for d := range s0 {
			if valid(d) {
				s0[d] = median(f.byDow[d]) - all
			}
		}
	}

	b := 0.0
	if f.trend {
		b = f.slope(hist, t, s0, valid)
	}

	// Weekday pattern of the detrended values.
	if f.seasonal {
		for d := range f.byDow {
			f.byDow[d] = f.byDow[d][:0]
		}
		for _, h := range hist {
			if valid(h.dow) {
				f.byDow[h.dow] = append(f.byDow[h.dow], h.y-b*float64(h.day-t))
			}
		}
		for d := range s {
			if valid(d) {
				s[d] = median(f.byDow[d])
			}
		}
	}

	// Level: the median of what the weekday pattern and trend leave.
	f.buf = f.buf[:0]
	var sx float64
	for _, h := range hist {
		if valid(h.dow) {
			f.buf = append(f.buf, h.y-b*float64(h.day-t)-s[h.dow])
			sx += float64(h.day - t)
		}
	}
	n := len(f.buf)
	params := 1
	if f.seasonal {
		params = 0
		for d := range cnt {
			if valid(d) {
				params++
			}
		}
	}
	if f.trend {
		params++
	}
	if n-params < 2 {
		return baseline{}, false
	}
	a := median(f.buf)

	// Scale: MAD of the residuals, corrected for the parameters fitted and
	// widened by the uncertainty of the baseline itself (a median of n
	// normal values has variance about pi/2 * sigma^2 / n).
	f.buf = f.buf[:0]
	var sxx float64
	mx := sx / float64(n)
	for _, h := range hist {
		if valid(h.dow) {
			x := float64(h.day - t)
			f.buf = append(f.buf, h.y-b*x-s[h.dow]-a)
			sxx += (x - mx) * (x - mx)
		}
	}
	resid := madToSigma * medianAbs(f.buf) * math.Sqrt(float64(n)/float64(n-params))
	nd := n
	if f.seasonal {
		nd = cnt[dow]
	}
	infl := 1 + math.Pi/2/float64(nd) + math.Pi/2/float64(n)
	if f.trend && sxx > 0 {
		infl += math.Pi / 2 * mx * mx / sxx
	}
	return baseline{yhat: a + s[dow], sigma: resid * math.Sqrt(infl)}, true
}

// slope is the Theil–Sen slope (per day) of the weekly block medians of the
// deseasonalised history: the median of the slopes between every pair of
// blocks. Weekly blocks keep the weekday pattern out of the slope and make
// it robust to a single odd day. It returns 0 with fewer than three blocks.
func (f *fitter) slope(hist []obs, t int, s0 [7]float64, valid func(int) bool) float64 {
	if len(hist) == 0 {
		return 0
	}
	f.blocks = f.blocks[:0]
	f.centers = f.centers[:0]
	// hist is ascending; walk it from the newest day in 7-day blocks.
	end := len(hist)
	for end > 0 {
		blk := (t - 1 - hist[end-1].day) / 7
		start := end
		for start > 0 && (t-1-hist[start-1].day)/7 == blk {
			start--
		}
		f.buf = f.buf[:0]
		var cx float64
		for _, h := range hist[start:end] {
			if valid(h.dow) {
				f.buf = append(f.buf, h.y-s0[h.dow])
				cx += float64(h.day - t)
			}
		}
		if len(f.buf) >= 3 {
			f.centers = append(f.centers, cx/float64(len(f.buf)))
			f.blocks = append(f.blocks, median(f.buf))
		}
		end = start
	}
	if len(f.blocks) < 3 {
		return 0
	}
	f.slopes = f.slopes[:0]
	for i := range f.blocks {
		for j := i + 1; j < len(f.blocks); j++ {
			if dx := f.centers[i] - f.centers[j]; dx != 0 {
				f.slopes = append(f.slopes, (f.blocks[i]-f.blocks[j])/dx)
			}
		}
	}
	if len(f.slopes) == 0 {
		return 0
	}
	return median(f.slopes)
}
