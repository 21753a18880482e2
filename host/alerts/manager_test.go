package alerts_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
)

func runFailed(source string) alerts.Condition {
	return alerts.Condition{Key: "run_failed:" + source, Kind: alerts.KindRunFailed, Severity: notify.High,
		Title: source + " run failed", Detail: "HTTP 500 from the API", Source: source, RunID: "run-1",
		Since: t0.Add(-2 * time.Minute), Details: map[string]string{"status": "failed"}}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()

	// Raised: stored firing, notified once, remediated (high: retry 3x).
	a, created, err := h.m.Raise(ctx, runFailed("spotify"))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, metastore.AlertFiring, a.State)
	require.Equal(t, 1, a.Count)
	require.Equal(t, t0, a.FirstSeen)
	require.Equal(t, t0.Add(-2*time.Minute), *a.ConditionAt)
	require.JSONEq(t, `{"status": "failed"}`, string(a.Details))
	sent := h.n.take()
	require.Len(t, sent, 1)
	require.Equal(t, "run_failed:spotify", sent[0].ID, "the notification ID is the dedup key")
	require.Equal(t, notify.Firing, sent[0].State)
	require.Equal(t, notify.High, sent[0].Severity)
	require.Equal(t, "spotify", sent[0].Source)
	require.Equal(t, "run-1", sent[0].RunID)
	require.Equal(t, t0, sent[0].StartedAt)
	require.Equal(t, a.ID, sent[0].Details["alert_id"])
	require.Equal(t, "failed", sent[0].Details["status"])
	require.Equal(t, "retry of spotify requested (3 attempts)", sent[0].Details["remediation"], "the page says what was done")
	require.Equal(t, []call{{Op: "retry", Source: "spotify", Attempts: 3}}, h.r.take())
	stored, err := h.meta.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, t0, *stored.NotifiedAt)
	require.Empty(t, stored.NotifyError)
	require.Equal(t, "retry of spotify requested (3 attempts)", stored.Remediation)

	// Seen again: de-duplicated, neither notified nor remediated again.
	h.clock.Advance(time.Minute)
	again := runFailed("spotify")
	again.Detail, again.RunID = "HTTP 503", "run-2"
	b, created, err := h.m.Raise(ctx, again)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, a.ID, b.ID)
	require.Equal(t, 2, b.Count)
	require.Equal(t, t0.Add(time.Minute), b.LastSeen)
	require.Equal(t, "HTTP 503", b.Detail)
	require.Empty(t, h.n.take())
	require.Empty(t, h.r.take())
	list, err := h.meta.ListAlerts(ctx, metastore.AlertFilter{Key: "run_failed:spotify"})
	require.NoError(t, err)
	require.Len(t, list, 1, "one alert per open condition")

	// Acknowledged by key: notified; acknowledging again notifies nothing.
	h.clock.Advance(time.Minute)
	acked, changed, err := h.m.Ack(ctx, "run_failed:spotify", "ana")
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, metastore.AlertAcknowledged, acked.State)
	require.Equal(t, "ana", acked.AckedBy)
	sent = h.n.take()
	require.Len(t, sent, 1)
	require.Equal(t, notify.Acknowledged, sent[0].State)
	require.Equal(t, "run_failed:spotify", sent[0].ID)
	require.Equal(t, "ana", sent[0].Details["acknowledged_by"])
	require.Equal(t, t0.Add(2*time.Minute), sent[0].UpdatedAt)
	_, changed, err = h.m.Ack(ctx, a.ID, "bo")
	require.NoError(t, err)
	require.False(t, changed)
	require.Empty(t, h.n.take())

	// Resolved by ID: notified; then acknowledging fails, resolving is a no-op.
	h.clock.Advance(10 * time.Minute)
	res, changed, err := h.m.Resolve(ctx, a.ID, "ana")
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, metastore.AlertResolved, res.State)
	require.Equal(t, t0.Add(12*time.Minute), *res.ResolvedAt)
	sent = h.n.take()
	require.Len(t, sent, 1)
	require.Equal(t, notify.Resolved, sent[0].State)
	require.Equal(t, "ana", sent[0].Details["resolved_by"])
	_, _, err = h.m.Ack(ctx, a.ID, "ana")
	require.ErrorIs(t, err, metastore.ErrAlertResolved)
	_, changed, err = h.m.Resolve(ctx, a.ID, "ana")
	require.NoError(t, err)
	require.False(t, changed)
	require.Empty(t, h.n.take())
	// The key no longer names an open alert.
	_, _, err = h.m.Resolve(ctx, "run_failed:spotify", "ana")
	require.ErrorIs(t, err, metastore.ErrNotFound)

	// Raised again after resolution: a new alert, notified and remediated.
	h.clock.Advance(time.Hour)
	c, created, err := h.m.Raise(ctx, runFailed("spotify"))
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, a.ID, c.ID)
	require.Equal(t, 1, c.Count)
	sent = h.n.take()
	require.Len(t, sent, 1)
	require.Equal(t, notify.Firing, sent[0].State)
	require.Equal(t, c.ID, sent[0].Details["alert_id"])
	require.Equal(t, []call{{Op: "retry", Source: "spotify", Attempts: 3}}, h.r.take())

	_, _, err = h.m.Ack(ctx, "no-such-alert", "ana")
	require.ErrorIs(t, err, metastore.ErrNotFound)
}

