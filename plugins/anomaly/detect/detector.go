package detect

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Shift is a level shift: a spike or drop that held for Options.ShiftDays
// days and was taken as the new normal (a release, a playlist add or loss,
// a takedown).
type Shift struct {
	// Start is the first day at the new level; the episode's finding is
	// dated Start.
	Start time.Time
	// Confirmed is the day the episode reached Options.ShiftDays days.
	Confirmed time.Time
	// Direction is Spike for a higher level, Drop for a lower one.
	Direction Direction
	// Factor is about how many times the old level the new one is
	// (on the 1+value scale; 3 means three times, 0.25 a quarter).
	Factor float64
}

const (
	// minFitDays is how many usable days the baseline needs before it
	// forecasts at all (two of each weekday); forecasts made before
	// Options.MinHistory only feed the noise scale.
	minFitDays = 14
	// minForecastErrors is how many past forecast errors the noise scale
	// needs; until then the scale comes from the window's own residuals.
	minForecastErrors = 21
	// scaleWindows is how many Options.Window lengths of forecast errors
	// the noise scale looks back over.
	scaleWindows = 2
)

// Detector judges one series a day at a time, in date order. It keeps only
// the trailing window, so a long-running agent can hold one per series.
// A Detector is not safe for concurrent use.
type Detector struct {
	key    string
	opts   Options
	metric string
	fit    fitter

	started  bool
	last     int             // last day fed, missing or not
	lastSeen int             // last day with a value
	hist     []obs           // usable days of the window, ascending
	errs     []forecastError // forecast errors of usable days, ascending
	scratch  []float64
	ep       *episode
	shifts   []Shift
}

// forecastError is how far a usable day landed from its forecast, on the
// log scale.
type forecastError struct {
	day int
	err float64
}

// episode is a run of flagged days in one direction.
type episode struct {
	dir    Direction
	start  time.Time
	days   int
	errs   []float64 // y - yhat per day, against the pre-episode baseline
	points []obs
}

// NewDetector returns a Detector for the series named key.
func NewDetector(key string, opts Options) (*Detector, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	return &Detector{
		key:    key,
		opts:   o,
		metric: metricName(key, o),
		fit:    fitter{seasonal: !o.NoSeasonality, trend: !o.NoTrend},
		hist:   make([]obs, 0, o.Window+1),
	}, nil
}

// Shifts returns the level shifts confirmed so far, oldest first.
func (d *Detector) Shifts() []Shift {
	return slices.Clone(d.shifts)
}

// Observe judges the next day. Days must come in increasing date order;
// skipped dates count as missing. It returns a finding (ok true) when the
// day starts a new spike or drop episode. Later days of the same episode
// return no finding: one alert per episode. An episode ends at the first
// day back in the normal range, or after two or more missing days in a
// row (nobody can tell whether it went on). When an episode reaches
// Options.ShiftDays days it becomes a level shift (see Shifts) and the new
// level is the baseline from then on.
func (d *Detector) Observe(p Point) (f Finding, ok bool, err error) {
	day := utcDay(p.Date)
	n := dayNumber(day)
	if d.started && n <= d.last {
		return Finding{}, false, fmt.Errorf("detect: %s: day %s arrives after %s; feed days in increasing date order, one point per day (Detect sorts a whole series)",
			d.key, day.Format(time.DateOnly), time.Unix(int64(d.last)*86400, 0).UTC().Format(time.DateOnly))
	}
	if !p.Missing && (math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Value < 0) {
		return Finding{}, false, fmt.Errorf("detect: %s: value %v on %s is not a count; use a finite value >= 0, or set Missing for a day without data (cumulative counters: use Gains)",
			d.key, p.Value, day.Format(time.DateOnly))
	}
	d.started, d.last = true, n
	d.evict(n)
	if p.Missing {
		return Finding{}, false, nil
	}
	if d.ep != nil && n-d.lastSeen > 2 {
		d.ep = nil
	}
	d.lastSeen = n

	o := obs{day: n, dow: int(day.Weekday()), y: math.Log1p(p.Value)}
	var bl baseline
	fitted := false
	if len(d.hist) >= minFitDays {
		bl, fitted = d.fit.fit(d.hist, n, o.dow)
	}
	if len(d.hist) < d.opts.MinHistory || !fitted {
		// Warm-up: too little history to judge; the day only builds the
		// baseline.
		d.ep = nil
		d.hist = append(d.hist, o)
		if fitted {
			d.errs = append(d.errs, forecastError{day: n, err: o.y - bl.yhat})
		}
		return Finding{}, false, nil
	}
	if len(d.errs) >= minForecastErrors {
		d.scratch = d.scratch[:0]
		for _, e := range d.errs {
			d.scratch = append(d.scratch, e.err)
		}
		bl.sigma = madToSigma * medianAbs(d.scratch)
	}
	expected := math.Max(0, math.Expm1(bl.yhat))
	sigma := math.Max(bl.sigma, math.Max(poissonScale(expected), d.opts.MinScale))

	if ep := d.ep; ep != nil {
		// Hysteresis: an episode goes on while days stay beyond half the
		// threshold in the same direction.
		lo, hi := band(bl.yhat, expected, sigma, d.opts.Threshold/2, d.opts.MinAbsoluteChange/2)
		if (ep.dir == Spike && p.Value > hi) || (ep.dir == Drop && p.Value < lo) {
			ep.days++
			ep.errs = append(ep.errs, o.y-bl.yhat)
			ep.points = append(ep.points, o)
			if ep.days >= d.opts.ShiftDays {
				d.confirmShift(day)
			}
			return Finding{}, false, nil
		}
		d.ep = nil
	}

	lo, hi := band(bl.yhat, expected, sigma, d.opts.Threshold, d.opts.MinAbsoluteChange)
	if p.Value >= lo && p.Value <= hi {
		d.hist = append(d.hist, o)
		d.errs = append(d.errs, forecastError{day: n, err: o.y - bl.yhat})
		return Finding{}, false, nil
	}
	dir := Spike
	if p.Value < lo {
		dir = Drop
	}
	d.ep = &episode{dir: dir, start: day, days: 1, errs: []float64{o.y - bl.yhat}, points: []obs{o}}
	f = Finding{
		Key:       d.key,
		Date:      day,
		Value:     p.Value,
		Expected:  expected,
		Lower:     lo,
		Upper:     hi,
		Score:     (o.y - bl.yhat) / sigma,
		Direction: dir,
		Severity:  severity(p.Value, expected),
		Days:      1,
	}
	f.Reason = d.reason(f, day.Weekday())
	return f, true, nil
}

