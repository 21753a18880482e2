// Package scheduler runs the lake's pipeline runs as durable jobs on a River
// queue (riverqueue/river): its SQLite driver on the embedded default, a
// database file of its own beside the metastore; its pgx driver on
// PostgreSQL, in the metastore's database and schema, where several daemons
// share the work.
//
// What a scheduled source gets:
//
//   - Every scheduled time (a "tick") of a source becomes one job whose
//     arguments hold the tick. Jobs are unique by their arguments across
//     every state River keeps, so each daemon may insert the same tick and
//     only the first insert counts: a tick runs exactly once however many
//     daemons share the queue, and keeps running while any daemon is up.
//     A tick missed while every daemon was down runs on start if it is
//     within the misfire grace (only the newest missed one).
//   - No overlapping runs of a source: a run holds the source's lease (the
//     metastore's process-bound lock); a tick that finds the previous run
//     still going is skipped and says so; a retried or rescued tick, and a
//     manual run, wait until the source is free, so that their run happens.
//   - A run that outlives its source's timeout is cancelled, which kills
//     its plugin; the run keeps what it checkpointed.
//   - Retries: MaxAttempts attempts in all (default 3), with exponential
//     backoff and jitter for transient failures; a rate-limited failure
//     waits for the reset time the source gave; a configuration error is
//     not retried.
//   - A daemon killed mid-run leaves its job "running"; River's rescuer on
//     another daemon (or the same one restarted) makes it available again
//     after the longest timeout plus a minute, and the run resumes from the
//     lake's committed state: nothing is lost or ingested twice.
//   - Paused sources (metastore PauseStore) start no run: their ticks are
//     skipped, other jobs wait until the source is resumed.
//
// The scheduler knows nothing of plugins or storage: a Runner does the run,
// and an Observer hears every outcome (for alerts, metrics and lineage).
package scheduler

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	mathrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
)

// Queue is the River queue pipeline runs go through.
const Queue = "bedrot_runs"

// Modes of a run.
const (
	ModeIngest   = "ingest"
	ModeReplay   = "replay"
	ModeBackfill = "backfill"
)

// Triggers: why a job exists.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	// TriggerRemediation: an alert's auto-remediation retries a failed source.
	TriggerRemediation = "remediation"
	TriggerBackfill    = "backfill"
)

// RunArgs are a job's arguments; they are also its identity for the
// uniqueness of scheduled ticks and backfill windows.
type RunArgs struct {
	Source  string `json:"source"`
	Mode    string `json:"mode"`
	Trigger string `json:"trigger"`
	// Tick is the scheduled time a schedule job runs for.
	Tick time.Time `json:"tick,omitzero"`
	// Streams limits the run to some streams (backfills name one).
	Streams []string `json:"streams,omitempty"`
	// From and To bound a backfill window (dates, inclusive).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Nonce makes each manual trigger a job of its own.
	Nonce string `json:"nonce,omitempty"`
}

// Kind is the River job kind.
func (RunArgs) Kind() string { return "bedrot_run" }

// Job is what a Runner is asked to run.
type Job struct {
	ID          int64
	Attempt     int
	MaxAttempts int
	Args        RunArgs
}