func TestReconcileResolvesClearedConditions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()

	got, err := h.m.Reconcile(ctx, alerts.KindRunFailed, []alerts.Condition{runFailed("spotify"), runFailed("tiktok")})
	require.NoError(t, err)
	require.Len(t, got.Opened, 2)
	require.Empty(t, got.Updated)
	require.Empty(t, got.Resolved)
	require.Len(t, h.n.take(), 2)

	// An alert of another kind is not touched by this kind's reconciling.
	other, _, err := h.m.Raise(ctx, alerts.Condition{Key: "slow_run:spotify", Kind: alerts.KindSlowRun, Severity: notify.Low, Title: "slow"})
	require.NoError(t, err)
	h.n.take()

	// tiktok cleared: resolved as "auto" and notified; spotify still fires.
	h.clock.Advance(5 * time.Minute)
	got, err = h.m.Reconcile(ctx, alerts.KindRunFailed, []alerts.Condition{runFailed("spotify")})
	require.NoError(t, err)
	require.Empty(t, got.Opened)
	require.Len(t, got.Updated, 1)
	require.Equal(t, 2, got.Updated[0].Count)
	require.Len(t, got.Resolved, 1)
	require.Equal(t, "run_failed:tiktok", got.Resolved[0].Key)
	require.Equal(t, metastore.ResolvedByAuto, got.Resolved[0].ResolvedBy)
	require.Equal(t, t0.Add(5*time.Minute), *got.Resolved[0].ResolvedAt)
	sent := h.n.take()
	require.Len(t, sent, 1)
	require.Equal(t, "run_failed:tiktok", sent[0].ID)
	require.Equal(t, notify.Resolved, sent[0].State)
	require.Equal(t, "auto", sent[0].Details["resolved_by"])

	// An acknowledged alert whose condition clears is resolved too.
	_, _, err = h.m.Ack(ctx, "run_failed:spotify", "ana")
	require.NoError(t, err)
	h.n.take()
	got, err = h.m.Reconcile(ctx, alerts.KindRunFailed, nil)
	require.NoError(t, err)
	require.Len(t, got.Resolved, 1)
	require.Equal(t, "run_failed:spotify", got.Resolved[0].Key)

	open, err := h.meta.ListAlerts(ctx, metastore.AlertFilter{State: metastore.AlertOpen})
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, other.ID, open[0].ID)

	// Conditions take the kind when they have none; another kind is refused.
	c := runFailed("distrokid")
	c.Kind = ""
	got, err = h.m.Reconcile(ctx, alerts.KindRunFailed, []alerts.Condition{c})
	require.NoError(t, err)
	require.Len(t, got.Opened, 1)
	require.Equal(t, alerts.KindRunFailed, got.Opened[0].Kind)
	_, err = h.m.Reconcile(ctx, alerts.KindRunFailed, []alerts.Condition{{Key: "slow_run:x", Kind: alerts.KindSlowRun, Severity: notify.Low, Title: "x"}})
	require.ErrorContains(t, err, `of kind "slow_run"`)
}

