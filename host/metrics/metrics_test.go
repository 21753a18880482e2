package metrics

import (
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newAt returns metrics whose clock reads *clock (guarded by mu).
func newAt(clock *time.Time, mu *sync.Mutex) *Metrics {
	m := New()
	m.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return *clock
	}
	return m
}

// scrape GETs the handler and parses the text exposition.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// series finds the metric of family name with exactly the given labels.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "metric family %s missing", name)
	for _, m := range fam.GetMetric() {
		if got := labels(m); len(got) == len(want) {
			match := true
			for k, v := range want {
				if got[k] != v {
					match = false
				}
			}
			if match {
				return m
			}
		}
	}
	require.Failf(t, "series missing", "%s%v not among %d series", name, want, len(fam.GetMetric()))
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}

func bucketCount(t *testing.T, h *dto.Histogram, le float64) uint64 {
	t.Helper()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	require.Failf(t, "bucket missing", "no bucket le=%v", le)
	return 0
}

func TestHandlerExposesEveryMetric(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := t0
	m := newAt(&clock, &mu)

	m.RunFinished("spotify", StatusSucceeded, 42*time.Second)
	m.RunFinished("spotify", StatusSucceeded, 50*time.Minute)
	m.RunFinished("spotify", StatusFailed, 3*time.Second)
	m.RunFinished("distrokid", StatusPartial, 90*time.Second)
	m.StepFinished("spotify", "read", 250*time.Millisecond)
	m.StepFinished("spotify", "write", 2*time.Second)
	m.Records("spotify", "streams", 4096, 1<<20)
	m.Records("spotify", "streams", 4, 100)
	m.Records("distrokid", "sales", 10, 2000)
	m.Retry("spotify")
	m.Retry("spotify")
	m.PluginLaunched("bedrot-source-spotify")
	m.PluginLaunched("bedrot-source-spotify")
	m.PluginCrashed("bedrot-source-spotify")
	m.QualityScore("raw/spotify/streams", 0.75)
	m.SetOpenAlerts(SeverityHigh, 2)
	m.SetQueueDepth(3)
	m.SetFreshnessFunc(func() map[string]time.Time {
		return map[string]time.Time{"raw/spotify/streams": t0.Add(-2 * time.Hour)}
	})
	m.Validated("raw/spotify/streams", ValidationPassed)
	m.Validated("raw/spotify/streams", ValidationFailed)
	m.Validated("raw/spotify/streams", ValidationFailed)
	m.AlertRaised(SeverityMedium)
	m.SetSLOSuccessRatio("spotify", 0.998)
	m.SetSLOFreshness("spotify", 26*time.Hour)
	m.SetSLOMTTD(90 * time.Second)
	m.SetSLOMTTR(20 * time.Minute)
	m.AgentTaskFinished("data-quality", AgentTaskSucceeded, 12*time.Second)
	m.AgentTaskFinished("data-quality", AgentTaskFailed, 400*time.Second)
	m.AgentKnowledgeContributed("data-quality", 3)

	fams := scrape(t, m.Handler())

	want := map[string]dto.MetricType{
		"bedrot_runs_total":                          dto.MetricType_COUNTER,
		"bedrot_run_duration_seconds":                dto.MetricType_HISTOGRAM,
		"bedrot_step_duration_seconds":               dto.MetricType_HISTOGRAM,
		"bedrot_last_success_timestamp_seconds":      dto.MetricType_GAUGE,
		"bedrot_records_total":                       dto.MetricType_COUNTER,
		"bedrot_ingested_bytes_total":                dto.MetricType_COUNTER,
		"bedrot_retries_total":                       dto.MetricType_COUNTER,
		"bedrot_plugin_launches_total":               dto.MetricType_COUNTER,
		"bedrot_plugin_crashes_total":                dto.MetricType_COUNTER,
		"bedrot_quality_score_ratio":                 dto.MetricType_GAUGE,
		"bedrot_data_freshness_seconds":              dto.MetricType_GAUGE,
		"bedrot_alerts_open":                         dto.MetricType_GAUGE,
		"bedrot_queued_runs":                         dto.MetricType_GAUGE,
		"bedrot_validations_total":                   dto.MetricType_COUNTER,
		"bedrot_alerts_raised_total":                 dto.MetricType_COUNTER,
		"bedrot_slo_success_ratio":                   dto.MetricType_GAUGE,
		"bedrot_slo_freshness_seconds":               dto.MetricType_GAUGE,
		"bedrot_slo_mttd_seconds":                    dto.MetricType_GAUGE,
		"bedrot_slo_mttr_seconds":                    dto.MetricType_GAUGE,
		"bedrot_agent_tasks_total":                   dto.MetricType_COUNTER,
		"bedrot_agent_task_duration_seconds":         dto.MetricType_HISTOGRAM,
		"bedrot_agent_knowledge_contributions_total": dto.MetricType_COUNTER,
		"go_goroutines":                              dto.MetricType_GAUGE,
		"go_build_info":                              dto.MetricType_GAUGE,
		"process_cpu_seconds_total":                  dto.MetricType_COUNTER,
		"promhttp_metric_handler_requests_total":     dto.MetricType_COUNTER,
	}
	for name, typ := range want {
		fam, ok := fams[name]
		if !ok && name == "process_cpu_seconds_total" && runtime.GOOS != "linux" {
			// The process collector only exports on Linux (and Windows).
			continue
		}
		require.True(t, ok, "metric family %s missing", name)
		require.Equal(t, typ, fam.GetType(), name)
		require.NotEmpty(t, fam.GetHelp(), "HELP of %s", name)
	}

	// Bounded label sets: the exact label names of every bedrot metric.
	wantLabels := map[string][]string{
		"bedrot_runs_total":                          {"source", "status"},
		"bedrot_run_duration_seconds":                {"source", "status"},
		"bedrot_step_duration_seconds":               {"source", "step"},
		"bedrot_last_success_timestamp_seconds":      {"source"},
		"bedrot_records_total":                       {"source", "stream"},
		"bedrot_ingested_bytes_total":                {"source", "stream"},
		"bedrot_retries_total":                       {"source"},
		"bedrot_plugin_launches_total":               {"plugin"},
		"bedrot_plugin_crashes_total":                {"plugin"},
		"bedrot_quality_score_ratio":                 {"dataset"},
		"bedrot_data_freshness_seconds":              {"dataset"},
		"bedrot_alerts_open":                         {"severity"},
		"bedrot_queued_runs":                         {},
		"bedrot_validations_total":                   {"dataset", "outcome"},
		"bedrot_alerts_raised_total":                 {"severity"},
		"bedrot_slo_success_ratio":                   {"source"},
		"bedrot_slo_freshness_seconds":               {"source"},
		"bedrot_slo_mttd_seconds":                    {},
		"bedrot_slo_mttr_seconds":                    {},
		"bedrot_agent_tasks_total":                   {"agent_type", "status"},
		"bedrot_agent_task_duration_seconds":         {"agent_type"},
		"bedrot_agent_knowledge_contributions_total": {"agent_type"},
	}
	for name, fam := range fams {
		if !strings.HasPrefix(name, Namespace+"_") {
			continue
		}
		names, ok := wantLabels[name]
		require.True(t, ok, "unexpected bedrot metric %s", name)
		for _, s := range fam.GetMetric() {
			var got []string
			for _, l := range s.GetLabel() {
				got = append(got, l.GetName())
			}
			require.ElementsMatch(t, names, got, name)
		}
	}
	require.Len(t, wantLabels, countPrefixed(fams), "every bedrot metric is exposed")

	require.InDelta(t, 2.0, value(series(t, fams, "bedrot_runs_total", map[string]string{"source": "spotify", "status": "succeeded"})), 0)
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_runs_total", map[string]string{"source": "spotify", "status": "failed"})), 0)
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_runs_total", map[string]string{"source": "distrokid", "status": "partial"})), 0)

	h := series(t, fams, "bedrot_run_duration_seconds", map[string]string{"source": "spotify", "status": "succeeded"}).GetHistogram()
	require.Equal(t, uint64(2), h.GetSampleCount())
	require.InDelta(t, 42.0+3000.0, h.GetSampleSum(), 1e-9)
	require.Equal(t, uint64(0), bucketCount(t, h, 30))
	require.Equal(t, uint64(1), bucketCount(t, h, 60))
	require.Equal(t, uint64(1), bucketCount(t, h, 1800))
	require.Equal(t, uint64(2), bucketCount(t, h, 3600))

	sh := series(t, fams, "bedrot_step_duration_seconds", map[string]string{"source": "spotify", "step": "read"}).GetHistogram()
	require.Equal(t, uint64(1), sh.GetSampleCount())
	require.Equal(t, uint64(0), bucketCount(t, sh, 0.1))
	require.Equal(t, uint64(1), bucketCount(t, sh, 0.5))

	require.InDelta(t, float64(t0.Unix()), value(series(t, fams, "bedrot_last_success_timestamp_seconds", map[string]string{"source": "spotify"})), 0)
	require.InDelta(t, float64(t0.Unix()), value(series(t, fams, "bedrot_last_success_timestamp_seconds", map[string]string{"source": "distrokid"})), 0)

	require.InDelta(t, 4100.0, value(series(t, fams, "bedrot_records_total", map[string]string{"source": "spotify", "stream": "streams"})), 0)
	require.InDelta(t, float64(1<<20+100), value(series(t, fams, "bedrot_ingested_bytes_total", map[string]string{"source": "spotify", "stream": "streams"})), 0)
	require.InDelta(t, 10.0, value(series(t, fams, "bedrot_records_total", map[string]string{"source": "distrokid", "stream": "sales"})), 0)
	require.InDelta(t, 2000.0, value(series(t, fams, "bedrot_ingested_bytes_total", map[string]string{"source": "distrokid", "stream": "sales"})), 0)
	require.InDelta(t, 2.0, value(series(t, fams, "bedrot_retries_total", map[string]string{"source": "spotify"})), 0)
	require.InDelta(t, 2.0, value(series(t, fams, "bedrot_plugin_launches_total", map[string]string{"plugin": "bedrot-source-spotify"})), 0)
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_plugin_crashes_total", map[string]string{"plugin": "bedrot-source-spotify"})), 0)
	require.InDelta(t, 0.75, value(series(t, fams, "bedrot_quality_score_ratio", map[string]string{"dataset": "raw/spotify/streams"})), 0)
	require.InDelta(t, 7200.0, value(series(t, fams, "bedrot_data_freshness_seconds", map[string]string{"dataset": "raw/spotify/streams"})), 0)
	require.InDelta(t, 3.0, value(series(t, fams, "bedrot_queued_runs", map[string]string{})), 0)

	require.Len(t, fams["bedrot_alerts_open"].GetMetric(), 4, "every known severity is exported")
	require.InDelta(t, 2.0, value(series(t, fams, "bedrot_alerts_open", map[string]string{"severity": "high"})), 0)
	for _, s := range []string{"critical", "medium", "low"} {
		require.InDelta(t, 0.0, value(series(t, fams, "bedrot_alerts_open", map[string]string{"severity": s})), 0, s)
	}

	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_validations_total", map[string]string{"dataset": "raw/spotify/streams", "outcome": "passed"})), 0)
	require.InDelta(t, 2.0, value(series(t, fams, "bedrot_validations_total", map[string]string{"dataset": "raw/spotify/streams", "outcome": "failed"})), 0)
	require.Len(t, fams["bedrot_alerts_raised_total"].GetMetric(), 4, "every known severity is exported")
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_alerts_raised_total", map[string]string{"severity": "medium"})), 0)
	require.InDelta(t, 0.0, value(series(t, fams, "bedrot_alerts_raised_total", map[string]string{"severity": "critical"})), 0)
	require.InDelta(t, 0.998, value(series(t, fams, "bedrot_slo_success_ratio", map[string]string{"source": "spotify"})), 0)
	require.InDelta(t, 26*3600.0, value(series(t, fams, "bedrot_slo_freshness_seconds", map[string]string{"source": "spotify"})), 0)
	require.InDelta(t, 90.0, value(series(t, fams, "bedrot_slo_mttd_seconds", map[string]string{})), 0)
	require.InDelta(t, 1200.0, value(series(t, fams, "bedrot_slo_mttr_seconds", map[string]string{})), 0)
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_agent_tasks_total", map[string]string{"agent_type": "data-quality", "status": "succeeded"})), 0)
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_agent_tasks_total", map[string]string{"agent_type": "data-quality", "status": "failed"})), 0)
	ah := series(t, fams, "bedrot_agent_task_duration_seconds", map[string]string{"agent_type": "data-quality"}).GetHistogram()
	require.Equal(t, uint64(2), ah.GetSampleCount())
	require.InDelta(t, 412.0, ah.GetSampleSum(), 1e-9)
	require.Equal(t, uint64(1), bucketCount(t, ah, 15))
	require.Equal(t, uint64(1), bucketCount(t, ah, 300))
	require.Equal(t, uint64(2), bucketCount(t, ah, 600))
	require.InDelta(t, 3.0, value(series(t, fams, "bedrot_agent_knowledge_contributions_total", map[string]string{"agent_type": "data-quality"})), 0)
}

