// Package metastoretest is the conformance suite every metastore.Store
// implementation must pass: run Exercise from the implementation's tests.
package metastoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// Exercise runs the conformance suite. open must return a new, empty,
// migrated store for each call and close it when its test ends; the
// subtests run in parallel, each on its own store.
func Exercise(t *testing.T, open func(t *testing.T) metastore.Store) {
	t.Helper()
	tests := map[string]func(t *testing.T, s metastore.Store){
		"Dialect":                   testDialect,
		"Plugins":                   testPlugins,
		"Runs":                      testRuns,
		"RunTimes":                  testRunTimes,
		"ListRuns":                  testListRuns,
		"ListRunsDefaultLimit":      testListRunsDefaultLimit,
		"Steps":                     testSteps,
		"Lease":                     testLease,
		"LeaseProbedWhileLocking":   testLeaseProbedWhileLocking,
		"Pending":                   testPending,
		"Commit":                    testCommit,
		"NewestFiles":               testNewestFiles,
		"CommitDuplicateBatch":      testCommitDuplicateBatch,
		"CommitReplace":             testCommitReplace,
		"CommitFailureAppliesNone":  testCommitFailureAppliesNone,
		"CommitEmpty":               testCommitEmpty,
		"CommitConcurrentSameBatch": testCommitConcurrentSameBatch,
		"CommitConcurrentDistinct":  testCommitConcurrentDistinct,
		"CommitFencedBySweeper":     testCommitFencedBySweeper,
		"States":                    testStates,
		"Credentials":               testCredentials,
		"Validations":               testValidations,
		"Contracts":                 testContracts,
		"Alerts":                    testAlerts,
		"CanceledContext":           testCanceledContext,
		"Pauses":                    testPauses,
		"Maintenance":               testMaintenance,
		"Agents":                    testAgents,
		"RunRetried":                testRunRetried,
		"Knowledge":                 testKnowledge,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

func testDialect(t *testing.T, s metastore.Store) {
	require.Contains(t, []string{"sqlite", "postgres"}, s.Dialect())
}

func testPlugins(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	_, err := s.GetPlugin(ctx, "source", "distrokid")
	require.ErrorIs(t, err, metastore.ErrNotFound)
	plugins, err := s.ListPlugins(ctx)
	require.NoError(t, err)
	require.Empty(t, plugins)

	at := stamp()
	distrokid := metastore.Plugin{Name: "distrokid", Kind: "source", Version: "1.0.0", ProtocolVersion: 1,
		SHA256: "aa", Path: "/lake/plugins/bedrot-source-distrokid", InstalledAt: at}
	tiktok := metastore.Plugin{Name: "tiktok", Kind: "source", Version: "0.3.1", ProtocolVersion: 1,
		SHA256: "bb", Path: "/lake/plugins/bedrot-source-tiktok", InstalledAt: at}
	quality := metastore.Plugin{Name: "quality", Kind: "validator", Version: "2.0.0", ProtocolVersion: 2,
		SHA256: "cc", Path: "/lake/plugins/bedrot-validator-quality", InstalledAt: at}
	for _, p := range []metastore.Plugin{quality, tiktok, distrokid} {
		require.NoError(t, s.UpsertPlugin(ctx, p))
	}

	got, err := s.GetPlugin(ctx, "source", "distrokid")
	require.NoError(t, err)
	require.Equal(t, distrokid, got)
	_, err = s.GetPlugin(ctx, "validator", "distrokid")
	require.ErrorIs(t, err, metastore.ErrNotFound, "kind is part of the identity")

	plugins, err = s.ListPlugins(ctx)
	require.NoError(t, err)
	require.Equal(t, []metastore.Plugin{distrokid, tiktok, quality}, plugins, "sorted by kind, then name")

	// Upserting replaces; a zero InstalledAt becomes now.
	upgraded := distrokid
	upgraded.Version, upgraded.SHA256, upgraded.InstalledAt = "1.1.0", "dd", time.Time{}
	before := stamp()
	require.NoError(t, s.UpsertPlugin(ctx, upgraded))
	got, err = s.GetPlugin(ctx, "source", "distrokid")
	require.NoError(t, err)
	requireBetween(t, before, got.InstalledAt)
	upgraded.InstalledAt = got.InstalledAt
	require.Equal(t, upgraded, got)

	require.Error(t, s.UpsertPlugin(ctx, metastore.Plugin{Kind: "source"}), "a plugin needs a name")

	require.NoError(t, s.DeletePlugin(ctx, "source", "distrokid"))
	_, err = s.GetPlugin(ctx, "source", "distrokid")
	require.ErrorIs(t, err, metastore.ErrNotFound)
	require.ErrorIs(t, s.DeletePlugin(ctx, "source", "distrokid"), metastore.ErrNotFound)
	plugins, err = s.ListPlugins(ctx)
	require.NoError(t, err)
	require.Equal(t, []metastore.Plugin{tiktok, quality}, plugins)
}

func testRuns(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	_, err := s.GetRun(ctx, "missing")
	require.ErrorIs(t, err, metastore.ErrNotFound)

	run := metastore.Run{ID: newID("run"), Source: "distrokid", Kind: "ingest", StartedAt: stamp(),
		Status: metastore.RunFailed, Owner: "host-a:4242", Stats: json.RawMessage(`{"rows":0}`)}
	require.NoError(t, s.CreateRun(ctx, run))
	require.Error(t, s.CreateRun(ctx, run), "run IDs are unique")

	got, err := s.GetRun(ctx, run.ID)
	require.NoError(t, err)
	want := run
	want.Status = metastore.RunRunning // CreateRun always starts a run
	requireRunEqual(t, want, got)
	require.Nil(t, got.FinishedAt)

	before := stamp()
	require.NoError(t, s.FinishRun(ctx, run.ID, metastore.RunPartial, "2 payloads quarantined",
		json.RawMessage(`{"rows": 12, "quarantined": 2}`)))
	got, err = s.GetRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, metastore.RunPartial, got.Status)
	require.Equal(t, "2 payloads quarantined", got.Error)
	require.JSONEq(t, `{"rows":12,"quarantined":2}`, string(got.Stats))
	require.NotNil(t, got.FinishedAt)
	requireBetween(t, before, *got.FinishedAt)

	// Nil stats keep the recorded ones.
	require.NoError(t, s.FinishRun(ctx, run.ID, metastore.RunAbandoned, "", nil))
	got, err = s.GetRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, metastore.RunAbandoned, got.Status)
	require.Empty(t, got.Error)
	require.JSONEq(t, `{"rows":12,"quarantined":2}`, string(got.Stats))

	require.ErrorIs(t, s.FinishRun(ctx, "missing", metastore.RunSucceeded, "", nil), metastore.ErrNotFound)
	require.Error(t, s.FinishRun(ctx, run.ID, metastore.RunRunning, "", nil), "running is not a final status")
	require.Error(t, s.FinishRun(ctx, run.ID, metastore.RunSucceeded, "", json.RawMessage(`{`)), "stats must be JSON")
	require.Error(t, s.CreateRun(ctx, metastore.Run{ID: newID("run"), Source: "x", Kind: "ingest",
		Stats: json.RawMessage(`nope`)}), "stats must be JSON")
	require.Error(t, s.CreateRun(ctx, metastore.Run{Source: "x", Kind: "ingest"}), "a run needs an ID")

	// A run without stats or start time.
	bare := metastore.Run{ID: newID("run"), Source: "tiktok", Kind: "replay"}
	before = stamp()
	require.NoError(t, s.CreateRun(ctx, bare))
	got, err = s.GetRun(ctx, bare.ID)
	require.NoError(t, err)
	require.Nil(t, got.Stats)
	requireBetween(t, before, got.StartedAt)
}

