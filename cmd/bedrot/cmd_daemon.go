package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/daemon"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/sdk"
)

func newServeCmd(g *globals) *cobra.Command {
	var addr, id string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: scheduled runs, retries, backfills, alerts, /metrics and the HTTP API",
		Long: `serve runs the BEDROT daemon until SIGTERM or Ctrl-C:

  - every source with a schedule (sources.<name>.schedule: a cron expression
    such as "0 6 * * *", "@daily" or "@every 15m"; sources.<name>.timezone)
    runs on time, through a durable job queue in the metastore's database;
  - failed runs are retried (daemon.max_attempts, default 3) with backoff
    and jitter, a rate-limited run waits for the reset, a configuration
    error is not retried; a run over its timeout (sources.<name>.timeout,
    default 1h) is cancelled and its plugin killed;
  - several daemons on one PostgreSQL share the work: each scheduled run
    happens once, and a daemon that dies mid-run has its job picked up;
  - the HTTP API (--http, default 127.0.0.1:8080) serves /api/v1/...,
    /metrics (Prometheus), /healthz and /readyz. bedrot trigger, backfill,
    pause, resume and jobs talk to it with --daemon, or work on the
    database directly without it. With daemon.api_token set
    (BEDROT_DAEMON_API_TOKEN, or BEDROT_DAEMON_API_TOKEN_FILE naming a
    file), /api/v1 requires it as a bearer token, and those commands send
    it; the daemon does not listen beyond loopback without one. /api/v1
    refuses cross-origin browser requests and, without a token, requests
    for other host names than loopback's (DNS rebinding; behind a proxy
    that passes its own host name on, set a token).

On SIGTERM the daemon takes no new job, gives running runs --grace to
finish, then cancels them (each keeps what it checkpointed; plugins are
killed) and exits 0.`,
		Example: `  bedrot serve --lake ./lake
  BEDROT_DATABASE_URL=postgres://bedrot@db/bedrot BEDROT_DAEMON_API_TOKEN_FILE=/run/secrets/bedrot-api \
    bedrot serve --http 0.0.0.0:8080`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("http") {
				g.cfg.Daemon.HTTP = addr
			}
			ctx := cmd.Context()
			l, err := g.open(ctx, false)
			if err != nil {
				return err
			}
			defer l.Close()
			d, err := daemon.New(ctx, l, daemon.Options{Grace: grace, ID: id})
			if err != nil {
				return err
			}
			defer d.Close()
			fmt.Fprintf(g.stderr, "bedrot daemon: API on http://%s (metrics on /metrics); Ctrl-C or SIGTERM stops it\n", g.cfg.Daemon.HTTP)
			return d.Serve(ctx, g.cfg.Daemon.HTTP)
		},
	}
	cmd.Flags().StringVar(&addr, "http", "", "address of the API, /metrics, /healthz and /readyz (daemon.http; default 127.0.0.1:8080)")
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "on SIGTERM, how long running runs may finish before they are cancelled")
	cmd.Flags().StringVar(&id, "id", "", "name of this daemon among several (default host:pid)")
	return cmd
}

// control opens the queue control: the daemon's API when --daemon (or
// daemon.url) is set, else the lake's database directly.
func (g *globals) control(ctx context.Context, daemonURL string) (daemon.Control, func(), error) {
	if daemonURL == "" {
		daemonURL = g.cfg.Daemon.URL
	}
	if daemonURL != "" {
		c := daemon.NewClient(daemonURL)
		c.Token = g.cfg.Daemon.APIToken
		return c, func() {}, nil
	}
	l, err := g.open(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	s, err := daemon.OpenScheduler(ctx, l, 0, nil, nil, nil, daemon.Options{})
	if err != nil {
		_ = l.Close()
		return nil, nil, err
	}
	return daemon.Local{S: s, Meta: l.Meta, Configured: daemon.SourceInfos(g.cfg)}, func() { _ = s.Close(); _ = l.Close() }, nil
}

// withControl adapts a command body that works on the queue control.
func (g *globals) withControl(daemonURL *string, fn func(ctx context.Context, ctl daemon.Control, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctl, done, err := g.control(cmd.Context(), *daemonURL)
		if err != nil {
			return err
		}
		defer done()
		return fn(cmd.Context(), ctl, args)
	}
}

func daemonFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "daemon", "", "a running daemon's API, e.g. http://127.0.0.1:8080 (daemon.url); default: work on the lake's database directly")
}

