package scheduler_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/scheduler"
)

const defaultTestDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// queue is one shared queue: a metastore and where River keeps its jobs.
type queue struct {
	name   string
	meta   metastore.Store
	url    string
	schema string
	path   string
}

func sqliteQueue(t *testing.T) *queue {
	dir := t.TempDir()
	meta, err := sqlstore.Open(t.Context(), sqlstore.Config{SQLitePath: filepath.Join(dir, "bedrot.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = meta.Close() })
	return &queue{name: "sqlite", meta: meta, path: filepath.Join(dir, "queue.db")}
}

func postgresQueue(t *testing.T) *queue {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bedrot_sched_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgtest.URL())
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		require.NoError(t, err)
	})
	meta, err := sqlstore.OpenPostgres(t.Context(), pgtest.URL(), schema)
	require.NoError(t, err)
	t.Cleanup(func() { _ = meta.Close() })
	return &queue{name: "postgres", meta: meta, url: pgtest.URL(), schema: schema}
}

func forEachQueue(t *testing.T, fn func(t *testing.T, q *queue)) {
	for _, open := range []func(*testing.T) *queue{sqliteQueue, postgresQueue} {
		q := open(t)
		t.Run(q.name, func(t *testing.T) {
			t.Parallel()
			fn(t, q)
		})
	}
}

func (q *queue) config(sources map[string]scheduler.SourceSchedule, runner scheduler.Runner, obs scheduler.Observer) scheduler.Config {
	return scheduler.Config{
		Meta: q.meta, DatabaseURL: q.url, Schema: q.schema, QueuePath: q.path,
		Sources: sources, Workers: 2, MaxAttempts: 3, RetryBackoff: 100 * time.Millisecond,
		PauseRecheck: 200 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		Runner: runner, Observer: obs,
	}
}

func start(t *testing.T, cfg scheduler.Config) *scheduler.Scheduler {
	t.Helper()
	s, err := scheduler.Open(t.Context(), cfg)
	require.NoError(t, err)
	if cfg.Workers > 0 {
		require.NoError(t, s.Start(context.Background()))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if cfg.Workers > 0 {
			_ = s.Stop(ctx)
		}
		_ = s.Close()
	})
	return s
}

// recorder is an Observer keeping every outcome.
type recorder struct {
	mu       sync.Mutex
	outcomes []scheduler.Outcome
}

func (r *recorder) JobDone(_ context.Context, o scheduler.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, o)
}

func (r *recorder) all() []scheduler.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]scheduler.Outcome(nil), r.outcomes...)
}

func (r *recorder) finals() []scheduler.Outcome {
	var out []scheduler.Outcome
	for _, o := range r.all() {
		if o.Final {
			out = append(out, o)
		}
	}
	return out
}

func succeeded(job scheduler.Job) pipeline.Result {
	return pipeline.Result{RunID: fmt.Sprintf("run-%d-%d", job.ID, job.Attempt), Source: job.Args.Source, Status: metastore.RunSucceeded}
}

func failed(job scheduler.Job, kind string) (pipeline.Result, error) {
	err := fmt.Errorf("the API answered 503 (attempt %d)", job.Attempt)
	return pipeline.Result{RunID: fmt.Sprintf("run-%d-%d", job.ID, job.Attempt), Source: job.Args.Source, Status: metastore.RunFailed,
		Error: err.Error(), ErrorKind: kind}, err
}

func waitJob(t *testing.T, s *scheduler.Scheduler, id int64, states ...string) scheduler.JobInfo {
	t.Helper()
	var ji scheduler.JobInfo
	require.Eventually(t, func() bool {
		var err error
		ji, err = s.Job(t.Context(), id)
		require.NoError(t, err)
		for _, st := range states {
			if ji.State == st {
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "job %d never reached %v", id, states)
	return ji
}

func TestTransientFailuresAreRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	forEachQueue(t, func(t *testing.T, q *queue) {
		var mu sync.Mutex
		var attempts []time.Time
		runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
			mu.Lock()
			attempts = append(attempts, time.Now())
			mu.Unlock()
			if job.Attempt < 3 {
				return failed(job, "transient")
			}
			return succeeded(job), nil
		})
		rec := &recorder{}
		s := start(t, q.config(map[string]scheduler.SourceSchedule{"spotify": {}}, runner, rec))
		ji, err := s.Trigger(t.Context(), "spotify", "", "")
		require.NoError(t, err)
		ji = waitJob(t, s, ji.ID, "completed")
		require.Equal(t, 3, ji.Attempt)
		require.Equal(t, "run-"+fmt.Sprint(ji.ID)+"-3", ji.RunID, "the job records the run that succeeded")

		mu.Lock()
		defer mu.Unlock()
		require.Len(t, attempts, 3)
		// Backoff 100ms doubled, ±25%: at least 75ms, then 150ms.
		require.GreaterOrEqual(t, attempts[1].Sub(attempts[0]), 75*time.Millisecond)
		require.GreaterOrEqual(t, attempts[2].Sub(attempts[1]), 150*time.Millisecond)

		outs := rec.all()
		require.Len(t, outs, 3)
		require.False(t, outs[0].Final)
		require.False(t, outs[0].RetryAt.IsZero())
		require.False(t, outs[1].Final)
		require.True(t, outs[2].Final)
		require.True(t, outs[2].Succeeded())
	})
}

