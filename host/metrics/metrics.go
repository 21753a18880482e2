// Package metrics holds the Prometheus metrics the bedrot daemon exposes on
// /metrics: runs, records and bytes ingested, run and step durations,
// retries, plugin launches and crashes, data quality, last success, data
// freshness and open alerts; validations and raised alerts; the service
// level figures (success rate, freshness, mean times to detect and to
// resolve) and the work of AI agents.
//
// Every metric lives in a registry of its own (never the client_golang
// global default), so tests and plugins cannot collide with it. Names carry
// the project prefix "bedrot_" and their unit, and labels are bounded: source,
// stream, dataset, status, outcome, severity, step, plugin and agent_type
// only — never a run ID, an agent ID, an ISRC, a file path or error text
// (those belong in logs and run history).
//
// The host calls the small API on *Metrics as things happen:
//
//	m := metrics.New()
//	m.RunFinished("spotify", "succeeded", 42*time.Second)
//	m.Records("spotify", "streams", 4096, 1<<20)
//	http.Handle("/metrics", m.Handler())
//
// All methods are safe for concurrent use.
package metrics

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace is the prefix of every bedrot metric name.
const Namespace = "bedrot"

// Run statuses RunFinished accepts as label values (the run statuses of the
// metastore). Anything else is counted as StatusOther so that a caller
// passing error text by mistake cannot blow up the label cardinality.
const (
	StatusSucceeded = "succeeded"
	StatusPartial   = "partial"
	StatusFailed    = "failed"
	StatusAbandoned = "abandoned"
	StatusOther     = "other"
)

// Severities accepted by SetOpenAlerts (the severities of the alerting
// matrix). Anything else is counted as SeverityOther.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityOther    = "other"
)

// Validation outcomes accepted by Validated. Anything else is counted as
// StatusOther.
const (
	ValidationPassed = "passed"
	ValidationFailed = "failed"
	ValidationError  = "error"
)

// Unknown replaces an empty label value: an empty value is
// indistinguishable from a missing label in PromQL.
const Unknown = "unknown"

var (
	knownStatuses   = map[string]bool{StatusSucceeded: true, StatusPartial: true, StatusFailed: true, StatusAbandoned: true}
	knownSeverities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}
	knownOutcomes   = map[string]bool{ValidationPassed: true, ValidationFailed: true, ValidationError: true}
)

// RunDurationBuckets are the upper bounds (seconds) of the run duration
// histogram: runs take from a second to about an hour, with headroom for
// the occasional two-hour backfill.
var RunDurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}

// StepDurationBuckets are the upper bounds (seconds) of the step duration
// histogram: steps are shorter than runs, down to a tenth of a second.
var StepDurationBuckets = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}

// AgentTaskDurationBuckets are the upper bounds (seconds) of the agent task
// duration histogram: from a quick lookup to an hour-long analysis.
var AgentTaskDurationBuckets = []float64{0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}

// Metrics is the daemon's set of metrics and the registry holding them.
// Create it with New.
type Metrics struct {
	reg    *prometheus.Registry
	logger *slog.Logger
	now    func() time.Time

	runs         *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	stepDuration *prometheus.HistogramVec
	lastSuccess  *prometheus.GaugeVec
	records      *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	retries      *prometheus.CounterVec
	launches     *prometheus.CounterVec
	crashes      *prometheus.CounterVec
	quality      *prometheus.GaugeVec
	openAlerts   *prometheus.GaugeVec
	queued       prometheus.Gauge
	freshness    *freshnessCollector

	validations  *prometheus.CounterVec
	alertsRaised *prometheus.CounterVec

	sloSuccess   *prometheus.GaugeVec
	sloFreshness *prometheus.GaugeVec
	sloMTTD      *prometheus.GaugeVec
	sloMTTR      *prometheus.GaugeVec

	agentTasks     *prometheus.CounterVec
	agentDuration  *prometheus.HistogramVec
	agentKnowledge *prometheus.CounterVec
}

// Option configures New.
type Option func(*Metrics)

