package alerts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// lakeWithFiles puts objects into a folder store and lists them in their
// datasets' manifests, as a pipeline commit does: with their BLAKE3, or, for
// a key whose name starts "legacy-", their SHA-256 (as lakes recorded
// before).
func lakeWithFiles(t *testing.T, meta metastore.Store, files map[string]map[string]string) *folder.Store {
	t.Helper()
	ctx := t.Context()
	st, err := folder.New(t.TempDir())
	require.NoError(t, err)
	c := metastore.Commit{RunID: "run-1"}
	for ds, objs := range files {
		c.Batches = append(c.Batches, metastore.Batch{Dataset: ds, ID: "batch-" + ds, RunID: "run-1"})
		for key, body := range objs {
			_, err := st.Put(ctx, key, strings.NewReader(body))
			require.NoError(t, err)
			sum := digest.Of([]byte(body))
			if strings.HasPrefix(path.Base(key), "legacy-") {
				sha := sha256.Sum256([]byte(body))
				sum = hex.EncodeToString(sha[:])
			}
			c.Files = append(c.Files, metastore.File{Dataset: ds, Key: key, Size: int64(len(body)),
				Digest: sum, BatchID: "batch-" + ds, RunID: "run-1"})
		}
	}
	_, err = meta.Commit(ctx, c)
	require.NoError(t, err)
	return st
}

func TestDataLoss(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	st := lakeWithFiles(t, meta, map[string]map[string]string{
		"raw.spotify.streams": {
			"raw/source=spotify/date=2026-11-26/a.parquet": "aaaaaaaa",
			"raw/source=spotify/date=2026-11-26/b.parquet": "bbbbbbbb",
			"raw/source=spotify/date=2026-11-26/c.parquet": "cccccccc",
		},
		"curated.track_performance.v1_0": {"curated/mart=track_performance/version=v1.0/part-0.parquet": "mart rows"},
	})

	// Intact: nothing found, shallow or deep.
	for _, deep := range []bool{false, true} {
		conds, err := alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{Deep: deep})
		require.NoError(t, err)
		require.Empty(t, conds)
	}

	// One object deleted, one corrupted in place (same size), one in the mart truncated.
	require.NoError(t, st.Delete(ctx, "raw/source=spotify/date=2026-11-26/a.parquet"))
	require.NoError(t, os.WriteFile(st.LocalPath("raw/source=spotify/date=2026-11-26/b.parquet"), []byte("bbbbXbbb"), 0o644))
	require.NoError(t, os.WriteFile(st.LocalPath("curated/mart=track_performance/version=v1.0/part-0.parquet"), []byte("mart"), 0o644))

	// The default check sees the missing object and the changed size, not the flipped byte.
	conds, err := alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{})
	require.NoError(t, err)
	require.Len(t, conds, 2)
	mart, raw := conds[0], conds[1]
	require.Equal(t, "data_loss:curated.track_performance.v1_0", mart.Key)
	require.Equal(t, notify.Critical, mart.Severity)
	require.Equal(t, alerts.KindDataLoss, mart.Kind)
	require.Empty(t, mart.Source, "a mart belongs to no single source")
	require.Contains(t, mart.Detail, "curated/mart=track_performance/version=v1.0/part-0.parquet: size 4 bytes, the manifest recorded 9")
	require.Equal(t, "data_loss:raw.spotify.streams", raw.Key)
	require.Equal(t, "raw.spotify.streams", raw.Dataset)
	require.Equal(t, "spotify", raw.Source)
	require.Equal(t, "Data loss in raw.spotify.streams: 1 of 3 files missing or damaged", raw.Title)
	require.Contains(t, raw.Detail, "raw/source=spotify/date=2026-11-26/a.parquet: missing")
	require.NotContains(t, raw.Detail, "b.parquet")
	require.Equal(t, "1", raw.Details["missing"])
	require.Equal(t, "0", raw.Details["damaged"])
	require.Equal(t, "raw/source=spotify/date=2026-11-26/a.parquet", raw.Details["first_key"])

	// The deep check also finds the checksum mismatch.
	conds, err = alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{Deep: true, Datasets: []string{"raw.spotify.streams"}})
	require.NoError(t, err)
	require.Len(t, conds, 1)
	raw = conds[0]
	require.Equal(t, "Data loss in raw.spotify.streams: 2 of 3 files missing or damaged", raw.Title)
	require.Contains(t, raw.Detail, "raw/source=spotify/date=2026-11-26/a.parquet: missing")
	require.Contains(t, raw.Detail, "raw/source=spotify/date=2026-11-26/b.parquet: checksum "+digest.Of([]byte("bbbbXbbb"))+", the manifest recorded "+digest.Of([]byte("bbbbbbbb")))
	require.NotContains(t, raw.Detail, "c.parquet")
	require.Equal(t, "1", raw.Details["damaged"])

	// The scrub raises only what the quick check cannot see: the corrupt
	// file, not the missing or truncated ones (one problem, one alert).
	damage, err := alerts.Damage(ctx, meta, st)
	require.NoError(t, err)
	require.Len(t, damage, 1)
	require.Equal(t, alerts.DamageKeyPrefix+"raw.spotify.streams", damage[0].Key)
	require.Equal(t, alerts.KindDataLoss, damage[0].Kind)
	require.Equal(t, notify.Critical, damage[0].Severity)
	require.Equal(t, "Damaged files in raw.spotify.streams: 1 of 3 no longer match their checksum", damage[0].Title)
	require.Contains(t, damage[0].Detail, "raw/source=spotify/date=2026-11-26/b.parquet: checksum "+digest.Of([]byte("bbbbXbbb")))
	require.NotContains(t, damage[0].Detail, "a.parquet")

	// Through the manager: critical, the source paused; restoring the
	// objects clears and auto-resolves the alerts.
	rem := &fakeRemediator{}
	m := alerts.NewManager(meta, alerts.Options{Notifier: &fakeNotifier{}, Remediator: rem})
	got, err := m.Reconcile(ctx, alerts.KindDataLoss, conds)
	require.NoError(t, err)
	require.Len(t, got.Opened, 1)
	require.Equal(t, "paused spotify", got.Opened[0].Remediation)
	require.Equal(t, []call{{Op: "pause", Source: "spotify", Reason: raw.Title + ": " + strings.SplitN(raw.Detail, "\n", 2)[0]}}, rem.take())
	for key, body := range map[string]string{
		"raw/source=spotify/date=2026-11-26/a.parquet":               "aaaaaaaa",
		"raw/source=spotify/date=2026-11-26/b.parquet":               "bbbbbbbb",
		"curated/mart=track_performance/version=v1.0/part-0.parquet": "mart rows",
	} {
		_, err := st.Put(ctx, key, strings.NewReader(body))
		require.NoError(t, err)
	}
	conds, err = alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{Deep: true})
	require.NoError(t, err)
	require.Empty(t, conds)
	got, err = m.Reconcile(ctx, alerts.KindDataLoss, conds)
	require.NoError(t, err)
	require.Len(t, got.Resolved, 1)
	require.Equal(t, "data_loss:raw.spotify.streams", got.Resolved[0].Key)
}