// Runner does one run of a job: ingest (optionally limited to streams and a
// window), or replay.
type Runner interface {
	Run(ctx context.Context, job Job) (pipeline.Result, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, job Job) (pipeline.Result, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, job Job) (pipeline.Result, error) { return f(ctx, job) }

// Outcome is what became of one attempt of a job.
type Outcome struct {
	Job    Job
	Result pipeline.Result
	// Err is the attempt's failure (nil on success or skip).
	Err error
	// Skipped says why the attempt did not run (paused, previous run still
	// running); Waiting is true when the job will try again later.
	Skipped string
	Waiting bool
	// Final is true when no attempt follows: the job succeeded, was
	// skipped for good, or failed for good (attempts used up, or a
	// configuration error).
	Final bool
	// RetryAt is when the next attempt runs, when one follows a failure.
	RetryAt time.Time
	// Rescued is true when the attempt's daemon died and this process
	// rescued the job (Err says so): the attempt's run, if it started one,
	// is left running in the metastore until a sweep marks it abandoned.
	Rescued bool
}

// Succeeded reports whether the attempt ran and its run succeeded (with or
// without quarantined payloads).
func (o Outcome) Succeeded() bool {
	return o.Skipped == "" && o.Err == nil &&
		(o.Result.Status == metastore.RunSucceeded || o.Result.Status == metastore.RunPartial)
}

// Observer hears every outcome; it must not block for long.
type Observer interface {
	JobDone(ctx context.Context, o Outcome)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, o Outcome)

// JobDone calls f.
func (f ObserverFunc) JobDone(ctx context.Context, o Outcome) { f(ctx, o) }

// SourceSchedule is one source's schedule.
type SourceSchedule struct {
	// Spec is a cron expression, descriptor or "@every <duration>"; empty
	// means on demand only.
	Spec string
	// Timezone (IANA) interprets Spec; default UTC.
	Timezone string
	// Timeout cancels a longer run (default 1h).
	Timeout time.Duration
}

// Config configures a Scheduler.
type Config struct {
	Meta metastore.Store
	// DatabaseURL, when set, is the PostgreSQL database of the queue (the
	// metastore's), Schema its schema. Otherwise QueuePath is River's
	// SQLite file.
	DatabaseURL string
	Schema      string
	QueuePath   string
	// Sources are the known sources and their schedules.
	Sources map[string]SourceSchedule
	// Workers is how many runs this process works at once; 0 makes a
	// client that only inserts and lists jobs (the CLI).
	Workers int
	// MaxAttempts per job (default 3).
	MaxAttempts int
	// RetryBackoff is the first retry's delay, doubled per attempt, with
	// ±25% jitter (default 30s).
	RetryBackoff time.Duration
	// MisfireGrace: how old a missed tick may be and still run on start
	// (default 1h).
	MisfireGrace time.Duration
	// PauseRecheck is how long a non-schedule job of a paused source waits
	// before it looks again (default 30s).
	PauseRecheck time.Duration
	// RescueAfter overrides when a job left running by a dead process is
	// retried (default: the longest timeout plus a minute).
	RescueAfter time.Duration
	// FetchPollInterval is how often idle workers look for jobs (default
	// 1s; SQLite has no notifications, so this is its latency).
	FetchPollInterval time.Duration
	// RescueInterval is how often the daemon looks for jobs a dead daemon
	// left running (default 5s).
	RescueInterval time.Duration
	Runner         Runner
	Observer       Observer
	// AgentRunner works queued agent sessions (nil: they are cancelled).
	AgentRunner AgentRunner
	// Validator works queued validations (nil: they are cancelled).
	Validator Validator
	Logger    *slog.Logger
	// ID names this process among daemons (default host:pid).
	ID  string
	Now func() time.Time
}

// queueClient is the part of a River client the scheduler uses; it hides
// the driver's transaction type.
type queueClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Scheduler is an open queue, working jobs when it has a Runner.
type Scheduler struct {
	cfg    Config
	client queueClient
	close  func()
	log    *slog.Logger
	now    func() time.Time

	schedules map[string]schedule
	// exec reaches River's driver (the orphan rescuer).
	exec func() riverdriver.Executor
	// unlockDaemon releases the daemon's lease.
	unlockDaemon func()

	mu       sync.Mutex
	retryAt  map[int64]time.Time // rate-limit resets of failing attempts, for the retry policy
	stopTick context.CancelFunc
	tickDone chan struct{}
}

// ErrUnknownSource is returned for a source the configuration does not name.
var ErrUnknownSource = errors.New("unknown source")

// ErrPaused is returned when a run of a paused source is requested.
var ErrPaused = errors.New("source is paused")

// ErrBadRequest marks a request that cannot be done as asked (a backfill
// range backwards, an unknown mode); errors.Is finds it, its text is the
// reason alone.
var ErrBadRequest = errors.New("bad request")

type badRequest struct{ error }

func (badRequest) Is(target error) bool { return target == ErrBadRequest }

func badRequestf(format string, args ...any) error { return badRequest{fmt.Errorf(format, args...)} }

// Open opens (and migrates) the queue.
func Open(ctx context.Context, cfg Config) (*Scheduler, error) {
	if cfg.Meta == nil {
		return nil, errors.New("scheduler: no metastore")
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 30 * time.Second
	}
	if cfg.MisfireGrace <= 0 {
		cfg.MisfireGrace = time.Hour
	}
	if cfg.PauseRecheck <= 0 {
		cfg.PauseRecheck = 30 * time.Second
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = time.Second
	}
	if cfg.RescueInterval <= 0 {
		cfg.RescueInterval = 5 * time.Second
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	s := &Scheduler{cfg: cfg, log: cfg.Logger, now: cfg.Now, retryAt: map[int64]time.Time{}, schedules: map[string]schedule{}}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	for name, sc := range cfg.Sources {
		if sc.Spec == "" {
			continue
		}
		sched, err := parseSchedule(sc.Spec, sc.Timezone)
		if err != nil {
			return nil, fmt.Errorf("sources.%s.schedule: %w", name, err)
		}
		s.schedules[name] = sched
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{s: s})
	river.AddWorker(workers, &funcWorker[AgentArgs]{work: cfg.AgentRunner, absent: "this daemon runs no agents"})
	river.AddWorker(workers, &funcWorker[ValidateArgs]{work: cfg.Validator, absent: "this daemon validates no datasets"})
	rc := &river.Config{
		ID:                          cfg.ID,
		Logger:                      slog.New(quietHandler{s.log.Handler()}).With("component", "river"),
		MaxAttempts:                 cfg.MaxAttempts,
		Workers:                     workers,
		RetryPolicy:                 &retryPolicy{s: s},
		RescueStuckJobsAfter:        s.rescueAfter(),
		JobTimeout:                  -1, // per job, from its source (worker.Timeout)
		CompletedJobRetentionPeriod: 14 * 24 * time.Hour,
		CancelledJobRetentionPeriod: 30 * 24 * time.Hour,
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
		FetchPollInterval:           cfg.FetchPollInterval,
		FetchCooldown:               min(100*time.Millisecond, cfg.FetchPollInterval),
		Schema:                      cfg.Schema,
	}
	if cfg.Workers > 0 {
		if cfg.Runner == nil {
			return nil, errors.New("scheduler: workers without a runner")
		}
		rc.Queues = map[string]river.QueueConfig{Queue: {MaxWorkers: cfg.Workers}}
	}
	var err error
	if cfg.DatabaseURL != "" {
		err = s.openPostgres(ctx, rc)
	} else {
		err = s.openSQLite(ctx, rc)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Scheduler) openPostgres(ctx context.Context, rc *river.Config) error {
	pc, err := pgxpool.ParseConfig(s.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("failed to open the job queue: bad database URL: %w", redactErr(err, s.cfg.DatabaseURL))
	}
	pc.MaxConns = int32(max(4, s.cfg.Workers+4))
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("failed to open the job queue: %w", redactErr(err, s.cfg.DatabaseURL))
	}
	driver := riverpgxv5.New(pool)
	if err := s.migrate(ctx, func(ctx context.Context) error {
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: s.cfg.Schema, Logger: rc.Logger})
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}); err != nil {
		pool.Close()
		return err
	}
	client, err := river.NewClient[pgx.Tx](driver, rc)
	if err != nil {
		pool.Close()
		return fmt.Errorf("failed to open the job queue: %w", err)
	}
	s.client, s.close = client, pool.Close
	s.exec = driver.GetExecutor
	return nil
}

