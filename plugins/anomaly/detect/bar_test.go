package detect

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBar holds the detector to the bar: on synthetic 365-day
// series with 30 injected anomalies each, it finds at least 95% of them
// with at most 5% false alarms.
//
// 50 series: base levels 50, 500, 5,000 and 50,000 a day, each flat,
// doubling over the year or halving, with the generator's defaults
// otherwise (weekend lift 30%, 12% lognormal noise on a Poisson count, 2%
// missing days, bursts of one to three days). A hit is a finding on one of
// an anomaly's days; a false alarm is a finding on any other day. The
// false-alarm rate is false findings / all findings (1 - precision); false
// findings / normal days is reported and bounded too.
func TestBar(t *testing.T) {
	t.Parallel()
	levels := []float64{50, 500, 5000, 50000}
	trends := []float64{0, 1, -0.5}

	var total Evaluation
	byLevel := map[float64]Evaluation{}
	byTrend := map[float64]Evaluation{}
	for seed := int64(1); seed <= 50; seed++ {
		opts := SynthOptions{Base: levels[seed%4], Trend: trends[seed%3]}
		s, truth := Synthetic(seed, 365, 30, opts)
		require.Len(t, truth, 30)
		fs := detect(t, s, Options{})
		e := Evaluate(s, truth, fs)
		total = total.Plus(e)
		byLevel[opts.Base] = byLevel[opts.Base].Plus(e)
		byTrend[opts.Trend] = byTrend[opts.Trend].Plus(e)
	}

	t.Logf("all 50 series: %v", total)
	for _, l := range levels {
		t.Logf("base %6.0f/day: %v", l, byLevel[l])
	}
	for _, tr := range trends {
		t.Logf("trend %+4.0f%%/yr: %v", 100*tr, byTrend[tr])
	}

	require.Equal(t, 50*30, total.Anomalies)
	require.GreaterOrEqual(t, total.Recall(), 0.95, "recall")
	require.LessOrEqual(t, total.FalseAlarmRate(), 0.05, "false findings / all findings")
	require.LessOrEqual(t, total.FalseAlarmsPerNormalDay(), 0.005, "false findings / normal days (under 2 a track-year)")
	for _, l := range levels {
		// Pooling must not hide a level that does badly.
		e := byLevel[l]
		require.GreaterOrEqual(t, e.Recall(), 0.9, fmt.Sprintf("recall at %v/day", l))
		require.LessOrEqual(t, e.FalseAlarmRate(), 0.05, fmt.Sprintf("false alarms at %v/day", l))
	}
}

// TestBarNoisierSeries reports, and bounds loosely, how the detector fares
// when normal day-to-day swings are larger than the default 12%: smaller
// anomalies then hide in the noise (see the package doc), but false
// alarms stay rare.
func TestBarNoisierSeries(t *testing.T) {
	t.Parallel()
	for _, noise := range []float64{0.2, 0.3} {
		var total Evaluation
		for seed := int64(1); seed <= 20; seed++ {
			s, truth := Synthetic(seed, 365, 30, SynthOptions{Base: 5000, Noise: noise})
			total = total.Plus(Evaluate(s, truth, detect(t, s, Options{})))
		}
		t.Logf("noise %.0f%%: %v", 100*noise, total)
		require.LessOrEqual(t, total.FalseAlarmRate(), 0.05)
		require.GreaterOrEqual(t, total.Recall(), 0.6)
	}
}
