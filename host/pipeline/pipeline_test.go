package pipeline_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/host/storage/miniotest"
	s3store "github.com/bedrot-label/bedrot/host/storage/s3"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

func TestMain(m *testing.M) {
	code := 0
	func() {
		defer plugintest.Cleanup()
		miniotest.Main(m)
	}()
	os.Exit(code)
}

// backend is one pair of storage and metastore implementations.
type backend struct {
	name string
	open func(t *testing.T) (storage.Store, metastore.Store)
}

// newPostgres opens a metastore in a fresh schema dropped after the test.
func newPostgres(t *testing.T) metastore.Store {
	t.Helper()
	schema := "bedrot_pipeline_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(pipeline.NewRunID(time.Now())[9:])) + fmt.Sprint(time.Now().UnixNano()%100000)
	meta, err := sqlstore.OpenPostgres(context.Background(), pgtest.URL(), schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		meta.Close()
		db, err := sql.Open("pgx", pgtest.URL())
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
			db.Close()
		}
	})
	return meta
}

var backends = []backend{
	{"folder+sqlite", func(t *testing.T) (storage.Store, metastore.Store) {
		dir := t.TempDir()
		st, err := folder.New(filepath.Join(dir, "lake"))
		require.NoError(t, err)
		meta, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
		require.NoError(t, err)
		t.Cleanup(func() { meta.Close() })
		return st, meta
	}},
	{"minio+postgres", func(t *testing.T) (storage.Store, metastore.Store) {
		srv := miniotest.Require(t)
		st, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey,
			SecretKey: srv.SecretKey, Bucket: srv.NewBucket(t), Prefix: "lake"})
		require.NoError(t, err)
		return st, newPostgres(t)
	}},
}

type bundle struct {
	p    *pipeline.Pipeline
	st   storage.Store
	meta metastore.Store
}

func setup(t *testing.T, be backend) *bundle {
	t.Helper()
	st, meta := be.open(t)
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(t.TempDir(), "plugins")}, meta)
	_, err := host.Install(context.Background(), plugintest.Fixture(t, "bedrot-source-fixture"))
	require.NoError(t, err)
	return &bundle{st: st, meta: meta, p: &pipeline.Pipeline{Store: st, Meta: meta, Plugins: host, IdleTimeout: 3 * time.Second}}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b *bundle)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, be))
		})
	}
}

func readObject(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	obj, err := st.Open(context.Background(), key)
	require.NoError(t, err)
	defer obj.Close()
	data, err := io.ReadAll(obj)
	require.NoError(t, err)
	return data
}

// rawRows reads every raw file a manifest lists and returns their row count.
func rawRows(t *testing.T, b *bundle, dataset string) int64 {
	t.Helper()
	files, err := b.meta.ListFiles(context.Background(), dataset)
	require.NoError(t, err)
	var rows int64
	for _, f := range files {
		data := readObject(t, b.st, f.Key)
		pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		require.Equal(t, f.Rows, pf.NumRows(), "manifest row count of %s", f.Key)
		rows += pf.NumRows()
	}
	return rows
}

// keysUnder lists every object under prefix, listed or not.
func keysUnder(t *testing.T, st storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	require.NoError(t, st.List(context.Background(), prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}))
	return keys
}

