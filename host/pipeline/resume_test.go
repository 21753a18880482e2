package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/credentials"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// item is the part of a fixture row the tests compare.
type item struct {
	ID    int64  `parquet:"id"`
	Label string `parquet:"label"`
}

// rawItems reads every row of the files a dataset's manifest lists, sorted by id.
func rawItems(t *testing.T, b *bundle, dataset string) []item {
	t.Helper()
	files, err := b.meta.ListFiles(context.Background(), dataset)
	require.NoError(t, err)
	var all []item
	for _, f := range files {
		data := readObject(t, b.st, f.Key)
		rows, err := parquet.Read[item](bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		all = append(all, rows...)
	}
	slices.SortFunc(all, func(a, b item) int { return int(a.ID - b.ID) })
	return all
}

// A run that fails part-way keeps the pages it checkpointed, and the next
// run resumes after them: the lake ends up with exactly the rows of a run
// that never failed.
func TestFailedRunKeepsCheckpointedPagesAndNextRunResumes(t *testing.T) {
	t.Parallel()
	for _, fail := range []string{"crash", "transient"} {
		t.Run(fail, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b *bundle) {
				ctx := context.Background()
				cfg := sdk.Config{"mode": "pages", "pages": "6", "rows": "150", "fail_after": "2", "fail": fail}
				res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
				require.Error(t, err)
				require.Equal(t, metastore.RunFailed, res.Status)
				require.ErrorContains(t, err, "kept 2 payload(s) with 300 rows read before the plugin's last checkpoint: the next run resumes from there")
				if fail == "transient" {
					require.Equal(t, sdk.KindTransient, sdk.KindOf(err), "the kept data does not hide the error's kind")
				}
				require.EqualValues(t, 300, res.Rows)
				require.Len(t, rawItems(t, b, "raw.fixture.items"), 300)
				states, err := b.meta.States(ctx, "fixture")
				require.NoError(t, err)
				require.JSONEq(t, `{"next":2}`, string(states["items"].State))
				pending, err := b.meta.ListPending(ctx)
				require.NoError(t, err)
				require.Empty(t, pending, "the half-read page left nothing behind")
				require.Len(t, keysUnder(t, b.st, "raw/"), 2, "one raw file per kept page, none for the half-read one")

				delete(cfg, "fail_after")
				res, err = b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
				require.NoError(t, err)
				require.EqualValues(t, 600, res.Rows, "the resumed run reads pages 2 to 5 only")

				// The lake equals one uninterrupted run.
				clean := setup(t, backends[0])
				_, err = clean.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
				require.NoError(t, err)
				want := rawItems(t, clean, "raw.fixture.items")
				require.Len(t, want, 900)
				require.Equal(t, want, rawItems(t, b, "raw.fixture.items"))
			})
		})
	}
}

// A checkpoint sent while a payload is open does not make a safe point:
// what a failed run keeps always ends with whole payloads.
func TestFailedRunWithoutSafeCheckpointKeepsNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		res, err := b.p.Ingest(context.Background(), pipeline.Request{Source: "fixture",
			Config: sdk.Config{"mode": "pages", "pages": "3", "rows": "10", "fail_after": "0"}})
		require.Error(t, err)
		require.NotContains(t, err.Error(), "kept")
		require.Zero(t, res.Rows)
		requireNothingVisible(t, b)
	})
}

