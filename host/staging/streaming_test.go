package staging

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/credentials"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/plugins/spotify"
	"github.com/bedrot-label/bedrot/plugins/tiktok"
	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// streamingLake is a lake with the TikTok and Spotify sources installed and
// a credential vault (TikTok rotates its refresh token).
func streamingLake(t *testing.T, open func(t *testing.T) (storage.Store, metastore.Store)) *lake {
	t.Helper()
	st, meta := open(t)
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(t.TempDir(), "plugins")}, meta)
	for _, pkg := range []string{"plugins/tiktok/cmd/bedrot-source-tiktok", "plugins/spotify/cmd/bedrot-source-spotify"} {
		_, err := host.Install(context.Background(), plugintest.Build(t, pkg))
		require.NoError(t, err)
	}
	key := make([]byte, credentials.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	vault := credentials.New(meta, credentials.KeySource{Key: base64.StdEncoding.EncodeToString(key)})
	return &lake{st: st, meta: meta, p: &pipeline.Pipeline{Store: st, Meta: meta, Plugins: host, Credentials: vault},
		deps: Deps{Store: st, Meta: meta, CacheDir: filepath.Join(t.TempDir(), "cache")}}
}

// rowsOf runs q over the files of dataset (the view t) and returns every
// row, each value as DuckDB's driver gives it.
func rowsOf(t *testing.T, l *lake, dataset, q string) [][]any {
	t.Helper()
	ctx := context.Background()
	files, err := l.meta.ListFiles(ctx, dataset)
	require.NoError(t, err)
	require.NotEmpty(t, files, dataset)
	e, err := sqlengine.New(sqlengine.Options{Store: l.st, Meta: l.meta, CacheDir: l.deps.CacheDir})
	require.NoError(t, err)
	w, err := e.Workspace(ctx, files, t.TempDir())
	require.NoError(t, err)
	defer w.Close()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = sqlengine.QuoteString(w.Path(f.Key))
	}
	_, err = w.Conn().ExecContext(ctx, "CREATE VIEW t AS SELECT * FROM read_parquet(["+strings.Join(paths, ", ")+"], filename = true, hive_partitioning = false)")
	require.NoError(t, err)
	rows, err := w.Conn().QueryContext(ctx, q)
	require.NoError(t, err, q)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, vals)
	}
	require.NoError(t, rows.Err())
	return out
}

// manifestOf lists a dataset's files with everything that identifies them.
func manifestOf(t *testing.T, l *lake, dataset string) []string {
	t.Helper()
	files, err := l.meta.ListFiles(context.Background(), dataset)
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, strings.Join([]string{f.Key, f.Digest, string(f.Meta)}, " "))
	}
	return out
}

// requireNoChange builds again and checks that nothing was written and no
// manifest or state changed.
func requireNoChange(t *testing.T, l *lake, datasets ...string) {
	t.Helper()
	ctx := context.Background()
	before := map[string][]string{}
	for _, ds := range datasets {
		before[ds] = manifestOf(t, l, ds)
	}
	states, err := l.meta.States(ctx, StateSource)
	require.NoError(t, err)
	res, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
	require.NoError(t, err)
	require.Zero(t, res.Rebuilt)
	require.Empty(t, res.Files)
	require.Positive(t, res.Skipped)
	for _, ds := range datasets {
		require.Equal(t, before[ds], manifestOf(t, l, ds), ds)
	}
	after, err := l.meta.States(ctx, StateSource)
	require.NoError(t, err)
	require.Equal(t, states, after)
}

// rawWriter commits hand-made raw files, as the pipeline would.
type rawWriter struct {
	l   *lake
	seq int
}

