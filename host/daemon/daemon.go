// Package daemon is `bedrot serve`: the long-running host. It works the
// scheduler's queue (scheduled, triggered, retried and backfill runs), looks
// for alert conditions and remediates them, keeps the Prometheus metrics and
// SLO figures current, writes OpenLineage events, and serves an HTTP API
// (/api/v1/...), /metrics, /healthz and /readyz.
//
// On SIGTERM (the caller cancels Serve's context) the daemon stops taking
// jobs, gives running runs a grace period to finish, then cancels them: each
// keeps what it checkpointed and its plugin is killed; Serve returns nil.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/apiauth"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metrics"
	"github.com/bedrot-label/bedrot/host/notify"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/publish"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk"
)

// Options tune a daemon beyond its configuration.
type Options struct {
	// Grace is how long running runs may finish after a stop is asked for
	// (default 30s).
	Grace time.Duration
	// ID names the daemon among several (default host:pid).
	ID string
	// PollInterval overrides how often idle workers look for jobs.
	PollInterval time.Duration
	// RescueAfter overrides when a job a dead daemon left running is
	// retried (default: the longest source timeout plus a minute).
	RescueAfter time.Duration
}

// Daemon is a running host.
type Daemon struct {
	cfg     config.Config
	lake    *lake.Lake
	sched   *scheduler.Scheduler
	metrics *metrics.Metrics
	alerts  *alerts.Manager
	log     *slog.Logger
	opts    Options
	// poke asks the watch loop for a check now.
	poke chan struct{}
	// newest is each dataset's newest data (for freshness), as of the last
	// check.
	newestMu sync.Mutex
	newest   map[string]time.Time

	ready atomic.Bool
	// listener is the API's, once serving.
	mu       sync.Mutex
	listener net.Listener
}

// New opens the scheduler on the lake's metastore.
func New(ctx context.Context, l *lake.Lake, opts Options) (*Daemon, error) {
	if opts.Grace <= 0 {
		opts.Grace = 30 * time.Second
	}
	d := &Daemon{cfg: l.Config, lake: l, log: l.Logger, opts: opts, poke: make(chan struct{}, 1)}
	d.metrics = metrics.New(metrics.WithLogger(l.Logger))
	router, err := notify.NewRouter(l.Config.Alerts, notify.WithLogger(l.Logger))
	if err != nil {
		return nil, fmt.Errorf("%w: alerts: %w", config.ErrBadConfiguration, err)
	}
	d.alerts = alerts.NewManager(l.Meta, alerts.Options{Notifier: router, Remediator: remediator{d: d}, Logger: l.Logger})
	l.Pipeline.Observers = append(l.Pipeline.Observers, runMetrics{m: d.metrics, meta: l.Meta, log: l.Logger,
		plugin: func(source string) string { return l.Config.Source(source).Plugin }})
	d.metrics.SetFreshnessFunc(d.freshness)
	// The last-success gauge survives restarts: seed it from the history.
	if runs, err := l.Meta.ListRuns(ctx, metastore.RunFilter{Limit: 1000}); err == nil {
		for i := len(runs) - 1; i >= 0; i-- { // oldest first, so the newest wins
			if r := runs[i]; r.FinishedAt != nil && (r.Status == metastore.RunSucceeded || r.Status == metastore.RunPartial) {
				d.metrics.LastSuccess(r.Source, *r.FinishedAt)
			}
		}
	}
	var rt *agents.Runtime
	agentRun := func(ctx context.Context, a scheduler.AgentArgs) error { return agentRunner(rt, l.Logger)(ctx, a) }
	sched, err := OpenScheduler(ctx, l, max(1, l.Config.Daemon.Workers), scheduler.RunnerFunc(d.run), scheduler.ObserverFunc(d.jobDone), agentRun, opts)
	if err != nil {
		return nil, err
	}
	d.sched = sched
	if rt, err = AgentRuntime(l, sched, d.alerts); err != nil {
		_ = sched.Close()
		return nil, err
	}
	flush := rt.Finished
	rt.Finished = func(ctx context.Context, res agents.Result) {
		flush(ctx, res)
		s := res.Session
		status := metrics.AgentTaskSucceeded
		if s.Status != metastore.SessionCompleted {
			status = metrics.AgentTaskFailed
		}
		if s.FinishedAt != nil {
			d.metrics.AgentTaskFinished(s.AgentType, status, s.FinishedAt.Sub(s.StartedAt))
		}
		d.metrics.AgentKnowledgeContributed(s.AgentType, len(res.Knowledge))
	}
	return d, nil
}