// evict drops history and forecast errors that left their windows.
func (d *Detector) evict(n int) {
	cut := 0
	for cut < len(d.hist) && d.hist[cut].day <= n-d.opts.Window {
		cut++
	}
	if cut > 0 {
		d.hist = append(d.hist[:0], d.hist[cut:]...)
	}
	cut = 0
	for cut < len(d.errs) && d.errs[cut].day <= n-scaleWindows*d.opts.Window {
		cut++
	}
	if cut > 0 {
		d.errs = append(d.errs[:0], d.errs[cut:]...)
	}
}

// confirmShift makes the current episode the new normal: history before it
// is moved by the episode's median departure (on the log scale, so the
// weekday pattern and trend carry over) and the episode's days join it.
func (d *Detector) confirmShift(day time.Time) {
	ep := d.ep
	delta := median(slices.Clone(ep.errs))
	for i := range d.hist {
		d.hist[i].y += delta
	}
	d.hist = append(d.hist, ep.points...)
	for i, p := range ep.points {
		d.errs = append(d.errs, forecastError{day: p.day, err: ep.errs[i] - delta})
	}
	d.shifts = append(d.shifts, Shift{Start: ep.start, Confirmed: day, Direction: ep.dir, Factor: math.Exp(delta)})
	d.ep = nil
}

// poissonScale is the standard deviation of log(1+X) for a Poisson count
// X with mean e: counts are at least this noisy, however calm the history.
func poissonScale(e float64) float64 {
	return math.Sqrt(e) / (e + 1)
}

// band is the normal range around the expected value: k robust deviations
// on the log scale, and at least minAbs either side in the series' units.
func band(yhat, expected, sigma, k, minAbs float64) (lo, hi float64) {
	hi = math.Max(math.Expm1(yhat+k*sigma), expected+minAbs)
	lo = math.Max(0, math.Min(math.Expm1(yhat-k*sigma), expected-minAbs))
	return lo, hi
}

// severity grades a departure by its size as a factor (see Severity).
func severity(value, expected float64) Severity {
	fold := (value + 1) / (expected + 1)
	if fold < 1 {
		fold = 1 / fold
	}
	switch {
	case fold >= 5:
		return SeverityHigh
	case fold >= 2:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// Detect judges a whole series and returns its findings in date order: one
// per spike or drop episode, dated at the episode's first day, with Days
// and LevelShift filled in. Points may come in any order; two points on
// the same UTC day are an error.
func Detect(series Series, opts Options) ([]Finding, error) {
	d, err := NewDetector(series.Key, opts)
	if err != nil {
		return nil, err
	}
	pts := make([]Point, len(series.Points))
	for i, p := range series.Points {
		p.Date = utcDay(p.Date)
		pts[i] = p
	}
	slices.SortStableFunc(pts, func(a, b Point) int { return a.Date.Compare(b.Date) })
	for i := 1; i < len(pts); i++ {
		if pts[i].Date.Equal(pts[i-1].Date) {
			return nil, fmt.Errorf("detect: %s: two points for %s; keep one value per UTC day (sum the day's rows first)",
				series.Key, pts[i].Date.Format(time.DateOnly))
		}
	}

	var out []Finding
	cur := -1 // index in out of the open episode's finding
	for _, p := range pts {
		shifts := len(d.shifts)
		f, ok, err := d.Observe(p)
		if err != nil {
			return nil, err
		}
		switch {
		case ok:
			out = append(out, f)
			cur = len(out) - 1
		case len(d.shifts) > shifts && cur >= 0:
			s := d.shifts[len(d.shifts)-1]
			out[cur].Days = d.opts.ShiftDays
			out[cur].LevelShift = true
			out[cur].Reason += fmt.Sprintf("; it held for %d days, so it is taken as a new level (%s) from then on",
				d.opts.ShiftDays, levelChange(s.Factor))
			cur = -1
		case cur >= 0 && d.ep != nil && !p.Missing:
			out[cur].Days = d.ep.days
		case !p.Missing:
			cur = -1
		}
	}
	for i := range out {
		if out[i].Days > 1 && !out[i].LevelShift {
			out[i].Reason += fmt.Sprintf("; it lasted %d days", out[i].Days)
		}
	}
	return out, nil
}
