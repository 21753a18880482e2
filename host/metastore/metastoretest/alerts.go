package metastoretest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// testAlerts runs the alert lifecycle checks: raising and de-duplicating,
// acknowledging, resolving, reopening after resolution, listing and
// counting, notification and remediation records, and concurrent raises.
func testAlerts(t *testing.T, s metastore.Store) {
	// ListAndCount needs the store empty of alerts: it runs first.
	t.Run("ListAndCount", func(t *testing.T) { testAlertListAndCount(t, s) })
	t.Run("Lifecycle", func(t *testing.T) { testAlertLifecycle(t, s) })
	t.Run("Validation", func(t *testing.T) { testAlertValidation(t, s) })
	t.Run("Records", func(t *testing.T) { testAlertRecords(t, s) })
	t.Run("ConcurrentRaise", func(t *testing.T) { testAlertConcurrentRaise(t, s) })
}

func testAlertLifecycle(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	key := newID("run_failed:spotify")
	t0 := stamp().Add(-time.Hour)
	cond := t0.Add(-2 * time.Minute)
	first, created, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: "run_failed", Severity: metastore.SeverityHigh,
		Title: "spotify run failed", Detail: "HTTP 500", Source: "spotify", RunID: "run-1",
		FirstSeen: t0, LastSeen: t0, ConditionAt: &cond, Details: json.RawMessage(`{"attempts": 3}`)})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEmpty(t, first.ID)
	require.Equal(t, metastore.AlertFiring, first.State)
	require.Equal(t, 1, first.Count)
	require.Equal(t, t0, first.FirstSeen)
	require.Equal(t, t0, first.LastSeen)
	require.NotNil(t, first.ConditionAt)
	require.Equal(t, cond, *first.ConditionAt)
	require.Equal(t, "spotify", first.Source)
	require.JSONEq(t, `{"attempts": 3}`, string(first.Details))
	require.Nil(t, first.AckedAt)
	require.Nil(t, first.ResolvedAt)
	require.Nil(t, first.NotifiedAt)

	got, err := s.GetAlert(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, first, got)

	// The same condition again: the open alert is bumped, not duplicated.
	t1 := t0.Add(10 * time.Minute)
	bumped, created, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: "run_failed", Severity: metastore.SeverityHigh,
		Title: "spotify run failed again", Detail: "HTTP 503", Source: "spotify", RunID: "run-2", FirstSeen: t1, LastSeen: t1})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, bumped.ID)
	require.Equal(t, 2, bumped.Count)
	require.Equal(t, t0, bumped.FirstSeen, "first seen stays")
	require.Equal(t, t1, bumped.LastSeen)
	require.Equal(t, "HTTP 503", bumped.Detail)
	require.Equal(t, "spotify run failed again", bumped.Title)
	require.Equal(t, "run-2", bumped.RunID)
	require.JSONEq(t, `{"attempts": 3}`, string(bumped.Details), "details without new ones stay")
	require.Equal(t, cond, *bumped.ConditionAt, "condition start stays")

	// A raise carrying an older time does not move LastSeen back.
	older, _, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: "run_failed", Severity: metastore.SeverityHigh,
		Title: "spotify run failed", LastSeen: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, 3, older.Count)
	require.Equal(t, t1, older.LastSeen)
	require.Equal(t, "run-2", older.RunID, "an empty run id keeps the recorded one")

	// Acknowledge; acknowledging again changes nothing.
	tAck := t1.Add(time.Minute)
	acked, changed, err := s.AckAlert(ctx, first.ID, "ana", tAck)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, metastore.AlertAcknowledged, acked.State)
	require.Equal(t, "ana", acked.AckedBy)
	require.Equal(t, tAck, *acked.AckedAt)
	again, changed, err := s.AckAlert(ctx, first.ID, "bo", time.Time{})
	require.NoError(t, err)
	require.False(t, changed)
	require.Equal(t, "ana", again.AckedBy, "the first acknowledgement stays")

	// Raising while acknowledged bumps and keeps the state.
	stillAcked, created, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: "run_failed", Severity: metastore.SeverityHigh, Title: "x"})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, metastore.AlertAcknowledged, stillAcked.State)
	require.Equal(t, 4, stillAcked.Count)

	// Resolve; resolving again changes nothing; acknowledging fails.
	tRes := tAck.Add(5 * time.Minute)
	resolved, changed, err := s.ResolveAlert(ctx, first.ID, metastore.ResolvedByAuto, tRes)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, metastore.AlertResolved, resolved.State)
	require.Equal(t, metastore.ResolvedByAuto, resolved.ResolvedBy)
	require.Equal(t, tRes, *resolved.ResolvedAt)
	require.False(t, resolved.Open())
	_, changed, err = s.ResolveAlert(ctx, first.ID, "ana", time.Time{})
	require.NoError(t, err)
	require.False(t, changed)
	_, _, err = s.AckAlert(ctx, first.ID, "ana", time.Time{})
	require.ErrorIs(t, err, metastore.ErrAlertResolved)

	// The condition again after resolution opens a new alert.
	reopened, created, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: "run_failed", Severity: metastore.SeverityHigh, Title: "spotify run failed"})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, first.ID, reopened.ID)
	require.Equal(t, 1, reopened.Count)
	require.Equal(t, metastore.AlertFiring, reopened.State)
	requireBetween(t, tRes, reopened.FirstSeen)
	require.Nil(t, reopened.ConditionAt)

	old, err := s.GetAlert(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, metastore.AlertResolved, old.State, "the resolved occurrence is kept")

	// Unknown ids.
	_, err = s.GetAlert(ctx, "alert-missing")
	require.ErrorIs(t, err, metastore.ErrNotFound)
	_, _, err = s.AckAlert(ctx, "alert-missing", "ana", time.Time{})
	require.ErrorIs(t, err, metastore.ErrNotFound)
	_, _, err = s.ResolveAlert(ctx, "alert-missing", "ana", time.Time{})
	require.ErrorIs(t, err, metastore.ErrNotFound)
}