func testRunTimes(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	// Times come back in UTC, truncated to microseconds.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	started := time.Date(2026, 11, 26, 9, 30, 15, 123456789, zone)
	run := metastore.Run{ID: newID("run"), Source: "spotify", Kind: "ingest", StartedAt: started}
	require.NoError(t, s.CreateRun(ctx, run))
	got, err := s.GetRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 26, 4, 0, 15, 123456000, time.UTC), got.StartedAt)
}

func testListRuns(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	runs, err := s.ListRuns(ctx, metastore.RunFilter{})
	require.NoError(t, err)
	require.Empty(t, runs)

	base := stamp().Add(-time.Hour)
	mk := func(id, source string, minute int) metastore.Run {
		r := metastore.Run{ID: id, Source: source, Kind: "ingest", StartedAt: base.Add(time.Duration(minute) * time.Minute)}
		require.NoError(t, s.CreateRun(ctx, r))
		return r
	}
	mk("r1", "distrokid", 1)
	mk("r2", "tiktok", 2)
	mk("r3", "distrokid", 3)
	mk("r4", "distrokid", 4)
	mk("r5", "tiktok", 5)
	mk("r6b", "spotify", 6) // same start as r6a: ties go to the greater ID
	mk("r6a", "spotify", 6)
	require.NoError(t, s.FinishRun(ctx, "r1", metastore.RunSucceeded, "", nil))
	require.NoError(t, s.FinishRun(ctx, "r3", metastore.RunFailed, "boom", nil))
	require.NoError(t, s.FinishRun(ctx, "r5", metastore.RunFailed, "boom", nil))

	ids := func(f metastore.RunFilter) []string {
		t.Helper()
		runs, err := s.ListRuns(ctx, f)
		require.NoError(t, err)
		out := make([]string, len(runs))
		for i, r := range runs {
			out[i] = r.ID
		}
		return out
	}
	require.Equal(t, []string{"r6b", "r6a", "r5", "r4", "r3", "r2", "r1"}, ids(metastore.RunFilter{}))
	require.Equal(t, []string{"r4", "r3", "r1"}, ids(metastore.RunFilter{Source: "distrokid"}))
	require.Equal(t, []string{"r5", "r3"}, ids(metastore.RunFilter{Status: metastore.RunFailed}))
	require.Equal(t, []string{"r3"}, ids(metastore.RunFilter{Source: "distrokid", Status: metastore.RunFailed}))
	require.Equal(t, []string{"r6b", "r6a"}, ids(metastore.RunFilter{Limit: 2}))
	require.Equal(t, []string{"r6b", "r6a", "r4", "r2"}, ids(metastore.RunFilter{Status: metastore.RunRunning}))
	require.Empty(t, ids(metastore.RunFilter{Source: "nobody"}))

	runs, err = s.ListRuns(ctx, metastore.RunFilter{Source: "distrokid", Status: metastore.RunFailed})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, "boom", runs[0].Error)
	require.Equal(t, base.Add(3*time.Minute), runs[0].StartedAt)
}

func testListRunsDefaultLimit(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	base := stamp().Add(-time.Hour)
	for i := range 55 {
		require.NoError(t, s.CreateRun(ctx, metastore.Run{ID: fmt.Sprintf("run-%02d", i), Source: "distrokid",
			Kind: "ingest", StartedAt: base.Add(time.Duration(i) * time.Second)}))
	}
	runs, err := s.ListRuns(ctx, metastore.RunFilter{})
	require.NoError(t, err)
	require.Len(t, runs, 50, "a zero limit means 50")
	require.Equal(t, "run-54", runs[0].ID)
	require.Equal(t, "run-05", runs[49].ID)
	runs, err = s.ListRuns(ctx, metastore.RunFilter{Limit: 100})
	require.NoError(t, err)
	require.Len(t, runs, 55)
}