// A lake keeps the SHA-256 digests it recorded before BLAKE3: the deep
// check reads each file with the algorithm its manifest entry names.
func TestDeepCheckReadsLegacySHA256Digests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	st := lakeWithFiles(t, meta, map[string]map[string]string{"landing.distrokid": {
		"landing/distrokid/2025-01-01-0900/legacy-old.tsv": "old export",
		"landing/distrokid/2026-11-26-0900/new.tsv":        "new export",
	}})
	conds, err := alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{Deep: true})
	require.NoError(t, err)
	require.Empty(t, conds, "both files are intact")

	for key, body := range map[string]string{"landing/distrokid/2025-01-01-0900/legacy-old.tsv": "OLD export", "landing/distrokid/2026-11-26-0900/new.tsv": "NEW export"} {
		_, err := st.Put(ctx, key, strings.NewReader(body))
		require.NoError(t, err)
	}
	conds, err = alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{Deep: true})
	require.NoError(t, err)
	require.Len(t, conds, 1)
	got, recorded := sha256.Sum256([]byte("OLD export")), sha256.Sum256([]byte("old export"))
	require.Contains(t, conds[0].Detail, "legacy-old.tsv: checksum "+hex.EncodeToString(got[:])+", the manifest recorded "+hex.EncodeToString(recorded[:]))
	require.Contains(t, conds[0].Detail, "new.tsv: checksum "+digest.Of([]byte("NEW export"))+", the manifest recorded "+digest.Of([]byte("new export")))
}

func TestDataLossListsAtMostTwentyKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	objs := map[string]string{}
	for i := range 25 {
		objs[fmt.Sprintf("landing/tiktok/2026-11-26-0900/p%02d.json", i)] = "{}"
	}
	st := lakeWithFiles(t, meta, map[string]map[string]string{"landing.tiktok": objs})
	for key := range objs {
		require.NoError(t, st.Delete(ctx, key))
	}
	conds, err := alerts.DataLoss(ctx, meta, st, alerts.DataLossOptions{})
	require.NoError(t, err)
	require.Len(t, conds, 1)
	require.Equal(t, "tiktok", conds[0].Source)
	require.Equal(t, 20, strings.Count(conds[0].Detail, ": missing"))
	require.Contains(t, conds[0].Detail, "… and 5 more")
	require.Equal(t, "25", conds[0].Details["missing"])
}

// addRun records a finished run that started dur before it finishes now.
func addRun(t *testing.T, meta metastore.Store, id, source, status string, dur time.Duration) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, meta.CreateRun(ctx, metastore.Run{ID: id, Source: source, Kind: "ingest", StartedAt: time.Now().Add(-dur)}))
	errText := ""
	if status == metastore.RunFailed {
		errText = "HTTP 500 from the API"
	}
	require.NoError(t, meta.FinishRun(ctx, id, status, errText, nil))
	time.Sleep(2 * time.Millisecond) // finish times in order
}

func TestFailedRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	addRun(t, meta, "s1", "spotify", metastore.RunSucceeded, time.Minute)
	addRun(t, meta, "s2", "spotify", metastore.RunFailed, time.Minute)
	addRun(t, meta, "s3", "spotify", metastore.RunAbandoned, time.Minute)
	addRun(t, meta, "t1", "tiktok", metastore.RunFailed, time.Minute)
	addRun(t, meta, "t2", "tiktok", metastore.RunPartial, time.Minute)
	addRun(t, meta, "d1", "distrokid", metastore.RunFailed, time.Minute)
	// A run still going is not finished: it neither fires nor clears.
	require.NoError(t, meta.CreateRun(ctx, metastore.Run{ID: "d2", Source: "distrokid", Kind: "ingest"}))

	runs, err := alerts.FinishedRuns(ctx, meta, 0)
	require.NoError(t, err)
	require.Len(t, runs, 6)
	conds := alerts.FailedRuns(runs)
	require.Len(t, conds, 2)
	d, s := conds[0], conds[1]
	require.Equal(t, "run_failed:distrokid", d.Key)
	require.Equal(t, "d1", d.RunID)
	require.Equal(t, notify.High, d.Severity)
	require.Contains(t, d.Detail, "HTTP 500 from the API")
	require.Equal(t, "run_failed:spotify", s.Key)
	require.Equal(t, "s3", s.RunID, "the newest finished run")
	require.Equal(t, "2", s.Details["failed_in_a_row"])
	require.Contains(t, s.Detail, "The last 2 runs of spotify did not succeed")
	s2, err := meta.GetRun(ctx, "s2")
	require.NoError(t, err)
	require.Equal(t, *s2.FinishedAt, s.Since, "the condition began when the first failing run of the streak finished")
	d1, err := meta.GetRun(ctx, "d1")
	require.NoError(t, err)
	require.Equal(t, *d1.FinishedAt, d.Since)

	// spotify succeeds again: its condition clears.
	addRun(t, meta, "s4", "spotify", metastore.RunSucceeded, time.Minute)
	runs, err = alerts.FinishedRuns(ctx, meta, 0)
	require.NoError(t, err)
	conds = alerts.FailedRuns(runs)
	require.Len(t, conds, 1)
	require.Equal(t, "run_failed:distrokid", conds[0].Key)
}