func testAlertValidation(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	ok := metastore.Alert{Key: newID("k"), Kind: "quality", Severity: metastore.SeverityMedium, Title: "t"}
	for name, mutate := range map[string]func(a *metastore.Alert){
		"no key":       func(a *metastore.Alert) { a.Key = "" },
		"no kind":      func(a *metastore.Alert) { a.Kind = "" },
		"no title":     func(a *metastore.Alert) { a.Title = " " },
		"bad severity": func(a *metastore.Alert) { a.Severity = "urgent" },
		"bad details":  func(a *metastore.Alert) { a.Details = json.RawMessage(`{`) },
	} {
		a := ok
		mutate(&a)
		_, _, err := s.RaiseAlert(ctx, a)
		require.Error(t, err, name)
	}
	list, err := s.ListAlerts(ctx, metastore.AlertFilter{Key: ok.Key})
	require.NoError(t, err)
	require.Empty(t, list, "nothing invalid was stored")

	_, err = s.ListAlerts(ctx, metastore.AlertFilter{State: "sleeping"})
	require.Error(t, err)
	_, err = s.ListAlerts(ctx, metastore.AlertFilter{Severity: "urgent"})
	require.Error(t, err)
}

func testAlertListAndCount(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	counts, err := s.OpenAlertCounts(ctx)
	require.NoError(t, err)
	require.Empty(t, counts)

	base := stamp().Add(-time.Hour)
	raise := func(key, kind, sev, source string, minute int) metastore.Alert {
		at := base.Add(time.Duration(minute) * time.Minute)
		a, created, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: kind, Severity: sev, Title: key, Source: source, FirstSeen: at, LastSeen: at})
		require.NoError(t, err)
		require.True(t, created)
		return a
	}
	loss := raise("data_loss:raw.spotify.streams", "data_loss", metastore.SeverityCritical, "spotify", 1)
	failed := raise("run_failed:tiktok", "run_failed", metastore.SeverityHigh, "tiktok", 2)
	quality := raise("quality:raw.tiktok.videos", "quality", metastore.SeverityMedium, "tiktok", 3)
	slow := raise("slow_run:spotify", "slow_run", metastore.SeverityLow, "spotify", 4)
	slow2 := raise("slow_run:distrokid", "slow_run", metastore.SeverityLow, "distrokid", 5)

	_, _, err = s.AckAlert(ctx, failed.ID, "ana", time.Time{})
	require.NoError(t, err)
	_, _, err = s.ResolveAlert(ctx, quality.ID, "ana", time.Time{})
	require.NoError(t, err)

	ids := func(f metastore.AlertFilter) []string {
		t.Helper()
		list, err := s.ListAlerts(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	require.Equal(t, []string{slow2.ID, slow.ID, quality.ID, failed.ID, loss.ID}, ids(metastore.AlertFilter{}), "last seen newest first")
	require.Equal(t, []string{slow2.ID, slow.ID, failed.ID, loss.ID}, ids(metastore.AlertFilter{State: metastore.AlertOpen}))
	require.Equal(t, []string{slow2.ID, slow.ID, loss.ID}, ids(metastore.AlertFilter{State: metastore.AlertFiring}))
	require.Equal(t, []string{failed.ID}, ids(metastore.AlertFilter{State: metastore.AlertAcknowledged}))
	require.Equal(t, []string{quality.ID}, ids(metastore.AlertFilter{State: metastore.AlertResolved}))
	require.Equal(t, []string{slow2.ID, slow.ID}, ids(metastore.AlertFilter{Severity: metastore.SeverityLow}))
	require.Equal(t, []string{slow.ID, loss.ID}, ids(metastore.AlertFilter{Source: "spotify"}))
	require.Equal(t, []string{slow2.ID, slow.ID}, ids(metastore.AlertFilter{Kind: "slow_run"}))
	require.Equal(t, []string{failed.ID}, ids(metastore.AlertFilter{Key: "run_failed:tiktok"}))
	require.Equal(t, []string{slow2.ID, slow.ID}, ids(metastore.AlertFilter{Since: base.Add(4 * time.Minute)}))
	require.Equal(t, []string{slow2.ID, slow.ID}, ids(metastore.AlertFilter{Limit: 2}))
	require.Equal(t, []string{slow.ID}, ids(metastore.AlertFilter{State: metastore.AlertOpen, Source: "spotify", Severity: metastore.SeverityLow}))

	counts, err = s.OpenAlertCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{metastore.SeverityCritical: 1, metastore.SeverityHigh: 1, metastore.SeverityLow: 2}, counts)

	// The default limit is 100; a negative limit lists all.
	for i := range 101 {
		_, _, err := s.RaiseAlert(ctx, metastore.Alert{Key: newID("bulk"), Kind: "bulk", Severity: metastore.SeverityLow, Title: "bulk",
			LastSeen: base.Add(-time.Duration(i) * time.Second)})
		require.NoError(t, err)
	}
	require.Len(t, ids(metastore.AlertFilter{Kind: "bulk"}), 100)
	require.Len(t, ids(metastore.AlertFilter{Kind: "bulk", Limit: -1}), 101)
}

