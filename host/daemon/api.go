package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/apiauth"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/scheduler"
)

// Control is what operators do to the queue; the CLI uses it directly on
// the database (Local) or through a daemon's API (Client), alike.
type Control interface {
	Trigger(ctx context.Context, source, mode string) (scheduler.JobInfo, error)
	Backfill(ctx context.Context, req scheduler.BackfillRequest) (scheduler.BackfillResult, error)
	Pause(ctx context.Context, source, by, reason string) (bool, error)
	Resume(ctx context.Context, source string) (bool, error)
	Jobs(ctx context.Context, f scheduler.JobFilter) ([]scheduler.JobInfo, error)
	Job(ctx context.Context, id int64) (scheduler.JobInfo, error)
	Cancel(ctx context.Context, id int64) (scheduler.JobInfo, error)
	Sources(ctx context.Context) ([]SourceInfo, error)
}

// SourceInfo is a configured source as the API shows it.
type SourceInfo struct {
	Name     string           `json:"name"`
	Plugin   string           `json:"plugin"`
	Schedule string           `json:"schedule,omitempty"`
	Timezone string           `json:"timezone,omitempty"`
	Timeout  string           `json:"timeout"`
	NextRun  *time.Time       `json:"next_run,omitempty"`
	Paused   *metastore.Pause `json:"paused,omitempty"`
}

// Local is Control over a scheduler opened on the lake's database.
type Local struct {
	S    *scheduler.Scheduler
	Meta metastore.Store
	// Configured are the configured sources.
	Configured map[string]SourceInfo
}

// Trigger queues a manual run.
func (l Local) Trigger(ctx context.Context, source, mode string) (scheduler.JobInfo, error) {
	return l.S.Trigger(ctx, source, mode, scheduler.TriggerManual)
}

// Backfill queues a backfill.
func (l Local) Backfill(ctx context.Context, req scheduler.BackfillRequest) (scheduler.BackfillResult, error) {
	return l.S.Backfill(ctx, req)
}

// Pause pauses a source.
func (l Local) Pause(ctx context.Context, source, by, reason string) (bool, error) {
	return l.S.Pause(ctx, source, by, reason)
}

// Resume resumes a source.
func (l Local) Resume(ctx context.Context, source string) (bool, error) {
	return l.S.Resume(ctx, source)
}

// Jobs lists jobs.
func (l Local) Jobs(ctx context.Context, f scheduler.JobFilter) ([]scheduler.JobInfo, error) {
	return l.S.Jobs(ctx, f)
}

// Job returns a job.
func (l Local) Job(ctx context.Context, id int64) (scheduler.JobInfo, error) { return l.S.Job(ctx, id) }

// Cancel cancels a job.
func (l Local) Cancel(ctx context.Context, id int64) (scheduler.JobInfo, error) {
	return l.S.Cancel(ctx, id)
}

// Sources lists the configured sources with their next run and pause.
func (l Local) Sources(ctx context.Context) ([]SourceInfo, error) {
	pauses, err := l.Meta.Pauses(ctx)
	if err != nil {
		return nil, err
	}
	next := l.S.Schedules()
	var out []SourceInfo
	for _, name := range slices.Sorted(maps.Keys(l.Configured)) {
		si := l.Configured[name]
		if t, ok := next[name]; ok {
			t := t.UTC()
			si.NextRun = &t
		}
		if p, ok := pauses[name]; ok {
			si.Paused = &p
		}
		out = append(out, si)
	}
	return out, nil
}

// Handler is the daemon's HTTP API. /api/v1 is guarded (apiauth): by
// daemon.api_token when set, and against browsers' cross-origin and DNS
// rebinding requests; /metrics, /healthz and /readyz are open.
func (d *Daemon) Handler() http.Handler {
	root := http.NewServeMux()
	mux := http.NewServeMux()
	ctl := d.Control()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			writeError(w, http.StatusServiceUnavailable, errNotReady)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := d.lake.Meta.Pauses(ctx); err != nil {
			writeError(w, http.StatusServiceUnavailable, fmt.Errorf("metastore unreachable: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	root.Handle("GET /metrics", d.metrics.Handler())
	RegisterAPI(mux, ctl)
	mux.HandleFunc("GET /api/v1/alerts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := metastore.AlertFilter{State: q.Get("state"), Severity: q.Get("severity"), Source: q.Get("source"), Limit: 200}
		if f.State == "" {
			f.State = metastore.AlertOpen
		} else if f.State == "all" {
			f.State = ""
		}
		list, err := d.lake.Meta.ListAlerts(r.Context(), f)
		if list == nil {
			list = []metastore.Alert{}
		}
		respond(w, http.StatusOK, list, err)
	})
	for _, action := range []string{"ack", "resolve"} {
		mux.HandleFunc("POST /api/v1/alerts/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				By string `json:"by"`
			}
			if !readJSON(w, r, &body) {
				return
			}
			if body.By == "" {
				body.By = "api"
			}
			act := d.alerts.Ack
			if action == "resolve" {
				act = d.alerts.Resolve
			}
			a, changed, err := act(r.Context(), r.PathValue("id"), body.By)
			respond(w, http.StatusOK, map[string]any{"alert": a, "changed": changed}, err)
		})
	}
	mux.HandleFunc("GET /api/v1/slo", func(w http.ResponseWriter, r *http.Request) {
		rep, err := alerts.LoadSLO(r.Context(), d.lake.Meta, alerts.SLOOptions{})
		respond(w, http.StatusOK, rep, err)
	})
	root.Handle("/api/", apiauth.Guard(mux, d.cfg.Daemon.APIToken, d.listensOnLoopback()))
	return logRequests(d, root)
}