func (s *Scheduler) openSQLite(ctx context.Context, rc *river.Config) error {
	if s.cfg.QueuePath == "" {
		return errors.New("scheduler: no queue path for SQLite")
	}
	db, err := sql.Open("sqlite", "file:"+s.cfg.QueuePath+"?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("failed to open the job queue %s: %w", s.cfg.QueuePath, err)
	}
	// SQLite takes one writer at a time; River's own advice is one connection.
	db.SetMaxOpenConns(1)
	driver := riversqlite.New(db)
	if err := s.migrate(ctx, func(ctx context.Context) error {
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: rc.Logger})
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}); err != nil {
		_ = db.Close()
		return err
	}
	// SQLite has no LISTEN/NOTIFY: poll.
	rc.PollOnly = true
	client, err := river.NewClient[*sql.Tx](driver, rc)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("failed to open the job queue: %w", err)
	}
	s.client, s.close = client, func() { _ = db.Close() }
	s.exec = driver.GetExecutor
	return nil
}

// migrate runs River's migrations under the metastore's lease, so that
// daemons starting together do not race.
func (s *Scheduler) migrate(ctx context.Context, run func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	unlock, err := metastore.WaitLock(ctx, s.cfg.Meta, "river-migrate", 100*time.Millisecond)
	if err != nil {
		return fmt.Errorf("failed to migrate the job queue: %w", err)
	}
	err = run(ctx)
	unlock()
	if err != nil {
		return fmt.Errorf("failed to migrate the job queue: %w", redactErr(err, s.cfg.DatabaseURL))
	}
	return nil
}