func TestRunFailingEveryAttemptIsFinalAfterThree(t *testing.T) {
	t.Parallel()
	forEachQueue(t, func(t *testing.T, q *queue) {
		runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
			return failed(job, "transient")
		})
		rec := &recorder{}
		s := start(t, q.config(map[string]scheduler.SourceSchedule{"tiktok": {}}, runner, rec))
		ji, err := s.Trigger(t.Context(), "tiktok", "", "")
		require.NoError(t, err)
		ji = waitJob(t, s, ji.ID, "discarded")
		require.Equal(t, 3, ji.Attempt)
		require.Contains(t, ji.LastError, "503")
		finals := rec.finals()
		require.Len(t, finals, 1)
		require.Error(t, finals[0].Err)
		require.Equal(t, 3, finals[0].Job.Attempt)
	})
}

func TestConfigurationErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	forEachQueue(t, func(t *testing.T, q *queue) {
		var calls int
		var mu sync.Mutex
		runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			return failed(job, "config")
		})
		rec := &recorder{}
		s := start(t, q.config(map[string]scheduler.SourceSchedule{"spotify": {}}, runner, rec))
		ji, err := s.Trigger(t.Context(), "spotify", "", "")
		require.NoError(t, err)
		ji = waitJob(t, s, ji.ID, "cancelled")
		require.Equal(t, 1, ji.Attempt)
		mu.Lock()
		require.Equal(t, 1, calls)
		mu.Unlock()
		require.Len(t, rec.finals(), 1)
	})
}

func TestRateLimitedRunWaitsForTheReset(t *testing.T) {
	t.Parallel()
	q := sqliteQueue(t)
	reset := time.Now().Add(1500 * time.Millisecond)
	var mu sync.Mutex
	var second time.Time
	runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
		if job.Attempt == 1 {
			res, err := failed(job, "rate_limited")
			res.RetryAt = &reset
			return res, err
		}
		mu.Lock()
		second = time.Now()
		mu.Unlock()
		return succeeded(job), nil
	})
	s := start(t, q.config(map[string]scheduler.SourceSchedule{"spotify": {}}, runner, &recorder{}))
	ji, err := s.Trigger(t.Context(), "spotify", "", "")
	require.NoError(t, err)
	waitJob(t, s, ji.ID, "completed")
	mu.Lock()
	defer mu.Unlock()
	require.False(t, second.Before(reset), "the retry ran at %s, before the limit reset at %s", second, reset)
}

func TestRunOverItsTimeoutIsCancelled(t *testing.T) {
	t.Parallel()
	q := sqliteQueue(t)
	cancelled := make(chan time.Duration, 3)
	runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
		began := time.Now()
		<-ctx.Done()
		cancelled <- time.Since(began)
		return pipeline.Result{Status: metastore.RunFailed, ErrorKind: "stopped", Error: "run cancelled"}, ctx.Err()
	})
	cfg := q.config(map[string]scheduler.SourceSchedule{"distrokid": {Timeout: 300 * time.Millisecond}}, runner, &recorder{})
	cfg.MaxAttempts = 1
	s := start(t, cfg)
	ji, err := s.Trigger(t.Context(), "distrokid", "", "")
	require.NoError(t, err)
	select {
	case d := <-cancelled:
		require.Less(t, d, 2*time.Second)
		require.GreaterOrEqual(t, d, 250*time.Millisecond)
	case <-time.After(10 * time.Second):
		t.Fatal("the run was not cancelled at its timeout")
	}
	waitJob(t, s, ji.ID, "discarded")
}