// WithLogger makes the /metrics handler log errors met while gathering
// (for example a freshness callback that panicked) to l.
func WithLogger(l *slog.Logger) Option {
	return func(m *Metrics) { m.logger = l }
}

// New creates the metrics in a fresh registry, together with the Go runtime,
// process and build info collectors.
func New(opts ...Option) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now}
	for _, o := range opts {
		o(m)
	}

	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "runs_total",
		Help: "Finished ingestion runs by source and final status (succeeded, partial, failed, abandoned, other).",
	}, []string{"source", "status"})
	m.runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "run_duration_seconds",
		Help:    "Wall-clock duration of finished ingestion runs by source and final status.",
		Buckets: RunDurationBuckets,
	}, []string{"source", "status"})
	m.stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "step_duration_seconds",
		Help:    "Wall-clock duration of pipeline steps (read, land, write, validate, publish, ...) by source and step.",
		Buckets: StepDurationBuckets,
	}, []string{"source", "step"})
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "last_success_timestamp_seconds",
		Help: "Unix time of the last run of the source that finished with status succeeded or partial.",
	}, []string{"source"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "records_total",
		Help: "Records (rows) ingested by source and stream.",
	}, []string{"source", "stream"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "ingested_bytes_total",
		Help: "Bytes of original payload ingested by source and stream.",
	}, []string{"source", "stream"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "retries_total",
		Help: "Retries of a failed run or step, by source.",
	}, []string{"source"})
	m.launches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "plugin_launches_total",
		Help: "Plugin processes launched, by plugin name.",
	}, []string{"plugin"})
	m.crashes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "plugin_crashes_total",
		Help: "Plugin processes that exited unexpectedly, by plugin name.",
	}, []string{"plugin"})
	m.quality = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "quality_score_ratio",
		Help: "Data quality score of the last validation of the dataset, from 0 (all expectations failed) to 1 (all passed).",
	}, []string{"dataset"})
	m.openAlerts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "alerts_open",
		Help: "Alerts currently open (not resolved) by severity.",
	}, []string{"severity"})
	m.queued = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "queued_runs",
		Help: "Scheduled runs waiting for a worker.",
	})
	m.freshness = &freshnessCollector{
		desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "data_freshness_seconds"),
			"Age of the newest data of the dataset at scrape time (now minus the newest data timestamp).",
			[]string{"dataset"}, nil),
		now: func() time.Time { return m.now() },
	}

	m.validations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "validations_total",
		Help: "Finished validations of a dataset against its expectation suite, by outcome (passed, failed, error, other).",
	}, []string{"dataset", "outcome"})
	m.alertsRaised = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "alerts_raised_total",
		Help: "Alerts raised (new alerts, not repeats of an open one) by severity.",
	}, []string{"severity"})
	m.sloSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "slo", Name: "success_ratio",
		Help: "Pipeline success rate of the source over the SLO window: final runs that succeeded or partially succeeded divided by all final runs (goal: above 0.999).",
	}, []string{"source"})
	m.sloFreshness = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "slo", Name: "freshness_seconds",
		Help: "Data freshness of the source when the SLO was last computed: now minus the finish of its newest successful run (goal: under one week).",
	}, []string{"source"})
	// The mean times have no label: a vector without labels exports nothing
	// until the first incident is measured, instead of a misleading 0.
	m.sloMTTD = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "slo", Name: "mttd_seconds",
		Help: "Mean time to detect over the SLO window: from the condition's start (a failing run's finish) to its alert (goal: under 5 minutes).",
	}, nil)
	m.sloMTTR = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "slo", Name: "mttr_seconds",
		Help: "Mean time to resolve over the SLO window: from an alert's first detection to its resolution (goal: under 30 minutes).",
	}, nil)
	m.agentTasks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "agent", Name: "tasks_total",
		Help: "Finished AI agent tasks by agent type and final status (succeeded, failed, canceled, other).",
	}, []string{"agent_type", "status"})
	m.agentDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "agent", Name: "task_duration_seconds",
		Help:    "Wall-clock duration of finished AI agent tasks by agent type.",
		Buckets: AgentTaskDurationBuckets,
	}, []string{"agent_type"})
	m.agentKnowledge = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "agent", Name: "knowledge_contributions_total",
		Help: "Entries AI agents added to the knowledge base, by agent type.",
	}, []string{"agent_type"})

	// Every severity is always exported, so "no critical alert" is a 0,
	// not a missing series, and increase() sees the first raised alert.
	for _, s := range knownSeverities {
		m.openAlerts.WithLabelValues(s).Set(0)
		m.alertsRaised.WithLabelValues(s)
	}

	m.reg.MustRegister(
		m.runs, m.runDuration, m.stepDuration, m.lastSuccess, m.records, m.bytes,
		m.retries, m.launches, m.crashes, m.quality, m.openAlerts, m.queued, m.freshness,
		m.validations, m.alertsRaised, m.sloSuccess, m.sloFreshness, m.sloMTTD, m.sloMTTR,
		m.agentTasks, m.agentDuration, m.agentKnowledge,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// Registry returns the registry holding every metric, for tests and for
// gathering outside HTTP.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Register adds collectors of other packages (for example
// collectors.NewDBStatsCollector for the metastore pool) to the registry.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("metrics: register collector %T: %w", c, err)
		}
	}
	return nil
}