// Close releases the queue's database. Stop first if started.
func (s *Scheduler) Close() error {
	if s.close != nil {
		s.close()
	}
	return nil
}

// Start starts working jobs and inserting scheduled ticks.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.cfg.Workers <= 0 {
		return errors.New("scheduler: started without workers")
	}
	// The lease says this daemon is alive to the others' orphan rescuers;
	// it is taken before any job is worked.
	unlock, err := s.cfg.Meta.LockRun(ctx, daemonLease(s.cfg.ID))
	if err != nil {
		return fmt.Errorf("failed to start: daemon id %q: %w (is another daemon running with the same --id?)", s.cfg.ID, err)
	}
	if err := s.client.Start(ctx); err != nil {
		unlock()
		return fmt.Errorf("failed to start the job queue: %w", err)
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.mu.Lock()
	s.stopTick, s.tickDone, s.unlockDaemon = cancel, done, unlock
	s.mu.Unlock()
	go func() {
		defer close(done)
		rescued := make(chan struct{})
		go func() { defer close(rescued); s.rescueLoop(tctx, s.cfg.RescueInterval) }()
		s.tickLoop(tctx)
		<-rescued
	}()
	return nil
}

// Stop stops taking jobs and waits for running ones until ctx ends; then
// it cancels them (their plugins are killed and they keep what they
// checkpointed) and waits for them to wind down.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop, done := s.stopTick, s.tickDone
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	defer func() {
		s.mu.Lock()
		unlock := s.unlockDaemon
		s.unlockDaemon = nil
		s.mu.Unlock()
		if unlock != nil {
			unlock()
		}
	}()
	err := s.client.Stop(ctx)
	if err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := s.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("failed to stop the job queue: %w", err)
	}
	return nil
}

// Schedules lists the sources with a schedule and their next tick after now.
func (s *Scheduler) Schedules() map[string]time.Time {
	out := map[string]time.Time{}
	now := s.now()
	for name, sched := range s.schedules {
		out[name] = sched.Next(now)
	}
	return out
}

func (s *Scheduler) rescueAfter() time.Duration {
	if s.cfg.RescueAfter > 0 {
		return s.cfg.RescueAfter
	}
	longest := time.Hour
	for _, sc := range s.cfg.Sources {
		longest = max(longest, sc.Timeout)
	}
	return longest + time.Minute
}

func (s *Scheduler) timeout(source string) time.Duration {
	if sc, ok := s.cfg.Sources[source]; ok && sc.Timeout > 0 {
		return sc.Timeout
	}
	return time.Hour
}

// tickLoop inserts each source's scheduled ticks as they come due.
func (s *Scheduler) tickLoop(ctx context.Context) {
	next := map[string]time.Time{}
	now := s.now()
	for _, name := range slices.Sorted(maps.Keys(s.schedules)) {
		sched := s.schedules[name]
		if last := prevTick(sched, now); !last.IsZero() && now.Sub(last) <= s.cfg.MisfireGrace {
			s.insertTick(ctx, name, last)
		}
		next[name] = sched.Next(now)
	}
	for {
		var soonest time.Time
		for _, t := range next {
			if soonest.IsZero() || t.Before(soonest) {
				soonest = t
			}
		}
		if soonest.IsZero() {
			<-ctx.Done()
			return
		}
		timer := time.NewTimer(time.Until(soonest))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		now := s.now()
		for _, name := range slices.Sorted(maps.Keys(next)) {
			t := next[name]
			if t.After(now) {
				continue
			}
			sched := s.schedules[name]
			// Behind (a suspended machine): run only the newest due tick.
			for n := sched.Next(t); !n.After(now); n = sched.Next(t) {
				t = n
			}
			s.insertTick(ctx, name, t)
			next[name] = sched.Next(t)
		}
	}
}

