package sqlengine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/host/storage/miniotest"
	s3store "github.com/bedrot-label/bedrot/host/storage/s3"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

// lake is one pair of storage and metastore with a cache folder.
type lake struct {
	st       storage.Store
	meta     metastore.Store
	cacheDir string
	local    bool
}

type backend struct {
	name string
	open func(t *testing.T) *lake
}

// newPostgres opens a metastore in a fresh schema dropped after the test.
func newPostgres(t *testing.T) metastore.Store {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bedrot_sqlengine_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		db, err := sql.Open("pgx", pgtest.URL())
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
			_ = db.Close()
		}
	})
	meta, err := sqlstore.OpenPostgres(context.Background(), pgtest.URL(), schema)
	require.NoError(t, err)
	t.Cleanup(func() { _ = meta.Close() })
	return meta
}

var backends = []backend{
	{"folder+sqlite", func(t *testing.T) *lake {
		dir := t.TempDir()
		st, err := folder.New(filepath.Join(dir, "lake"))
		require.NoError(t, err)
		meta, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = meta.Close() })
		return &lake{st: st, meta: meta, cacheDir: filepath.Join(dir, "cache"), local: true}
	}},
	{"minio+postgres", func(t *testing.T) *lake {
		srv := miniotest.Require(t)
		st, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey,
			SecretKey: srv.SecretKey, Bucket: srv.NewBucket(t), Prefix: "lake"})
		require.NoError(t, err)
		return &lake{st: st, meta: newPostgres(t), cacheDir: filepath.Join(t.TempDir(), "cache")}
	}},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, l *lake)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			fn(t, be.open(t))
		})
	}
}

func (l *lake) engine(t *testing.T, opts ...func(*sqlengine.Options)) *sqlengine.Engine {
	t.Helper()
	o := sqlengine.Options{Store: l.st, Meta: l.meta, CacheDir: l.cacheDir, Threads: 2, MemoryLimit: "512MB"}
	for _, f := range opts {
		f(&o)
	}
	e, err := sqlengine.New(o)
	require.NoError(t, err)
	return e
}

// parquetBytes writes rows (values: nil, string, int64, float64, bool,
// time.Time for dates, dec for decimals) as a Parquet file.
func parquetBytes(t *testing.T, schema sdk.Schema, rows [][]any) []byte {
	t.Helper()
	b := sdk.NewBatchBuilder("s", schema)
	for _, r := range rows {
		for i, v := range r {
			switch x := v.(type) {
			case nil:
				b.AppendNull(i)
			case string:
				b.AppendString(i, []byte(x))
			case int64:
				b.AppendInt64(i, x)
			case dec:
				b.AppendInt64(i, int64(x))
			case float64:
				b.AppendFloat64(i, x)
			case bool:
				b.AppendBool(i, x)
			case time.Time:
				b.AppendInt32(i, sdk.DaysSinceEpoch(x))
			default:
				t.Fatalf("unsupported test value %T", v)
			}
		}
		b.EndRow()
	}
	var buf bytes.Buffer
	w, err := parquetfile.NewWriter(&buf, schema, parquetfile.Options{})
	require.NoError(t, err)
	require.NoError(t, w.Write(b.Batch()))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// dec is an unscaled decimal value.
type dec int64

// put stores data under key and commits it to dataset's manifest.
func (l *lake) put(t *testing.T, dataset, key string, data []byte, rows int64) metastore.File {
	t.Helper()
	ctx := context.Background()
	_, err := l.st.Put(ctx, key, bytes.NewReader(data))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	f := metastore.File{Dataset: dataset, Key: key, Size: int64(len(data)), Digest: id, Rows: rows, BatchID: id, RunID: "run-test"}
	_, err = l.meta.Commit(ctx, metastore.Commit{RunID: "run-test",
		Batches: []metastore.Batch{{Dataset: dataset, ID: id, RunID: "run-test", Rows: rows}}, Files: []metastore.File{f}})
	require.NoError(t, err)
	return f
}

var (
	earningsV1 = sdk.Schema{Fields: []sdk.Field{
		{Name: "isrc", Type: sdk.TypeString},
		{Name: "store", Type: sdk.TypeString},
		{Name: "sale_month", Type: sdk.TypeDate},
		{Name: "quantity", Type: sdk.TypeInt64},
		{Name: "earnings_usd", Type: sdk.TypeDecimal, Precision: 18, Scale: 12},
	}}
	// earningsV2 grew a column.
	earningsV2   = sdk.Schema{Fields: append(append([]sdk.Field{}, earningsV1.Fields...), sdk.Field{Name: "country", Type: sdk.TypeString, Nullable: true})}
	tracksSchema = sdk.Schema{Fields: []sdk.Field{
		{Name: "isrc", Type: sdk.TypeString},
		{Name: "title", Type: sdk.TypeString},
		{Name: "popularity", Type: sdk.TypeInt64},
	}}
	martSchema = sdk.Schema{Fields: []sdk.Field{
		{Name: "isrc", Type: sdk.TypeString},
		{Name: "streams", Type: sdk.TypeInt64},
	}}
)

func month(m int) time.Time { return time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, time.UTC) }

