package daemon_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/daemon"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/lineage/lineagetest"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// hook is a webhook receiver keeping every alert it gets.
type hook struct {
	mu     sync.Mutex
	alerts []notify.Alert
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var payload struct {
		Alert notify.Alert `json:"alert"`
	}
	_ = json.Unmarshal(body, &payload)
	h.mu.Lock()
	h.alerts = append(h.alerts, payload.Alert)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hook) keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.alerts {
		out = append(out, a.ID+"/"+string(a.State))
	}
	return out
}

type fixture struct {
	l      *lake.Lake
	d      *daemon.Daemon
	api    *daemon.Client
	hook   *hook
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T) *fixture { return startWith(t, nil) }

// startWith is start with the daemon's configuration changed by edit.
func startWith(t *testing.T, edit func(*config.Config)) *fixture {
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	require.NoError(t, os.MkdirAll(inbox, 0o755))
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "distrokid", "DistroKid_current15_quoted_utf8.tsv"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(inbox, "export.tsv"), data, 0o644))

	h := &hook{}
	hookSrv := httptest.NewServer(h)
	t.Cleanup(hookSrv.Close)

	cfg := config.Default()
	cfg.Lake = filepath.Join(dir, "lake")
	cfg.Secrets.KeyPath = filepath.Join(dir, "secrets.key")
	cfg.Quality.SuitesDir = filepath.Join(dir, "no-suites")
	cfg.Quality.ContractsDir = filepath.Join(dir, "no-contracts")
	cfg.Daemon.CheckInterval = 200 * time.Millisecond
	cfg.Daemon.RetryBackoff = 50 * time.Millisecond
	cfg.Daemon.MaxAttempts = 2
	cfg.Sources = map[string]config.SourceConfig{
		"distrokid": {Config: map[string]string{"inbox": inbox}},
		// A source whose plugin is not installed: its runs fail with a
		// configuration error.
		"broken": {Plugin: "not-installed", Config: map[string]string{"x": "y"}},
	}
	cfg.Alerts = notify.Config{
		Notifiers: map[string]notify.NotifierConfig{"hook": {Type: "webhook", URL: hookSrv.URL}},
		Routes:    map[notify.Severity][]string{notify.Critical: {"hook"}, notify.High: {"hook"}},
	}
	if edit != nil {
		edit(&cfg)
	}
	l, err := lake.Open(t.Context(), cfg, lake.Options{Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	_, err = l.Plugins.Install(t.Context(), plugintest.Build(t, "plugins/distrokid/cmd/bedrot-source-distrokid"))
	require.NoError(t, err)

	d, err := daemon.New(t.Context(), l, daemon.Options{Grace: 5 * time.Second, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{l: l, d: d, hook: h, cancel: cancel, done: make(chan error, 1)}
	go func() { f.done <- d.Serve(ctx, "127.0.0.1:0") }()
	t.Cleanup(func() {
		cancel()
		<-f.done
		_ = d.Close()
	})
	require.Eventually(t, func() bool { return d.Addr() != "" }, 10*time.Second, 10*time.Millisecond)
	f.api = daemon.NewClient(d.Addr())
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + d.Addr() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
	return f
}

func (f *fixture) wait(t *testing.T, id int64, states ...string) scheduler.JobInfo {
	t.Helper()
	var ji scheduler.JobInfo
	require.Eventually(t, func() bool {
		var err error
		ji, err = f.api.Job(t.Context(), id)
		require.NoError(t, err)
		for _, s := range states {
			if ji.State == s {
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "job %d never reached %v", id, states)
	return ji
}

func (f *fixture) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + f.d.Addr() + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

func (f *fixture) openAlerts(t *testing.T) map[string]metastore.Alert {
	var list []metastore.Alert
	require.NoError(t, json.Unmarshal([]byte(f.get(t, "/api/v1/alerts")), &list))
	out := map[string]metastore.Alert{}
	for _, a := range list {
		out[a.Key] = a
	}
	return out
}

func TestTriggeredRunIsCountedInMetrics(t *testing.T) {
	t.Parallel()
	f := start(t)
	ji, err := f.api.Trigger(t.Context(), "distrokid", "")
	require.NoError(t, err)
	ji = f.wait(t, ji.ID, "completed")
	require.Equal(t, metastore.RunSucceeded, ji.RunStatus)
	run, err := f.l.Meta.GetRun(t.Context(), ji.RunID)
	require.NoError(t, err)
	require.Equal(t, metastore.RunSucceeded, run.Status)

	metrics := f.get(t, "/metrics")
	require.Contains(t, metrics, `bedrot_runs_total{source="distrokid",status="succeeded"} 1`)
	require.Contains(t, metrics, `bedrot_records_total{source="distrokid",stream="earnings"}`)
	require.Contains(t, metrics, `bedrot_last_success_timestamp_seconds{source="distrokid"}`)

	// The ingest is followed by a build (daemon.then: build).
	datasets, err := f.l.Meta.ListDatasets(t.Context())
	require.NoError(t, err)
	require.Contains(t, datasets, "staging.royalties.earnings")
	requireLineage(t, f.l)

	_, err = f.api.Trigger(t.Context(), "nope", "")
	require.ErrorIs(t, err, scheduler.ErrUnknownSource)
	require.ErrorContains(t, err, "configured sources are [broken distrokid]")
}

// A run that fails for good raises a high alert, notified by webhook, and
// its remediation queues another run; data loss raises a critical alert
// that pauses the source; both resolve when their condition clears.
func TestAlertsAreRaisedRemediatedAndResolved(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := t.Context()

	ji, err := f.api.Trigger(ctx, "broken", "")
	require.NoError(t, err)
	ji = f.wait(t, ji.ID, "cancelled")
	require.Equal(t, 1, ji.Attempt, "a configuration error is not retried")
	require.Contains(t, ji.LastError, "not installed")
	var failed metastore.Alert
	require.Eventually(t, func() bool {
		var ok bool
		failed, ok = f.openAlerts(t)["run_failed:broken"]
		return ok
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, "high", failed.Severity)
	require.Eventually(t, func() bool { return contains(f.hook.keys(), "run_failed:broken/firing") }, 10*time.Second, 20*time.Millisecond)
	jobs, err := f.api.Jobs(ctx, scheduler.JobFilter{Source: "broken"})
	require.NoError(t, err)
	var remediations int
	for _, j := range jobs {
		if j.Trigger == scheduler.TriggerRemediation {
			remediations++
		}
	}
	require.Equal(t, 1, remediations, "the high alert's remediation retries the source once")

	// Data loss: a raw file the manifest lists is gone.
	ok, err := f.api.Trigger(ctx, "distrokid", "")
	require.NoError(t, err)
	f.wait(t, ok.ID, "completed")
	files, err := f.l.Meta.ListFiles(ctx, "raw.distrokid.earnings")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	lost := filepath.Join(f.l.Config.Lake, filepath.FromSlash(files[0].Key))
	data, err := os.ReadFile(lost)
	require.NoError(t, err)
	require.NoError(t, os.Remove(lost))
	require.NoError(t, f.d.Check(ctx, true))
	loss, found := f.openAlerts(t)["data_loss:raw.distrokid.earnings"]
	require.True(t, found)
	require.Equal(t, "critical", loss.Severity)
	require.Contains(t, loss.Detail, files[0].Key)
	pauses, err := f.l.Meta.Pauses(ctx)
	require.NoError(t, err)
	require.Equal(t, "auto", pauses["distrokid"].By, "a critical alert pauses its source")
	_, err = f.api.Trigger(ctx, "distrokid", "")
	require.ErrorIs(t, err, scheduler.ErrPaused)
	require.Eventually(t, func() bool { return contains(f.hook.keys(), "data_loss:raw.distrokid.earnings/firing") }, 10*time.Second, 20*time.Millisecond)

	// The file is restored: the alert resolves itself; the pause stays
	// until someone resumes.
	require.NoError(t, os.WriteFile(lost, data, 0o644))
	require.NoError(t, f.d.Check(ctx, true))
	_, found = f.openAlerts(t)["data_loss:raw.distrokid.earnings"]
	require.False(t, found)
	resolved, err := f.l.Meta.GetAlert(ctx, loss.ID)
	require.NoError(t, err)
	require.Equal(t, metastore.AlertResolved, resolved.State)
	require.Equal(t, metastore.ResolvedByAuto, resolved.ResolvedBy)
	changed, err := f.api.Resume(ctx, "distrokid")
	require.NoError(t, err)
	require.True(t, changed)

	// Ack over the API.
	resp, err := http.Post("http://"+f.d.Addr()+"/api/v1/alerts/"+failed.ID+"/ack", "application/json", strings.NewReader(`{"by":"ana"}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	acked, err := f.l.Meta.GetAlert(ctx, failed.ID)
	require.NoError(t, err)
	require.Equal(t, metastore.AlertAcknowledged, acked.State)
	require.Equal(t, "ana", acked.AckedBy)

	require.Contains(t, f.get(t, "/metrics"), `bedrot_alerts_raised_total{severity="critical"} 1`)
}

func TestSIGTERMStopsGracefully(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.cancel()
	select {
	case err := <-f.done:
		require.NoError(t, err)
		f.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop")
	}
}

// requireLineage checks every OpenLineage event in the lake against the
// OpenLineage JSON schema, and that each run has one START and exactly one
// COMPLETE or FAIL.
func requireLineage(t *testing.T, l *lake.Lake) {
	t.Helper()
	perRun := map[string][]string{}
	require.NoError(t, l.Store.List(t.Context(), ".bedrot/lineage/", func(oi storage.ObjectInfo) error {
		obj, err := l.Store.Open(t.Context(), oi.Key)
		require.NoError(t, err)
		data, err := io.ReadAll(obj)
		obj.Close()
		require.NoError(t, err)
		require.NoError(t, lineagetest.Validate(data), oi.Key)
		var ev struct {
			EventType string `json:"eventType"`
			Run       struct {
				RunID string `json:"runId"`
			} `json:"run"`
		}
		require.NoError(t, json.Unmarshal(data, &ev))
		perRun[ev.Run.RunID] = append(perRun[ev.Run.RunID], ev.EventType)
		return nil
	}))
	require.NotEmpty(t, perRun)
	for id, types := range perRun {
		require.Len(t, types, 2, "run %s: %v", id, types)
		require.Contains(t, types, "START")
		require.True(t, contains(types, "COMPLETE") || contains(types, "FAIL"), "run %s: %v", id, types)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// An agent's validate_schema:DATASET next step queues a validation job,
// which the daemon works like any other: the validation is recorded, and
// `bedrot jobs` shows who asked for it. A dataset without a suite is
// refused at once, naming where its suite would be.
func TestValidateSchemaNextStepIsAQueuedJob(t *testing.T) {
	t.Parallel()
	suites, err := filepath.Abs(filepath.Join("..", "..", "config", "suites"))
	require.NoError(t, err)
	f := startWith(t, func(c *config.Config) { c.Quality.SuitesDir = suites })
	ctx := t.Context()
	_, err = f.l.Plugins.Install(ctx, plugintest.Build(t, "plugins/quality-ge/cmd/bedrot-validator-quality-ge"))
	require.NoError(t, err)
	ji, err := f.api.Trigger(ctx, "distrokid", "")
	require.NoError(t, err)
	f.wait(t, ji.ID, "completed")
	const dataset = "raw.distrokid.earnings"
	before, err := f.l.Meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: dataset})
	require.NoError(t, err)

	rt, err := daemon.AgentRuntime(f.l, f.d.Scheduler(), nil)
	require.NoError(t, err)
	from := metastore.AgentSession{ID: "session-7", AgentID: "anomaly-1", AgentType: "anomaly"}
	require.NoError(t, rt.Dispatch(ctx, sdk.NextStep{Action: "validate_schema", Target: dataset}, from))
	err = rt.Dispatch(ctx, sdk.NextStep{Action: "validate_schema", Target: "raw.nowhere.nothing"}, from)
	require.ErrorContains(t, err, "no expectation suite for raw.nowhere.nothing (looked for "+filepath.Join(suites, "raw.nowhere.nothing.json")+")")

	var job scheduler.JobInfo
	require.Eventually(t, func() bool {
		jobs, err := f.api.Jobs(ctx, scheduler.JobFilter{})
		require.NoError(t, err)
		for _, j := range jobs {
			if j.Source == "validate:"+dataset {
				job = j
				return j.State == "completed"
			}
		}
		return false
	}, 60*time.Second, 50*time.Millisecond, "the validation job never completed: %+v", job)
	require.Equal(t, "validate", job.Mode)
	require.Equal(t, "validate_schema from session-7", job.Trigger)

	after, err := f.l.Meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: dataset})
	require.NoError(t, err)
	require.Len(t, after, len(before)+1, "the job recorded one validation")
	require.Empty(t, after[0].RunID, "newest first: the job's, made outside a run")
	require.Equal(t, int64(60), after[0].Rows)
}