// insertTick inserts the job of a source's tick unless some daemon already
// did.
func (s *Scheduler) insertTick(ctx context.Context, source string, tick time.Time) {
	args := RunArgs{Source: source, Mode: ModeIngest, Trigger: TriggerSchedule, Tick: tick.UTC()}
	res, err := s.client.Insert(ctx, args, &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: everyState}})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("failed to queue a scheduled run", "source", source, "tick", tick, "error", err)
		}
		return
	}
	if res.UniqueSkippedAsDuplicate {
		s.log.Debug("scheduled run already queued by another daemon", "source", source, "tick", tick)
		return
	}
	s.log.Info("queued scheduled run", "source", source, "tick", tick, "job", res.Job.ID)
}

// everyState makes a tick unique for as long as River keeps its job.
var everyState = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded,
	rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

func (s *Scheduler) known(source string) error {
	if _, ok := s.cfg.Sources[source]; !ok {
		names := slices.Sorted(maps.Keys(s.cfg.Sources))
		return fmt.Errorf("%w %q: configured sources are %v (sources.<name> in bedrot.yaml)", ErrUnknownSource, source, names)
	}
	return nil
}

// Trigger queues a run of a source now (mode ingest or replay) and returns
// its job.
func (s *Scheduler) Trigger(ctx context.Context, source, mode, trigger string) (JobInfo, error) {
	if err := s.known(source); err != nil {
		return JobInfo{}, err
	}
	if mode == "" {
		mode = ModeIngest
	}
	if mode != ModeIngest && mode != ModeReplay {
		return JobInfo{}, badRequestf("mode %q is not one of ingest, replay", mode)
	}
	if trigger == "" {
		trigger = TriggerManual
	}
	pauses, err := s.cfg.Meta.Pauses(ctx)
	if err != nil {
		return JobInfo{}, err
	}
	if p, ok := pauses[source]; ok && trigger != TriggerRemediation {
		return JobInfo{}, fmt.Errorf("%w: %s was paused by %s at %s (%s); `bedrot resume %s` first", ErrPaused, source, p.By,
			p.At.Format(time.RFC3339), p.Reason, source)
	}
	res, err := s.client.Insert(ctx, RunArgs{Source: source, Mode: mode, Trigger: trigger, Nonce: nonce()}, &river.InsertOpts{Queue: Queue})
	if err != nil {
		return JobInfo{}, fmt.Errorf("failed to queue a run of %s: %w", source, err)
	}
	return jobInfo(res.Job), nil
}

// BackfillRequest asks for a stream's history between two dates.
type BackfillRequest struct {
	Source, Stream string
	From, To       time.Time // dates, inclusive
	// Window is the length of each job's slice (default 7 days).
	Window time.Duration
}

// BackfillResult says what Backfill queued.
type BackfillResult struct {
	Windows int       `json:"windows"`
	Queued  int       `json:"queued"`
	Skipped int       `json:"skipped"` // already done, queued or running
	Jobs    []JobInfo `json:"jobs"`
}