// seed fills the lake with two DistroKid files (the second with a new
// column), Spotify tracks and a curated mart. Keys follow the lake layout.
func seed(t *testing.T, l *lake) {
	t.Helper()
	l.put(t, "raw.distrokid.earnings", "raw/source=distrokid/date=2026-11-26/earnings-run1-0001.zstd.parquet",
		parquetBytes(t, earningsV1, [][]any{
			{"USRC17600001", "Spotify", month(9), int64(100), dec(1_234567890123)},
			{"USRC17600002", "Apple Music", month(9), int64(5), dec(20_000000000001)},
		}), 2)
	l.put(t, "raw.distrokid.earnings", "raw/source=distrokid/date=2026-11-27/earnings-run2-0001.zstd.parquet",
		parquetBytes(t, earningsV2, [][]any{
			{"USRC17600001", "Spotify", month(10), int64(7), dec(300_000000000000), "SE"},
		}), 1)
	l.put(t, "raw.spotify.tracks", "raw/source=spotify/date=2026-11-26/tracks-run3-0001.zstd.parquet",
		parquetBytes(t, tracksSchema, [][]any{
			{"USRC17600001", "Night Drive", int64(61)},
			{"USRC17600002", "Low Tide", int64(40)},
			{"USRC17600003", "Unreleased", int64(1)},
		}), 3)
	l.put(t, "curated.track_performance", "curated/mart=track_performance/version=v1.0/part-0001.zstd.parquet",
		parquetBytes(t, martSchema, [][]any{{"USRC17600001", int64(1000)}, {"USRC17600002", int64(10)}}), 2)
}

// query runs sql and returns its columns and rows rendered as CSV would.
func query(t *testing.T, e *sqlengine.Engine, q string) ([]string, [][]string, sqlengine.Stats) {
	t.Helper()
	cols, rows, st, err := tryQuery(e, q)
	require.NoError(t, err, q)
	return cols, rows, st
}

func tryQuery(e *sqlengine.Engine, q string) ([]string, [][]string, sqlengine.Stats, error) {
	var buf bytes.Buffer
	st, err := e.Query(context.Background(), q, func(r *sqlengine.Rows) error {
		_, err := sqlengine.Write(&buf, sqlengine.FormatCSV, r)
		return err
	})
	if err != nil {
		return nil, nil, st, err
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return nil, nil, st, err
	}
	return recs[0], recs[1:], st, nil
}