// controlError maps queue errors to exit codes.
func controlError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, scheduler.ErrUnknownSource), errors.Is(err, metastore.ErrNotFound):
		return &exitError{code: exitNotFound, err: err}
	case errors.Is(err, scheduler.ErrPaused), errors.Is(err, scheduler.ErrBadRequest):
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

func newTriggerCmd(g *globals) *cobra.Command {
	var daemonURL, mode string
	var wait bool
	cmd := &cobra.Command{
		Use:   "trigger SOURCE",
		Short: "Queue a run of a source now, for the daemon to work",
		Long: `trigger queues one run of the source (it does not wait for the schedule). The
daemon works it with the same retries as a scheduled run. With --wait the
command waits until the run is done and exits like bedrot run would: 0 when it
succeeded, 1 when it failed for good.

A paused source cannot be triggered: resume it first.`,
		Example: `  bedrot trigger spotify
  bedrot trigger tiktok --wait --daemon http://127.0.0.1:8080
  bedrot trigger spotify --mode replay     # rebuild raw from landing, through the daemon`,
		Args: exactArgs(1, "one source name"),
		RunE: g.withControl(&daemonURL, func(ctx context.Context, ctl daemon.Control, args []string) error {
			ji, err := ctl.Trigger(ctx, args[0], mode)
			if err != nil {
				return controlError(err)
			}
			if !wait {
				return g.printJobs("Job", []scheduler.JobInfo{ji}, fmt.Sprintf("Queued job %d: %s %s (see `bedrot jobs`).", ji.ID, ji.Mode, ji.Source))
			}
			fmt.Fprintf(g.stderr, "Queued job %d; waiting for a daemon to run it…\n", ji.ID)
			for !finished(ji.State) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(500 * time.Millisecond):
				}
				if ji, err = ctl.Job(ctx, ji.ID); err != nil {
					return controlError(err)
				}
			}
			if err := g.printJobs("Job", []scheduler.JobInfo{ji}, ""); err != nil {
				return err
			}
			if ji.State != "completed" {
				return &exitError{code: exitFailure, err: fmt.Errorf("job %d %s: %s", ji.ID, ji.State, ji.LastError)}
			}
			if ji.RunStatus == metastore.RunPartial {
				return &exitError{code: exitQuarantined}
			}
			return nil
		}),
	}
	daemonFlag(cmd, &daemonURL)
	cmd.Flags().StringVar(&mode, "mode", "ingest", "ingest, or replay (rebuild raw from landing)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish and exit with its outcome")
	return cmd
}

func finished(state string) bool {
	switch state {
	case "completed", "cancelled", "discarded":
		return true
	}
	return false
}

