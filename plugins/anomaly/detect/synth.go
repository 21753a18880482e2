package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// SynthOptions shapes a synthetic series. The zero value gives the defaults
// listed on each field.
type SynthOptions struct {
	// Key is the series key. Default "QZSYN2600001/spotify/streams".
	Key string
	// Start is the first day. Default 2025-01-01 (UTC).
	Start time.Time
	// Base is the typical weekday count at the start. Default 1000.
	Base float64
	// Trend is the growth over 365 days, compounded daily: 1 doubles the
	// level in a year, -0.5 halves it (catalogue decay). Default 0.
	Trend float64
	// WeekendLift lifts Saturday and Sunday to 1+WeekendLift times a
	// weekday. Default 0.3; a negative value means no weekly pattern.
	WeekendLift float64
	// Noise is the standard deviation of the day-to-day multiplicative
	// (lognormal) noise; on top of it every count is Poisson, so small
	// series are noisier, much like a negative binomial. Default 0.12.
	Noise float64
	// MissingRate is the share of normal days left without a number.
	// Default 0.02; a negative value means no missing days. Anomaly days
	// are never missing.
	MissingRate float64
	// Warmup is how many days at the start get no anomaly, because the
	// detector needs Options.MinHistory (default 28) usable days before it
	// judges anything. Default 35.
	Warmup int
	// MaxBurst is the longest anomaly in days. Default 3.
	MaxBurst int
}

// Anomaly is one injected anomaly: one day or a short burst of days.
type Anomaly struct {
	// Start is the first anomalous UTC day.
	Start time.Time
	// Days is how many consecutive days are anomalous (1 to MaxBurst).
	Days int
	// Direction is Spike (counts multiplied by 3 to 20, like bot streams)
	// or Drop (counts cut to 0-30%, like a takedown or an outage).
	Direction Direction
	// Factor is the multiplier applied to every day of the anomaly.
	Factor float64
}

// Contains reports whether day (any time in that UTC day) is one of the
// anomaly's days.
func (a Anomaly) Contains(day time.Time) bool {
	n := dayNumber(utcDay(day))
	s := dayNumber(a.Start)
	return n >= s && n < s+a.Days
}

// Synthetic generates a daily series of days days with anomalies injected
// anomalies, and returns the series and the truth. It is deterministic for
// a seed.
//
// The normal series is Base, grown by Trend, times the weekly pattern, times
// lognormal noise, drawn as a Poisson count; a few normal days are missing.
// Anomalies are placed after the first Warmup days, one in each of
// anomalies equal slots of the rest of the series, at least two normal days
// apart, so each is a single day or a short burst. Each is a spike (x3 to
// x20, log-uniform) or a drop (to 0-30%), with equal chance; 60% last one
// day, 25% two and 15% three (capped at MaxBurst).
//
// How the truth is scored (see Evaluate): an anomaly is found when at least
// one finding falls on one of its days; a finding on any other day is a
// false alarm.
//
// Synthetic panics when the anomalies cannot fit (each slot needs
// MaxBurst+3 days): ask for fewer anomalies or more days.
func Synthetic(seed int64, days, anomalies int, opts SynthOptions) (Series, []Anomaly) {
	o := opts.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	series := Series{Key: o.Key}
	if days <= 0 {
		return series, nil
	}

	factor := make([]float64, days)
	for i := range factor {
		factor[i] = 1
	}
	anomalous := make([]bool, days)
	var truth []Anomaly
	if anomalies > 0 {
		slot := float64(days-o.Warmup) / float64(anomalies)
		if days <= o.Warmup || int(slot) < o.MaxBurst+3 {
			panic(fmt.Sprintf("detect.Synthetic: %d anomalies do not fit in %d days after a %d-day warm-up (each needs %d days); ask for fewer anomalies or more days",
				anomalies, days, o.Warmup, o.MaxBurst+3))
		}
		for i := range anomalies {
			length := 1
			switch r := rng.Float64(); {
			case r >= 0.85:
				length = 3
			case r >= 0.6:
				length = 2
			}
			length = min(length, o.MaxBurst)
			lo := o.Warmup + int(math.Ceil(float64(i)*slot)) + 1
			hi := o.Warmup + int(math.Floor(float64(i+1)*slot)) - 1 - length // last start keeping a normal day after
			start := lo
			if hi > lo {
				start = lo + rng.IntN(hi-lo+1)
			}
			a := Anomaly{Start: o.Start.AddDate(0, 0, start), Days: length, Direction: Spike}
			if rng.IntN(2) == 0 {
				a.Factor = math.Exp(math.Log(3) + rng.Float64()*(math.Log(20)-math.Log(3)))
			} else {
				a.Direction = Drop
				a.Factor = 0.3 * rng.Float64()
			}
			for d := start; d < start+length; d++ {
				factor[d] = a.Factor
				anomalous[d] = true
			}
			truth = append(truth, a)
		}
	}

	growth := math.Log1p(o.Trend) / 365
	series.Points = make([]Point, days)
	for i := range days {
		date := o.Start.AddDate(0, 0, i)
		lambda := o.Base * math.Exp(growth*float64(i))
		if wd := date.Weekday(); o.WeekendLift > 0 && (wd == time.Saturday || wd == time.Sunday) {
			lambda *= 1 + o.WeekendLift
		}
		lambda *= math.Exp(o.Noise*rng.NormFloat64() - o.Noise*o.Noise/2)
		lambda *= factor[i]
		v := poissonDraw(rng, lambda)
		missing := !anomalous[i] && o.MissingRate > 0 && rng.Float64() < o.MissingRate
		if missing {
			v = 0
		}
		series.Points[i] = Point{Date: date, Value: v, Missing: missing}
	}
	return series, truth
}