func TestQueryDataset(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, l *lake) {
		seed(t, l)
		e := l.engine(t)
		cols, rows, st := query(t, e, `SELECT count(*) AS n, sum(earnings_usd) AS total, count(country) AS with_country
			FROM "raw.distrokid.earnings"`)
		require.Equal(t, []string{"n", "total", "with_country"}, cols)
		require.Equal(t, [][]string{{"3", "321.234567890124", "1"}}, rows, "exact decimal sum over both files, the new column NULL in the old one")
		require.Equal(t, []string{"raw.distrokid.earnings"}, st.Datasets)
		require.Equal(t, 2, st.Files)

		// The schema-qualified name reads the same, with the Hive partition columns.
		cols, rows, _ = query(t, e, `SELECT source, date, quantity FROM raw.distrokid_earnings ORDER BY quantity`)
		require.Equal(t, []string{"source", "date", "quantity"}, cols)
		require.Equal(t, [][]string{{"distrokid", "2026-11-26", "5"}, {"distrokid", "2026-11-27", "7"}, {"distrokid", "2026-11-26", "100"}}, rows)

		// A two-part dataset is its own schema-qualified name; identifiers ignore case.
		_, rows, _ = query(t, e, `SELECT sum(streams), min(version) FROM curated.track_performance`)
		require.Equal(t, [][]string{{"1010", "v1.0"}}, rows)
		_, rows, _ = query(t, e, `SELECT count(*) FROM "curated.track_performance" JOIN CURATED.Track_Performance USING (isrc)`)
		require.Equal(t, [][]string{{"2"}}, rows)

		// Only the datasets the text names are opened.
		_, _, st = query(t, e, `SELECT 1`)
		require.Empty(t, st.Datasets)
		require.Zero(t, st.Files)

		// bedrot_datasets lists every queryable dataset.
		_, rows, _ = query(t, e, `SELECT dataset, alias, zone, file_count, row_count FROM bedrot_datasets ORDER BY dataset`)
		require.Equal(t, [][]string{
			{"curated.track_performance", "curated.track_performance", "curated", "1", "2"},
			{"raw.distrokid.earnings", "raw.distrokid_earnings", "raw", "2", "3"},
			{"raw.spotify.tracks", "raw.spotify_tracks", "raw", "1", "3"},
		}, rows)

		ds, err := e.Datasets(context.Background())
		require.NoError(t, err)
		require.Len(t, ds, 3)
		require.EqualValues(t, 3, ds[1].Rows())
		require.Positive(t, ds[1].Bytes())
	})
}

func TestJoinAcrossDatasets(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, l *lake) {
		seed(t, l)
		e := l.engine(t)
		cols, rows, st := query(t, e, `
			WITH earned AS (
				SELECT isrc, sum(quantity) AS qty, sum(earnings_usd) AS usd FROM raw.distrokid_earnings GROUP BY isrc
			)
			SELECT t.title, e.qty, e.usd, t.popularity
			FROM "raw.spotify.tracks" t LEFT JOIN earned e USING (isrc)
			ORDER BY t.isrc`)
		require.Equal(t, []string{"title", "qty", "usd", "popularity"}, cols)
		require.Equal(t, [][]string{
			{"Night Drive", "107", "301.234567890123", "61"},
			{"Low Tide", "5", "20.000000000001", "40"},
			{"Unreleased", "", "", "1"},
		}, rows)
		require.Equal(t, []string{"raw.distrokid.earnings", "raw.spotify.tracks"}, st.Datasets)
	})
}