func newBackfillCmd(g *globals) *cobra.Command {
	var daemonURL, stream, from, to string
	var windowDays int
	cmd := &cobra.Command{
		Use:   "backfill SOURCE --stream STREAM --from DATE --to DATE",
		Short: "Queue a stream's history between two dates, one job per window",
		Long: `backfill reads a stream again for a past date range, in windows (--window
days each, default 7), one job per window, with the daemon's retries. It is
resumable: running the same backfill again queues only the windows that are
not done, queued or running, so after an interruption just run it again.

The source's plugin must support windows (it declares the window_start and
window_end parameters; the TikTok connector does for business_metrics). The
stream's state never moves backwards, and raw keeps every snapshot, so
nothing is lost or overwritten.`,
		Example: `  bedrot backfill tiktok --stream business_metrics --from 2026-10-01 --to 2026-11-20`,
		Args:    exactArgs(1, "one source name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err1 := time.Parse(time.DateOnly, from)
			t, err2 := time.Parse(time.DateOnly, to)
			if stream == "" || err1 != nil || err2 != nil {
				return usageError("backfill needs --stream and --from/--to dates like 2026-01-31")
			}
			if err := g.requireWindowSupport(ctx, args[0], daemonURL); err != nil {
				return err
			}
			ctl, done, err := g.control(ctx, daemonURL)
			if err != nil {
				return err
			}
			defer done()
			res, err := ctl.Backfill(ctx, scheduler.BackfillRequest{Source: args[0], Stream: stream, From: f, To: t,
				Window: time.Duration(windowDays) * 24 * time.Hour})
			if err != nil {
				return controlError(err)
			}
			return g.printJobs("Backfill", res.Jobs, fmt.Sprintf("Backfill of %s %s from %s to %s: %d window(s), %d queued, %d already done, queued or running.",
				args[0], stream, from, to, res.Windows, res.Queued, res.Skipped))
		},
	}
	daemonFlag(cmd, &daemonURL)
	cmd.Flags().StringVar(&stream, "stream", "", "the stream to backfill (required)")
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD, inclusive (required)")
	cmd.Flags().IntVar(&windowDays, "window", 7, "days per job")
	return cmd
}

// requireWindowSupport checks, when the plugin is installed here, that it
// declares the backfill parameters.
func (g *globals) requireWindowSupport(ctx context.Context, source, daemonURL string) error {
	if daemonURL != "" || g.cfg.Daemon.URL != "" {
		return nil // the daemon's host has the plugin; its run says so if not
	}
	l, err := g.open(ctx, false)
	if err != nil {
		return err
	}
	defer l.Close()
	if _, ok := g.cfg.Sources[source]; !ok {
		return nil // the queue names the configured sources
	}
	inst, err := l.Plugins.Launch(ctx, sdk.KindSource, g.cfg.Source(source).Plugin)
	if err != nil {
		return err
	}
	spec := inst.Info.Spec
	inst.Kill()
	for _, p := range spec.Params {
		if p.Name == sdk.ParamWindowStart {
			return nil
		}
	}
	return usageError("the %s plugin (%s %s) cannot read a past window: it does not declare the window_start and window_end parameters", source, spec.Name, spec.Version)
}

func newPauseCmd(g *globals) *cobra.Command {
	var daemonURL, reason, by string
	cmd := &cobra.Command{
		Use:   "pause SOURCE",
		Short: "Stop starting runs of a source until it is resumed",
		Long: `pause stops the daemon from starting runs of the source: scheduled runs are
skipped (and say so in bedrot jobs), queued ones wait. A run already going
finishes. A critical alert (data loss) pauses its source the same way.`,
		Example: "  bedrot pause spotify --reason \"API credentials being rotated\"",
		Args:    exactArgs(1, "one source name"),
		RunE: g.withControl(&daemonURL, func(ctx context.Context, ctl daemon.Control, args []string) error {
			if by == "" {
				by = currentUser()
			}
			changed, err := ctl.Pause(ctx, args[0], by, reason)
			if err != nil {
				return controlError(err)
			}
			if g.json() {
				return g.printJSON("Pause", map[string]any{"source": args[0], "changed": changed})
			}
			if changed {
				fmt.Fprintf(g.stdout, "Paused %s; `bedrot resume %s` resumes it.\n", args[0], args[0])
			} else {
				fmt.Fprintf(g.stdout, "%s was already paused (see `bedrot status` or GET /api/v1/sources).\n", args[0])
			}
			return nil
		}),
	}
	daemonFlag(cmd, &daemonURL)
	cmd.Flags().StringVar(&reason, "reason", "paused by an operator", "why, shown to whoever looks")
	cmd.Flags().StringVar(&by, "by", "", "who (default: the user name)")
	return cmd
}

