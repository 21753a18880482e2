package detect

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSyntheticIsReproducible(t *testing.T) {
	t.Parallel()
	a, ta := Synthetic(42, 365, 30, SynthOptions{})
	b, tb := Synthetic(42, 365, 30, SynthOptions{})
	require.Equal(t, a, b)
	require.Equal(t, ta, tb)
	c, tc := Synthetic(43, 365, 30, SynthOptions{})
	require.NotEqual(t, valuesOf(a), valuesOf(c))
	require.NotEqual(t, ta, tc)
}

func TestSyntheticTruth(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 20; seed++ {
		s, truth := Synthetic(seed, 365, 30, SynthOptions{Base: 500})
		require.Len(t, s.Points, 365)
		require.Equal(t, "QZSYN2600001/spotify/streams", s.Key)
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, p := range s.Points {
			require.Equal(t, start.AddDate(0, 0, i), p.Date)
		}
		require.Len(t, truth, 30)
		lengths := map[int]int{}
		dirs := map[Direction]int{}
		prevEnd := -1
		for _, a := range truth {
			first := dayNumber(a.Start) - dayNumber(start)
			require.GreaterOrEqual(t, first, 35, "no anomaly in the warm-up")
			require.GreaterOrEqual(t, first-prevEnd, 3, "at least two normal days between anomalies")
			require.LessOrEqual(t, first+a.Days, 365)
			prevEnd = first + a.Days - 1
			lengths[a.Days]++
			dirs[a.Direction]++
			switch a.Direction {
			case Spike:
				require.GreaterOrEqual(t, a.Factor, 3.0)
				require.LessOrEqual(t, a.Factor, 20.0)
			case Drop:
				require.GreaterOrEqual(t, a.Factor, 0.0)
				require.LessOrEqual(t, a.Factor, 0.3)
			default:
				t.Fatalf("direction %q", a.Direction)
			}
			for d := range a.Days {
				p := s.Points[first+d]
				require.True(t, a.Contains(p.Date.Add(5*time.Hour)))
				require.False(t, p.Missing, "anomaly days are never missing")
			}
			require.False(t, a.Contains(a.Start.AddDate(0, 0, a.Days)))
			require.False(t, a.Contains(a.Start.AddDate(0, 0, -1)))
		}
		require.Positive(t, dirs[Spike], "seed %d", seed)
		require.Positive(t, dirs[Drop], "seed %d", seed)
		require.Zero(t, lengths[0]+lengths[4])
	}
}

func TestSyntheticShape(t *testing.T) {
	t.Parallel()
	s, truth := Synthetic(7, 364, 0, SynthOptions{Base: 40000})
	require.Empty(t, truth)
	var weekend, weekday []float64
	missing := 0
	for _, p := range s.Points {
		switch wd := p.Date.Weekday(); {
		case p.Missing:
			missing++
		case wd == time.Saturday || wd == time.Sunday:
			weekend = append(weekend, p.Value)
		default:
			weekday = append(weekday, p.Value)
		}
	}
	require.InDelta(t, 40000, median(weekday), 1200, "Base is the weekday level")
	require.InDelta(t, 1.3, median(weekend)/median(weekday), 0.05, "weekend lift")
	require.Greater(t, missing, 0)
	require.Less(t, missing, 20, "about 2% of days missing")

	// Trend 1 doubles the level in a year: from the first eight weeks to
	// the last, 308 days on, it grows by 2^(308/365).
	grown, _ := Synthetic(7, 364, 0, SynthOptions{Base: 40000, Trend: 1})
	first := valuesOf(Series{Points: grown.Points[:56]})
	last := valuesOf(Series{Points: grown.Points[len(grown.Points)-56:]})
	require.InDelta(t, math.Pow(2, 308.0/365), median(last)/median(first), 0.1)

	small, _ := Synthetic(7, 200, 0, SynthOptions{Base: 2, WeekendLift: -1, MissingRate: -1})
	zeros := 0
	for _, p := range small.Points {
		require.False(t, p.Missing)
		require.Equal(t, math.Trunc(p.Value), p.Value, "counts are whole")
		require.GreaterOrEqual(t, p.Value, 0.0)
		if p.Value == 0 {
			zeros++
		}
	}
	require.Greater(t, zeros, 10, "a Poisson count of about 2 is often zero")
}

func TestSyntheticPanicsWhenAnomaliesDoNotFit(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t,
		"detect.Synthetic: 30 anomalies do not fit in 100 days after a 35-day warm-up (each needs 6 days); ask for fewer anomalies or more days",
		func() { Synthetic(1, 100, 30, SynthOptions{}) })
	s, truth := Synthetic(1, 0, 0, SynthOptions{})
	require.Empty(t, s.Points)
	require.Empty(t, truth)
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	s := daily("k", 20, func(int) float64 { return 1 })
	s.Points[2].Missing = true
	at := func(i int) time.Time { return day0.AddDate(0, 0, i) }
	truth := []Anomaly{
		{Start: at(5), Days: 3, Direction: Spike, Factor: 4}, // days 5-7
		{Start: at(12), Days: 1, Direction: Drop, Factor: 0.1},
		{Start: at(16), Days: 2, Direction: Spike, Factor: 9}, // days 16-17
	}
	findings := []Finding{
		{Date: at(6)},  // hit on the burst's second day
		{Date: at(7)},  // same burst again: not false, not a second hit
		{Date: at(13)}, // the day after the drop: a false alarm
		{Date: at(17)}, // hit
		{Date: at(0)},  // false alarm
	}
	e := Evaluate(s, truth, findings)
	require.Equal(t, Evaluation{Anomalies: 3, Hits: 2, Findings: 5, FalseFindings: 2, NormalDays: 20 - 1 - 6}, e)
	require.InDelta(t, 2.0/3, e.Recall(), 1e-12)
	require.InDelta(t, 2.0/5, e.FalseAlarmRate(), 1e-12)
	require.InDelta(t, 2.0/13, e.FalseAlarmsPerNormalDay(), 1e-12)
	require.Equal(t, "recall 66.7% (2/3 anomalies), false alarms 40.00% of 5 findings, 15.385% of 13 normal days", e.String())

	sum := e.Plus(e)
	require.Equal(t, Evaluation{Anomalies: 6, Hits: 4, Findings: 10, FalseFindings: 4, NormalDays: 26}, sum)

	var none Evaluation
	require.Equal(t, 1.0, none.Recall())
	require.Zero(t, none.FalseAlarmRate())
	require.Zero(t, none.FalseAlarmsPerNormalDay())
}