func TestIngestLandsPayloadAndRaw(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		cfg := sdk.Config{"rows": "2500", "payload": "original bytes\r\nkept exactly\r", "token": "s3cr3t-value"}
		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
		require.NoError(t, err)
		require.Equal(t, metastore.RunSucceeded, res.Status)
		require.EqualValues(t, 2500, res.Rows)
		require.Len(t, res.Payloads, 1)
		pl := res.Payloads[0]
		require.Equal(t, pipeline.StatusIngested, pl.Status)
		require.True(t, strings.HasPrefix(pl.Key, "landing/fixture/"), pl.Key)
		require.Equal(t, "original bytes\r\nkept exactly\r", string(readObject(t, b.st, pl.Key)))

		meta := readObject(t, b.st, res.Landing+"/"+zone.MetadataName)
		require.NotContains(t, string(meta), "s3cr3t-value", "secrets must never reach landing metadata")
		var md map[string]any
		require.NoError(t, json.Unmarshal(meta, &md))
		require.Equal(t, "fixture", md["source"])
		require.EqualValues(t, 2500, md["records"])
		require.NotEmpty(t, md["plugin"].(map[string]any)["sha256"])

		require.EqualValues(t, 2500, rawRows(t, b, "raw.fixture.items"))
		for _, k := range pl.RawFiles {
			require.True(t, strings.HasPrefix(k, "raw/source=fixture/date="), k)
		}
		states, err := b.meta.States(ctx, "fixture")
		require.NoError(t, err)
		require.JSONEq(t, `{"done":true}`, string(states["items"].State))
		pending, err := b.meta.ListPending(ctx)
		require.NoError(t, err)
		require.Empty(t, pending)

		// The same content again adds nothing.
		res2, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
		require.NoError(t, err)
		require.Equal(t, pipeline.StatusDuplicate, res2.Payloads[0].Status)
		require.EqualValues(t, 0, res2.Rows)
		require.EqualValues(t, 2500, rawRows(t, b, "raw.fixture.items"))
		require.Len(t, keysUnder(t, b.st, "raw/"), 1, "the duplicate's raw file must be gone")
	})
}

func TestProblemsQuarantinePayload(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "problems", "rows": "3000"}})
		require.NoError(t, err)
		require.Equal(t, metastore.RunPartial, res.Status)
		pl := res.Payloads[0]
		require.Equal(t, pipeline.StatusQuarantined, pl.Status)
		require.Contains(t, pl.Key, "/"+zone.QuarantineDir+"/")
		require.Equal(t, "fixture payload 3000\n", string(readObject(t, b.st, pl.Key)))
		reason := string(readObject(t, b.st, pl.Key+".reason.json"))
		require.Contains(t, reason, `"line": 3`)
		require.Contains(t, reason, `not a number`)
		require.Empty(t, keysUnder(t, b.st, "raw/"), "nothing of a quarantined payload reaches raw")
		files, err := b.meta.ListFiles(ctx, zone.QuarantineDataset("fixture"))
		require.NoError(t, err)
		require.Len(t, files, 2)
		states, err := b.meta.States(ctx, "fixture")
		require.NoError(t, err)
		require.NotEmpty(t, states["items"].State)
	})
}

func requireNothingVisible(t *testing.T, b *bundle) {
	t.Helper()
	ctx := context.Background()
	require.Empty(t, keysUnder(t, b.st, "raw/"))
	require.Empty(t, keysUnder(t, b.st, "landing/"))
	ds, err := b.meta.ListDatasets(ctx)
	require.NoError(t, err)
	for _, d := range ds {
		files, err := b.meta.ListFiles(ctx, d)
		require.NoError(t, err)
		require.Empty(t, files, d)
	}
	pending, err := b.meta.ListPending(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
}

func TestFailedRunsLeaveNothing(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg  sdk.Config
		want string
	}{
		"crash":     {sdk.Config{"mode": "crash", "rows": "5000"}, "fixture crashed on purpose"},
		"hang":      {sdk.Config{"mode": "hang"}, "idle timeout"},
		"hangcheck": {sdk.Config{"mode": "hangcheck"}, "idle timeout"},
		"badbatch":  {sdk.Config{"mode": "badbatch", "rows": "1500"}, "malformed batch"},
		"badconfig": {sdk.Config{"mode": "badconfig"}, "configuration error"},
	}
	forEachBackend(t, func(t *testing.T, b *bundle) {
		for name, tc := range cases {
			ctx := context.Background()
			start := time.Now()
			res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: tc.cfg})
			require.Error(t, err, name)
			require.Contains(t, err.Error(), tc.want, name)
			require.Less(t, time.Since(start), 30*time.Second, name)
			require.Equal(t, metastore.RunFailed, res.Status, name)
			run, err := b.meta.GetRun(ctx, res.RunID)
			require.NoError(t, err)
			require.Equal(t, metastore.RunFailed, run.Status, name)
			require.Contains(t, run.Error, tc.want, name)
			requireNothingVisible(t, b)
		}
	})
}