// write commits rows (values in schema order: string, int64, time.Time
// for timestamps and dates, or nil) as one raw file of source.stream.
func (w *rawWriter) write(t *testing.T, source, stream string, schema sdk.Schema, rows ...[]any) string {
	t.Helper()
	ctx := context.Background()
	bb := sdk.NewBatchBuilder(stream, schema)
	for _, r := range rows {
		require.Len(t, r, len(schema.Fields))
		for i, v := range r {
			switch v := v.(type) {
			case nil:
				bb.AppendNull(i)
			case string:
				bb.AppendString(i, []byte(v))
			case int:
				bb.AppendInt64(i, int64(v))
			case time.Time:
				if schema.Fields[i].Type == sdk.TypeDate {
					bb.AppendInt32(i, sdk.DaysSinceEpoch(v))
				} else {
					bb.AppendInt64(i, v.UnixMicro())
				}
			default:
				t.Fatalf("unsupported value %T", v)
			}
		}
		bb.EndRow()
	}
	var buf bytes.Buffer
	pw, err := parquetfile.NewWriter(&buf, schema, parquetfile.Options{})
	require.NoError(t, err)
	require.NoError(t, pw.Write(bb.Batch()))
	require.NoError(t, pw.Close())
	w.seq++
	runID := pipeline.NewRunID(time.Now())
	key := zone.RawFile(source, time.Now(), stream, runID, w.seq)
	n, err := w.l.st.Put(ctx, key, bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	sum := sha256.Sum256(buf.Bytes())
	sha := hex.EncodeToString(sum[:])
	ds := zone.RawDataset(source, stream)
	_, err = w.l.meta.Commit(ctx, metastore.Commit{RunID: runID,
		Batches: []metastore.Batch{{Dataset: ds, ID: sha, RunID: runID, Rows: int64(len(rows))}},
		Files:   []metastore.File{{Dataset: ds, Key: key, Size: n, Digest: sha, Rows: int64(len(rows)), BatchID: sha, RunID: runID}}})
	require.NoError(t, err)
	return key
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// video is a raw.tiktok.videos row.
func video(id string, created, at string, views, likes, comments, shares any) []any {
	r := make([]any, len(tiktok.VideosSchema.Fields))
	r[tiktok.VideoColID], r[tiktok.VideoColOpenID], r[tiktok.VideoColCreateTime] = id, "acct", ts(created)
	r[tiktok.VideoColViewCount], r[tiktok.VideoColLikeCount], r[tiktok.VideoColCommentCount], r[tiktok.VideoColShareCount] = views, likes, comments, shares
	r[tiktok.VideoColSnapshotAt], r[tiktok.VideoColSnapshotDate] = ts(at), ts(at)
	return r
}

// user is a raw.tiktok.user_info row.
func user(at string, followers, likes, videos any) []any {
	r := make([]any, len(tiktok.UserInfoSchema.Fields))
	r[tiktok.UserColOpenID] = "acct"
	r[tiktok.UserColFollowerCount], r[tiktok.UserColLikesCount], r[tiktok.UserColVideoCount] = followers, likes, videos
	r[tiktok.UserColSnapshotAt], r[tiktok.UserColSnapshotDate] = ts(at), ts(at)
	return r
}

// business is a raw.tiktok.business_metrics row.
func business(date, at string, views int) []any {
	r := make([]any, len(tiktok.BusinessMetricsSchema.Fields))
	r[tiktok.BizColBusinessID], r[tiktok.BizColDate] = "acct", ts(date+"T00:00:00Z")
	r[tiktok.BizColVideoViews], r[tiktok.BizColFollowersCount] = views, 1000+views
	r[tiktok.BizColSnapshotAt], r[tiktok.BizColSnapshotDate] = ts(at), ts(at)
	return r
}

// TestBuildTikTokDaily checks the daily differences on hand-made snapshots:
// several per day, a year boundary, a counter going down, missing days, a
// video created on its first snapshot day, and incremental rebuilds.
func TestBuildTikTokDaily(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := newLake(t, open)
			w := &rawWriter{l: l}
			const created = "2025-12-30T12:00:00Z" // video A, posted on its first snapshot day
			const old = "2025-06-01T08:00:00Z"     // video B
			w.write(t, "tiktok", "videos", tiktok.VideosSchema,
				video("A", created, "2025-12-30T20:00:00Z", 100, 10, 1, 0))
			// Two snapshots on 31 December (the later wins), one of them
			// ingested before the earlier one.
			w.write(t, "tiktok", "videos", tiktok.VideosSchema,
				video("A", created, "2025-12-31T22:00:00Z", 200, 12, 3, 1),
				video("B", old, "2025-12-31T22:00:00Z", 5000, 300, nil, 7))
			w.write(t, "tiktok", "videos", tiktok.VideosSchema,
				video("A", created, "2025-12-31T09:00:00Z", 150, 11, 2, 1))
			// 1 January: likes went down (a reset); 2 and 3 January are
			// missing; 4 January.
			w.write(t, "tiktok", "videos", tiktok.VideosSchema,
				video("A", created, "2026-01-01T21:00:00Z", 260, 11, 3, 2),
				video("B", old, "2026-01-01T21:00:00Z", 5100, 310, 40, 7))
			w.write(t, "tiktok", "videos", tiktok.VideosSchema,
				video("A", created, "2026-01-04T21:00:00Z", 560, 20, 3, 2))
			w.write(t, "tiktok", "user_info", tiktok.UserInfoSchema,
				user("2025-12-31T22:00:00Z", 1000, 5000, 2), user("2026-01-01T21:00:00Z", 990, 5010, 2))
			// Business days: 1 January read twice (the later read wins), and
			// a day without a user_info snapshot.
			w.write(t, "tiktok", "business_metrics", tiktok.BusinessMetricsSchema,
				business("2026-01-01", "2026-01-03T08:00:00Z", 77), business("2025-12-20", "2025-12-22T08:00:00Z", 55))
			w.write(t, "tiktok", "business_metrics", tiktok.BusinessMetricsSchema,
				business("2026-01-01", "2026-01-04T08:00:00Z", 78))

			res, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
			require.NoError(t, err)
			require.Equal(t, 6, res.Rebuilt, "two datasets, two years each, and the empty placeholders of the two Spotify datasets")
			for _, p := range res.Partitions {
				if strings.Contains(p.Dataset, "spotify") {
					require.Equal(t, "year=0000", p.Partition, "no Spotify rows: an empty file keeps the dataset queryable")
					require.Zero(t, p.Rows)
					continue
				}
				require.Regexp(t, `^staging/domain=streaming/year=202[56]/tiktok_(video|account)_daily-staging-`, p.Key)
			}

			got := rowsOf(t, l, TikTokVideoDailyDataset, `SELECT video_id, CAST(date AS VARCHAR), strftime(snapshot_at AT TIME ZONE 'UTC', '%H:%M'), snapshots,
				view_count, like_count, views, likes, comments, shares, gap_days, counter_reset,
				filename LIKE '%/year=' || year(date) || '/%' FROM t ORDER BY video_id, date`)
			n := func(v int64) any { return v }
			require.Equal(t, [][]any{
				{"A", "2025-12-30", "20:00", int32(1), n(100), n(10), n(100), n(10), n(1), n(0), nil, false, true},
				{"A", "2025-12-31", "22:00", int32(2), n(200), n(12), n(100), n(2), n(2), n(1), int32(0), false, true},
				{"A", "2026-01-01", "21:00", int32(1), n(260), n(11), n(60), nil, n(0), n(1), int32(0), true, true},
				{"A", "2026-01-04", "21:00", int32(1), n(560), n(20), n(300), n(9), n(0), n(0), int32(2), false, true},
				{"B", "2025-12-31", "22:00", int32(1), n(5000), n(300), nil, nil, nil, nil, nil, false, true},
				{"B", "2026-01-01", "21:00", int32(1), n(5100), n(310), n(100), n(10), nil, n(0), int32(0), false, true},
			}, got)
			neg := rowsOf(t, l, TikTokVideoDailyDataset, `SELECT count(*) FROM t WHERE views < 0 OR likes < 0 OR comments < 0 OR shares < 0`)
			require.Equal(t, int64(0), neg[0][0])

			acct := rowsOf(t, l, TikTokAccountDailyDataset, `SELECT account_id, CAST(date AS VARCHAR), follower_count, followers, likes, videos,
				counter_reset, video_views, followers_count FROM t ORDER BY date`)
			require.Equal(t, [][]any{
				{"acct", "2025-12-20", nil, nil, nil, nil, false, n(55), n(1055)},
				{"acct", "2025-12-31", n(1000), nil, nil, nil, false, nil, nil},
				{"acct", "2026-01-01", n(990), nil, n(10), n(0), true, n(78), n(1078)},
			}, acct)

			requireNoChange(t, l, TikTokVideoDailyDataset, TikTokAccountDailyDataset)

			// A new snapshot day rebuilds 2026 of the video dataset only.
			w.write(t, "tiktok", "videos", tiktok.VideosSchema, video("B", old, "2026-01-05T21:00:00Z", 5150, 311, 41, 8))
			third, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
			require.NoError(t, err)
			require.Equal(t, 1, third.Rebuilt)
			for _, p := range third.Partitions {
				if p.Dataset == TikTokVideoDailyDataset && p.Partition == "year=2026" {
					require.Equal(t, Rebuilt, p.Action)
					require.Len(t, p.Inputs, 6, "2026 reads the 2025 snapshots too")
				} else {
					require.Equal(t, Skipped, p.Action, p.Dataset+" "+p.Partition)
				}
			}
			gap := rowsOf(t, l, TikTokVideoDailyDataset, `SELECT views, gap_days FROM t WHERE video_id = 'B' AND date = DATE '2026-01-05'`)
			require.Equal(t, [][]any{{n(50), int32(3)}}, gap)
		})
	}
}