func countPrefixed(fams map[string]*dto.MetricFamily) int {
	n := 0
	for name := range fams {
		if strings.HasPrefix(name, Namespace+"_") {
			n++
		}
	}
	return n
}

func TestLint(t *testing.T) {
	t.Parallel()
	m := New()
	// Give every vector a series so the linter sees each metric.
	m.RunFinished("spotify", StatusSucceeded, time.Second)
	m.StepFinished("spotify", "read", time.Second)
	m.Records("spotify", "streams", 1, 1)
	m.Retry("spotify")
	m.PluginLaunched("p")
	m.PluginCrashed("p")
	m.QualityScore("d", 1)
	m.SetFreshnessFunc(func() map[string]time.Time { return map[string]time.Time{"d": time.Now()} })
	m.Validated("d", ValidationPassed)
	m.AlertRaised(SeverityHigh)
	m.SetSLOSuccessRatio("spotify", 1)
	m.SetSLOFreshness("spotify", time.Hour)
	m.SetSLOMTTD(time.Minute)
	m.SetSLOMTTR(time.Minute)
	m.AgentTaskFinished("a", AgentTaskSucceeded, time.Second)
	m.AgentKnowledgeContributed("a", 1)

	for _, c := range []prometheus.Collector{
		m.runs, m.runDuration, m.stepDuration, m.lastSuccess, m.records, m.bytes,
		m.retries, m.launches, m.crashes, m.quality, m.openAlerts, m.queued, m.freshness,
		m.validations, m.alertsRaised, m.sloSuccess, m.sloFreshness, m.sloMTTD, m.sloMTTR,
		m.agentTasks, m.agentDuration, m.agentKnowledge,
	} {
		problems, err := testutil.CollectAndLint(c)
		require.NoError(t, err)
		require.Empty(t, problems)
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestOwnRegistry(t *testing.T) {
	t.Parallel()
	// Two instances must not collide, and nothing lands in the global registry.
	a, b := New(), New()
	a.Retry("x")
	b.Retry("x")
	fams, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		require.False(t, strings.HasPrefix(f.GetName(), Namespace+"_"), "global registry holds %s", f.GetName())
	}
	require.InDelta(t, 1.0, testutil.ToFloat64(a.retries.WithLabelValues("x")), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(b.retries.WithLabelValues("x")), 0)
}

func TestBoundedLabelValues(t *testing.T) {
	t.Parallel()
	m := New()
	m.RunFinished("spotify", "failed: GET https://api.spotify.com/v1/artists/123 returned 500", time.Second)
	m.RunFinished("", StatusFailed, time.Second)
	m.SetOpenAlerts("urgent-ish", 1)
	m.Records("spo\xfftify", "", 1, 0)

	require.InDelta(t, 1.0, testutil.ToFloat64(m.runs.WithLabelValues("spotify", StatusOther)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.runs.WithLabelValues(Unknown, StatusFailed)), 0)
	require.Equal(t, 2, testutil.CollectAndCount(m.runs))
	require.InDelta(t, 1.0, testutil.ToFloat64(m.openAlerts.WithLabelValues(SeverityOther)), 0)
	require.Equal(t, 5, testutil.CollectAndCount(m.openAlerts))
	require.InDelta(t, 1.0, testutil.ToFloat64(m.records.WithLabelValues("spo\uFFFDtify", Unknown)), 0)
	require.Equal(t, 0, testutil.CollectAndCount(m.bytes), "zero bytes adds no series")

	fams := scrape(t, m.Handler())
	for name, fam := range fams {
		for _, s := range fam.GetMetric() {
			for _, l := range s.GetLabel() {
				require.NotContains(t, l.GetValue(), "https://", "%s{%s}", name, l.GetName())
			}
		}
	}
}

func TestRunFinishedLastSuccessOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := t0
	m := newAt(&clock, &mu)

	m.RunFinished("spotify", StatusFailed, time.Second)
	m.RunFinished("spotify", StatusAbandoned, time.Second)
	require.Equal(t, 0, testutil.CollectAndCount(m.lastSuccess), "failed runs set no last success")

	m.RunFinished("spotify", StatusSucceeded, time.Second)
	require.InDelta(t, float64(t0.Unix()), testutil.ToFloat64(m.lastSuccess.WithLabelValues("spotify")), 0)

	mu.Lock()
	clock = t0.Add(time.Hour)
	mu.Unlock()
	m.RunFinished("spotify", StatusFailed, time.Second)
	require.InDelta(t, float64(t0.Unix()), testutil.ToFloat64(m.lastSuccess.WithLabelValues("spotify")), 0, "a failure keeps the old timestamp")

	// Seeding from run history after a restart.
	m.LastSuccess("distrokid", t0.Add(-24*time.Hour))
	m.LastSuccess("ignored", time.Time{})
	require.InDelta(t, float64(t0.Add(-24*time.Hour).Unix()), testutil.ToFloat64(m.lastSuccess.WithLabelValues("distrokid")), 0)
	require.Equal(t, 2, testutil.CollectAndCount(m.lastSuccess))
}

