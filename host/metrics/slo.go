package metrics

import (
	"math"
	"time"
)

// The service level objectives the SLO gauges are judged against (the
// alerting rules in deploy/prometheus use the same numbers).
const (
	// SLOSuccessRatioGoal is the pipeline success rate to stay above.
	SLOSuccessRatioGoal = 0.999
	// SLOFreshnessGoal is the data age to stay under.
	SLOFreshnessGoal = 7 * 24 * time.Hour
	// SLOMTTDGoal is the mean time to detect to stay under.
	SLOMTTDGoal = 5 * time.Minute
	// SLOMTTRGoal is the mean time to resolve to stay under.
	SLOMTTRGoal = 30 * time.Minute
)

// SetSLOSuccessRatio sets the pipeline success rate of source over the SLO
// window, a ratio from 0 to 1 (final runs that succeeded or partially
// succeeded divided by all final runs). Values outside [0, 1] are clamped;
// NaN (no final run in the window) is ignored.
func (m *Metrics) SetSLOSuccessRatio(source string, ratio float64) {
	if math.IsNaN(ratio) {
		return
	}
	m.sloSuccess.WithLabelValues(labelValue(source)).Set(math.Max(0, math.Min(1, ratio)))
}

// SetSLOFreshness sets the data freshness of source as the SLO computed it:
// now minus the finish of its newest successful run. A negative age (clock
// skew) is set as 0.
func (m *Metrics) SetSLOFreshness(source string, age time.Duration) {
	m.sloFreshness.WithLabelValues(labelValue(source)).Set(seconds(max(age, 0)))
}

// SetSLOMTTD sets the mean time to detect over the SLO window. Call it once
// at least one incident was measured: until then the metric is not exported.
// A negative duration is set as 0.
func (m *Metrics) SetSLOMTTD(d time.Duration) {
	m.sloMTTD.WithLabelValues().Set(seconds(max(d, 0)))
}

// SetSLOMTTR sets the mean time to resolve over the SLO window. Call it once
// at least one alert was resolved: until then the metric is not exported.
// A negative duration is set as 0.
func (m *Metrics) SetSLOMTTR(d time.Duration) {
	m.sloMTTR.WithLabelValues().Set(seconds(max(d, 0)))
}

// ClearSLO removes the SLO series of source (success ratio and freshness),
// for a source that was removed from the configuration: its last figures
// would otherwise be exported, and alerted on, until the daemon restarts.
func (m *Metrics) ClearSLO(source string) {
	source = labelValue(source)
	m.sloSuccess.DeleteLabelValues(source)
	m.sloFreshness.DeleteLabelValues(source)
}