// OpenScheduler opens the lake's job queue: with workers 0 it only inserts
// and lists jobs (what the CLI needs while a daemon works them).
func OpenScheduler(ctx context.Context, l *lake.Lake, workers int, runner scheduler.Runner, obs scheduler.Observer, agentRun scheduler.AgentRunner, opts Options) (*scheduler.Scheduler, error) {
	cfg := l.Config
	sources := map[string]scheduler.SourceSchedule{}
	for name := range cfg.Sources {
		sc := cfg.Source(name)
		sources[name] = scheduler.SourceSchedule{Spec: sc.Schedule, Timezone: sc.Timezone, Timeout: sc.Timeout}
	}
	sc := scheduler.Config{
		Meta: l.Meta, Sources: sources, Workers: workers, MaxAttempts: cfg.Daemon.MaxAttempts,
		RetryBackoff: cfg.Daemon.RetryBackoff, MisfireGrace: cfg.Daemon.MisfireGrace,
		Runner: runner, Observer: obs, AgentRunner: agentRun, Validator: validateJob(l), Logger: l.Logger, ID: opts.ID,
		FetchPollInterval: opts.PollInterval, RescueAfter: opts.RescueAfter,
	}
	if cfg.Database.URL != "" {
		sc.DatabaseURL, sc.Schema = cfg.Database.URL, cfg.Database.Schema
	} else {
		sc.QueuePath = filepath.Join(filepath.Dir(cfg.SQLitePath()), "queue.db")
	}
	s, err := scheduler.Open(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("failed to open the job queue: %w", err)
	}
	return s, nil
}

// Scheduler is the daemon's scheduler.
func (d *Daemon) Scheduler() *scheduler.Scheduler { return d.sched }

// Metrics is the daemon's metrics.
func (d *Daemon) Metrics() *metrics.Metrics { return d.metrics }

// Addr is the API's address once Serve listens.
func (d *Daemon) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.listener == nil {
		return ""
	}
	return d.listener.Addr().String()
}

// Serve runs until ctx is cancelled, then shuts down gracefully.
func (d *Daemon) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s (daemon.http, --http): %w", addr, err)
	}
	if err := apiauth.CheckExposure(ln.Addr(), d.cfg.Daemon.APIToken, "the daemon's API (daemon.http, --http)",
		"daemon.api_token (BEDROT_DAEMON_API_TOKEN, or BEDROT_DAEMON_API_TOKEN_FILE naming a file)"); err != nil {
		_ = ln.Close()
		return fmt.Errorf("%w: %w", config.ErrBadConfiguration, err)
	}
	d.mu.Lock()
	d.listener = ln
	d.mu.Unlock()
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()

	if err := d.sched.Start(ctx); err != nil {
		_ = srv.Close()
		return err
	}
	d.ready.Store(true)
	d.log.Info("daemon serving", "http", ln.Addr().String(), "sources", slices.Sorted(maps.Keys(d.cfg.Sources)),
		"workers", d.cfg.Daemon.Workers)

	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(3)
	go func() { defer wg.Done(); d.gaugeLoop(loopCtx) }()
	go func() { defer wg.Done(); d.watchLoop(loopCtx) }()
	go func() { defer wg.Done(); d.scrubLoop(loopCtx) }()

	select {
	case <-ctx.Done():
	case err := <-httpDone:
		stopLoops()
		wg.Wait()
		_ = d.sched.Stop(context.Background())
		return fmt.Errorf("the HTTP API stopped: %w", err)
	}
	d.log.Info("stopping: no new jobs; running runs get a grace period", "grace", d.opts.Grace)
	d.ready.Store(false)
	stopCtx, cancel := context.WithTimeout(context.Background(), d.opts.Grace)
	defer cancel()
	stopErr := d.sched.Stop(stopCtx)
	stopLoops()
	wg.Wait()
	shutCtx, cancelShut := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShut()
	_ = srv.Shutdown(shutCtx)
	if stopErr != nil {
		return stopErr
	}
	d.log.Info("stopped")
	return nil
}

// freshness is the newest data of each dataset, as of the last check.
func (d *Daemon) freshness() map[string]time.Time {
	d.newestMu.Lock()
	defer d.newestMu.Unlock()
	return maps.Clone(d.newest)
}

// Close releases the queue.
func (d *Daemon) Close() error { return d.sched.Close() }