func TestQualityScoreClampsAndIgnoresNaN(t *testing.T) {
	t.Parallel()
	m := New()
	m.QualityScore("a", 1.5)
	m.QualityScore("b", -0.2)
	m.QualityScore("c", 0.5)
	m.QualityScore("c", math.NaN())
	require.InDelta(t, 1.0, testutil.ToFloat64(m.quality.WithLabelValues("a")), 0)
	require.InDelta(t, 0.0, testutil.ToFloat64(m.quality.WithLabelValues("b")), 0)
	require.InDelta(t, 0.5, testutil.ToFloat64(m.quality.WithLabelValues("c")), 0)
}

func TestCountersIgnoreNegatives(t *testing.T) {
	t.Parallel()
	m := New()
	m.Records("s", "x", 5, 50)
	m.Records("s", "x", -3, -30)
	m.SetQueueDepth(-1)
	m.SetOpenAlerts(SeverityLow, -2)
	require.InDelta(t, 5.0, testutil.ToFloat64(m.records.WithLabelValues("s", "x")), 0)
	require.InDelta(t, 50.0, testutil.ToFloat64(m.bytes.WithLabelValues("s", "x")), 0)
	require.InDelta(t, 0.0, testutil.ToFloat64(m.queued), 0)
	require.InDelta(t, 0.0, testutil.ToFloat64(m.openAlerts.WithLabelValues(SeverityLow)), 0)
}