func TestFilesOutsideTheManifestStayInvisible(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, l *lake) {
		seed(t, l)
		ctx := context.Background()
		// Debris of a failed run, beside committed files, in the same partition.
		debrisKey := "raw/source=distrokid/date=2026-11-26/earnings-dead-0001.zstd.parquet"
		debris := parquetBytes(t, earningsV1, [][]any{{"XX", "Ghost", month(9), int64(999), dec(999_000000000000)}})
		_, err := l.st.Put(ctx, debrisKey, bytes.NewReader(debris))
		require.NoError(t, err)

		e := l.engine(t)
		_, rows, st := query(t, e, `SELECT count(*), sum(quantity) FROM "raw.distrokid.earnings"`)
		require.Equal(t, [][]string{{"3", "112"}}, rows)
		require.Equal(t, 2, st.Files)

		if l.local {
			// Not even by its path: DuckDB may read only the manifest's files.
			path := l.st.(storage.LocalFiles).LocalPath(debrisKey)
			_, _, _, err = tryQuery(e, `SELECT * FROM read_parquet('`+path+`')`)
			require.ErrorContains(t, err, "Permission Error")
			glob := filepath.Join(filepath.Dir(path), "*.parquet")
			_, _, _, err = tryQuery(e, `SELECT count(*) FROM "raw.distrokid.earnings" UNION ALL SELECT count(*) FROM read_parquet('`+glob+`')`)
			require.ErrorContains(t, err, "Permission Error")
		} else {
			// The cache holds only what the manifest lists.
			names, _ := cached(t, l)
			require.ElementsMatch(t, []string{"earnings-run1-0001.zstd.parquet", "earnings-run2-0001.zstd.parquet"}, names)
		}
	})
}

