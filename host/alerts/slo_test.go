package alerts_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
)

func ptr(t time.Time) *time.Time { return &t }

func TestComputeSLO(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	run := func(id, source, status string, finishedAgo time.Duration) metastore.Run {
		fin := now.Add(-finishedAgo)
		return metastore.Run{ID: id, Source: source, Kind: "ingest", Status: status, StartedAt: fin.Add(-time.Minute), FinishedAt: &fin}
	}
	runs := []metastore.Run{
		run("sp1", "spotify", metastore.RunSucceeded, 10*day),
		run("sp2", "spotify", metastore.RunFailed, 5*day),
		run("sp3", "spotify", metastore.RunPartial, 2*time.Hour),
		run("sp4", "spotify", metastore.RunSucceeded, 40*day), // outside the window
		run("t1", "tiktok", metastore.RunSucceeded, 8*day),
		{ID: "t2", Source: "tiktok", Kind: "ingest", Status: metastore.RunRunning, StartedAt: now.Add(-time.Minute)},
		run("d1", "distrokid", metastore.RunFailed, day),
		run("d2", "distrokid", metastore.RunAbandoned, 2*day),
	}
	first := func(ago time.Duration) time.Time { return now.Add(-ago) }
	alertList := []metastore.Alert{
		// Detected 3 minutes after its run finished, resolved 20 minutes later.
		{ID: "a1", Key: "run_failed:spotify", Source: "spotify", RunID: "sp2", FirstSeen: first(5*day - 3*time.Minute),
			ResolvedAt: ptr(first(5*day - 23*time.Minute))},
		// Detected 9 minutes after the condition began; still open.
		{ID: "a2", Key: "run_failed:distrokid", Source: "distrokid", FirstSeen: first(day - 9*time.Minute), ConditionAt: ptr(first(day))},
		// No known start; resolved after 50 minutes; no source.
		{ID: "a3", Key: "data_loss:curated.x", FirstSeen: first(3 * day), ResolvedAt: ptr(first(3*day - 50*time.Minute))},
		// Outside the window.
		{ID: "a4", Key: "slow_run:tiktok", Source: "tiktok", FirstSeen: first(60 * day), ConditionAt: ptr(first(61 * day)),
			ResolvedAt: ptr(first(59 * day))},
	}
	rep := alerts.ComputeSLO(runs, alertList, alerts.SLOOptions{Now: now})
	require.Equal(t, now, rep.Now)
	require.Equal(t, alerts.Duration(30*day), rep.Window)
	require.Len(t, rep.Sources, 3)
	d, s, tk := rep.Sources[0], rep.Sources[1], rep.Sources[2]
	require.Equal(t, []string{"distrokid", "spotify", "tiktok"}, []string{d.Source, s.Source, tk.Source})

	// spotify: fresh (partial counts), 2 of 3 runs in the window, MTTD 3m, MTTR 20m.
	require.Equal(t, alerts.StatusMet, s.Freshness.Status)
	require.InDelta(t, (2 * time.Hour).Seconds(), s.Freshness.Value, 0.001)
	require.Equal(t, "2h old", s.Freshness.Text)
	require.Equal(t, alerts.StatusMissed, s.SuccessRate.Status)
	require.Equal(t, 3, s.SuccessRate.Samples)
	require.InDelta(t, 2.0/3, s.SuccessRate.Value, 1e-9)
	require.Equal(t, "66.67% (2 of 3 runs)", s.SuccessRate.Text)
	require.Equal(t, alerts.StatusMet, s.MTTD.Status)
	require.InDelta(t, 180, s.MTTD.Value, 0.001)
	require.Equal(t, 1, s.MTTD.Samples)
	require.Equal(t, alerts.StatusMet, s.MTTR.Status)
	require.InDelta(t, 1200, s.MTTR.Value, 0.001)

	// tiktok: 8 days old misses a week; all of its one final run succeeded; no alerts in the window.
	require.Equal(t, alerts.StatusMissed, tk.Freshness.Status)
	require.Equal(t, "8d old", tk.Freshness.Text)
	require.Equal(t, alerts.StatusMet, tk.SuccessRate.Status)
	require.InDelta(t, 1, tk.SuccessRate.Value, 1e-9)
	require.Equal(t, alerts.StatusNoData, tk.MTTD.Status)
	require.Equal(t, alerts.StatusNoData, tk.MTTR.Status)

	// distrokid: never succeeded; abandoned counts as a failure; MTTD 9m.
	require.Equal(t, alerts.StatusMissed, d.Freshness.Status)
	require.Equal(t, 0, d.Freshness.Samples)
	require.Equal(t, "never succeeded", d.Freshness.Text)
	require.Equal(t, 2, d.SuccessRate.Samples)
	require.Zero(t, d.SuccessRate.Value)
	require.Equal(t, alerts.StatusMissed, d.MTTD.Status)
	require.InDelta(t, 540, d.MTTD.Value, 0.001)
	require.Equal(t, alerts.StatusNoData, d.MTTR.Status)

	// Overall: the stalest source, 3 of 6 runs, MTTD (3m+9m)/2, MTTR (20m+50m)/2 including the sourceless alert.
	o := rep.Overall
	require.Empty(t, o.Source)
	require.Equal(t, alerts.StatusMissed, o.Freshness.Status)
	require.Equal(t, "never succeeded (distrokid)", o.Freshness.Text)
	require.Equal(t, 6, o.SuccessRate.Samples)
	require.InDelta(t, 0.5, o.SuccessRate.Value, 1e-9)
	require.InDelta(t, 360, o.MTTD.Value, 0.001)
	require.Equal(t, 2, o.MTTD.Samples)
	require.Equal(t, alerts.StatusMissed, o.MTTD.Status, "6m is over the 5m goal")
	require.InDelta(t, 2100, o.MTTR.Value, 0.001)
	require.Equal(t, alerts.StatusMissed, o.MTTR.Status, "35m is over the 30m goal")
	require.Equal(t, "35m (2 alerts)", o.MTTR.Text)

	// Goals as documented.
	require.InDelta(t, (7 * day).Seconds(), o.Freshness.Goal, 0)
	require.InDelta(t, 0.999, o.SuccessRate.Goal, 0)
	require.InDelta(t, 300, o.MTTD.Goal, 0)
	require.InDelta(t, 1800, o.MTTR.Goal, 0)

	var buf bytes.Buffer
	require.NoError(t, rep.WriteTable(&buf))
	out := buf.String()
	require.Contains(t, out, "Service level objectives over the last 30d (until 2026-11-30 12:00 UTC)")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2+1+4*4, "a title, a blank line, a header and four rows per source and overall")
	require.Regexp(t, `^spotify\s+success rate\s+66\.67% \(2 of 3 runs\)\s+> 99\.9%\s+NOT MET$`, lines[8])
	require.Regexp(t, `^spotify\s+freshness\s+2h old\s+< 7d\s+met$`, lines[7])
	require.Regexp(t, `^\(all\)\s+mean time to resolve\s+35m \(2 alerts\)\s+< 30m\s+NOT MET$`, lines[len(lines)-1])
	require.Regexp(t, `^tiktok\s+mean time to detect\s+no alerts\s+< 5m\s+no data$`, lines[13])

	doc, err := json.Marshal(rep)
	require.NoError(t, err)
	require.Contains(t, string(doc), `"window":"720h0m0s"`)
	require.Contains(t, string(doc), `"status":"not met"`)
}