func TestFreshnessComputedAtScrapeTime(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := t0
	m := newAt(&clock, &mu)
	h := m.Handler()

	fams := scrape(t, h)
	require.NotContains(t, fams, "bedrot_data_freshness_seconds", "no callback, no series")

	calls := 0
	newest := t0.Add(-10 * time.Minute)
	m.SetFreshnessFunc(func() map[string]time.Time {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return map[string]time.Time{
			"raw/spotify/streams": newest,
			"raw/empty":           {},                     // no data yet: left out
			"raw/skewed":          t0.Add(24 * time.Hour), // in the future: 0
		}
	})
	fams = scrape(t, h)
	require.Len(t, fams["bedrot_data_freshness_seconds"].GetMetric(), 2)
	require.InDelta(t, 600.0, value(series(t, fams, "bedrot_data_freshness_seconds", map[string]string{"dataset": "raw/spotify/streams"})), 0)
	require.InDelta(t, 0.0, value(series(t, fams, "bedrot_data_freshness_seconds", map[string]string{"dataset": "raw/skewed"})), 0)

	// Time passes and new data arrives: each scrape recomputes.
	mu.Lock()
	clock = t0.Add(time.Hour)
	mu.Unlock()
	fams = scrape(t, h)
	require.InDelta(t, 4200.0, value(series(t, fams, "bedrot_data_freshness_seconds", map[string]string{"dataset": "raw/spotify/streams"})), 0)
	mu.Lock()
	newest = t0.Add(50 * time.Minute)
	mu.Unlock()
	fams = scrape(t, h)
	require.InDelta(t, 600.0, value(series(t, fams, "bedrot_data_freshness_seconds", map[string]string{"dataset": "raw/spotify/streams"})), 0)
	mu.Lock()
	require.Equal(t, 3, calls)
	mu.Unlock()

	m.SetFreshnessFunc(nil)
	fams = scrape(t, h)
	require.NotContains(t, fams, "bedrot_data_freshness_seconds")
}