// Handler serves the registry in the Prometheus text format, or OpenMetrics
// when the scraper asks for it. A failing collector does not fail the whole
// scrape: the rest is served and promhttp_metric_handler_errors_total counts
// the error. The handler also counts its own requests
// (promhttp_metric_handler_requests_total).
func (m *Metrics) Handler() http.Handler {
	opts := promhttp.HandlerOpts{
		Registry:            m.reg,
		ErrorHandling:       promhttp.ContinueOnError,
		EnableOpenMetrics:   true,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	}
	if m.logger != nil {
		opts.ErrorLog = slogPrintln{m.logger}
	}
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, opts))
}

// RunFinished records a finished run of source: it counts the run under its
// status, observes its duration, and for status succeeded or partial sets the
// last-success timestamp to now. Statuses other than succeeded, partial,
// failed and abandoned are counted as "other".
func (m *Metrics) RunFinished(source, status string, d time.Duration) {
	source = labelValue(source)
	if !knownStatuses[status] {
		status = StatusOther
	}
	m.runs.WithLabelValues(source, status).Inc()
	m.runDuration.WithLabelValues(source, status).Observe(seconds(d))
	if status == StatusSucceeded || status == StatusPartial {
		m.lastSuccess.WithLabelValues(source).Set(unixSeconds(m.now()))
	}
}

// LastSuccess sets the last-success timestamp of source to t, for example
// from the run history when the daemon starts, so the gauge survives a
// restart. A zero t is ignored.
func (m *Metrics) LastSuccess(source string, t time.Time) {
	if t.IsZero() {
		return
	}
	m.lastSuccess.WithLabelValues(labelValue(source)).Set(unixSeconds(t))
}

// StepFinished observes the duration of one pipeline step of a run of
// source. step must come from a fixed set (read, land, write, validate,
// publish, ...), never from data.
func (m *Metrics) StepFinished(source, step string, d time.Duration) {
	m.stepDuration.WithLabelValues(labelValue(source), labelValue(step)).Observe(seconds(d))
}

// Records adds rows and bytes ingested for a stream of source. Negative
// counts are ignored (counters only go up).
func (m *Metrics) Records(source, stream string, rows, bytes int64) {
	source, stream = labelValue(source), labelValue(stream)
	if rows > 0 {
		m.records.WithLabelValues(source, stream).Add(float64(rows))
	}
	if bytes > 0 {
		m.bytes.WithLabelValues(source, stream).Add(float64(bytes))
	}
}

// Retry counts one retry of a run or step of source.
func (m *Metrics) Retry(source string) {
	m.retries.WithLabelValues(labelValue(source)).Inc()
}