func testSteps(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	require.ErrorIs(t, s.StartStep(ctx, "missing", "extract"), metastore.ErrNotFound)
	_, err := s.ListSteps(ctx, "missing")
	require.ErrorIs(t, err, metastore.ErrNotFound)

	run := metastore.Run{ID: newID("run"), Source: "distrokid", Kind: "ingest", StartedAt: stamp()}
	require.NoError(t, s.CreateRun(ctx, run))
	steps, err := s.ListSteps(ctx, run.ID)
	require.NoError(t, err)
	require.Empty(t, steps)

	require.ErrorIs(t, s.FinishStep(ctx, run.ID, "extract", metastore.RunSucceeded, nil), metastore.ErrNotFound)

	before := stamp()
	require.NoError(t, s.StartStep(ctx, run.ID, "extract"))
	time.Sleep(2 * time.Millisecond) // distinct start times order the steps
	require.NoError(t, s.StartStep(ctx, run.ID, "land"))
	require.NoError(t, s.FinishStep(ctx, run.ID, "extract", metastore.RunSucceeded, json.RawMessage(`{"payloads":3}`)))

	steps, err = s.ListSteps(ctx, run.ID)
	require.NoError(t, err)
	require.Len(t, steps, 2)
	require.Equal(t, run.ID, steps[0].RunID)
	require.Equal(t, "extract", steps[0].Name)
	require.Equal(t, metastore.RunSucceeded, steps[0].Status)
	requireBetween(t, before, steps[0].StartedAt)
	require.NotNil(t, steps[0].FinishedAt)
	require.False(t, steps[0].FinishedAt.Before(steps[0].StartedAt))
	require.JSONEq(t, `{"payloads":3}`, string(steps[0].Detail))
	require.Equal(t, "land", steps[1].Name)
	require.Equal(t, "running", steps[1].Status)
	require.Nil(t, steps[1].FinishedAt)
	require.Nil(t, steps[1].Detail)

	// Starting a step again restarts it.
	time.Sleep(2 * time.Millisecond)
	require.NoError(t, s.StartStep(ctx, run.ID, "extract"))
	steps, err = s.ListSteps(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"land", "extract"}, []string{steps[0].Name, steps[1].Name})
	require.Equal(t, "running", steps[1].Status)
	require.Nil(t, steps[1].FinishedAt)
	require.Nil(t, steps[1].Detail)

	require.Error(t, s.FinishStep(ctx, run.ID, "land", metastore.RunFailed, json.RawMessage(`{`)), "detail must be JSON")
	require.NoError(t, s.FinishStep(ctx, run.ID, "land", metastore.RunFailed, nil))

	// Steps belong to their run.
	other := metastore.Run{ID: newID("run"), Source: "distrokid", Kind: "ingest"}
	require.NoError(t, s.CreateRun(ctx, other))
	steps, err = s.ListSteps(ctx, other.ID)
	require.NoError(t, err)
	require.Empty(t, steps)
}

func testLease(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	runID := newID("run")

	alive, err := s.RunAlive(ctx, runID)
	require.NoError(t, err)
	require.False(t, alive, "a run nobody locked is not alive")

	unlock, err := s.LockRun(ctx, runID)
	require.NoError(t, err)
	alive, err = s.RunAlive(ctx, runID)
	require.NoError(t, err)
	require.True(t, alive)

	_, err = s.LockRun(ctx, runID)
	require.ErrorIs(t, err, metastore.ErrLeaseHeld, "a lease has one holder")

	other := "odd run/id: ü " + newID("")
	alive, err = s.RunAlive(ctx, other)
	require.NoError(t, err)
	require.False(t, alive, "leases are per run")
	unlockOther, err := s.LockRun(ctx, other)
	require.NoError(t, err)
	alive, err = s.RunAlive(ctx, other)
	require.NoError(t, err)
	require.True(t, alive)

	unlock()
	unlock() // idempotent
	alive, err = s.RunAlive(ctx, runID)
	require.NoError(t, err)
	require.False(t, alive)
	alive, err = s.RunAlive(ctx, other)
	require.NoError(t, err)
	require.True(t, alive, "unlocking one run keeps the others")
	unlockOther()

	// The lease can be taken again once released.
	unlock, err = s.LockRun(ctx, runID)
	require.NoError(t, err)
	unlock()

	_, err = s.LockRun(ctx, "")
	require.Error(t, err)
}

func testLeaseProbedWhileLocking(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	runID := newID("run")

	// A sweeper probing a run must never make its owner's LockRun fail.
	stop := make(chan struct{})
	probeErr := make(chan error, 1)
	go func() {
		defer close(probeErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.RunAlive(ctx, runID); err != nil {
				probeErr <- err
				return
			}
		}
	}()
	for range 20 {
		unlock, err := s.LockRun(ctx, runID)
		require.NoError(t, err)
		alive, err := s.RunAlive(ctx, runID)
		require.NoError(t, err)
		require.True(t, alive)
		unlock()
	}
	close(stop)
	require.NoError(t, <-probeErr)
}

func testPending(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	pending, err := s.ListPending(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)

	before := stamp()
	require.NoError(t, s.AddPending(ctx, "run-1", "raw/a.parquet", "raw/b.parquet"))
	require.NoError(t, s.AddPending(ctx, "run-2", "raw/c.parquet"))
	require.ErrorIs(t, s.AddPending(ctx, "run-2", "raw/d.parquet", "raw/a.parquet"), metastore.ErrKeyTaken,
		"an announcement reserves the key")
	require.NoError(t, s.AddPending(ctx, "run-1", "raw/a.parquet"), "announcing its own key again is harmless")
	require.NoError(t, s.AddPending(ctx, "run-1"))
	require.Error(t, s.AddPending(ctx, "run-1", ""))

	pending, err = s.ListPending(ctx)
	require.NoError(t, err)
	byKey := map[string]metastore.Pending{}
	for _, p := range pending {
		requireBetween(t, before, p.CreatedAt)
		byKey[p.Key] = p
	}
	require.Len(t, byKey, 3)
	require.Equal(t, "run-1", byKey["raw/a.parquet"].RunID, "the first announcement wins")
	require.Equal(t, "run-1", byKey["raw/b.parquet"].RunID)
	require.Equal(t, "run-2", byKey["raw/c.parquet"].RunID)

	require.NoError(t, s.DropPending(ctx, "raw/a.parquet", "raw/never-announced.parquet"))
	require.NoError(t, s.DropPending(ctx))
	require.Equal(t, []string{"raw/b.parquet", "raw/c.parquet"}, pendingKeys(t, s))
}