func TestFreshnessPanicDoesNotBreakScrape(t *testing.T) {
	t.Parallel()
	m := New()
	m.Retry("spotify")
	m.SetFreshnessFunc(func() map[string]time.Time { panic("metastore closed") })
	h := m.Handler()

	fams := scrape(t, h)
	require.NotContains(t, fams, "bedrot_data_freshness_seconds")
	require.InDelta(t, 1.0, value(series(t, fams, "bedrot_retries_total", map[string]string{"source": "spotify"})), 0)

	// The error is counted (visible on the next scrape).
	fams = scrape(t, h)
	require.GreaterOrEqual(t, value(series(t, fams, "promhttp_metric_handler_errors_total", map[string]string{"cause": "gathering"})), 1.0)
}

func TestHandlerNegotiatesOpenMetrics(t *testing.T) {
	t.Parallel()
	m := New()
	m.RunFinished("spotify", StatusSucceeded, time.Second)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "application/openmetrics-text"), rec.Header().Get("Content-Type"))
	body := rec.Body.String()
	require.Contains(t, body, `bedrot_runs_total{source="spotify",status="succeeded"} 1`)
	require.True(t, strings.HasSuffix(body, "# EOF\n"))
}

func TestRegisterExtraCollector(t *testing.T) {
	t.Parallel()
	m := New()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "extra_test", Help: "An extra gauge."})
	require.NoError(t, m.Register(g))
	err := m.Register(prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "extra_test", Help: "An extra gauge."}))
	require.ErrorContains(t, err, "metrics: register collector")
}