// Backfill queues one job per window of the range. It is resumable: a
// window already done (or queued, or running) is not queued again, so
// running the same backfill again after an interruption queues only what
// is left; a window that failed for good is queued again.
func (s *Scheduler) Backfill(ctx context.Context, req BackfillRequest) (BackfillResult, error) {
	if err := s.known(req.Source); err != nil {
		return BackfillResult{}, err
	}
	if req.Stream == "" {
		return BackfillResult{}, badRequestf("a backfill names its stream (--stream)")
	}
	from, to := day(req.From), day(req.To)
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return BackfillResult{}, badRequestf("backfill range %s..%s: --from must be a date on or before --to", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	window := req.Window
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	days := max(1, int(window/(24*time.Hour)))
	var params []river.InsertManyParams
	for start := from; !start.After(to); start = start.AddDate(0, 0, days) {
		end := start.AddDate(0, 0, days-1)
		if end.After(to) {
			end = to
		}
		params = append(params, river.InsertManyParams{
			Args: RunArgs{Source: req.Source, Mode: ModeBackfill, Trigger: TriggerBackfill, Streams: []string{req.Stream},
				From: start.Format(time.DateOnly), To: end.Format(time.DateOnly)},
			InsertOpts: &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true}},
		})
	}
	if len(params) > 10000 {
		return BackfillResult{}, badRequestf("backfill of %d windows is too many: use a longer --window", len(params))
	}
	res, err := s.client.InsertMany(ctx, params)
	if err != nil {
		return BackfillResult{}, fmt.Errorf("failed to queue the backfill: %w", err)
	}
	out := BackfillResult{Windows: len(params)}
	for _, r := range res {
		if r.UniqueSkippedAsDuplicate {
			out.Skipped++
			continue
		}
		out.Queued++
		out.Jobs = append(out.Jobs, jobInfo(r.Job))
	}
	return out, nil
}

// Pause pauses a source (by is a user name, or "auto").
func (s *Scheduler) Pause(ctx context.Context, source, by, reason string) (bool, error) {
	if err := s.known(source); err != nil {
		return false, err
	}
	return s.cfg.Meta.PauseSource(ctx, metastore.Pause{Source: source, At: s.now().UTC(), By: by, Reason: reason})
}

// Resume resumes a paused source.
func (s *Scheduler) Resume(ctx context.Context, source string) (bool, error) {
	if err := s.known(source); err != nil {
		return false, err
	}
	return s.cfg.Meta.ResumeSource(ctx, source)
}

// Cancel cancels a queued or running job.
func (s *Scheduler) Cancel(ctx context.Context, id int64) (JobInfo, error) {
	row, err := s.client.JobCancel(ctx, id)
	if err != nil {
		return JobInfo{}, fmt.Errorf("failed to cancel job %d: %w", id, err)
	}
	return jobInfo(row), nil
}

// Job returns one job.
func (s *Scheduler) Job(ctx context.Context, id int64) (JobInfo, error) {
	row, err := s.client.JobGet(ctx, id)
	if err != nil {
		if errors.Is(err, river.ErrNotFound) {
			return JobInfo{}, fmt.Errorf("job %d: %w", id, metastore.ErrNotFound)
		}
		return JobInfo{}, fmt.Errorf("failed to read job %d: %w", id, err)
	}
	return jobInfo(row), nil
}

// JobFilter selects jobs.
type JobFilter struct {
	// States: available, scheduled, running, retryable, completed,
	// cancelled, discarded, pending. Empty: all.
	States []string
	Source string
	Limit  int // default 50
}

// Jobs lists jobs, newest first.
func (s *Scheduler) Jobs(ctx context.Context, f JobFilter) ([]JobInfo, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var out []JobInfo
	var cursor *river.JobListCursor
	for len(out) < limit {
		p := river.NewJobListParams().Kinds(RunArgs{}.Kind(), AgentArgs{}.Kind(), ValidateArgs{}.Kind()).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(min(500, limit*4))
		if len(f.States) > 0 {
			states := make([]rivertype.JobState, len(f.States))
			for i, st := range f.States {
				states[i] = rivertype.JobState(st)
			}
			p = p.States(states...)
		}
		if cursor != nil {
			p = p.After(cursor)
		}
		res, err := s.client.JobList(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("failed to list jobs: %w", err)
		}
		for _, row := range res.Jobs {
			ji := jobInfo(row)
			if f.Source != "" && ji.Source != f.Source {
				continue
			}
			out = append(out, ji)
			if len(out) == limit {
				break
			}
		}
		if len(res.Jobs) == 0 || res.LastCursor == nil {
			break
		}
		cursor = res.LastCursor
	}
	return out, nil
}

// QueueDepth counts jobs waiting to run (available, scheduled, retryable,
// pending), up to 10000.
func (s *Scheduler) QueueDepth(ctx context.Context) (int, error) {
	jobs, err := s.Jobs(ctx, JobFilter{States: []string{"available", "scheduled", "retryable", "pending"}, Limit: 10000})
	return len(jobs), err
}

func nonce() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// jitter returns d ±25%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + mathrand.Float64()*0.5))
}

func day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