func testCommit(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	runID := newID("run")

	require.NoError(t, s.AddPending(ctx, runID, "raw/b.parquet", "raw/a.parquet", "landing/x.csv", "raw/unrelated.parquet"))
	has, err := s.HasBatch(ctx, "raw.distrokid.earnings", "sha-1")
	require.NoError(t, err)
	require.False(t, has)

	a := metastore.File{Dataset: "raw.distrokid.earnings", Key: "raw/a.parquet", Size: 100, Digest: "aaa",
		Rows: 7, BatchID: "sha-1", Meta: json.RawMessage(`{"original":"x.csv","part":1}`)}
	b := metastore.File{Dataset: "raw.distrokid.earnings", Key: "raw/b.parquet", Size: 50, Digest: "bbb",
		Rows: 3, BatchID: "sha-1", RunID: "explicit-run", AddedAt: stamp().Add(-time.Minute)}
	x := metastore.File{Dataset: "landing.distrokid", Key: "landing/x.csv", Size: 999, Digest: "xxx", BatchID: "sha-1"}
	before := stamp()
	replaced, err := s.Commit(ctx, metastore.Commit{
		RunID: runID,
		Batches: []metastore.Batch{
			{Dataset: "raw.distrokid.earnings", ID: "sha-1", Rows: 10},
			{Dataset: "landing.distrokid", ID: "sha-1", RunID: runID},
		},
		Files:  []metastore.File{b, x, a},
		States: []metastore.StreamState{{Source: "distrokid", Stream: "earnings", State: []byte(`{"through":"2026-10"}`)}},
	})
	require.NoError(t, err)
	require.Empty(t, replaced)

	for _, ds := range []string{"raw.distrokid.earnings", "landing.distrokid"} {
		has, err = s.HasBatch(ctx, ds, "sha-1")
		require.NoError(t, err)
		require.True(t, has, ds)
	}
	has, err = s.HasBatch(ctx, "raw.distrokid.earnings", "sha-2")
	require.NoError(t, err)
	require.False(t, has)
	has, err = s.HasBatch(ctx, "raw.tiktok", "sha-1")
	require.NoError(t, err)
	require.False(t, has, "batch identity is per dataset")

	datasets, err := s.ListDatasets(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"landing.distrokid", "raw.distrokid.earnings"}, datasets)

	files, err := s.ListFiles(ctx, "raw.distrokid.earnings")
	require.NoError(t, err)
	require.Len(t, files, 2)
	requireBetween(t, before, files[0].AddedAt)
	wantA := a
	wantA.RunID, wantA.AddedAt = runID, files[0].AddedAt
	requireFilesEqual(t, []metastore.File{wantA, b}, files)

	files, err = s.ListFiles(ctx, "landing.distrokid")
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.Nil(t, files[0].Meta)
	require.Equal(t, runID, files[0].RunID)

	_, err = s.ListFiles(ctx, "raw.nothing")
	require.ErrorIs(t, err, metastore.ErrNotFound)

	for key, want := range map[string]bool{"raw/a.parquet": true, "landing/x.csv": true,
		"raw/unrelated.parquet": false, "raw/never.parquet": false} {
		listed, err := s.FileListed(ctx, key)
		require.NoError(t, err)
		require.Equal(t, want, listed, key)
	}

	require.Equal(t, []string{"raw/unrelated.parquet"}, pendingKeys(t, s), "committed files are no longer pending")

	states, err := s.States(ctx, "distrokid")
	require.NoError(t, err)
	require.Len(t, states, 1)
	st := states["earnings"]
	require.Equal(t, "distrokid", st.Source)
	require.Equal(t, "earnings", st.Stream)
	require.Equal(t, []byte(`{"through":"2026-10"}`), st.State)
	require.Equal(t, runID, st.RunID)
	requireBetween(t, before, st.UpdatedAt)
}

// NewestFiles gives each dataset's newest AddedAt, as its manifest says,
// whatever the order the files were committed in.
func testNewestFiles(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	newest, err := s.NewestFiles(ctx)
	require.NoError(t, err)
	require.Empty(t, newest, "no dataset yet")

	base := stamp().Add(-time.Hour)
	commit := func(run, dataset string, added ...time.Duration) {
		t.Helper()
		c := metastore.Commit{RunID: run, Batches: []metastore.Batch{{Dataset: dataset, ID: run}}}
		for i, d := range added {
			c.Files = append(c.Files, metastore.File{Dataset: dataset, Key: fmt.Sprintf("%s/%s-%d", dataset, run, i),
				BatchID: run, AddedAt: base.Add(d)})
		}
		_, err := s.Commit(ctx, c)
		require.NoError(t, err)
	}
	commit("run-1", "raw.a", 10*time.Minute, 30*time.Minute+123456*time.Microsecond)
	commit("run-2", "raw.b", 20*time.Minute)
	commit("run-3", "raw.a", 30*time.Minute+12*time.Microsecond) // later, but older data
	commit("run-4", "raw.b", 25*time.Minute)
	// A dataset whose files all left its manifest has no newest file.
	commit("run-5", "raw.c", 0)
	replaced, err := s.Commit(ctx, metastore.Commit{RunID: "run-6", Batches: []metastore.Batch{{Dataset: "raw.c", ID: "run-5"}}, Replace: true})
	require.NoError(t, err)
	require.Len(t, replaced, 1)

	newest, err = s.NewestFiles(ctx)
	require.NoError(t, err)
	require.Len(t, newest, 2, "%v", newest)
	require.True(t, newest["raw.a"].Equal(base.Add(30*time.Minute+123456*time.Microsecond)), "%v", newest["raw.a"])
	require.True(t, newest["raw.b"].Equal(base.Add(25*time.Minute)), "%v", newest["raw.b"])
	for ds, at := range newest {
		files, err := s.ListFiles(ctx, ds)
		require.NoError(t, err)
		var want time.Time
		for _, f := range files {
			if f.AddedAt.After(want) {
				want = f.AddedAt
			}
		}
		require.True(t, want.Equal(at), "%s: NewestFiles %v, its manifest %v", ds, at, want)
	}
}