func TestConcurrentUpdatesAndScrapes(t *testing.T) {
	t.Parallel()
	m := New()
	h := m.Handler()
	var wg sync.WaitGroup
	const workers, per = 8, 200
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				m.RunFinished("spotify", StatusSucceeded, time.Second)
				m.Records("spotify", "streams", 1, 10)
				m.SetFreshnessFunc(func() map[string]time.Time { return map[string]time.Time{"d": time.Now()} })
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if rec.Code != http.StatusOK {
					t.Errorf("scrape status %d", rec.Code)
				}
			}
		}()
	}
	wg.Wait()
	require.InDelta(t, float64(workers*per), testutil.ToFloat64(m.runs.WithLabelValues("spotify", StatusSucceeded)), 0)
	require.InDelta(t, float64(workers*per*10), testutil.ToFloat64(m.bytes.WithLabelValues("spotify", "streams")), 0)
}

func TestValidationsAndRaisedAlertsBoundLabels(t *testing.T) {
	t.Parallel()
	m := New()
	m.Validated("raw/tiktok/videos", ValidationError)
	m.Validated("raw/tiktok/videos", "expectation expect_column_values_to_not_be_null failed on row 17")
	m.Validated("", ValidationPassed)
	m.AlertRaised(SeverityCritical)
	m.AlertRaised(SeverityCritical)
	m.AlertRaised("sev1")

	require.InDelta(t, 1.0, testutil.ToFloat64(m.validations.WithLabelValues("raw/tiktok/videos", ValidationError)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.validations.WithLabelValues("raw/tiktok/videos", StatusOther)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.validations.WithLabelValues(Unknown, ValidationPassed)), 0)
	require.Equal(t, 3, testutil.CollectAndCount(m.validations))
	require.InDelta(t, 2.0, testutil.ToFloat64(m.alertsRaised.WithLabelValues(SeverityCritical)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.alertsRaised.WithLabelValues(SeverityOther)), 0)
	require.Equal(t, 5, testutil.CollectAndCount(m.alertsRaised))
}

