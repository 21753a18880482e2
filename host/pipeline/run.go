package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/host/credentials"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// Progress is a progress report from a running source.
type Progress struct {
	Done, Total int64
	Unit        string
}

// Pipeline runs sources into the lake.
type Pipeline struct {
	Store   storage.Store
	Meta    metastore.Store
	Plugins *pluginhost.Host
	Logger  *slog.Logger
	// Credentials, if set, keeps configuration values plugins rotate while
	// running (OAuth refresh tokens) and applies them to later runs.
	Credentials *credentials.Vault
	// Contracts, if set, enforces each raw dataset's data contract.
	Contracts *contract.Registry
	// Quality, if set, validates each payload's rows against its dataset's
	// suite before they are committed.
	Quality *quality.Service
	// OnProgress, if set, receives the plugin's progress reports.
	OnProgress func(Progress)
	// IdleTimeout kills a plugin that sends nothing for this long (default 2m).
	IdleTimeout time.Duration
	// RowsPerFile rolls raw Parquet files over after this many rows (default 8M).
	RowsPerFile int64
	// RowGroupRows bounds Parquet row groups (default 256k).
	RowGroupRows int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Observers hear every run begin and end (lineage, metrics).
	Observers []RunObserver
}

// RunObserver hears runs begin and end. Calls are synchronous and must be
// quick; an observer's failure is its own to log, never the run's.
type RunObserver interface {
	// RunStarted gets the run's id, source, kind and start time.
	RunStarted(ctx context.Context, res Result)
	// RunFinished gets the run's whole result, failed or not.
	RunFinished(ctx context.Context, res Result)
}

// Request says what to run.
type Request struct {
	// Source names the source: its landing batches, raw datasets, state
	// and credentials.
	Source string
	// Plugin is the source plugin to launch (default: Source).
	Plugin  string
	Config  sdk.Config
	Streams []string
}

// PayloadResult is what happened to one original payload.
type PayloadResult struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// Digest is the payload's checksum, as package sdk/digest writes it.
	Digest  string `json:"digest"`
	Size    int64  `json:"size"`
	Records int64  `json:"records"`
	// Status is "ingested", "quarantined" or "duplicate" (already in the lake).
	Status   string        `json:"status"`
	Problems []sdk.Problem `json:"problems,omitempty"`
	RawFiles []string      `json:"raw_files,omitempty"`
	// Validations are the ids of the validations of its rows.
	Validations []string `json:"validations,omitempty"`
}

// Result summarises a run.
type Result struct {
	RunID    string          `json:"run_id"`
	Source   string          `json:"source"`
	Kind     string          `json:"kind"`
	Status   string          `json:"status"`
	Started  time.Time       `json:"started_at"`
	Finished time.Time       `json:"finished_at"`
	Rows     int64           `json:"rows"`
	Bytes    int64           `json:"bytes"`
	Payloads []PayloadResult `json:"payloads"`
	Landing  string          `json:"landing,omitempty"`
	Error    string          `json:"error,omitempty"`
	// ErrorKind is the failure's kind as the plugin classified it:
	// transient, config, rate_limited or unknown.
	ErrorKind string `json:"error_kind,omitempty"`
	// RetryAt is when a rate limit resets.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	// Advice says in words what the failure means and what to do.
	Advice string `json:"advice,omitempty"`
	// Notes say what the run's data contracts did: versions created,
	// columns or rows a discard policy dropped.
	Notes []string `json:"notes,omitempty"`
	// PluginPeakRSS is the plugin process's peak resident memory in bytes.
	PluginPeakRSS int64 `json:"plugin_peak_rss_bytes,omitempty"`
}

// plugin is the plugin to launch.
func (r Request) plugin() string {
	if r.Plugin != "" {
		return r.Plugin
	}
	return r.Source
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Pipeline) idleTimeout() time.Duration {
	if p.IdleTimeout > 0 {
		return p.IdleTimeout
	}
	return 2 * time.Minute
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// NewRunID returns a time-ordered unique run id, e.g. 20261126T055012Z-9f3a1c.
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func owner() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}

// Ingest runs a source once: extract → landing → raw, one commit.
func (p *Pipeline) Ingest(ctx context.Context, req Request) (Result, error) {
	return p.run(ctx, req, "ingest", nil)
}