// gaugeLoop keeps the queue depth and SLO figures current.
func (d *Daemon) gaugeLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if n, err := d.sched.QueueDepth(ctx); err == nil {
			d.metrics.SetQueueDepth(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// run does one job's run through the lake's pipeline, then the steps
// that follow a successful ingest (daemon.then: build, publish). A failed
// step does not fail the ingest, whose data is committed: it is logged, the
// steps after it are skipped, and the next run's steps catch up.
func (d *Daemon) run(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
	res, err := RunJob(ctx, d.lake, job)
	if err != nil || job.Args.Mode == scheduler.ModeReplay || res.Status == metastore.RunFailed || res.Rows == 0 {
		return res, err
	}
	for _, step := range d.cfg.Daemon.Then {
		began := time.Now()
		var serr error
		switch step {
		case "build":
			_, martsDirErr := os.Stat(d.cfg.Curated.MartsDir)
			_, _, serr = d.lake.Build(ctx, nil, martsDirErr != nil)
		case "publish":
			var tables []publish.TableResult
			if tables, serr = d.lake.Publish(ctx); serr == nil {
				d.log.Info("published the marts", "run", res.RunID, "tables", len(tables), "schema", d.cfg.Curated.AnalyticsSchema)
			}
		default:
			continue // config validation refuses other steps
		}
		if serr != nil {
			d.log.Error(step+" after ingest failed; the next run catches up", "run", res.RunID, "error", serr)
			break
		}
		d.metrics.StepFinished(job.Args.Source, step, time.Since(began))
	}
	return res, nil
}

// RunJob runs a job's source through l's pipeline: ingest (a backfill
// passes its window and stream), or replay.
func RunJob(ctx context.Context, l *lake.Lake, job scheduler.Job) (pipeline.Result, error) {
	sc := l.Config.Source(job.Args.Source)
	cfg := sdk.Config{}
	maps.Copy(cfg, sc.Config)
	switch job.Args.Mode {
	case scheduler.ModeReplay:
		return l.Pipeline.Replay(ctx, pipeline.Request{Source: job.Args.Source, Plugin: sc.Plugin, Config: cfg})
	case scheduler.ModeBackfill:
		cfg[sdk.ParamWindowStart], cfg[sdk.ParamWindowEnd] = job.Args.From, job.Args.To
	}
	return l.Pipeline.Ingest(ctx, pipeline.Request{Source: job.Args.Source, Plugin: sc.Plugin, Config: cfg, Streams: job.Args.Streams})
}

// jobDone hears every job outcome: a failure that will be retried marks
// its run retried (not final: no alert, not counted against the success
// rate); a final outcome asks for an alert check at once.
func (d *Daemon) jobDone(ctx context.Context, o scheduler.Outcome) {
	if o.Rescued {
		// The dead daemon's run is marked abandoned now, and its debris
		// removed, rather than before the next run: a job it discarded
		// has no next run, and its abandoned run is its outcome (check).
		if _, err := d.lake.Pipeline.Sweep(ctx); err != nil {
			d.log.Error("failed to sweep after rescuing a job", "job", o.Job.ID, "error", err)
		}
	}
	if o.Err != nil && !o.Final {
		d.metrics.Retry(o.Job.Args.Source)
		if o.Result.RunID != "" {
			if _, err := d.lake.Meta.MarkRunRetried(ctx, o.Result.RunID); err != nil {
				d.log.Error("failed to mark a run retried", "run", o.Result.RunID, "error", err)
			}
		}
	}
	if o.Final && o.Skipped == "" {
		select {
		case d.poke <- struct{}{}:
		default:
		}
	}
}

// runMetrics feeds the metrics from every run of the pipeline: the run,
// its steps, the records of each stream, the plugin launched (and whether
// it crashed) and the validations of its payloads.
type runMetrics struct {
	m    *metrics.Metrics
	meta metastore.Store
	// plugin names a source's plugin.
	plugin func(source string) string
	log    *slog.Logger
}

func (r runMetrics) RunStarted(context.Context, pipeline.Result) {}

func (r runMetrics) RunFinished(ctx context.Context, res pipeline.Result) {
	r.m.RunFinished(res.Source, res.Status, res.Finished.Sub(res.Started))
	if res.Status == metastore.RunSucceeded || res.Status == metastore.RunPartial {
		r.m.LastSuccess(res.Source, res.Finished)
	}
	plugin := r.plugin(res.Source)
	r.m.PluginLaunched(plugin)
	if res.ErrorKind == "crashed" {
		r.m.PluginCrashed(plugin)
	}
	for _, p := range res.Payloads {
		if p.Status != pipeline.StatusIngested {
			continue
		}
		r.m.Records(res.Source, streamOf(p), p.Records, p.Size)
		for _, id := range p.Validations {
			v, err := r.meta.GetValidation(ctx, id)
			if err != nil {
				continue
			}
			outcome := metrics.ValidationPassed
			if !v.Success {
				outcome = metrics.ValidationFailed
			}
			r.m.Validated(v.Dataset, outcome)
		}
	}
	steps, err := r.meta.ListSteps(ctx, res.RunID)
	if err != nil {
		r.log.Warn("failed to read a run's steps for the metrics", "run", res.RunID, "error", err)
		return
	}
	for _, st := range steps {
		if st.FinishedAt != nil {
			r.m.StepFinished(res.Source, st.Name, st.FinishedAt.Sub(st.StartedAt))
		}
	}
}

// streamOf names a payload's stream from its first raw file.
func streamOf(p pipeline.PayloadResult) string {
	if len(p.RawFiles) > 0 {
		if s := zone.RawFileStream(p.RawFiles[0]); s != "" {
			return s
		}
	}
	return metrics.Unknown
}

// errNotReady is /readyz's answer before the queue is started.
var errNotReady = errors.New("not ready")