// A file-drop source names its local file instead of streaming it: the host
// copies the file to landing itself, only from paths of the source's
// configuration, and rejects a copy that differs from what the plugin read.
func TestLocalFilePayloadsAreCopiedByTheHost(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		dir := t.TempDir()
		export := filepath.Join(dir, "export.tsv")
		content := bytes.Repeat([]byte("a\tb\r\n"), 1<<20) // 6 MiB: more than one copy chunk
		require.NoError(t, os.WriteFile(export, content, 0o644))

		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "file", "file": export, "rows": "1500"}})
		require.NoError(t, err)
		require.Equal(t, metastore.RunSucceeded, res.Status)
		require.Len(t, res.Payloads, 1)
		require.True(t, bytes.Equal(content, readObject(t, b.st, res.Payloads[0].Key)), "landing must hold the file byte for byte")
		require.EqualValues(t, len(content), res.Payloads[0].Size)
		require.Equal(t, digest.Of(content), res.Payloads[0].Digest, "the landing checksum is the file's BLAKE3, as b3sum prints it")
		require.EqualValues(t, 1500, rawRows(t, b, "raw.fixture.items"))

		// The plugin read other bytes than the host copied: had the bytes
		// been streamed, landing would hold them and there were no error.
		changed := filepath.Join(t.TempDir(), "changed.tsv")
		require.NoError(t, os.WriteFile(changed, []byte("other content\n"), 0o644))
		res, err = b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "filechange", "file": changed, "rows": "10"}})
		require.Error(t, err)
		require.Contains(t, err.Error(), "changed while it was read")
		require.Equal(t, metastore.RunFailed, res.Status)
		require.EqualValues(t, 1500, rawRows(t, b, "raw.fixture.items"), "the failed run adds nothing")

		// A file outside the configuration (the host would refuse it, see
		// TestLocalCopyOnlyFromConfiguredPaths) is streamed by the SDK.
		res, err = b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "claimsibling", "file": changed, "rows": "10"}})
		require.NoError(t, err)
		require.Equal(t, "other content\n", string(readObject(t, b.st, res.Payloads[0].Key)))
		pending, err := b.meta.ListPending(ctx)
		require.NoError(t, err)
		require.Empty(t, pending)
	})
}

func TestSweepRemovesDebrisOfDeadRunsOnly(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		dead, live := "20260101T000000Z-dead00", "20260101T000000Z-live00"
		require.NoError(t, b.meta.CreateRun(ctx, metastore.Run{ID: dead, Source: "fixture", Kind: "ingest", StartedAt: time.Now()}))
		unlock, err := b.meta.LockRun(ctx, live)
		require.NoError(t, err)
		defer unlock()
		deadKey := zone.RawFile("fixture", time.Now(), "items", dead, 0)
		liveKey := zone.RawFile("fixture", time.Now(), "items", live, 0)
		for _, k := range []struct{ run, key string }{{dead, deadKey}, {live, liveKey}} {
			require.NoError(t, b.meta.AddPending(ctx, k.run, k.key))
			_, err := b.st.Put(ctx, k.key, strings.NewReader("partial"))
			require.NoError(t, err)
		}
		n, err := b.p.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{liveKey}, keysUnder(t, b.st, "raw/"))
		run, err := b.meta.GetRun(ctx, dead)
		require.NoError(t, err)
		require.Equal(t, metastore.RunAbandoned, run.Status)
	})
}

func TestReplayRebuildsRawFromLanding(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		// The fixture has no "files" parameter of its own, but it accepts
		// any configuration, so replay can hand it the landing copies.
		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"rows": "1200"}})
		require.NoError(t, err)
		before := keysUnder(t, b.st, "raw/")
		require.Len(t, before, 1)

		rep, err := b.p.Replay(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"rows": "1200"}})
		require.NoError(t, err)
		require.Equal(t, "replay", rep.Kind)
		require.Equal(t, metastore.RunSucceeded, rep.Status)
		after := keysUnder(t, b.st, "raw/")
		require.Len(t, after, 1)
		require.NotEqual(t, before, after, "replay writes new raw files and removes the old ones")
		require.EqualValues(t, 1200, rawRows(t, b, "raw.fixture.items"))
		require.Equal(t, res.Payloads[0].Key, rep.Payloads[0].Key)
	})
}