func TestQualityWarnings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	n := 0
	validate := func(ds string, ok bool) string {
		n++
		id := fmt.Sprintf("val-%d", n)
		score := 1.0
		if !ok {
			score = 0.5
		}
		require.NoError(t, meta.AddValidation(ctx, metastore.Validation{ID: id, Dataset: ds, Suite: ds, RunID: "run-" + id,
			StartedAt: at.Add(time.Duration(n) * time.Minute), FinishedAt: at.Add(time.Duration(n)*time.Minute + time.Second),
			Rows: 100, Success: ok, Score: score, Result: json.RawMessage(`{"success": false}`)}))
		return id
	}
	validate("raw.tiktok.videos", true)
	bad := validate("raw.tiktok.videos", false)
	validate("raw.spotify.streams", false)
	validate("raw.spotify.streams", true)
	staging := validate("staging.streaming.tiktok_video_daily", false)

	conds, err := alerts.QualityWarnings(ctx, meta)
	require.NoError(t, err)
	require.Len(t, conds, 2)
	require.Equal(t, "quality:raw.tiktok.videos", conds[0].Key)
	require.Equal(t, notify.Medium, conds[0].Severity)
	require.Equal(t, "raw.tiktok.videos", conds[0].Dataset)
	require.Equal(t, "tiktok", conds[0].Source)
	require.Equal(t, "run-"+bad, conds[0].RunID)
	require.Contains(t, conds[0].Detail, "bedrot quality results "+bad)
	require.Contains(t, conds[0].Detail, "quality score 0.500")
	require.Equal(t, "quality:staging.streaming.tiktok_video_daily", conds[1].Key)
	require.Empty(t, conds[1].Source)
	require.Equal(t, staging, conds[1].Details["validation_id"])

	// A newer passing validation clears the warning.
	validate("raw.tiktok.videos", true)
	conds, err = alerts.QualityWarnings(ctx, meta)
	require.NoError(t, err)
	require.Len(t, conds, 1)
	require.Equal(t, "quality:staging.streaming.tiktok_video_daily", conds[0].Key)
}

func TestSlowRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	// spotify: five 10-minute runs, a failed slow one (ignored), then one of 40 minutes.
	for i := range 5 {
		addRun(t, meta, fmt.Sprintf("s%d", i), "spotify", metastore.RunSucceeded, 10*time.Minute)
	}
	addRun(t, meta, "s-failed", "spotify", metastore.RunFailed, 3*time.Hour)
	addRun(t, meta, "s-slow", "spotify", metastore.RunSucceeded, 40*time.Minute)
	// tiktok: too little history to judge.
	for i := range 4 {
		addRun(t, meta, fmt.Sprintf("t%d", i), "tiktok", metastore.RunSucceeded, time.Minute)
	}
	addRun(t, meta, "t-slow", "tiktok", metastore.RunSucceeded, time.Hour)
	// distrokid: 2.5x the median is within bounds.
	for i := range 6 {
		addRun(t, meta, fmt.Sprintf("d%d", i), "distrokid", metastore.RunSucceeded, 4*time.Minute)
	}
	addRun(t, meta, "d-slower", "distrokid", metastore.RunSucceeded, 10*time.Minute)

	runs, err := alerts.FinishedRuns(ctx, meta, 0)
	require.NoError(t, err)
	conds := alerts.SlowRuns(runs, alerts.SlowRunOptions{})
	require.Len(t, conds, 1)
	c := conds[0]
	require.Equal(t, "slow_run:spotify", c.Key)
	require.Equal(t, notify.Low, c.Severity)
	require.Equal(t, "s-slow", c.RunID)
	require.Equal(t, "spotify run took 4.0x its median", c.Title)
	require.Contains(t, c.Detail, "Run s-slow took 40m0s; the median of the 5 succeeded runs before it is 10m0s")

	// A stricter factor flags distrokid too; a smaller history judges tiktok.
	conds = alerts.SlowRuns(runs, alerts.SlowRunOptions{Factor: 2, MinHistory: 4})
	var keys []string
	for _, c := range conds {
		keys = append(keys, c.Key)
	}
	require.Equal(t, []string{"slow_run:distrokid", "slow_run:spotify", "slow_run:tiktok"}, keys)

	// A normal run afterwards clears spotify.
	addRun(t, meta, "s-normal", "spotify", metastore.RunSucceeded, 11*time.Minute)
	runs, err = alerts.FinishedRuns(ctx, meta, 0)
	require.NoError(t, err)
	require.Empty(t, alerts.SlowRuns(runs, alerts.SlowRunOptions{}))
}

// failingStat is a store whose Stat fails for reasons other than a
// missing object.
type failingStat struct{ storage.Store }

func (failingStat) Stat(context.Context, string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, errors.New("connection refused")
}

func TestDataLossStorageErrorIsNotDataLoss(t *testing.T) {
	t.Parallel()
	meta := openMeta(t)
	st := lakeWithFiles(t, meta, map[string]map[string]string{"landing.tiktok": {"landing/tiktok/x/p.json": "{}"}})
	conds, err := alerts.DataLoss(t.Context(), meta, failingStat{st}, alerts.DataLossOptions{})
	require.ErrorContains(t, err, "connection refused")
	require.Empty(t, conds, "an unreachable store is an error, not an alert")
}