// listensOnLoopback reports whether the API is reachable from this machine
// only (true before Serve listens).
func (d *Daemon) listensOnLoopback() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.listener == nil || apiauth.IsLoopback(d.listener.Addr())
}

// Control is the daemon's own queue control.
func (d *Daemon) Control() Control {
	return Local{S: d.sched, Meta: d.lake.Meta, Configured: SourceInfos(d.cfg)}
}

// RegisterAPI adds the /api/v1 routes over ctl to mux.
func RegisterAPI(mux *http.ServeMux, ctl Control) {
	mux.HandleFunc("GET /api/v1/sources", func(w http.ResponseWriter, r *http.Request) {
		out, err := ctl.Sources(r.Context())
		respond(w, http.StatusOK, out, err)
	})
	mux.HandleFunc("POST /api/v1/sources/{source}/trigger", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Mode string `json:"mode"`
		}
		if !readJSON(w, r, &body) {
			return
		}
		ji, err := ctl.Trigger(r.Context(), r.PathValue("source"), body.Mode)
		respond(w, http.StatusAccepted, ji, err)
	})
	mux.HandleFunc("POST /api/v1/sources/{source}/backfill", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Stream     string `json:"stream"`
			From       string `json:"from"`
			To         string `json:"to"`
			WindowDays int    `json:"window_days"`
		}
		if !readJSON(w, r, &body) {
			return
		}
		from, err1 := time.Parse(time.DateOnly, body.From)
		to, err2 := time.Parse(time.DateOnly, body.To)
		if err := errors.Join(err1, err2); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("from and to are dates like 2026-01-31: %w", err))
			return
		}
		res, err := ctl.Backfill(r.Context(), scheduler.BackfillRequest{Source: r.PathValue("source"), Stream: body.Stream,
			From: from, To: to, Window: time.Duration(body.WindowDays) * 24 * time.Hour})
		respond(w, http.StatusAccepted, res, err)
	})
	mux.HandleFunc("POST /api/v1/sources/{source}/pause", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			By     string `json:"by"`
			Reason string `json:"reason"`
		}
		if !readJSON(w, r, &body) {
			return
		}
		changed, err := ctl.Pause(r.Context(), r.PathValue("source"), body.By, body.Reason)
		respond(w, http.StatusOK, map[string]bool{"changed": changed}, err)
	})
	mux.HandleFunc("POST /api/v1/sources/{source}/resume", func(w http.ResponseWriter, r *http.Request) {
		changed, err := ctl.Resume(r.Context(), r.PathValue("source"))
		respond(w, http.StatusOK, map[string]bool{"changed": changed}, err)
	})
	mux.HandleFunc("GET /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := scheduler.JobFilter{Source: q.Get("source")}
		if s := q.Get("state"); s != "" {
			f.States = strings.Split(s, ",")
		}
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: a positive number", s))
				return
			}
			f.Limit = n
		}
		jobs, err := ctl.Jobs(r.Context(), f)
		if jobs == nil {
			jobs = []scheduler.JobInfo{}
		}
		respond(w, http.StatusOK, jobs, err)
	})
	mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := jobID(w, r)
		if !ok {
			return
		}
		ji, err := ctl.Job(r.Context(), id)
		respond(w, http.StatusOK, ji, err)
	})
	mux.HandleFunc("POST /api/v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		id, ok := jobID(w, r)
		if !ok {
			return
		}
		ji, err := ctl.Cancel(r.Context(), id)
		respond(w, http.StatusOK, ji, err)
	})
}

// SourceInfos describes the configured sources.
func SourceInfos(cfg config.Config) map[string]SourceInfo {
	out := map[string]SourceInfo{}
	for name := range cfg.Sources {
		sc := cfg.Source(name)
		out[name] = SourceInfo{Name: name, Plugin: sc.Plugin, Schedule: sc.Schedule, Timezone: sc.Timezone, Timeout: sc.Timeout.String()}
	}
	return out
}

func jobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("job id %q is not a number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// readJSON decodes an optional JSON body.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request body: %w", err))
		return false
	}
	return true
}

func respond(w http.ResponseWriter, ok int, v any, err error) {
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, ok, v)
}

// statusOf maps errors to HTTP statuses (and back, in Client).
func statusOf(err error) int {
	switch {
	case errors.Is(err, scheduler.ErrUnknownSource), errors.Is(err, metastore.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, scheduler.ErrPaused):
		return http.StatusConflict
	case errors.Is(err, scheduler.ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// logRequests logs API calls that change something, and failures.
func logRequests(d *Daemon, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if r.Method != http.MethodGet || rec.status >= 400 {
			d.log.Info("api", "method", r.Method, "path", r.URL.Path, "status", rec.status, "remote", r.RemoteAddr)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
