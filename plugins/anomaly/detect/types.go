package detect

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Point is one day of one series: the day's total (streams, views, gains)
// or a marker that the day has no number.
type Point struct {
	// Date is the UTC calendar day the value belongs to. Any time of day is
	// accepted and truncated to its UTC day.
	Date time.Time
	// Value is the day's count. It must be finite and not negative unless
	// Missing is set.
	Value float64
	// Missing marks a day without a number (the source had nothing, a
	// snapshot was skipped). Missing days are never judged and never enter
	// the baseline; a date left out of Series.Points counts as missing too.
	Missing bool
}

// Series is the daily history of one measure of one track on one platform.
type Series struct {
	// Key names the series, for example "USRC12345678/spotify/streams". Its
	// last "/" segment names the measure in findings ("streams").
	Key string
	// Points holds at most one point per UTC day, in any order (Detect sorts
	// a copy).
	Points []Point
}

// Direction says which way a finding departs from the expected value.
type Direction string

// The two directions of a finding.
const (
	// Spike is a day well above the expected value (bot streams, a viral
	// moment, a playlist add).
	Spike Direction = "spike"
	// Drop is a day well below the expected value (a takedown, an outage, a
	// lost playlist, a reporting gap).
	Drop Direction = "drop"
)

// Severity grades a finding by how far off the day is, as a factor.
type Severity string

// Severities, from the size of the departure: Fold is value÷expected for a
// spike and expected÷value for a drop (each plus one, so zeros work).
const (
	// SeverityLow: off by less than a factor of 2.
	SeverityLow Severity = "low"
	// SeverityMedium: off by a factor of 2 to 5.
	SeverityMedium Severity = "medium"
	// SeverityHigh: off by a factor of 5 or more (for example 5x the usual
	// streams, or an 80% loss).
	SeverityHigh Severity = "high"
)

// Finding is one flagged day: the start of a spike or drop episode.
type Finding struct {
	// Key is the series' key.
	Key string
	// Date is the UTC day that was flagged (the first day of the episode).
	Date time.Time
	// Value is the day's count.
	Value float64
	// Expected is the baseline for that day: the trailing level, trend and
	// weekday pattern put together.
	Expected float64
	// Lower and Upper bound the normal range for that day; a day is flagged
	// exactly when Value < Lower or Value > Upper.
	Lower, Upper float64
	// Score is the robust z-score: how many robust standard deviations
	// (1.4826 x MAD, on the log scale) the day sits from Expected. Positive
	// for spikes, negative for drops.
	Score float64
	// Direction is Spike or Drop.
	Direction Direction
	// Severity grades the size of the departure (see Severity).
	Severity Severity
	// Reason says the above in words for a person.
	Reason string
	// Days is how many observed days the episode lasted (1 for a single odd
	// day). Detector.Observe reports 1; Detect fills in the full length.
	Days int
	// LevelShift is set (by Detect, and in Detector.Shifts) when the episode
	// lasted Options.ShiftDays days and was taken as the new normal.
	LevelShift bool
}

// Options tunes the detector. The zero value gives the defaults listed on
// each field; DefaultOptions returns them filled in.
type Options struct {
	// Window is how many calendar days of trailing history form the
	// baseline. Default 56 (8 weeks, so each weekday is seen 8 times). The
	// noise scale looks back twice as far.
	Window int
	// MinHistory is how many usable (present, not flagged) days the window
	// must hold before any day is judged. Default 28. Earlier days give no
	// findings; they only build the baseline.
	MinHistory int
	// Threshold is how many robust standard deviations a day must sit from
	// the expected value to be flagged. Default 4.5.
	Threshold float64
	// MinAbsoluteChange is the smallest difference from the expected value,
	// in the series' own units, that can be flagged, so a track doing a
	// handful of streams a day does not alarm on noise. Default 20.
	MinAbsoluteChange float64
	// MinScale is the smallest robust standard deviation used, on the log
	// scale (0.05 is about 5%), so a very smooth series does not alarm on
	// small wiggles. Default 0.05.
	MinScale float64
	// ShiftDays is how many consecutive flagged days in one direction turn
	// an episode into a level shift: the new level becomes the baseline and
	// no further findings are raised for it. Default 7.
	ShiftDays int
	// NoSeasonality turns off the weekday pattern (use it for series with no
	// weekly rhythm).
	NoSeasonality bool
	// NoTrend turns off the trend term (the baseline is then the window's
	// robust level, which lags a growing or decaying series by some days).
	NoTrend bool
	// Metric names the measure in reasons. Default: the last "/" segment of
	// the series key, or "value".
	Metric string
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	return Options{
		Window:            56,
		MinHistory:        28,
		Threshold:         4.5,
		MinAbsoluteChange: 20,
		MinScale:          0.05,
		ShiftDays:         7,
	}
}

// resolve fills in defaults and checks the options.
func (o Options) resolve() (Options, error) {
	d := DefaultOptions()
	if o.Window == 0 {
		o.Window = d.Window
	}
	if o.MinHistory == 0 {
		o.MinHistory = d.MinHistory
	}
	if o.Threshold == 0 {
		o.Threshold = d.Threshold
	}
	if o.MinAbsoluteChange == 0 {
		o.MinAbsoluteChange = d.MinAbsoluteChange
	}
	if o.MinScale == 0 {
		o.MinScale = d.MinScale
	}
	if o.ShiftDays == 0 {
		o.ShiftDays = d.ShiftDays
	}
	switch {
	case o.Window < 14:
		return o, fmt.Errorf("detect: Window is %d days; use at least 14 (two weeks) or leave it 0 for the default 56", o.Window)
	case o.MinHistory < 7:
		return o, fmt.Errorf("detect: MinHistory is %d days; use at least 7 or leave it 0 for the default 28", o.MinHistory)
	case o.MinHistory > o.Window:
		return o, fmt.Errorf("detect: MinHistory (%d) is larger than Window (%d), so no day could ever be judged; lower MinHistory or widen Window", o.MinHistory, o.Window)
	case !(o.Threshold > 0) || math.IsInf(o.Threshold, 0):
		return o, fmt.Errorf("detect: Threshold is %v; use a positive number of robust deviations (default 4.5)", o.Threshold)
	case !(o.MinAbsoluteChange > 0) || math.IsInf(o.MinAbsoluteChange, 0):
		return o, fmt.Errorf("detect: MinAbsoluteChange is %v; use a positive amount (a tiny one such as 1e-9 turns the rule off)", o.MinAbsoluteChange)
	case !(o.MinScale > 0) || math.IsInf(o.MinScale, 0):
		return o, fmt.Errorf("detect: MinScale is %v; use a positive log-scale deviation (default 0.05)", o.MinScale)
	case o.ShiftDays < 2:
		return o, fmt.Errorf("detect: ShiftDays is %d; use at least 2 or leave it 0 for the default 7", o.ShiftDays)
	}
	return o, nil
}

// metricName is the measure named in reasons.
func metricName(key string, o Options) string {
	if o.Metric != "" {
		return o.Metric
	}
	if name := key[strings.LastIndexByte(key, '/')+1:]; name != "" {
		return name
	}
	return "value"
}

// utcDay truncates t to its UTC calendar day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dayNumber counts days since 1970-01-01 for a UTC midnight.
func dayNumber(day time.Time) int {
	return int(day.Unix() / 86400)
}