// TestBuildTikTokFromPlugin ingests two snapshots of one day through the
// real TikTok plugin and emulator, with the Accounts API on.
func TestBuildTikTokFromPlugin(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := streamingLake(t, open)
			srv := emulator.New(emulator.Options{ClientKey: "ck_staging", ClientSecret: "cs_staging_secret", RefreshToken: "rt_staging_initial",
				VideoCount: 9, Seed: 5, BusinessAccessToken: "biz_staging_token"})
			base := srv.Start()
			t.Cleanup(srv.Close)
			cfg := sdk.Config{
				tiktok.ParamClientKey: "ck_staging", tiktok.ParamClientSecret: "cs_staging_secret", tiktok.ParamRefreshToken: "rt_staging_initial",
				tiktok.ParamBaseURL: base, tiktok.ParamTokenURL: base + "/v2/oauth/token/",
				tiktok.ParamBusinessID: srv.Account().OpenID, tiktok.ParamBusinessAccessToken: "biz_staging_token", tiktok.ParamBusinessBaseURL: base,
			}
			for range 2 {
				res, err := l.p.Ingest(ctx, pipeline.Request{Source: "tiktok", Config: cfg})
				require.NoError(t, err)
				require.NotEmpty(t, res.Payloads)
				srv.AdvanceDay()
			}
			res, err := Build(ctx, l.deps, Options{})
			require.NoError(t, err)
			require.Positive(t, res.Rebuilt)

			videos := rowsOf(t, l, TikTokVideoDailyDataset, `SELECT count(*), count(DISTINCT video_id), min(snapshots), max(snapshots),
				count(*) FILTER (WHERE views IS DISTINCT FROM (CASE WHEN `+utcDate("create_time")+` = date THEN view_count END)), count(*) FILTER (WHERE gap_days IS NOT NULL) FROM t`)
			require.Equal(t, []any{int64(9), int64(9), int32(2), int32(2), int64(0), int64(0)}, videos[0],
				"one row per video for the day, from two snapshots; no gain on the first day of a video posted earlier, all of it for one posted that day")
			acct := rowsOf(t, l, TikTokAccountDailyDataset, `SELECT account_id, snapshots, video_count FROM t WHERE snapshot_at IS NOT NULL`)
			require.Equal(t, [][]any{{srv.Account().OpenID, int32(2), int64(9)}}, acct)
			biz := rowsOf(t, l, TikTokAccountDailyDataset, `SELECT CAST(date AS VARCHAR), video_views, profile_views, followers_count FROM t WHERE video_views IS NOT NULL ORDER BY date DESC LIMIT 3`)
			require.Len(t, biz, 3)
			for _, r := range biz {
				d := srv.BusinessMetrics(ts(r[0].(string) + "T00:00:00Z"))
				require.Equal(t, []any{d.Date, d.VideoViews, d.ProfileViews, d.FollowersCount}, r)
			}
			requireNoChange(t, l, TikTokVideoDailyDataset, TikTokAccountDailyDataset)
		})
	}
}