func testCommitDuplicateBatch(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	first := metastore.Commit{
		RunID:   "run-1",
		Batches: []metastore.Batch{{Dataset: "raw.tiktok", ID: "sha-1", Rows: 1}},
		Files:   []metastore.File{{Dataset: "raw.tiktok", Key: "raw/1.parquet", BatchID: "sha-1", Rows: 1}},
		States:  []metastore.StreamState{{Source: "tiktok", Stream: "videos", State: []byte("1")}},
	}
	_, err := s.Commit(ctx, first)
	require.NoError(t, err)

	require.NoError(t, s.AddPending(ctx, "run-2", "raw/2.parquet", "raw/3.parquet"))
	_, err = s.Commit(ctx, metastore.Commit{
		RunID: "run-2",
		Batches: []metastore.Batch{
			{Dataset: "raw.other", ID: "sha-9"}, // new, but sorted before the duplicate
			{Dataset: "raw.tiktok", ID: "sha-1", Rows: 1},
			{Dataset: "raw.tiktok", ID: "sha-2", Rows: 1},
		},
		Files: []metastore.File{
			{Dataset: "raw.tiktok", Key: "raw/2.parquet", BatchID: "sha-1"},
			{Dataset: "raw.other", Key: "raw/3.parquet", BatchID: "sha-9"},
		},
		States: []metastore.StreamState{{Source: "tiktok", Stream: "videos", State: []byte("2")}},
	})
	require.ErrorIs(t, err, metastore.ErrDuplicateBatch)

	// Nothing of the failed commit was applied.
	for _, b := range [][2]string{{"raw.other", "sha-9"}, {"raw.tiktok", "sha-2"}} {
		has, err := s.HasBatch(ctx, b[0], b[1])
		require.NoError(t, err)
		require.False(t, has, b)
	}
	datasets, err := s.ListDatasets(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"raw.tiktok"}, datasets)
	require.Equal(t, []string{"raw/1.parquet"}, fileKeys(t, s, "raw.tiktok"))
	states, err := s.States(ctx, "tiktok")
	require.NoError(t, err)
	require.Equal(t, []byte("1"), states["videos"].State)
	require.Equal(t, "run-1", states["videos"].RunID)
	require.Equal(t, []string{"raw/2.parquet", "raw/3.parquet"}, pendingKeys(t, s))

	// A batch listed twice in one commit is a duplicate too.
	_, err = s.Commit(ctx, metastore.Commit{RunID: "run-3", Batches: []metastore.Batch{
		{Dataset: "raw.tiktok", ID: "sha-5"}, {Dataset: "raw.tiktok", ID: "sha-5"}}})
	require.ErrorIs(t, err, metastore.ErrDuplicateBatch)
	has, err := s.HasBatch(ctx, "raw.tiktok", "sha-5")
	require.NoError(t, err)
	require.False(t, has)
}

func testCommitReplace(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	const ds = "raw.distrokid.earnings"

	file := func(key, batch string, size int64) metastore.File {
		return metastore.File{Dataset: ds, Key: key, BatchID: batch, Size: size, Digest: key + "-sum",
			Meta: json.RawMessage(`{"k":"` + key + `"}`)}
	}
	_, err := s.Commit(ctx, metastore.Commit{
		RunID:   "run-1",
		Batches: []metastore.Batch{{Dataset: ds, ID: "b1", Rows: 2}, {Dataset: ds, ID: "b2", Rows: 1}},
		Files:   []metastore.File{file("k1", "b1", 1), file("k2", "b1", 2), file("k9", "b2", 9)},
	})
	require.NoError(t, err)

	// Without Replace the batch is a duplicate.
	_, err = s.Commit(ctx, metastore.Commit{RunID: "run-2", Batches: []metastore.Batch{{Dataset: ds, ID: "b1"}}})
	require.ErrorIs(t, err, metastore.ErrDuplicateBatch)

	replaced, err := s.Commit(ctx, metastore.Commit{
		RunID:   "run-2",
		Replace: true,
		Batches: []metastore.Batch{{Dataset: ds, ID: "b1", Rows: 5}},
		// k2 is written again under the same key: it stays in the lake and
		// must not be reported as replaced.
		Files: []metastore.File{file("k3", "b1", 3), file("k2", "b1", 22)},
	})
	require.NoError(t, err)
	require.Len(t, replaced, 1)
	require.Equal(t, "k1", replaced[0].Key)
	require.Equal(t, ds, replaced[0].Dataset)
	require.Equal(t, "b1", replaced[0].BatchID)
	require.Equal(t, "run-1", replaced[0].RunID)
	require.Equal(t, int64(1), replaced[0].Size)
	require.Equal(t, "k1-sum", replaced[0].Digest)
	require.JSONEq(t, `{"k":"k1"}`, string(replaced[0].Meta))
	require.False(t, replaced[0].AddedAt.IsZero())

	files, err := s.ListFiles(ctx, ds)
	require.NoError(t, err)
	require.Equal(t, []string{"k2", "k3", "k9"}, keysOf(files))
	require.Equal(t, int64(22), files[0].Size)
	require.Equal(t, "run-2", files[0].RunID)
	require.Equal(t, "run-1", files[2].RunID, "other batches keep their files")

	// Replacing a batch that does not exist simply adds it.
	replaced, err = s.Commit(ctx, metastore.Commit{
		RunID:   "run-3",
		Replace: true,
		Batches: []metastore.Batch{{Dataset: ds, ID: "b3"}},
		Files:   []metastore.File{file("k4", "b3", 4)},
	})
	require.NoError(t, err)
	require.Empty(t, replaced)
	has, err := s.HasBatch(ctx, ds, "b3")
	require.NoError(t, err)
	require.True(t, has)

	// Replacing with no files empties the batch.
	replaced, err = s.Commit(ctx, metastore.Commit{RunID: "run-4", Replace: true,
		Batches: []metastore.Batch{{Dataset: ds, ID: "b1"}}})
	require.NoError(t, err)
	require.Equal(t, []string{"k2", "k3"}, keysOf(replaced))
	require.Equal(t, []string{"k4", "k9"}, fileKeys(t, s, ds))
}