func TestNotifierFailureKeepsTheAlert(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	h.n.setFail(errBoom)

	a, created, err := h.m.Raise(ctx, runFailed("spotify"))
	require.NoError(t, err, "a notification failure does not fail the raise")
	require.True(t, created)
	require.Equal(t, "boom", a.NotifyError)
	require.Nil(t, a.NotifiedAt)
	stored, err := h.meta.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, metastore.AlertFiring, stored.State)
	require.Equal(t, "boom", stored.NotifyError)
	require.Nil(t, stored.NotifiedAt)
	require.Len(t, h.n.take(), 1, "the notification was attempted")
	require.Contains(t, h.log.String(), "alert notification failed")

	// The next notification that gets through clears the failure.
	h.n.setFail(nil)
	h.clock.Advance(time.Minute)
	_, _, err = h.m.Ack(ctx, a.ID, "ana")
	require.NoError(t, err)
	stored, err = h.meta.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Empty(t, stored.NotifyError)
	require.Equal(t, t0.Add(time.Minute), *stored.NotifiedAt)
}

func TestRemediationFollowsTheMatrix(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	raise := func(c alerts.Condition) metastore.Alert {
		t.Helper()
		a, created, err := h.m.Raise(ctx, c)
		require.NoError(t, err)
		require.True(t, created)
		return a
	}

	crit := raise(alerts.Condition{Key: "data_loss:raw.spotify.streams", Kind: alerts.KindDataLoss, Severity: notify.Critical,
		Title: "Data loss in raw.spotify.streams", Detail: "raw/x.parquet: missing\nmore", Source: "spotify", Dataset: "raw.spotify.streams"})
	require.Equal(t, []call{{Op: "pause", Source: "spotify", Reason: "Data loss in raw.spotify.streams: raw/x.parquet: missing"}}, h.r.take())
	require.Equal(t, "paused spotify", crit.Remediation)

	whole := raise(alerts.Condition{Key: "data_loss:curated.track_performance", Kind: alerts.KindDataLoss, Severity: notify.Critical,
		Title: "Data loss in curated.track_performance", Dataset: "curated.track_performance"})
	require.Equal(t, []call{{Op: "pause", Source: "", Reason: "Data loss in curated.track_performance"}}, h.r.take(),
		"no source: the whole pipeline is paused")
	require.Equal(t, "paused the pipeline", whole.Remediation)

	high := raise(runFailed("tiktok"))
	require.Equal(t, []call{{Op: "retry", Source: "tiktok", Attempts: alerts.RetryAttempts}}, h.r.take())
	require.Equal(t, 3, alerts.RetryAttempts)
	require.Contains(t, high.Remediation, "retry of tiktok requested")

	med := raise(alerts.Condition{Key: "quality:raw.tiktok.videos", Kind: alerts.KindQuality, Severity: notify.Medium,
		Title: "Data quality warning", Dataset: "raw.tiktok.videos"})
	require.Empty(t, h.r.take(), "medium: no remediation call")
	require.Equal(t, "logged for review", med.Remediation)
	require.Contains(t, h.log.String(), "logged for review")
	require.Contains(t, h.log.String(), "quality:raw.tiktok.videos")

	low := raise(alerts.Condition{Key: "slow_run:tiktok", Kind: alerts.KindSlowRun, Severity: notify.Low, Title: "slow", Source: "tiktok"})
	require.Empty(t, h.r.take(), "low: none")
	require.Empty(t, low.Remediation)

	// A failing remediator is recorded on the alert and logged.
	h.r.fail = errBoom
	failed := raise(alerts.Condition{Key: "data_loss:raw.tiktok.videos", Kind: alerts.KindDataLoss, Severity: notify.Critical,
		Title: "Data loss", Source: "tiktok"})
	require.Len(t, h.r.take(), 1)
	require.Equal(t, "failed to pause tiktok: boom", failed.Remediation)
	stored, err := h.meta.GetAlert(ctx, failed.ID)
	require.NoError(t, err)
	require.Equal(t, "failed to pause tiktok: boom", stored.Remediation)
	require.Contains(t, h.log.String(), "alert remediation failed")
}