func TestComputeSLOSuccessRateGoalIsStrict(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var runs []metastore.Run
	for i := range 2000 {
		fin := now.Add(-time.Duration(i) * time.Minute)
		status := metastore.RunSucceeded
		if i < 2 {
			status = metastore.RunFailed
		}
		runs = append(runs, metastore.Run{ID: string(rune('a' + i%26)), Source: "spotify", Status: status, StartedAt: fin, FinishedAt: &fin})
	}
	rep := alerts.ComputeSLO(runs, nil, alerts.SLOOptions{Now: now})
	require.Equal(t, alerts.StatusMissed, rep.Sources[0].SuccessRate.Status, "99.9% is not above 99.9%")
	runs[0].Status = metastore.RunSucceeded
	rep = alerts.ComputeSLO(runs, nil, alerts.SLOOptions{Now: now})
	require.Equal(t, alerts.StatusMet, rep.Sources[0].SuccessRate.Status, "99.95% is")
}

func TestLoadSLO(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	addRun(t, meta, "s1", "spotify", metastore.RunSucceeded, time.Minute)
	addRun(t, meta, "s2", "spotify", metastore.RunFailed, time.Minute)

	clk := newClock(time.Now().UTC())
	m := alerts.NewManager(meta, alerts.Options{Now: clk.Now})
	runs, err := alerts.FinishedRuns(ctx, meta, 0)
	require.NoError(t, err)
	conds := alerts.FailedRuns(runs)
	require.Len(t, conds, 1)
	a, _, err := m.Raise(ctx, conds[0])
	require.NoError(t, err)
	clk.Advance(12 * time.Minute)
	_, _, err = m.Resolve(ctx, a.ID, "ana")
	require.NoError(t, err)

	rep, err := alerts.LoadSLO(ctx, meta, alerts.SLOOptions{Now: clk.Now()})
	require.NoError(t, err)
	require.Len(t, rep.Sources, 1)
	s := rep.Sources[0]
	require.Equal(t, 2, s.SuccessRate.Samples)
	require.InDelta(t, 0.5, s.SuccessRate.Value, 1e-9)
	require.Equal(t, 1, s.MTTD.Samples, "the run's finish starts the clock")
	require.Less(t, s.MTTD.Value, 60.0)
	require.Equal(t, 1, s.MTTR.Samples)
	require.InDelta(t, 720, s.MTTR.Value, 0.001)
	require.Equal(t, alerts.StatusMet, s.MTTR.Status)
	require.Equal(t, notify.High, conds[0].Severity)
}