func testCommitFailureAppliesNone(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	_, err := s.Commit(ctx, metastore.Commit{
		RunID:   "run-1",
		Batches: []metastore.Batch{{Dataset: "raw.a", ID: "b1"}},
		Files:   []metastore.File{{Dataset: "raw.a", Key: "k1", BatchID: "b1"}},
	})
	require.NoError(t, err)
	require.NoError(t, s.AddPending(ctx, "run-2", "k2"))

	failures := map[string]metastore.Commit{
		"key already listed": {
			RunID:   "run-2",
			Batches: []metastore.Batch{{Dataset: "raw.b", ID: "b2"}},
			Files:   []metastore.File{{Dataset: "raw.b", Key: "k2", BatchID: "b2"}, {Dataset: "raw.b", Key: "k1", BatchID: "b2"}},
			States:  []metastore.StreamState{{Source: "a", Stream: "s", State: []byte("x")}},
		},
		"invalid meta": {
			RunID:   "run-2",
			Batches: []metastore.Batch{{Dataset: "raw.b", ID: "b2"}},
			Files:   []metastore.File{{Dataset: "raw.b", Key: "k2", BatchID: "b2", Meta: json.RawMessage(`{`)}},
		},
		"file without dataset": {
			RunID:   "run-2",
			Batches: []metastore.Batch{{Dataset: "raw.b", ID: "b2"}},
			Files:   []metastore.File{{Key: "k2", BatchID: "b2"}},
		},
		"batch without ID":      {RunID: "run-2", Batches: []metastore.Batch{{Dataset: "raw.b"}}},
		"state without stream":  {RunID: "run-2", States: []metastore.StreamState{{Source: "a"}}},
		"replace, key repeated": {RunID: "run-2", Replace: true, Files: []metastore.File{{Dataset: "raw.b", Key: "k2"}, {Dataset: "raw.b", Key: "k2"}}},
	}
	for name, c := range failures {
		_, err := s.Commit(ctx, c)
		require.Error(t, err, name)
		require.NotErrorIs(t, err, metastore.ErrDuplicateBatch, name)
	}
	datasets, err := s.ListDatasets(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"raw.a"}, datasets)
	require.Equal(t, []string{"k1"}, fileKeys(t, s, "raw.a"))
	require.Equal(t, []string{"k2"}, pendingKeys(t, s))
	states, err := s.States(ctx, "a")
	require.NoError(t, err)
	require.Empty(t, states)
}

func testCommitEmpty(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	replaced, err := s.Commit(ctx, metastore.Commit{RunID: "run-1"})
	require.NoError(t, err)
	require.Empty(t, replaced)
	// A batch without files still creates its dataset.
	_, err = s.Commit(ctx, metastore.Commit{RunID: "run-1", Batches: []metastore.Batch{{Dataset: "raw.empty", ID: "b"}}})
	require.NoError(t, err)
	files, err := s.ListFiles(ctx, "raw.empty")
	require.NoError(t, err)
	require.Empty(t, files)
}

func testCommitConcurrentSameBatch(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Commit(ctx, metastore.Commit{
				RunID:   fmt.Sprintf("run-%d", i),
				Batches: []metastore.Batch{{Dataset: "raw.race", ID: "same-content"}},
				Files:   []metastore.File{{Dataset: "raw.race", Key: fmt.Sprintf("raw/%d.parquet", i), BatchID: "same-content"}},
				States:  []metastore.StreamState{{Source: "race", Stream: "s", State: []byte{byte(i)}}},
			})
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two commits of one batch succeeded")
			winner = i
			continue
		}
		require.ErrorIs(t, err, metastore.ErrDuplicateBatch)
	}
	require.NotEqual(t, -1, winner, "no commit succeeded")
	require.Equal(t, []string{fmt.Sprintf("raw/%d.parquet", winner)}, fileKeys(t, s, "raw.race"))
	states, err := s.States(ctx, "race")
	require.NoError(t, err)
	require.Equal(t, []byte{byte(winner)}, states["s"].State)
}