func testAlertRecords(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	a, _, err := s.RaiseAlert(ctx, metastore.Alert{Key: newID("data_loss"), Kind: "data_loss", Severity: metastore.SeverityCritical, Title: "lost"})
	require.NoError(t, err)

	require.NoError(t, s.MarkAlertNotified(ctx, a.ID, time.Time{}, "pagerduty: HTTP 503"))
	got, err := s.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "pagerduty: HTTP 503", got.NotifyError)
	require.Nil(t, got.NotifiedAt, "a failure is not a notification")

	at := stamp()
	require.NoError(t, s.MarkAlertNotified(ctx, a.ID, at, ""))
	got, err = s.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Empty(t, got.NotifyError, "a success clears the failure")
	require.Equal(t, at, *got.NotifiedAt)

	require.NoError(t, s.MarkAlertNotified(ctx, a.ID, time.Time{}, "slack: timeout"))
	got, err = s.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "slack: timeout", got.NotifyError)
	require.Equal(t, at, *got.NotifiedAt, "a later failure keeps the last success")

	require.NoError(t, s.SetAlertRemediation(ctx, a.ID, "paused spotify"))
	got, err = s.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "paused spotify", got.Remediation)

	require.ErrorIs(t, s.MarkAlertNotified(ctx, "alert-missing", time.Time{}, ""), metastore.ErrNotFound)
	require.ErrorIs(t, s.SetAlertRemediation(ctx, "alert-missing", "x"), metastore.ErrNotFound)
}

// testAlertConcurrentRaise raises one key from many goroutines at once:
// exactly one alert is opened, and it counts every raise.
func testAlertConcurrentRaise(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	const n = 12
	key := newID("run_failed:distrokid")
	start := make(chan struct{})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		ids     = map[string]bool{}
		errs    []error
	)
	for range n {
		wg.Go(func() {
			<-start
			a, c, err := s.RaiseAlert(ctx, metastore.Alert{Key: key, Kind: "run_failed", Severity: metastore.SeverityHigh, Title: "distrokid run failed"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[a.ID] = true
			if c {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, 1, created, "exactly one raise opened the alert")
	require.Len(t, ids, 1, "every raise saw the same alert")
	list, err := s.ListAlerts(ctx, metastore.AlertFilter{Key: key})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, n, list[0].Count)
}