// PluginLaunched counts a launch of the plugin called name.
func (m *Metrics) PluginLaunched(name string) {
	m.launches.WithLabelValues(labelValue(name)).Inc()
}

// PluginCrashed counts an unexpected exit of the plugin called name.
func (m *Metrics) PluginCrashed(name string) {
	m.crashes.WithLabelValues(labelValue(name)).Inc()
}

// QualityScore sets the data quality score of dataset, a ratio from 0 to 1
// (fraction of expectations that passed). Values outside [0, 1] are clamped;
// NaN is ignored.
func (m *Metrics) QualityScore(dataset string, score float64) {
	if math.IsNaN(score) {
		return
	}
	m.quality.WithLabelValues(labelValue(dataset)).Set(math.Max(0, math.Min(1, score)))
}

// SetOpenAlerts sets the number of open alerts of one severity. The four
// known severities are always exported (0 until set); any other severity is
// counted as "other".
func (m *Metrics) SetOpenAlerts(severity string, n int) {
	if !isKnownSeverity(severity) {
		severity = SeverityOther
	}
	m.openAlerts.WithLabelValues(severity).Set(float64(max(n, 0)))
}

// AlertRaised counts a new alert of severity (a repeat of an alert that is
// still open is not new). The four known severities are always exported (0
// until raised); any other severity is counted as "other".
func (m *Metrics) AlertRaised(severity string) {
	if !isKnownSeverity(severity) {
		severity = SeverityOther
	}
	m.alertsRaised.WithLabelValues(severity).Inc()
}

// Validated counts a finished validation of dataset. outcome is
// ValidationPassed, ValidationFailed (some expectation failed) or
// ValidationError (the validation could not run); anything else is counted
// as "other".
func (m *Metrics) Validated(dataset, outcome string) {
	if !knownOutcomes[outcome] {
		outcome = StatusOther
	}
	m.validations.WithLabelValues(labelValue(dataset), outcome).Inc()
}

// SetQueueDepth sets the number of scheduled runs waiting for a worker.
func (m *Metrics) SetQueueDepth(n int) {
	m.queued.Set(float64(max(n, 0)))
}

// SetFreshnessFunc sets the callback that reports, per dataset, the time of
// its newest data. It is called on every scrape; bedrot_data_freshness_seconds
// is now minus that time (0 if the time is in the future). Datasets with a
// zero time (no data yet) are left out. The callback must be safe for
// concurrent use and fast; nil removes it.
func (m *Metrics) SetFreshnessFunc(f func() map[string]time.Time) {
	m.freshness.set(f)
}

// freshnessCollector computes bedrot_data_freshness_seconds at scrape time.
type freshnessCollector struct {
	desc *prometheus.Desc
	now  func() time.Time

	mu sync.RWMutex
	f  func() map[string]time.Time
}

func (c *freshnessCollector) set(f func() map[string]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.f = f
}

// Describe implements prometheus.Collector.
func (c *freshnessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A panicking callback turns into
// a gathering error instead of taking the daemon down.
func (c *freshnessCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	f := c.f
	c.mu.RUnlock()
	if f == nil {
		return
	}
	newest, err := callFreshness(f)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	now := c.now()
	for dataset, t := range newest {
		if t.IsZero() {
			continue
		}
		age := max(now.Sub(t), 0)
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, seconds(age), labelValue(dataset))
	}
}

func callFreshness(f func() map[string]time.Time) (newest map[string]time.Time, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("metrics: freshness callback panicked: %v", r)
		}
	}()
	return f(), nil
}

// slogPrintln adapts a *slog.Logger to promhttp.Logger.
type slogPrintln struct{ l *slog.Logger }

func (s slogPrintln) Println(v ...any) {
	s.l.Error("metrics: serving /metrics", "error", fmt.Sprint(v...))
}

func isKnownSeverity(s string) bool { return slices.Contains(knownSeverities, s) }

// labelValue makes v a safe label value: empty becomes Unknown and invalid
// UTF-8 (which client_golang rejects with a panic) is replaced.
func labelValue(v string) string {
	if v == "" {
		return Unknown
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