func TestCacheReuseAndEviction(t *testing.T) {
	t.Parallel()
	l := backends[1].open(t)
	seed(t, l)
	e := l.engine(t)

	_, rows, st := query(t, e, `SELECT count(*) FROM raw.distrokid_earnings`)
	require.Equal(t, [][]string{{"3"}}, rows)
	require.Equal(t, 2, st.Cache.Downloaded)
	require.Positive(t, st.Cache.DownloadedBytes)
	require.Zero(t, st.Cache.Hits)

	// The second query downloads nothing, even from another engine (process).
	for _, eng := range []*sqlengine.Engine{e, l.engine(t)} {
		_, rows, st = query(t, eng, `SELECT count(*) FROM raw.distrokid_earnings`)
		require.Equal(t, [][]string{{"3"}}, rows)
		require.Zero(t, st.Cache.Downloaded)
		require.Equal(t, 2, st.Cache.Hits)
	}

	// A cache bound that holds only one dataset at a time evicts the
	// least recently used files the current query does not need.
	ds, err := e.Datasets(context.Background())
	require.NoError(t, err)
	size := map[string]int64{}
	for _, d := range ds {
		size[d.Name] = d.Bytes()
	}
	bound := max(size["raw.distrokid.earnings"], size["raw.spotify.tracks"]) + 1
	small := l.engine(t, func(o *sqlengine.Options) { o.CacheMaxBytes = bound })
	_, _, st = query(t, small, `SELECT count(*) FROM raw.spotify_tracks`)
	require.Equal(t, 1, st.Cache.Downloaded)
	require.Positive(t, st.Cache.Evicted, "DistroKid files go to make room")
	names, total := cached(t, l)
	require.LessOrEqual(t, total, bound)
	require.Equal(t, size["raw.distrokid.earnings"]+size["raw.spotify.tracks"]-st.Cache.EvictedBytes, total)
	require.Contains(t, names, "tracks-run3-0001.zstd.parquet")
	require.Len(t, names, 3-st.Cache.Evicted)

	_, _, st = query(t, small, `SELECT count(*) FROM raw.distrokid_earnings`)
	require.Positive(t, st.Cache.Downloaded)
	require.Equal(t, 1, st.Cache.Evicted, "the Spotify file, least recently used, goes")
	names, total = cached(t, l)
	require.LessOrEqual(t, total, bound)
	require.ElementsMatch(t, []string{"earnings-run1-0001.zstd.parquet", "earnings-run2-0001.zstd.parquet"}, names)

	// A query that needs more than the bound still runs; it evicts nothing it needs.
	_, rows, st = query(t, small, `SELECT (SELECT count(*) FROM raw.distrokid_earnings), (SELECT count(*) FROM raw.spotify_tracks)`)
	require.Equal(t, [][]string{{"3", "3"}}, rows)
	require.Equal(t, 1, st.Cache.Downloaded)
	require.Equal(t, 2, st.Cache.Hits)
	require.Zero(t, st.Cache.Evicted)

	// The query's links are gone once it ends.
	entries, err := os.ReadDir(filepath.Join(l.cacheDir, "queries"))
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestConcurrentQueriesShareASmallCache(t *testing.T) {
	t.Parallel()
	l := backends[1].open(t)
	seed(t, l)
	ds, err := l.engine(t).Datasets(context.Background())
	require.NoError(t, err)
	var bound int64
	for _, d := range ds {
		bound = max(bound, d.Bytes())
	}
	// Every query evicts what the one before needed, while that one may
	// still be reading it.
	queries := map[string]string{
		`SELECT count(*) FROM raw.distrokid_earnings`:        "3",
		`SELECT count(*) FROM raw.spotify_tracks`:            "3",
		`SELECT sum(streams) FROM curated.track_performance`: "1010",
	}
	errs := make(chan error, 24)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			e := l.engine(t, func(o *sqlengine.Options) { o.CacheMaxBytes = bound })
			for q, want := range queries {
				_, rows, _, err := tryQuery(e, q)
				if err == nil && (len(rows) != 1 || rows[0][0] != want) {
					err = fmt.Errorf("query %d: %s gave %v, want %s", i, q, rows, want)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, total := cached(t, l)
	require.LessOrEqual(t, total, bound)
}

// cached lists the files in the cache and their total size.
func cached(t *testing.T, l *lake) ([]string, int64) {
	t.Helper()
	var names []string
	var total int64
	require.NoError(t, filepath.WalkDir(filepath.Join(l.cacheDir, "objects"), func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			fi, err := d.Info()
			require.NoError(t, err)
			names, total = append(names, filepath.Base(p)), total+fi.Size()
		}
		return nil
	}))
	return names, total
}

func TestCacheRefusesAFileThatDoesNotMatchItsManifest(t *testing.T) {
	t.Parallel()
	l := backends[1].open(t)
	seed(t, l)
	// Someone overwrote a committed object.
	key := "raw/source=spotify/date=2026-11-26/tracks-run3-0001.zstd.parquet"
	_, err := l.st.Put(context.Background(), key, bytes.NewReader(parquetBytes(t, tracksSchema, [][]any{{"X", "Forged", int64(0)}})))
	require.NoError(t, err)
	_, _, _, err = tryQuery(l.engine(t), `SELECT * FROM raw.spotify_tracks`)
	require.ErrorContains(t, err, key)
	require.ErrorContains(t, err, "raw.spotify.tracks")
	require.ErrorContains(t, err, "does not match its manifest")
	entries, err := os.ReadDir(filepath.Join(l.cacheDir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, entries, "the bad download is not kept")
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, l *lake) {
		seed(t, l)
		e := l.engine(t)
		out := t.TempDir()
		target := filepath.Join(out, "stolen.csv")
		for _, q := range []string{
			`COPY "raw.distrokid.earnings" TO '` + target + `'`,
			`COPY (SELECT * FROM raw.distrokid_earnings) TO '` + target + `' (FORMAT csv)`,
			`ATTACH '` + filepath.Join(out, "x.duckdb") + `' AS x`,
			`INSERT INTO bedrot_datasets VALUES ('a', 'b', 'c', 1, 1, 1)`,
			`DELETE FROM bedrot_datasets`,
			`UPDATE bedrot_datasets SET zone = 'x'`,
			`CREATE TABLE t AS SELECT * FROM raw.distrokid_earnings`,
			`CREATE VIEW v AS SELECT 1`,
			`DROP VIEW "raw.distrokid.earnings"`,
			`SET enable_external_access = true`,
			`RESET lock_configuration`,
			`PRAGMA threads = 1`,
			`INSTALL httpfs`,
			`LOAD httpfs`,
			`CALL pragma_version()`,
			`EXPORT DATABASE '` + out + `'`,
			`CHECKPOINT`,
			`BEGIN TRANSACTION`,
			`EXPLAIN ANALYZE COPY (SELECT 1) TO '` + target + `'`,
			`EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1`,
			`WITH x AS (SELECT 1 AS a) INSERT INTO bedrot_datasets SELECT 'a', 'b', 'c', a, a, a FROM x`,
			`/* comment */ -- another
			 DETACH main`,
		} {
			_, _, _, err := tryQuery(e, q)
			require.ErrorIs(t, err, sqlengine.ErrReadOnly, q)
		}

		// Several statements: none of them runs.
		_, _, _, err := tryQuery(e, `SELECT 1; COPY (SELECT 1) TO '`+target+`'`)
		require.ErrorIs(t, err, sqlengine.ErrMultipleStatements)
		_, _, _, err = tryQuery(e, `SELECT 1; SELECT 2`)
		require.ErrorIs(t, err, sqlengine.ErrMultipleStatements)
		_, _, _, err = tryQuery(e, `PIVOT raw.spotify_tracks ON title USING sum(popularity)`)
		require.ErrorIs(t, err, sqlengine.ErrMultipleStatements)
		require.ErrorContains(t, err, "IN list")
		_, _, _, err = tryQuery(e, ` ; -- nothing`)
		require.ErrorIs(t, err, sqlengine.ErrEmptyQuery)

		// Files outside the lake cannot be read.
		_, _, _, err = tryQuery(e, `SELECT * FROM read_csv('/etc/passwd')`)
		require.ErrorContains(t, err, "Permission Error")
		_, _, _, err = tryQuery(e, `SELECT * FROM glob('/etc/*')`)
		require.ErrorContains(t, err, "Permission Error")
		_, _, _, err = tryQuery(e, `SELECT * FROM query('CREATE TABLE z AS SELECT 1')`)
		require.Error(t, err)

		entries, err := os.ReadDir(out)
		require.NoError(t, err)
		require.Empty(t, entries, "nothing was written")

		// What reads is allowed.
		for q, want := range map[string]int{
			`DESCRIBE raw.distrokid_earnings`:                  8,
			`DESCRIBE "raw.distrokid.earnings"`:                8,
			`SHOW TABLES`:                                      1,
			`SUMMARIZE raw.spotify_tracks`:                     5,
			`PRAGMA table_info('raw.spotify_tracks')`:          5,
			`EXPLAIN SELECT * FROM raw.spotify_tracks`:         1,
			`EXPLAIN ANALYZE SELECT * FROM raw.spotify_tracks`: 1,
			`FROM raw.spotify_tracks`:                          3,
			`(SELECT 1) UNION ALL (SELECT 2)`:                  2,
			`VALUES (1), (2), (3)`:                             3,
			`-- leading comment` + "\n" + `SELECT 1;`:          1,
			`SELECT * FROM query_table('raw.spotify_tracks')`:  3,
			`PIVOT (SELECT title, popularity FROM raw.spotify_tracks) ON title IN ('Low Tide', 'Night Drive') USING sum(popularity)`: 1,
		} {
			_, rows, _ := query(t, e, q)
			require.Len(t, rows, want, q)
		}
	})
}

func TestErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	seed(t, l)
	e := l.engine(t)

	_, _, _, err := tryQuery(e, `SELECT * FROM raw.distrokid_earning`)
	require.ErrorContains(t, err, "distrokid_earning")
	require.ErrorContains(t, err, "bedrot_datasets")

	_, _, _, err = tryQuery(e, "SELECT isrc,\n  FROM WHERE raw.distrokid_earnings")
	require.ErrorContains(t, err, "Parser Error")
	require.ErrorContains(t, err, "LINE 2")

	_, _, _, err = tryQuery(e, `SELECT no_such_column FROM "raw.distrokid.earnings"`)
	require.ErrorContains(t, err, "no_such_column")

	// An error of the callback comes back as is.
	boom := os.ErrDeadlineExceeded
	_, err = e.Query(context.Background(), `SELECT 1`, func(*sqlengine.Rows) error { return boom })
	require.ErrorIs(t, err, boom)

	// A cancelled query stops.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.Query(ctx, `SELECT count(*) FROM raw.distrokid_earnings`, func(r *sqlengine.Rows) error {
		for r.Next() {
		}
		return r.Err()
	})
	require.ErrorIs(t, err, context.Canceled)
}

func TestAmbiguousTableNames(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	l.put(t, "raw.a_b.c", "raw/source=a_b/date=2026-01-01/c-1.parquet", parquetBytes(t, martSchema, [][]any{{"x", int64(1)}}), 1)
	l.put(t, "raw.a.b_c", "raw/source=a/date=2026-01-01/b_c-1.parquet", parquetBytes(t, martSchema, [][]any{{"y", int64(2)}}), 1)
	e := l.engine(t)
	_, rows, _ := query(t, e, `SELECT (SELECT isrc FROM "raw.a_b.c"), (SELECT isrc FROM "raw.a.b_c")`)
	require.Equal(t, [][]string{{"x", "y"}}, rows)
	_, _, _, err := tryQuery(e, `SELECT * FROM raw.a_b_c`)
	require.ErrorContains(t, err, "a_b_c")
	_, rows, _ = query(t, e, `SELECT dataset, alias IS NULL FROM bedrot_datasets ORDER BY 1`)
	require.Equal(t, [][]string{{"raw.a.b_c", "true"}, {"raw.a_b.c", "true"}}, rows)
}