// TestBuildSpotifyDaily ingests the sample Spotify for Artists exports
// through the real Spotify plugin, then re-exports that overlap them: the
// newest export's value wins.
func TestBuildSpotifyDaily(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := streamingLake(t, open)
			dir := t.TempDir()
			samples, err := filepath.Glob("../../plugins/spotify/testdata/s4a/*.csv")
			require.NoError(t, err)
			require.NotEmpty(t, samples)
			for _, s := range samples {
				b, err := os.ReadFile(s)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(s)), b, 0o644))
			}
			ingest := func() {
				res, err := l.p.Ingest(ctx, pipeline.Request{Source: "spotify", Config: sdk.Config{spotify.ParamS4ADir: dir},
					Streams: []string{spotify.StreamS4ASongTimeline, spotify.StreamS4AAudience}})
				require.NoError(t, err)
				for _, p := range res.Payloads {
					require.Equal(t, "ingested", p.Status, p.Name)
				}
			}
			ingest()
			res, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
			require.NoError(t, err)
			require.Equal(t, 4, res.Rebuilt, "two Spotify datasets, and the empty placeholders of the two TikTok datasets")

			songs := rowsOf(t, l, SpotifySongDailyDataset, `SELECT song, CAST(date AS VARCHAR), streams, exports, revised FROM t WHERE song = 'Tidewater' ORDER BY date`)
			require.GreaterOrEqual(t, len(songs), 4)
			require.Equal(t, []any{"Tidewater", "2026-02-10", int64(216), int32(1), false}, songs[0])
			aud := rowsOf(t, l, SpotifyAudienceDailyDataset, `SELECT artist, CAST(date AS VARCHAR), listeners, super_listeners, streams, followers FROM t WHERE date = DATE '2026-02-10' ORDER BY artist`)
			require.Equal(t, [][]any{
				{"Mara Ellis", "2026-02-10", int64(395), int64(33), int64(635), int64(1809)},
				{"osker wyld", "2026-02-10", int64(4), nil, int64(6), int64(13)},
				{"Ørjan Ødegård", "2026-02-10", int64(49), nil, int64(78), int64(240)},
			}, aud)
			requireNoChange(t, l, SpotifySongDailyDataset, SpotifyAudienceDailyDataset)

			// Re-exports overlapping the first ones: Tidewater's timeline
			// with 11 February revised and a new day (10 March), and osker wyld's
			// audience with 13 February revised and a new day.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Tidewater-timeline.csv"),
				[]byte("date,streams\n2026-02-11,190\n2026-02-12,395\n2026-03-10,401\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "osker wyld-audience-timeline.csv"),
				[]byte("date,listeners,streams,followers\n2026-02-12,3,6,13\n2026-02-13,4,9,14\n2026-03-10,5,9,14\n"), 0o644))
			ingest()
			second, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
			require.NoError(t, err)
			require.Equal(t, 2, second.Rebuilt)
			byDate := func(q string) map[string][]any {
				m := map[string][]any{}
				for _, r := range rowsOf(t, l, SpotifySongDailyDataset, q) {
					m[r[0].(string)] = r[1:]
				}
				return m
			}
			songs2 := byDate(`SELECT CAST(date AS VARCHAR), streams, exports, revised FROM t WHERE song = 'Tidewater'`)
			require.Equal(t, []any{int64(216), int32(1), false}, songs2["2026-02-10"], "only the first export has it")
			require.Equal(t, []any{int64(190), int32(2), true}, songs2["2026-02-11"], "the newest export wins")
			require.Equal(t, []any{int64(395), int32(2), false}, songs2["2026-02-12"])
			require.Equal(t, []any{int64(401), int32(1), false}, songs2["2026-03-10"])
			dups := rowsOf(t, l, SpotifySongDailyDataset, `SELECT count(*) FROM (SELECT song, date FROM t GROUP BY ALL HAVING count(*) > 1)`)
			require.Equal(t, int64(0), dups[0][0])
			aud = rowsOf(t, l, SpotifyAudienceDailyDataset, `SELECT CAST(date AS VARCHAR), listeners, streams, followers, exports, revised
				FROM t WHERE artist = 'osker wyld' AND date IN (DATE '2026-02-12', DATE '2026-02-13', DATE '2026-03-10') ORDER BY date`)
			require.Equal(t, [][]any{
				{"2026-02-12", int64(3), int64(6), int64(13), int32(2), false},
				{"2026-02-13", int64(4), int64(9), int64(14), int32(2), true},
				{"2026-03-10", int64(5), int64(9), int64(14), int32(1), false},
			}, aud)
			dups = rowsOf(t, l, SpotifyAudienceDailyDataset, `SELECT count(*) FROM (SELECT artist, date FROM t GROUP BY ALL HAVING count(*) > 1)`)
			require.Equal(t, int64(0), dups[0][0])
			requireNoChange(t, l, SpotifySongDailyDataset, SpotifyAudienceDailyDataset)
		})
	}
}