func newVault(t *testing.T, meta metastore.Store) *credentials.Vault {
	t.Helper()
	key := make([]byte, credentials.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return credentials.New(meta, credentials.KeySource{Key: base64.StdEncoding.EncodeToString(key)})
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// A source that rotates its refresh token hands the new one to the host,
// which stores it sealed at once — even when the run then fails — and
// passes it on the next run. The token appears nowhere in clear.
func TestRotatedCredentialIsStoredSealedAndUsedNextRun(t *testing.T) {
	t.Parallel()
	const sentinel = "SENTINEL-refresh-9b2e"
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		var logs bytes.Buffer
		b.p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		b.p.Credentials = newVault(t, b.meta)
		cfg := sdk.Config{"mode": "rotate", "token": sentinel}
		var seen []string
		ingest := func(cfg sdk.Config) pipeline.Result {
			res, _ := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
			out, err := json.Marshal(res)
			require.NoError(t, err)
			run, err := b.meta.GetRun(ctx, res.RunID)
			require.NoError(t, err)
			seen = append(seen, string(out), run.Error, string(run.Stats))
			return res
		}

		res := ingest(cfg)
		require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
		res = ingest(cfg)
		require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
		failing := sdk.Config{"mode": "rotate", "token": sentinel, "fail": "transient"}
		res = ingest(failing)
		require.Equal(t, metastore.RunFailed, res.Status)
		res = ingest(cfg)
		require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)

		var labels []string
		for _, it := range rawItems(t, b, "raw.fixture.items") {
			labels = append(labels, it.Label)
		}
		slices.Sort(labels)
		want := []string{tokenHash(sentinel), tokenHash(sentinel + "+"), tokenHash(sentinel + "+++")}
		slices.Sort(want)
		require.Equal(t, want, labels, "each run used the token the previous one rotated to, the failed run's included")

		stored, err := b.meta.Credentials(ctx, "fixture")
		require.NoError(t, err)
		require.Len(t, stored, 1)
		seen = append(seen, string(stored["token"].Sealed), stored["token"].Base, logs.String())
		require.NoError(t, b.st.List(ctx, "", func(oi storage.ObjectInfo) error {
			seen = append(seen, string(readObject(t, b.st, oi.Key)))
			return nil
		}))
		require.Contains(t, logs.String(), "refreshing with token REDACTED", "the plugin's careless log line is redacted")
		for _, s := range seen {
			require.NotContains(t, s, "SENTINEL")
		}

		// The user re-authorises: the newly configured token wins.
		fresh := sdk.Config{"mode": "rotate", "token": "fresh-token"}
		res = ingest(fresh)
		require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
		require.Contains(t, logs.String(), "the configured value changed since the plugin last rotated it")
		labels = labels[:0]
		for _, it := range rawItems(t, b, "raw.fixture.items") {
			labels = append(labels, it.Label)
		}
		require.Contains(t, labels, tokenHash("fresh-token"))
	})
}

// Without a credential store a rotation fails the run with a clear error.
func TestRotationWithoutCredentialStoreFails(t *testing.T) {
	t.Parallel()
	b := setup(t, backends[0])
	_, err := b.p.Ingest(context.Background(), pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "rotate", "token": "abcd"}})
	require.ErrorContains(t, err, "no credential store")
}

// A failed run says in words what its error means and what to do, and keeps
// the kind and reset time for the scheduler.
func TestFailedRunsSayWhatToDo(t *testing.T) {
	t.Parallel()
	b := setup(t, backends[0])
	ctx := context.Background()
	cases := map[string]struct{ kind, advice string }{
		"transient": {"transient", "A temporary failure (network, or the service's servers): nothing needs fixing, retrying should succeed. The next run starts over."},
		"badconfig": {"config", "The source's configuration must be fixed"},
		"ratelimit": {"rate_limited", "The service's rate limit was reached; it resets at "},
		"crash":     {"crashed", "The plugin process crashed; its last output is quoted above."},
		"badbatch":  {"unknown", "The run failed; the error above says where."},
	}
	for mode, want := range cases {
		before := time.Now()
		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": mode, "rows": "10"}})
		require.Error(t, err, mode)
		require.Equal(t, want.kind, res.ErrorKind, mode)
		require.Contains(t, res.Advice, want.advice, mode)
		run, err := b.meta.GetRun(ctx, res.RunID)
		require.NoError(t, err)
		var stats struct {
			Kind    string     `json:"error_kind"`
			RetryAt *time.Time `json:"retry_at"`
			Advice  string     `json:"advice"`
		}
		require.NoError(t, json.Unmarshal(run.Stats, &stats))
		require.Equal(t, res.Advice, stats.Advice, mode)
		require.Equal(t, want.kind, stats.Kind, mode)
		if mode == "ratelimit" {
			require.NotNil(t, stats.RetryAt)
			require.WithinDuration(t, before.Add(90*time.Second), *stats.RetryAt, 10*time.Second, "the fixture's limit resets in 90 s")
		} else {
			require.Nil(t, stats.RetryAt, mode)
		}
	}
}

// parquetColumns lists a Parquet file's columns.
func parquetColumns(t *testing.T, data []byte) []string {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	var names []string
	for _, field := range f.Schema().Fields() {
		names = append(names, field.Name())
	}
	return names
}