func TestFileColumnsWinOverPartitionFolders(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	s := sdk.Schema{Fields: []sdk.Field{{Name: "year", Type: sdk.TypeInt64}, {Name: "streams", Type: sdk.TypeInt64}}}
	l.put(t, "staging.streaming.daily", "staging/domain=streaming/year=2026/daily-1.parquet",
		parquetBytes(t, s, [][]any{{int64(1999), int64(5)}}), 1)
	_, rows, _ := query(t, l.engine(t), `SELECT * FROM staging.streaming_daily`)
	require.Equal(t, [][]string{{"1999", "5"}}, rows, "the file's year, not the folder's, and no partition columns")
}

func TestLakePathWithEqualsSignGetsNoPartitionColumns(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "env=prod")
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	meta, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = meta.Close() })
	l := &lake{st: st, meta: meta, local: true}
	seed(t, l)
	cols, _, _ := query(t, l.engine(t), `SELECT * FROM raw.spotify_tracks`)
	require.Equal(t, []string{"isrc", "title", "popularity"}, cols)
}

func TestEmptyDatasetIsListedButHasNoView(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	f := l.put(t, "raw.x.y", "raw/source=x/date=2026-01-01/y-1.parquet", parquetBytes(t, martSchema, [][]any{{"x", int64(1)}}), 1)
	// Replacing the batch with no files empties the manifest.
	_, err := l.meta.Commit(context.Background(), metastore.Commit{RunID: "run-2", Replace: true,
		Batches: []metastore.Batch{{Dataset: "raw.x.y", ID: f.BatchID, Rows: 0}}})
	require.NoError(t, err)
	e := l.engine(t)
	_, rows, _ := query(t, e, `SELECT dataset, file_count FROM bedrot_datasets`)
	require.Equal(t, [][]string{{"raw.x.y", "0"}}, rows)
	_, _, _, err = tryQuery(e, `SELECT * FROM raw.x_y`)
	require.ErrorContains(t, err, "x_y")
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	_, err := sqlengine.New(sqlengine.Options{Store: l.st})
	require.Error(t, err)
	_, err = sqlengine.New(sqlengine.Options{Store: l.st, Meta: l.meta, CacheMaxBytes: -1})
	require.ErrorContains(t, err, "negative")
	_, err = sqlengine.New(sqlengine.Options{Store: l.st, Meta: l.meta, Threads: -1})
	require.ErrorContains(t, err, "negative")
}