func newResumeCmd(g *globals) *cobra.Command {
	var daemonURL string
	cmd := &cobra.Command{
		Use:   "resume SOURCE",
		Short: "Let the daemon run a paused source again",
		Args:  exactArgs(1, "one source name"),
		RunE: g.withControl(&daemonURL, func(ctx context.Context, ctl daemon.Control, args []string) error {
			changed, err := ctl.Resume(ctx, args[0])
			if err != nil {
				return controlError(err)
			}
			if g.json() {
				return g.printJSON("Resume", map[string]any{"source": args[0], "changed": changed})
			}
			if changed {
				fmt.Fprintf(g.stdout, "Resumed %s.\n", args[0])
			} else {
				fmt.Fprintf(g.stdout, "%s was not paused.\n", args[0])
			}
			return nil
		}),
	}
	daemonFlag(cmd, &daemonURL)
	return cmd
}

func newJobsCmd(g *globals) *cobra.Command {
	var daemonURL, state, source string
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs [ID]",
		Short: "List the daemon's jobs (scheduled, manual, retried, backfill runs), newest first",
		Long: `jobs lists the queue: each job's source, mode, why it exists (schedule,
manual, remediation, backfill), its state (available, scheduled, running,
retryable, completed, cancelled, discarded), attempts, and the run it made.
With an ID it shows that job, with its last error. Use --state to filter,
e.g. --state retryable,discarded for what is failing.`,
		Example: `  bedrot jobs
  bedrot jobs --state running,retryable
  bedrot jobs 42 -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("jobs takes at most one job ID")
			}
			return nil
		},
		RunE: g.withControl(&daemonURL, func(ctx context.Context, ctl daemon.Control, args []string) error {
			if len(args) == 1 {
				var id int64
				if _, err := fmt.Sscan(args[0], &id); err != nil {
					return usageError("job ID %q is not a number", args[0])
				}
				ji, err := ctl.Job(ctx, id)
				if err != nil {
					return controlError(err)
				}
				return g.printJobs("Job", []scheduler.JobInfo{ji}, "")
			}
			f := scheduler.JobFilter{Source: source, Limit: limit}
			if state != "" {
				f.States = strings.Split(state, ",")
			}
			jobs, err := ctl.Jobs(ctx, f)
			if err != nil {
				return controlError(err)
			}
			return g.printJobs("JobList", jobs, "")
		}),
	}
	daemonFlag(cmd, &daemonURL)
	cmd.Flags().StringVar(&state, "state", "", "only jobs in these states (comma-separated)")
	cmd.Flags().StringVar(&source, "source", "", "only jobs of this source")
	cmd.Flags().IntVarP(&limit, "limit", "n", 30, "at most this many")
	return cmd
}

func (g *globals) printJobs(kind string, jobs []scheduler.JobInfo, note string) error {
	if g.json() {
		if kind == "Job" && len(jobs) == 1 {
			return g.printJSON(kind, map[string]any{"job": jobs[0]})
		}
		if jobs == nil {
			jobs = []scheduler.JobInfo{}
		}
		return g.printJSON(kind, map[string]any{"jobs": jobs, "note": note})
	}
	if note != "" {
		fmt.Fprintln(g.stdout, note)
	}
	if len(jobs) == 0 {
		if note == "" {
			fmt.Fprintln(g.stdout, "No jobs.")
		}
		return nil
	}
	w := g.table()
	fmt.Fprintln(w, "ID\tSOURCE\tMODE\tTRIGGER\tSTATE\tATTEMPT\tWHEN\tRUN\tNOTE")
	for _, j := range jobs {
		when := j.ScheduledAt
		if j.FinalizedAt != nil {
			when = *j.FinalizedAt
		}
		what := j.Trigger
		if j.Tick != nil {
			what += " " + j.Tick.Format("01-02 15:04:05")
		}
		if j.From != "" {
			what += " " + j.From + ".." + j.To
		}
		run := j.RunID
		if j.RunStatus != "" {
			run += " (" + j.RunStatus + ")"
		}
		noteText := j.Skipped
		if noteText == "" && j.State != "completed" {
			noteText = oneLine(j.LastError, 80)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.Source, j.Mode, what, j.State, j.Attempt, j.MaxAttempts,
			when.Local().Format("2006-01-02 15:04:05"), run, noteText)
	}
	return w.Flush()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func currentUser() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "operator"
}