func TestScheduledTicksRunOnceAcrossDaemons(t *testing.T) {
	t.Parallel()
	forEachQueue(t, func(t *testing.T, q *queue) {
		var mu sync.Mutex
		ran := map[time.Time]int{}
		runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
			mu.Lock()
			ran[job.Args.Tick]++
			mu.Unlock()
			return succeeded(job), nil
		})
		sources := map[string]scheduler.SourceSchedule{"spotify": {Spec: "@every 1s"}}
		first := q.config(sources, runner, &recorder{})
		first.ID = "daemon-a"
		second := q.config(sources, runner, &recorder{})
		second.ID = "daemon-b"
		a := start(t, first)
		start(t, second)
		time.Sleep(4500 * time.Millisecond)

		mu.Lock()
		defer mu.Unlock()
		require.GreaterOrEqual(t, len(ran), 4, "about one tick a second for 4.5 s")
		for tick, n := range ran {
			require.Equal(t, 1, n, "tick %s ran %d times", tick, n)
			require.Equal(t, tick, tick.Truncate(time.Second), "ticks are on the second")
		}
		jobs, err := a.Jobs(t.Context(), scheduler.JobFilter{Source: "spotify", Limit: 100})
		require.NoError(t, err)
		perTick := map[string]int{}
		for _, j := range jobs {
			require.Equal(t, scheduler.TriggerSchedule, j.Trigger)
			perTick[j.Tick.String()]++
		}
		for tick, n := range perTick {
			require.Equal(t, 1, n, "tick %s has %d jobs", tick, n)
		}
	})
}

func TestPausedSourceRunsNothingUntilResumed(t *testing.T) {
	t.Parallel()
	q := sqliteQueue(t)
	var mu sync.Mutex
	var runs int
	runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		return succeeded(job), nil
	})
	rec := &recorder{}
	s := start(t, q.config(map[string]scheduler.SourceSchedule{"spotify": {Spec: "@every 1s"}}, runner, rec))
	paused, err := s.Pause(t.Context(), "spotify", "auto", "data loss in raw.spotify.tracks")
	require.NoError(t, err)
	require.True(t, paused)
	mu.Lock()
	before := runs
	mu.Unlock()

	_, err = s.Trigger(t.Context(), "spotify", "", "")
	require.ErrorIs(t, err, scheduler.ErrPaused)
	require.ErrorContains(t, err, "data loss in raw.spotify.tracks")
	// A remediation retry may be queued, but waits.
	waiting, err := s.Trigger(t.Context(), "spotify", "", scheduler.TriggerRemediation)
	require.NoError(t, err)

	time.Sleep(2500 * time.Millisecond)
	mu.Lock()
	// A run already started when the pause landed may finish; no other.
	require.LessOrEqual(t, runs, before+1)
	mu.Unlock()
	var skipped int
	for _, o := range rec.all() {
		if o.Skipped != "" {
			skipped++
			require.Contains(t, o.Skipped, "paused by auto")
		}
	}
	require.Positive(t, skipped, "ticks of a paused source are skipped and say so")

	resumed, err := s.Resume(t.Context(), "spotify")
	require.NoError(t, err)
	require.True(t, resumed)
	ji := waitJob(t, s, waiting.ID, "completed")
	require.NotEmpty(t, ji.RunID)
}

func TestOverlappingRunsOfASourceDoNotHappen(t *testing.T) {
	t.Parallel()
	q := sqliteQueue(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var active, most int
	runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
		mu.Lock()
		active++
		most = max(most, active)
		mu.Unlock()
		if job.Args.Nonce != "" {
			<-release
		}
		mu.Lock()
		active--
		mu.Unlock()
		return succeeded(job), nil
	})
	cfg := q.config(map[string]scheduler.SourceSchedule{"spotify": {}}, runner, &recorder{})
	cfg.Workers = 3
	s := start(t, cfg)
	first, err := s.Trigger(t.Context(), "spotify", "", "")
	require.NoError(t, err)
	waitJob(t, s, first.ID, "running")
	second, err := s.Trigger(t.Context(), "spotify", "", "")
	require.NoError(t, err)
	time.Sleep(time.Second)
	ji, err := s.Job(t.Context(), second.ID)
	require.NoError(t, err)
	require.NotEqual(t, "completed", ji.State, "the second run waits for the first")
	close(release)
	waitJob(t, s, first.ID, "completed")
	waitJob(t, s, second.ID, "completed")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, most, "never two runs of one source at once")
}