func TestConcurrentIngestsOfTheSameContentCommitOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		cfg := sdk.Config{"rows": "3000", "payload": "the same export"}
		type outcome struct {
			res pipeline.Result
			err error
		}
		results := make(chan outcome, 2)
		for i := 0; i < 2; i++ {
			go func() {
				res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
				results <- outcome{res, err}
			}()
		}
		statuses := map[string]int{}
		for i := 0; i < 2; i++ {
			o := <-results
			require.NoError(t, o.err)
			statuses[o.res.Payloads[0].Status]++
		}
		require.Equal(t, map[string]int{pipeline.StatusIngested: 1, pipeline.StatusDuplicate: 1}, statuses)
		require.EqualValues(t, 3000, rawRows(t, b, "raw.fixture.items"))
		require.Len(t, keysUnder(t, b.st, "raw/"), 1, "the loser's files are gone")
		requireManifestIntact(t, b)
		for _, key := range keysUnder(t, b.st, "landing/") {
			listed, err := b.meta.FileListed(ctx, key)
			require.NoError(t, err)
			require.True(t, listed, "%s is in storage but in no manifest", key)
		}
		pending, err := b.meta.ListPending(ctx)
		require.NoError(t, err)
		require.Empty(t, pending)
	})
}

// requireManifestIntact checks that every file a manifest lists is stored
// with the size the manifest records.
func requireManifestIntact(t *testing.T, b *bundle) {
	t.Helper()
	ctx := context.Background()
	datasets, err := b.meta.ListDatasets(ctx)
	require.NoError(t, err)
	for _, d := range datasets {
		files, err := b.meta.ListFiles(ctx, d)
		require.NoError(t, err)
		for _, f := range files {
			oi, err := b.st.Stat(ctx, f.Key)
			require.NoError(t, err, "%s lists %s, which storage lacks", d, f.Key)
			if f.Size > 0 {
				require.Equal(t, f.Size, oi.Size, f.Key)
			}
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const sentinel = "SENTINEL-4f1c9e2a"
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		var logs bytes.Buffer
		b.p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		var seen []string
		for _, mode := range []string{"rows", "problems", "crash", "badbatch", "badconfig"} {
			res, _ := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": mode, "rows": "2000", "token": sentinel, "payload": mode}})
			out, err := json.Marshal(res)
			require.NoError(t, err)
			seen = append(seen, string(out))
			run, err := b.meta.GetRun(ctx, res.RunID)
			require.NoError(t, err)
			seen = append(seen, run.Error, string(run.Stats))
			steps, err := b.meta.ListSteps(ctx, res.RunID)
			require.NoError(t, err)
			for _, s := range steps {
				seen = append(seen, string(s.Detail))
			}
		}
		require.NoError(t, b.st.List(ctx, "", func(oi storage.ObjectInfo) error {
			seen = append(seen, string(readObject(t, b.st, oi.Key)))
			return nil
		}))
		seen = append(seen, logs.String())
		for _, s := range seen {
			require.NotContains(t, s, sentinel)
		}
	})
}

// A run whose pending files a sweeper claimed (it judged the run dead, say
// after its lease connection dropped) must not commit: its manifest would
// list files the sweeper deletes.
func TestRunFencedBySweeperDoesNotCommit(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		claimed := make(chan int, 1)
		go func() {
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				pending, err := b.meta.ListPending(ctx)
				if err != nil || len(pending) < 2 {
					continue
				}
				n := 0
				for _, pf := range pending {
					if ok, _ := b.meta.ClaimPending(ctx, pf.Key); ok {
						n++
					}
				}
				claimed <- n
				return
			}
			claimed <- 0
		}()
		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "slow", "rows": "30000"}})
		require.Positive(t, <-claimed)
		require.ErrorIs(t, err, metastore.ErrFenced)
		require.Equal(t, metastore.RunFailed, res.Status)
		requireNothingVisible(t, b)
	})
}

func TestSameBadPayloadPointsAtItsQuarantine(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		cfg := sdk.Config{"mode": "problems", "rows": "100"}
		first, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
		require.NoError(t, err)
		again, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
		require.NoError(t, err)
		require.Equal(t, metastore.RunPartial, again.Status)
		require.Equal(t, first.Payloads[0].Key, again.Payloads[0].Key, "the second run points at the first quarantined copy")
		files, err := b.meta.ListFiles(ctx, zone.QuarantineDataset("fixture"))
		require.NoError(t, err)
		require.Len(t, files, 2, "quarantined once")
		requireManifestIntact(t, b)
		require.Len(t, keysUnder(t, b.st, "landing/"), 3, "the quarantined file, its reason and the first run's metadata")
	})
}