func TestManagerWithoutNotifierOrRemediator(t *testing.T) {
	t.Parallel()
	meta := openMeta(t)
	m := alerts.NewManager(meta, alerts.Options{})
	a, created, err := m.Raise(t.Context(), runFailed("spotify"))
	require.NoError(t, err)
	require.True(t, created)
	require.Nil(t, a.NotifiedAt)
	require.Empty(t, a.Remediation)
	_, changed, err := m.Resolve(t.Context(), a.Key, "ana")
	require.NoError(t, err)
	require.True(t, changed)
}

func TestRaiseRejectsInvalidConditions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, c := range map[string]alerts.Condition{
		"no key":       {Kind: "k", Severity: notify.Low, Title: "t"},
		"no kind":      {Key: "k", Severity: notify.Low, Title: "t"},
		"bad severity": {Key: "k", Kind: "k", Severity: "urgent", Title: "t"},
		"no title":     {Key: "k", Kind: "k", Severity: notify.Low},
	} {
		_, _, err := h.m.Raise(t.Context(), c)
		require.ErrorIs(t, err, alerts.ErrInvalidCondition, name)
	}
	require.Empty(t, h.n.take())
	list, err := h.meta.ListAlerts(t.Context(), metastore.AlertFilter{})
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestToNotify(t *testing.T) {
	t.Parallel()
	acked := t0.Add(3 * time.Minute)
	n := alerts.ToNotify(metastore.Alert{ID: "alert-1", Key: "data_loss:raw.a.b", Kind: "data_loss", Severity: "critical",
		State: "acknowledged", Title: "Data loss", Detail: "d", Source: "a", Dataset: "raw.a.b", RunID: "r",
		FirstSeen: t0, LastSeen: t0.Add(time.Minute), AckedAt: &acked, AckedBy: "ana", Count: 4,
		Details: json.RawMessage(`{"missing": "2", "files": 10, "nested": {"x": true}}`)})
	require.NoError(t, n.Validate())
	require.Equal(t, notify.Alert{ID: "data_loss:raw.a.b", Kind: "data_loss", Severity: notify.Critical, State: notify.Acknowledged,
		Title: "Data loss", Detail: "d", Source: "a", Dataset: "raw.a.b", RunID: "r", StartedAt: t0, UpdatedAt: acked,
		Details: map[string]string{"missing": "2", "files": "10", "nested": `{"x":true}`, "alert_id": "alert-1", "count": "4",
			"acknowledged_by": "ana"}}, n)
}

// Two detectors of one kind keep to their own keys: the data loss check
// does not resolve the scrub's alerts, nor the scrub the data loss check's.
func TestReconcileKeysKeepsToItsPrefix(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	damage := alerts.Condition{Key: alerts.DamageKeyPrefix + "raw.x", Kind: alerts.KindDataLoss, Severity: notify.Critical, Title: "damaged"}
	loss := alerts.Condition{Key: "data_loss:raw.y", Kind: alerts.KindDataLoss, Severity: notify.Critical, Title: "lost"}
	got, err := h.m.ReconcileKeys(ctx, alerts.KindDataLoss, alerts.DamageKeyPrefix, []alerts.Condition{damage})
	require.NoError(t, err)
	require.Len(t, got.Opened, 1)
	got, err = h.m.Reconcile(ctx, alerts.KindDataLoss, []alerts.Condition{loss})
	require.NoError(t, err)
	require.Len(t, got.Opened, 1)

	got, err = h.m.Reconcile(ctx, alerts.KindDataLoss, nil)
	require.NoError(t, err)
	require.Len(t, got.Resolved, 1)
	require.Equal(t, "data_loss:raw.y", got.Resolved[0].Key)
	got, err = h.m.ReconcileKeys(ctx, alerts.KindDataLoss, alerts.DamageKeyPrefix, nil)
	require.NoError(t, err)
	require.Len(t, got.Resolved, 1)
	require.Equal(t, alerts.DamageKeyPrefix+"raw.x", got.Resolved[0].Key)

	_, err = h.m.ReconcileKeys(ctx, alerts.KindDataLoss, alerts.DamageKeyPrefix, []alerts.Condition{loss})
	require.ErrorContains(t, err, `does not have the key prefix "data_damage:"`)
}