func TestBackfillQueuesWindowsOnceAndResumes(t *testing.T) {
	t.Parallel()
	forEachQueue(t, func(t *testing.T, q *queue) {
		cfg := q.config(map[string]scheduler.SourceSchedule{"tiktok": {}}, nil, nil)
		cfg.Workers = 0 // the CLI's insert-only client
		s := start(t, cfg)
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		req := scheduler.BackfillRequest{Source: "tiktok", Stream: "business_metrics", From: from, To: from.AddDate(0, 0, 19)}
		res, err := s.Backfill(t.Context(), req)
		require.NoError(t, err)
		require.Equal(t, 3, res.Windows, "20 days in windows of 7")
		require.Equal(t, 3, res.Queued)
		require.Equal(t, "2026-01-01", res.Jobs[0].From)
		require.Equal(t, "2026-01-07", res.Jobs[0].To)
		require.Equal(t, "2026-01-15", res.Jobs[2].From)
		require.Equal(t, "2026-01-20", res.Jobs[2].To)

		again, err := s.Backfill(t.Context(), req)
		require.NoError(t, err)
		require.Equal(t, 0, again.Queued)
		require.Equal(t, 3, again.Skipped)

		_, err = s.Backfill(t.Context(), scheduler.BackfillRequest{Source: "tiktok", Stream: "x", From: from, To: from.AddDate(0, 0, -1)})
		require.ErrorContains(t, err, "--from must be a date on or before --to")
		_, err = s.Backfill(t.Context(), scheduler.BackfillRequest{Source: "nope", Stream: "x", From: from, To: from})
		require.ErrorIs(t, err, scheduler.ErrUnknownSource)
	})
}

func TestStopCancelsRunsThatDoNotFinishInTime(t *testing.T) {
	t.Parallel()
	q := sqliteQueue(t)
	started := make(chan struct{})
	sawCancel := make(chan error, 1)
	runner := scheduler.RunnerFunc(func(ctx context.Context, job scheduler.Job) (pipeline.Result, error) {
		close(started)
		<-ctx.Done()
		sawCancel <- ctx.Err()
		return pipeline.Result{Status: metastore.RunFailed}, ctx.Err()
	})
	cfg := q.config(map[string]scheduler.SourceSchedule{"spotify": {}}, runner, &recorder{})
	s, err := scheduler.Open(t.Context(), cfg)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Start(context.Background()))
	ji, err := s.Trigger(t.Context(), "spotify", "", "")
	require.NoError(t, err)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
	select {
	case err := <-sawCancel:
		require.True(t, errors.Is(err, context.Canceled))
	case <-time.After(5 * time.Second):
		t.Fatal("the run was not cancelled")
	}
	// The job goes back to the queue for the next daemon.
	row, err := s.Job(t.Context(), ji.ID)
	require.NoError(t, err)
	require.Contains(t, []string{"retryable", "available"}, row.State)
}

func TestSchedulesParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ spec, tz, err string }{
		{spec: "0 6 * * *"},
		{spec: "*/5 * * * * *"},
		{spec: "@daily", tz: "Europe/Berlin"},
		{spec: "@every 15m"},
		{spec: "every day", err: "is not a cron expression"},
		{spec: "@every 10ms", err: "shortest interval"},
		{spec: "0 6 * * *", tz: "Mars/Olympus", err: "time zone"},
	} {
		q := sqliteQueue(t)
		cfg := q.config(map[string]scheduler.SourceSchedule{"s": {Spec: tc.spec, Timezone: tc.tz}}, nil, nil)
		cfg.Workers = 0
		s, err := scheduler.Open(t.Context(), cfg)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.spec)
			require.ErrorContains(t, err, "sources.s.schedule")
			continue
		}
		require.NoError(t, err, tc.spec)
		next := s.Schedules()["s"]
		require.True(t, next.After(time.Now()), tc.spec)
		require.NoError(t, s.Close())
	}
}

// The River tables live in the metastore's schema, so a PostgreSQL
// metastore needs nothing else.
func TestRiverTablesLiveInTheMetastoreSchema(t *testing.T) {
	t.Parallel()
	q := postgresQueue(t)
	cfg := q.config(map[string]scheduler.SourceSchedule{"s": {}}, nil, nil)
	cfg.Workers = 0
	s := start(t, cfg)
	_, err := s.Trigger(t.Context(), "s", "", "")
	require.NoError(t, err)
	pool, err := pgxpool.New(t.Context(), pgtest.URL())
	require.NoError(t, err)
	defer pool.Close()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{q.schema, "river_job"}.Sanitize()).Scan(&n))
	require.Equal(t, 1, n)
}