func TestSLOGauges(t *testing.T) {
	t.Parallel()
	m := New()
	require.Equal(t, 0, testutil.CollectAndCount(m.sloMTTD), "no incident measured, no series")
	require.Equal(t, 0, testutil.CollectAndCount(m.sloMTTR), "no alert resolved, no series")

	m.SetSLOSuccessRatio("spotify", 0.9995)
	m.SetSLOSuccessRatio("tiktok", 1.2)
	m.SetSLOSuccessRatio("distrokid", -1)
	m.SetSLOSuccessRatio("spotify", math.NaN())
	require.InDelta(t, 0.9995, testutil.ToFloat64(m.sloSuccess.WithLabelValues("spotify")), 0, "NaN keeps the last ratio")
	require.InDelta(t, 1.0, testutil.ToFloat64(m.sloSuccess.WithLabelValues("tiktok")), 0)
	require.InDelta(t, 0.0, testutil.ToFloat64(m.sloSuccess.WithLabelValues("distrokid")), 0)

	m.SetSLOFreshness("spotify", 8*24*time.Hour)
	m.SetSLOFreshness("tiktok", -time.Minute)
	require.InDelta(t, 8*86400.0, testutil.ToFloat64(m.sloFreshness.WithLabelValues("spotify")), 0)
	require.InDelta(t, 0.0, testutil.ToFloat64(m.sloFreshness.WithLabelValues("tiktok")), 0)

	m.SetSLOMTTD(4*time.Minute + 500*time.Millisecond)
	m.SetSLOMTTR(-time.Second)
	require.InDelta(t, 240.5, testutil.ToFloat64(m.sloMTTD.WithLabelValues()), 0)
	require.InDelta(t, 0.0, testutil.ToFloat64(m.sloMTTR.WithLabelValues()), 0)
	require.Equal(t, 1, testutil.CollectAndCount(m.sloMTTD))

	// A removed source stops being exported.
	m.ClearSLO("spotify")
	require.Equal(t, 2, testutil.CollectAndCount(m.sloSuccess))
	require.Equal(t, 1, testutil.CollectAndCount(m.sloFreshness))
	fams := scrape(t, m.Handler())
	for _, name := range []string{"bedrot_slo_success_ratio", "bedrot_slo_freshness_seconds"} {
		for _, s := range fams[name].GetMetric() {
			require.NotEqual(t, "spotify", labels(s)["source"], name)
		}
	}
}

func TestAgentMetrics(t *testing.T) {
	t.Parallel()
	m := New()
	m.AgentTaskFinished("ingestion", AgentTaskSucceeded, 2*time.Second)
	m.AgentTaskFinished("ingestion", AgentTaskCanceled, time.Second)
	m.AgentTaskFinished("ingestion", "panic: nil map", -time.Second)
	m.AgentTaskFinished("", AgentTaskFailed, time.Second)
	m.AgentKnowledgeContributed("ingestion", 2)
	m.AgentKnowledgeContributed("ingestion", 0)
	m.AgentKnowledgeContributed("ingestion", -5)
	m.AgentKnowledgeContributed("analysis", 0)

	require.InDelta(t, 1.0, testutil.ToFloat64(m.agentTasks.WithLabelValues("ingestion", AgentTaskSucceeded)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.agentTasks.WithLabelValues("ingestion", AgentTaskCanceled)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.agentTasks.WithLabelValues("ingestion", StatusOther)), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(m.agentTasks.WithLabelValues(Unknown, AgentTaskFailed)), 0)
	require.Equal(t, 4, testutil.CollectAndCount(m.agentTasks))
	require.InDelta(t, 2.0, testutil.ToFloat64(m.agentKnowledge.WithLabelValues("ingestion")), 0)
	require.Equal(t, 1, testutil.CollectAndCount(m.agentKnowledge), "nothing contributed, no series")

	fams := scrape(t, m.Handler())
	h := series(t, fams, "bedrot_agent_task_duration_seconds", map[string]string{"agent_type": "ingestion"}).GetHistogram()
	require.Equal(t, uint64(3), h.GetSampleCount())
	require.InDelta(t, 3.0, h.GetSampleSum(), 1e-9, "a negative duration is observed as 0")
	require.Equal(t, uint64(1), bucketCount(t, h, 0.5))
	require.Equal(t, uint64(3), bucketCount(t, h, 5))
}