// run is shared by Ingest and Replay; replay, when set, says which landing
// payloads the plugin is re-reading.
func (p *Pipeline) run(ctx context.Context, req Request, kind string, replay *replaySet) (res Result, err error) {
	if _, serr := p.Sweep(ctx); serr != nil {
		p.logger().Warn("sweep before run failed", "error", serr)
	}
	start := p.now()
	runID := NewRunID(start)
	res = Result{RunID: runID, Source: req.Source, Kind: kind, Started: start, Payloads: []PayloadResult{}}
	// The lease comes first so that no sweeper ever sees this run without it.
	unlock, err := p.Meta.LockRun(ctx, runID)
	if err != nil {
		return res, fmt.Errorf("failed to lock run: %w", err)
	}
	defer unlock()
	if err := p.Meta.CreateRun(ctx, metastore.Run{ID: runID, Source: req.Source, Kind: kind, StartedAt: start, Owner: owner()}); err != nil {
		return res, fmt.Errorf("failed to record run: %w", err)
	}
	for _, o := range p.Observers {
		o.RunStarted(ctx, res)
	}

	r := &runner{p: p, req: req, runID: runID, start: start, res: &res, replay: replay, log: p.logger().With("run", runID, "source", req.Source)}
	runErr := r.execute(ctx)
	if _, ok := ctx.Deadline(); ok && errors.Is(runErr, context.DeadlineExceeded) {
		// gRPC may report the deadline a moment before the context does.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if runErr != nil && ctx.Err() != nil {
		// Say why the run stopped (a --timeout, an interrupt), whatever step
		// it was in.
		if cause := context.Cause(ctx); !strings.Contains(runErr.Error(), cause.Error()) {
			runErr = fmt.Errorf("run stopped: %v: %w", cause, runErr)
		}
	}
	res.Finished = p.now()
	if r.inst != nil {
		for deadline := time.Now().Add(time.Second); res.PluginPeakRSS == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			res.PluginPeakRSS = r.inst.PeakRSS()
		}
	}
	status := metastore.RunSucceeded
	if runErr != nil {
		status = metastore.RunFailed
		res.Error = r.redact(runErr.Error())
		runErr = redactedError{err: runErr, text: res.Error}
		res.ErrorKind, res.RetryAt, res.Advice = advise(runErr, r.safe != nil && r.replay == nil)
		r.cleanup(context.WithoutCancel(ctx))
	} else {
		for _, pl := range res.Payloads {
			if pl.Status == "quarantined" {
				status = metastore.RunPartial
			}
		}
	}
	res.Status = status
	stats, _ := json.Marshal(struct {
		Rows          int64           `json:"rows"`
		Bytes         int64           `json:"bytes"`
		Landing       string          `json:"landing,omitempty"`
		PluginPeakRSS int64           `json:"plugin_peak_rss_bytes,omitempty"`
		ErrorKind     string          `json:"error_kind,omitempty"`
		RetryAt       *time.Time      `json:"retry_at,omitempty"`
		Advice        string          `json:"advice,omitempty"`
		Notes         []string        `json:"notes,omitempty"`
		Payloads      []PayloadResult `json:"payloads"`
	}{res.Rows, res.Bytes, res.Landing, res.PluginPeakRSS, res.ErrorKind, res.RetryAt, res.Advice, res.Notes, res.Payloads})
	if ferr := p.Meta.FinishRun(context.WithoutCancel(ctx), runID, status, res.Error, stats); ferr != nil && runErr == nil {
		runErr = fmt.Errorf("failed to record the end of run %s: %w", runID, ferr)
	}
	for _, o := range p.Observers {
		o.RunFinished(context.WithoutCancel(ctx), res)
	}
	return res, runErr
}

// advise classifies a run's error and says in words what it means for the
// user; resumes says the run kept data up to a checkpoint.
func advise(err error, resumes bool) (kind string, retryAt *time.Time, advice string) {
	next := "The next run starts over."
	if resumes {
		next = "The next run resumes after the last checkpoint."
	}
	if errors.Is(err, pluginhost.ErrCrashed) {
		return "crashed", nil, "The plugin process crashed; its last output is quoted above. A retry may succeed; " +
			"if it crashes again, report it to the plugin's author with that output. " + next
	}
	if errors.Is(err, pluginhost.ErrNotInstalled) || errors.Is(err, pluginhost.ErrChecksumMismatch) {
		return sdk.KindConfig.String(), nil, "The source's plugin is not installed as recorded: retrying will not help. " +
			"Install it with `bedrot plugin install`, then run again."
	}
	var se *sdk.Error
	if !errors.As(err, &se) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "stopped", nil, "The run was stopped before it finished. " + next
		}
		return sdk.KindUnknown.String(), nil, "The run failed; the error above says where. " + next
	}
	switch se.Kind {
	case sdk.KindTransient:
		return se.Kind.String(), nil, "A temporary failure (network, or the service's servers): nothing needs fixing, retrying should succeed. " + next
	case sdk.KindConfig:
		return se.Kind.String(), nil, "The source's configuration must be fixed (credentials, ids, paths): retrying as it is will not help. " +
			"Check the source's settings with `bedrot config`."
	case sdk.KindRateLimited:
		at := se.RetryAt.UTC()
		return se.Kind.String(), &at, fmt.Sprintf("The service's rate limit was reached; it resets at %s. Run again after that. %s", at.Format(time.RFC3339), next)
	}
	return se.Kind.String(), nil, "The run failed; the error above says where. " + next
}