// withDefaults fills in SynthOptions defaults.
func (o SynthOptions) withDefaults() SynthOptions {
	if o.Key == "" {
		o.Key = "QZSYN2600001/spotify/streams"
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	o.Start = utcDay(o.Start)
	if o.Base == 0 {
		o.Base = 1000
	}
	if o.WeekendLift == 0 {
		o.WeekendLift = 0.3
	}
	if o.Noise == 0 {
		o.Noise = 0.12
	}
	if o.MissingRate == 0 {
		o.MissingRate = 0.02
	}
	if o.Warmup == 0 {
		o.Warmup = 35
	}
	if o.MaxBurst <= 0 {
		o.MaxBurst = 3
	}
	return o
}

// poissonDraw draws a Poisson count with mean lambda: exactly for small
// means, by the normal approximation from 30 up.
func poissonDraw(rng *rand.Rand, lambda float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	if lambda < 30 {
		limit := math.Exp(-lambda)
		k, p := 0, rng.Float64()
		for p > limit {
			k++
			p *= rng.Float64()
		}
		return float64(k)
	}
	return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
}

// Evaluation scores findings against the injected truth.
type Evaluation struct {
	// Anomalies is how many anomalies were injected.
	Anomalies int
	// Hits is how many of them have at least one finding on one of their
	// days.
	Hits int
	// Findings is how many findings there are.
	Findings int
	// FalseFindings is how many findings fall on a day that is not an
	// anomaly day (a finding on the second day of a burst is not false).
	FalseFindings int
	// NormalDays is how many present (not missing) days are not anomaly
	// days.
	NormalDays int
}

// Evaluate scores findings for a synthetic series against its truth.
func Evaluate(series Series, truth []Anomaly, findings []Finding) Evaluation {
	e := Evaluation{Anomalies: len(truth), Findings: len(findings)}
	isAnomalyDay := func(day time.Time) bool {
		for _, a := range truth {
			if a.Contains(day) {
				return true
			}
		}
		return false
	}
	for _, a := range truth {
		for _, f := range findings {
			if a.Contains(f.Date) {
				e.Hits++
				break
			}
		}
	}
	for _, f := range findings {
		if !isAnomalyDay(f.Date) {
			e.FalseFindings++
		}
	}
	for _, p := range series.Points {
		if !p.Missing && !isAnomalyDay(p.Date) {
			e.NormalDays++
		}
	}
	return e
}

// Plus adds two evaluations, to pool many series.
func (e Evaluation) Plus(o Evaluation) Evaluation {
	return Evaluation{
		Anomalies:     e.Anomalies + o.Anomalies,
		Hits:          e.Hits + o.Hits,
		Findings:      e.Findings + o.Findings,
		FalseFindings: e.FalseFindings + o.FalseFindings,
		NormalDays:    e.NormalDays + o.NormalDays,
	}
}

// Recall is Hits / Anomalies (1 when nothing was injected).
func (e Evaluation) Recall() float64 {
	if e.Anomalies == 0 {
		return 1
	}
	return float64(e.Hits) / float64(e.Anomalies)
}

// FalseAlarmRate is FalseFindings / Findings, that is 1 - precision: the
// share of raised alarms that were wrong (0 when nothing was raised).
func (e Evaluation) FalseAlarmRate() float64 {
	if e.Findings == 0 {
		return 0
	}
	return float64(e.FalseFindings) / float64(e.Findings)
}

// FalseAlarmsPerNormalDay is FalseFindings / NormalDays: how often a
// normal day raises an alarm.
func (e Evaluation) FalseAlarmsPerNormalDay() float64 {
	if e.NormalDays == 0 {
		return 0
	}
	return float64(e.FalseFindings) / float64(e.NormalDays)
}

// String summarises the evaluation in one line.
func (e Evaluation) String() string {
	return fmt.Sprintf("recall %.1f%% (%d/%d anomalies), false alarms %.2f%% of %d findings, %.3f%% of %d normal days",
		100*e.Recall(), e.Hits, e.Anomalies, 100*e.FalseAlarmRate(), e.Findings,
		100*e.FalseAlarmsPerNormalDay(), e.NormalDays)
}