func testCommitConcurrentDistinct(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	const writers, commits = 4, 10
	errs := make(chan error, writers*commits)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range commits {
				id := fmt.Sprintf("w%d-c%d", w, c)
				// Two datasets and one shared stream, listed in opposite
				// orders by alternate writers.
				batches := []metastore.Batch{{Dataset: "raw.x", ID: id}, {Dataset: "raw.y", ID: id}}
				states := []metastore.StreamState{{Source: "s", Stream: "a", State: []byte(id)}, {Source: "s", Stream: "b", State: []byte(id)}}
				if w%2 == 1 {
					batches[0], batches[1] = batches[1], batches[0]
					states[0], states[1] = states[1], states[0]
				}
				_, err := s.Commit(ctx, metastore.Commit{
					RunID:   id,
					Batches: batches,
					Files: []metastore.File{
						{Dataset: "raw.x", Key: "x/" + id, BatchID: id},
						{Dataset: "raw.y", Key: "y/" + id, BatchID: id},
					},
					States: states,
				})
				if err != nil {
					errs <- fmt.Errorf("commit %s: %w", id, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, fileKeys(t, s, "raw.x"), writers*commits)
	require.Len(t, fileKeys(t, s, "raw.y"), writers*commits)
}

func testStates(t *testing.T, s metastore.Store) {
	ctx := t.Context()

	states, err := s.States(ctx, "distrokid")
	require.NoError(t, err)
	require.Empty(t, states)

	at := stamp().Add(-time.Hour)
	_, err = s.Commit(ctx, metastore.Commit{RunID: "run-1", States: []metastore.StreamState{
		{Source: "distrokid", Stream: "earnings", State: []byte{0, 1, 2, 255}, UpdatedAt: at},
		{Source: "distrokid", Stream: "streams", State: nil},
		{Source: "tiktok", Stream: "earnings", State: []byte("t"), RunID: "run-other"},
	}})
	require.NoError(t, err)

	states, err = s.States(ctx, "distrokid")
	require.NoError(t, err)
	require.Len(t, states, 2)
	require.Equal(t, metastore.StreamState{Source: "distrokid", Stream: "earnings", State: []byte{0, 1, 2, 255},
		RunID: "run-1", UpdatedAt: at}, states["earnings"])
	require.Empty(t, states["streams"].State)

	states, err = s.States(ctx, "tiktok")
	require.NoError(t, err)
	require.Equal(t, []byte("t"), states["earnings"].State)
	require.Equal(t, "run-other", states["earnings"].RunID)

	// A later commit advances the state.
	_, err = s.Commit(ctx, metastore.Commit{RunID: "run-2", States: []metastore.StreamState{
		{Source: "distrokid", Stream: "earnings", State: []byte("next")}}})
	require.NoError(t, err)
	states, err = s.States(ctx, "distrokid")
	require.NoError(t, err)
	require.Equal(t, []byte("next"), states["earnings"].State)
	require.Equal(t, "run-2", states["earnings"].RunID)
	require.True(t, states["earnings"].UpdatedAt.After(at))
}

func testCanceledContext(t *testing.T, s metastore.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.ListRuns(ctx, metastore.RunFilter{})
	require.Error(t, err)
	_, err = s.Commit(ctx, metastore.Commit{RunID: "r", Batches: []metastore.Batch{{Dataset: "d", ID: "b"}}})
	require.Error(t, err)
	require.NotErrorIs(t, err, metastore.ErrDuplicateBatch)

	has, err := s.HasBatch(t.Context(), "d", "b")
	require.NoError(t, err)
	require.False(t, has)
}

// stamp is now at the precision stores keep (UTC microseconds).
func stamp() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// requireBetween checks that a store-assigned time lies between before and
// now.
func requireBetween(t *testing.T, before, got time.Time) {
	t.Helper()
	require.Equal(t, time.UTC, got.Location())
	require.False(t, got.Before(before), "time %s is before %s", got, before)
	require.False(t, got.After(stamp()), "time %s is in the future", got)
}

func requireRunEqual(t *testing.T, want, got metastore.Run) {
	t.Helper()
	require.JSONEq(t, string(orNull(want.Stats)), string(orNull(got.Stats)))
	want.Stats, got.Stats = nil, nil
	require.Equal(t, want, got)
}

func requireFilesEqual(t *testing.T, want, got []metastore.File) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		require.JSONEq(t, string(orNull(w.Meta)), string(orNull(g.Meta)), w.Key)
		w.Meta, g.Meta = nil, nil
		require.Equal(t, w, g)
	}
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

func pendingKeys(t *testing.T, s metastore.Store) []string {
	t.Helper()
	pending, err := s.ListPending(t.Context())
	require.NoError(t, err)
	keys := []string{}
	for _, p := range pending {
		keys = append(keys, p.Key)
	}
	slices.Sort(keys)
	return keys
}

func fileKeys(t *testing.T, s metastore.Store, dataset string) []string {
	t.Helper()
	files, err := s.ListFiles(t.Context(), dataset)
	require.NoError(t, err)
	return keysOf(files)
}

func keysOf(files []metastore.File) []string {
	keys := []string{}
	for _, f := range files {
		keys = append(keys, f.Key)
	}
	return keys
}

// newID returns a random identifier with a prefix.
func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return prefix + "-" + hex.EncodeToString(b)
}

// testCommitFencedBySweeper: a sweeper that claims one pending file of a run
// makes the run's fenced commit fail whole; an unclaimed run commits.
func testCommitFencedBySweeper(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	files := func(run string) []metastore.File {
		return []metastore.File{
			{Dataset: "raw.src.items", Key: "raw/" + run + "-0.parquet", Size: 1, Digest: strings.Repeat("a", 64), BatchID: run},
			{Dataset: "raw.src.items", Key: "raw/" + run + "-1.parquet", Size: 1, Digest: strings.Repeat("b", 64), BatchID: run},
		}
	}
	for _, run := range []string{"fenced", "free"} {
		for _, f := range files(run) {
			require.NoError(t, s.AddPending(ctx, run, f.Key))
		}
	}
	claimed, err := s.ClaimPending(ctx, "raw/fenced-1.parquet")
	require.NoError(t, err)
	require.True(t, claimed)
	claimed, err = s.ClaimPending(ctx, "raw/fenced-1.parquet")
	require.NoError(t, err)
	require.False(t, claimed, "a pending file is claimed once")

	_, err = s.Commit(ctx, metastore.Commit{RunID: "fenced", Fenced: true, Files: files("fenced"),
		Batches: []metastore.Batch{{Dataset: "raw.src.items", ID: "fenced"}}})
	require.ErrorIs(t, err, metastore.ErrFenced)
	listed, err := s.FileListed(ctx, "raw/fenced-0.parquet")
	require.NoError(t, err)
	require.False(t, listed, "a fenced commit applies nothing")
	have, err := s.HasBatch(ctx, "raw.src.items", "fenced")
	require.NoError(t, err)
	require.False(t, have)

	_, err = s.Commit(ctx, metastore.Commit{RunID: "free", Fenced: true, Files: files("free"),
		Batches: []metastore.Batch{{Dataset: "raw.src.items", ID: "free"}}})
	require.NoError(t, err)
	require.Equal(t, []string{"raw/fenced-0.parquet"}, pendingKeys(t, s), "only the fenced run's unclaimed file stays pending")
	claimed, err = s.ClaimPending(ctx, "raw/free-0.parquet")
	require.NoError(t, err)
	require.False(t, claimed, "a committed file is no longer pending")
}