// redactedError is a run error whose text has secrets hidden; it keeps the
// original in its chain for errors.Is/As and sdk.KindOf.
type redactedError struct {
	err  error
	text string
}

func (e redactedError) Error() string { return e.text }
func (e redactedError) Unwrap() error { return e.err }

// Sweep deletes debris: files announced by runs whose process is gone and
// that no manifest lists. Runs left "running" by a dead process are marked
// abandoned. It returns how many files it deleted.
func (p *Pipeline) Sweep(ctx context.Context) (int, error) {
	pending, err := p.Meta.ListPending(ctx)
	if err != nil {
		return 0, fmt.Errorf("failed to list pending files: %w", err)
	}
	alive := map[string]bool{}
	deleted := 0
	var dead []string
	for _, pf := range pending {
		a, seen := alive[pf.RunID]
		if !seen {
			a, err = p.runAlive(ctx, pf.RunID)
			if err != nil {
				return deleted, err
			}
			alive[pf.RunID] = a
			if !a {
				dead = append(dead, pf.RunID)
			}
		}
		if a {
			continue
		}
		// Claiming the pending entry fences the run: should it be alive
		// after all (a lost lease), its commit now fails instead of listing
		// a file deleted here.
		claimed, err := p.Meta.ClaimPending(ctx, pf.Key)
		if err != nil {
			return deleted, err
		}
		listed, err := p.Meta.FileListed(ctx, pf.Key)
		if err != nil {
			return deleted, err
		}
		if claimed && !listed {
			if err := p.Store.Delete(ctx, pf.Key); err != nil {
				return deleted, fmt.Errorf("failed to delete debris %s (no longer tracked; delete it by hand): %w", pf.Key, err)
			}
			deleted++
		}
	}
	for _, id := range dead {
		if run, err := p.Meta.GetRun(ctx, id); err == nil && run.Status == metastore.RunRunning {
			_ = p.Meta.FinishRun(ctx, id, metastore.RunAbandoned, "the process running it died before it finished; its partial files were removed", nil)
		}
	}
	// Runs that died before announcing any file are found by their lease.
	running, err := p.Meta.ListRuns(ctx, metastore.RunFilter{Status: metastore.RunRunning, Limit: 1000})
	if err == nil {
		for _, run := range running {
			if a, err := p.runAlive(ctx, run.ID); err == nil && !a {
				_ = p.Meta.FinishRun(ctx, run.ID, metastore.RunAbandoned, "the process running it died before it finished", nil)
			}
		}
	}
	if sw, ok := p.Store.(interface {
		SweepTemp(time.Duration) (int, error)
	}); ok {
		if n, err := sw.SweepTemp(time.Hour); err == nil {
			deleted += n
		}
	}
	return deleted, nil
}

// runAlive tells whether a run's process still lives. The lease is the
// authority across machines; on this machine a run whose process is gone is
// dead even before the metastore notices (PostgreSQL releases a killed
// client's advisory lock only once its backend sees the socket close).
func (p *Pipeline) runAlive(ctx context.Context, runID string) (bool, error) {
	a, err := p.Meta.RunAlive(ctx, runID)
	if err != nil {
		return false, fmt.Errorf("failed to check run %s: %w", runID, err)
	}
	if !a {
		return false, nil
	}
	run, err := p.Meta.GetRun(ctx, runID)
	if err != nil {
		return true, nil // no record yet: trust the lease
	}
	host, pidText, ok := strings.Cut(run.Owner, ":")
	me, _ := os.Hostname()
	pid, perr := strconv.Atoi(pidText)
	if !ok || perr != nil || host != me || pid == os.Getpid() {
		return true, nil
	}
	return processExists(pid), nil
}

var errIdle = errors.New("plugin sent nothing within the idle timeout")
