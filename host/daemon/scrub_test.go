package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/daemon"
	"github.com/bedrot-label/bedrot/host/metastore"
)

// The daemon's scrub finds a raw file whose bytes changed behind bedrot's
// back (same size: the quick data loss check cannot see it), raises a
// critical alert that pauses the source, keeps it open through the quick
// checks, and resolves it when a later scrub finds the file restored.
func TestScrubAlertsOnDamagedFilesUntilTheyAreRestored(t *testing.T) {
	t.Parallel()
	f := startWith(t, func(cfg *config.Config) { cfg.Daemon.ScrubInterval = 200 * time.Millisecond })
	ctx := t.Context()
	ji, err := f.api.Trigger(ctx, "distrokid", "")
	require.NoError(t, err)
	f.wait(t, ji.ID, "completed")

	raws, err := filepath.Glob(filepath.Join(f.l.Config.Lake, "raw", "source=distrokid", "*", "*.parquet"))
	require.NoError(t, err)
	require.Len(t, raws, 1)
	good, err := os.ReadFile(raws[0])
	require.NoError(t, err)
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff
	require.NoError(t, os.WriteFile(raws[0], bad, 0o644))

	key := alerts.DamageKeyPrefix + "raw.distrokid.earnings"
	openAlert := func() *metastore.Alert {
		list, err := f.l.Meta.ListAlerts(ctx, metastore.AlertFilter{Kind: alerts.KindDataLoss, State: metastore.AlertOpen})
		require.NoError(t, err)
		for _, a := range list {
			if a.Key == key {
				return &a
			}
		}
		return nil
	}
	require.Eventually(t, func() bool { return openAlert() != nil }, 20*time.Second, 50*time.Millisecond, "no alert for the damaged file")
	a := openAlert()
	require.Equal(t, metastore.SeverityCritical, a.Severity)
	require.Contains(t, a.Detail, "(checksum mismatch)")
	require.Eventually(t, func() bool {
		srcs, err := f.api.Sources(ctx)
		require.NoError(t, err)
		for _, s := range srcs {
			if s.Name == "distrokid" {
				return s.Paused != nil
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the source is paused")

	// The quick check (existence and size) runs and leaves the alert open.
	require.NoError(t, f.d.Check(ctx, true))
	require.NotNil(t, openAlert(), "the quick check does not resolve what only the scrub sees")

	require.NoError(t, os.WriteFile(raws[0], good, 0o644))
	require.Eventually(t, func() bool { return openAlert() == nil }, 20*time.Second, 50*time.Millisecond, "the alert is resolved once the file is restored")
}

// The scrub's schedule is the lake's, kept in the metastore: a daemon that
// starts on a lake whose last scrub is more than an interval old scrubs at
// once, however recently a daemon started; the first daemon of a lake
// starts the schedule without scrubbing.
func TestScrubScheduleOutlivesDaemons(t *testing.T) {
	t.Parallel()
	before := time.Now()
	f := startWith(t, func(cfg *config.Config) { cfg.Daemon.ScrubInterval = time.Hour })
	ctx := t.Context()
	var started time.Time
	require.Eventually(t, func() bool {
		var err error
		started, err = f.l.Meta.MaintenanceLast(ctx, "scrub")
		require.NoError(t, err)
		return !started.IsZero()
	}, 10*time.Second, 20*time.Millisecond, "the first daemon starts the schedule")
	require.False(t, started.Before(before.Truncate(time.Microsecond)), "started %s, before %s", started, before)

	// The daemon stops. The lake was last scrubbed two hours ago: the
	// daemon started again scrubs within moments, not an hour from now.
	f.cancel()
	stopped := <-f.done
	require.NoError(t, stopped)
	f.done <- stopped // for the fixture's cleanup
	require.NoError(t, f.l.Meta.MaintenanceDone(ctx, "scrub", time.Now().Add(-2*time.Hour)))
	restart := time.Now()
	d2, err := daemon.New(ctx, f.l, daemon.Options{Grace: 5 * time.Second, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	ctx2, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d2.Serve(ctx2, "127.0.0.1:0") }()
	t.Cleanup(func() { cancel(); <-done; _ = d2.Close() })
	require.Eventually(t, func() bool {
		last, err := f.l.Meta.MaintenanceLast(ctx, "scrub")
		require.NoError(t, err)
		return !last.Before(restart.Truncate(time.Microsecond))
	}, 20*time.Second, 20*time.Millisecond, "the restarted daemon scrubs the overdue lake")
}