func testCredentials(t *testing.T, s metastore.Store) {
	ctx := context.Background()
	source := newID("tiktok")
	got, err := s.Credentials(ctx, source)
	require.NoError(t, err)
	require.Empty(t, got)

	first := metastore.Credential{Source: source, Key: "refresh_token", Sealed: []byte{0, 1, 2, 0xff}, Base: "fp-1", UpdatedAt: stamp()}
	require.NoError(t, s.PutCredential(ctx, first))
	require.NoError(t, s.PutCredential(ctx, metastore.Credential{Source: source, Key: "other", Sealed: []byte("x"), Base: "fp-2"}))
	require.NoError(t, s.PutCredential(ctx, metastore.Credential{Source: newID("elsewhere"), Key: "refresh_token", Sealed: []byte("y"), Base: "fp-3"}))
	got, err = s.Credentials(ctx, source)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, first, got["refresh_token"])
	require.False(t, got["other"].UpdatedAt.IsZero(), "a zero UpdatedAt becomes now")

	second := first
	second.Sealed, second.UpdatedAt = []byte{9, 9}, stamp()
	require.NoError(t, s.PutCredential(ctx, second), "a rotated value replaces the stored one")
	got, err = s.Credentials(ctx, source)
	require.NoError(t, err)
	require.Equal(t, second, got["refresh_token"])

	require.NoError(t, s.DeleteCredential(ctx, source, "refresh_token"))
	require.NoError(t, s.DeleteCredential(ctx, source, "refresh_token"), "deleting twice is fine")
	got, err = s.Credentials(ctx, source)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Contains(t, got, "other")

	require.Error(t, s.PutCredential(ctx, metastore.Credential{Source: source, Key: "k"}), "a credential needs a sealed value")
}

func testValidations(t *testing.T, s metastore.Store) {
	ctx := context.Background()
	dataset := newID("raw.tiktok.videos")
	t0 := stamp()
	first := metastore.Validation{ID: newID("val"), Dataset: dataset, Suite: "tiktok_videos", StartedAt: t0, FinishedAt: t0.Add(time.Second),
		Rows: 130, Success: true, Score: 1, Result: json.RawMessage(`{"success": true, "results": []}`)}
	second := metastore.Validation{ID: newID("val"), Dataset: dataset, Suite: "tiktok_videos", RunID: "run-1", StartedAt: t0.Add(time.Minute),
		FinishedAt: t0.Add(time.Minute + time.Second), Rows: 131, Success: false, Score: 0.75, Result: json.RawMessage(`{"success": false, "results": [{"success": false}]}`)}
	require.NoError(t, s.AddValidation(ctx, first))
	require.NoError(t, s.AddValidation(ctx, second))
	require.NoError(t, s.AddValidation(ctx, metastore.Validation{ID: newID("val"), Dataset: newID("other"), Suite: "x", StartedAt: t0, FinishedAt: t0, Result: json.RawMessage(`{}`)}))
	require.Error(t, s.AddValidation(ctx, first), "ids are unique")
	require.Error(t, s.AddValidation(ctx, metastore.Validation{ID: newID("val"), Dataset: dataset}), "a validation needs a result")

	list, err := s.ListValidations(ctx, metastore.ValidationFilter{Dataset: dataset})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, second.ID, list[0].ID, "newest first")
	require.Nil(t, list[0].Result, "lists leave the documents out")
	require.Equal(t, 0.75, list[0].Score)
	require.False(t, list[0].Success)
	require.EqualValues(t, 131, list[0].Rows)
	require.Equal(t, "run-1", list[0].RunID)

	got, err := s.GetValidation(ctx, first.ID)
	require.NoError(t, err)
	require.JSONEq(t, string(first.Result), string(got.Result))
	got.Result = first.Result
	require.Equal(t, first, got)
	_, err = s.GetValidation(ctx, "nope")
	require.ErrorIs(t, err, metastore.ErrNotFound)
}

func testContracts(t *testing.T, s metastore.Store) {
	ctx := context.Background()
	videos, users := newID("raw.tiktok.videos"), newID("raw.tiktok.user_info")
	v, err := s.AddContractVersion(ctx, metastore.ContractVersion{Dataset: videos, Origin: "discovered", Reason: "first seen",
		Spec: json.RawMessage(`{"columns": [{"name": "video_id"}]}`)})
	require.NoError(t, err)
	require.Equal(t, 1, v)
	v, err = s.AddContractVersion(ctx, metastore.ContractVersion{Dataset: videos, Origin: "evolved", Reason: "new column is_aigc",
		Spec: json.RawMessage(`{"columns": [{"name": "video_id"}, {"name": "is_aigc"}]}`)})
	require.NoError(t, err)
	require.Equal(t, 2, v)
	v, err = s.AddContractVersion(ctx, metastore.ContractVersion{Dataset: users, Origin: "file", FileHash: "abc", Spec: json.RawMessage(`{}`)})
	require.NoError(t, err)
	require.Equal(t, 1, v, "versions count per dataset")
	_, err = s.AddContractVersion(ctx, metastore.ContractVersion{Dataset: videos})
	require.Error(t, err, "a version needs a spec")

	all, err := s.ContractVersions(ctx, videos)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "discovered", all[0].Origin)
	require.Equal(t, "new column is_aigc", all[1].Reason)
	require.JSONEq(t, `{"columns": [{"name": "video_id"}, {"name": "is_aigc"}]}`, string(all[1].Spec))
	require.False(t, all[1].CreatedAt.IsZero())

	latest, err := s.LatestContracts(ctx)
	require.NoError(t, err)
	byName := map[string]metastore.ContractVersion{}
	for _, c := range latest {
		byName[c.Dataset] = c
	}
	require.Equal(t, 2, byName[videos].Version)
	require.Equal(t, "abc", byName[users].FileHash)

	// Concurrent writers get distinct, gapless numbers.
	ds := newID("raw.concurrent")
	var wg sync.WaitGroup
	got := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.AddContractVersion(ctx, metastore.ContractVersion{Dataset: ds, Origin: "file", Spec: json.RawMessage(`{}`)})
			assert.NoError(t, err)
			got <- n
		}()
	}
	wg.Wait()
	close(got)
	var nums []int
	for n := range got {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, nums)
}
