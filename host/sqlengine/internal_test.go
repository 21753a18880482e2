package sqlengine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

func TestPrecheck(t *testing.T) {
	t.Parallel()
	for _, q := range []string{
		"SELECT 1", "  select 1", "WITH x AS (SELECT 1) SELECT * FROM x", "FROM t", "VALUES (1)",
		"((SELECT 1))", "-- c\nSELECT 1", "/* a /* nested */ b */ SELECT 1", "; SELECT 1",
		"DESCRIBE t", "DESC t", "SHOW TABLES", "SUMMARIZE t", "PRAGMA table_info('t')", "PIVOT t ON a IN (1) USING sum(b)",
		"EXPLAIN SELECT 1", "explain analyze select 1", "EXPLAIN (SELECT 1)", "EXPLAIN (FORMAT json) SELECT 1",
		"EXPLAIN ANALYZE (FORMAT 'json') WITH x AS (SELECT 1) SELECT * FROM x", "TABLE t",
	} {
		require.NoError(t, precheck(q), q)
	}
	for _, q := range []string{
		"COPY t TO 'x'", "ATTACH 'x'", "INSERT INTO t VALUES (1)", "CREATE TABLE t (a INT)", "SET threads = 1",
		"INSTALL httpfs", "LOAD httpfs", "CALL f()", "EXPORT DATABASE 'x'", "-- SELECT\nDROP TABLE t",
		"/* SELECT */ DELETE FROM t", "EXPLAIN ANALYZE COPY t TO 'x'", "EXPLAIN (FORMAT json) INSERT INTO t VALUES (1)",
		"'SELECT'", "1", "EXPLAIN", "USE x", "DETACH x", "UPDATE t SET a = 1", "VACUUM", "CHECKPOINT",
	} {
		require.ErrorIs(t, precheck(q), ErrReadOnly, q)
	}
	for _, q := range []string{"", "  ", ";", " ; ; ", "-- only a comment", "/* only */"} {
		require.ErrorIs(t, precheck(q), ErrEmptyQuery, "%q", q)
	}
}

// TestLockedDuckDBRefusesFiles checks the layer beneath the statement
// check: once prepared, the DuckDB of a query refuses to touch files even
// for statements that reach it directly.
func TestLockedDuckDBRefusesFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	e := &Engine{opts: Options{Store: st}}
	connector, err := duckdb.NewConnector("", nil)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, e.prepare(ctx, conn, nil, nil, nil, t.TempDir()))

	out := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(out, 0o755))
	for _, stmt := range []string{
		"COPY (SELECT 1) TO '" + filepath.Join(out, "x.csv") + "'",
		"ATTACH '" + filepath.Join(out, "x.duckdb") + "' AS x",
		"EXPORT DATABASE '" + out + "'",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"SET allowed_directories = ['/']",
		"RESET lock_configuration",
		"SELECT * FROM read_text('/etc/hostname')",
	} {
		_, err := conn.ExecContext(ctx, stmt)
		require.Error(t, err, stmt)
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestNamedDatasets(t *testing.T) {
	t.Parallel()
	f := []metastore.File{{Key: "k"}}
	all := []Dataset{
		{Name: "raw.distrokid.earnings", Zone: "raw", Table: "raw.distrokid_earnings", Files: f},
		{Name: "raw.spotify.tracks", Zone: "raw", Table: "raw.spotify_tracks", Files: f},
		{Name: "curated.track_performance", Zone: "curated", Table: "curated.track_performance", Files: f},
		{Name: "raw.x.y", Zone: "raw", Table: "raw.x_y"}, // no files: never opened
		{Name: "raw.a.b_c", Zone: "raw", Files: f},       // ambiguous table name: by its name only
	}
	names := func(q string) []string {
		var out []string
		for _, d := range named(q, all) {
			out = append(out, d.Name)
		}
		return out
	}
	require.Equal(t, []string{"raw.distrokid.earnings"}, names(`SELECT * FROM "raw.distrokid.earnings"`))
	require.Equal(t, []string{"raw.distrokid.earnings"}, names(`SELECT * FROM "RAW"."DistroKid_Earnings"`))
	require.Equal(t, []string{"raw.spotify.tracks", "curated.track_performance"},
		names(`SELECT * FROM raw.spotify_tracks JOIN curated.track_performance USING (isrc)`))
	require.Empty(t, names(`SELECT * FROM raw.x_y, raw.a_b_c`))
	require.Equal(t, []string{"raw.a.b_c"}, names(`SELECT * FROM "raw.a.b_c"`))
}

func TestPartitionKeys(t *testing.T) {
	t.Parallel()
	files := []metastore.File{{Key: "raw/source=a/date=2026-01-01/x.parquet"}, {Key: "raw/source=a/date=2026-01-02/y.parquet"}}
	require.Equal(t, []string{"source", "date"}, partitionKeys(files, []string{"/lake/raw/source=a/date=2026-01-01/x.parquet", "/lake/raw/source=a/date=2026-01-02/y.parquet"}))
	require.Nil(t, partitionKeys(files, []string{"/x=1/raw/source=a/date=2026-01-01/x.parquet", "/x=1/raw/source=a/date=2026-01-02/y.parquet"}), "a = in the folder above the lake")
	require.Nil(t, partitionKeys([]metastore.File{files[0], {Key: "raw/source=a/y.parquet"}}, []string{"/l/" + files[0].Key, "/l/raw/source=a/y.parquet"}), "different keys")
	require.Nil(t, partitionKeys([]metastore.File{{Key: "raw/x.parquet"}}, []string{"/l/raw/x.parquet"}))
}

// cacheFixture is a cache over a folder store holding three files.
func cacheFixture(t *testing.T, max int64) (*cache, []metastore.File) {
	t.Helper()
	st, err := folder.New(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	var files []metastore.File
	for i, key := range []string{"raw/source=a/date=2026-01-01/a.parquet", "raw/source=a/date=2026-01-01/b.parquet", "raw/source=a/date=2026-01-02/c.parquet"} {
		data := bytes.Repeat([]byte{byte('a' + i)}, 100)
		_, err := st.Put(context.Background(), key, bytes.NewReader(data))
		require.NoError(t, err)
		// b.parquet as lakes recorded before BLAKE3, by its SHA-256.
		sum := digest.Of(data)
		if i == 1 {
			sha := sha256.Sum256(data)
			sum = hex.EncodeToString(sha[:])
		}
		files = append(files, metastore.File{Dataset: "raw.a.s", Key: key, Size: 100, Digest: sum})
	}
	return &cache{dir: filepath.Join(t.TempDir(), "cache"), max: max, store: st}, files
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, files := cacheFixture(t, 250)
	a, err := c.acquire(ctx, files[:2])
	require.NoError(t, err)
	a.release()
	require.Equal(t, 2, a.stats.Downloaded)

	// a was used long ago, b recently.
	pa, err := c.objectPath(files[0])
	require.NoError(t, err)
	pb, err := c.objectPath(files[1])
	require.NoError(t, err)
	require.NoError(t, os.Chtimes(pa, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)))
	require.NoError(t, os.Chtimes(pb, time.Now().Add(-time.Minute), time.Now().Add(-time.Minute)))

	got, err := c.acquire(ctx, files[2:])
	require.NoError(t, err)
	got.release()
	require.Equal(t, CacheStats{Downloaded: 1, DownloadedBytes: 100, Evicted: 1, EvictedBytes: 100}, got.stats)
	require.NoFileExists(t, pa)
	require.FileExists(t, pb)
	require.NoDirExists(t, filepath.Dir(filepath.Dir(filepath.Dir(pa))), "empty folders of the evicted entry go too")

	// Files are read through links that outlive eviction.
	hold, err := c.acquire(ctx, files[1:2])
	require.NoError(t, err)
	require.Equal(t, 1, hold.stats.Hits)
	link := hold.paths[files[1].Key]
	require.NotEqual(t, pb, link)
	require.NoError(t, os.Chtimes(pb, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour)))
	other, err := c.acquire(ctx, files[:1])
	require.NoError(t, err)
	require.Equal(t, 1, other.stats.Evicted)
	require.NoFileExists(t, pb)
	data, err := os.ReadFile(link)
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{'b'}, 100), data)
	other.release()
	hold.release()
	require.NoFileExists(t, link)
}

func TestCacheSweepsWhatDeadQueriesLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, files := cacheFixture(t, 1<<20)
	live, err := c.acquire(ctx, files[:1])
	require.NoError(t, err)
	defer live.release()

	// A query whose process died: its lock file is not held.
	qroot := filepath.Join(c.dir, "queries")
	dead := filepath.Join(qroot, "deadbeef")
	require.NoError(t, os.MkdirAll(filepath.Join(dead, "raw"), 0o755))
	require.NoError(t, os.WriteFile(dead+".lock", nil, 0o644))
	orphan := filepath.Join(qroot, "orphan")
	require.NoError(t, os.MkdirAll(orphan, 0o755))
	partial := filepath.Join(c.dir, "tmp", "fetch-123")
	require.NoError(t, os.WriteFile(partial, []byte("half"), 0o644))

	next, err := c.acquire(ctx, files[1:2])
	require.NoError(t, err)
	defer next.release()
	require.NoDirExists(t, dead)
	require.NoFileExists(t, dead+".lock")
	require.NoDirExists(t, orphan)
	require.NoFileExists(t, partial)
	livePath := live.paths[files[0].Key]
	require.FileExists(t, livePath, "the running query keeps its folder")
}

func TestCacheRefusesBadManifestEntries(t *testing.T) {
	t.Parallel()
	c, files := cacheFixture(t, 1<<20)
	bad := files[0]
	bad.Digest = "../../etc"
	_, err := c.acquire(context.Background(), []metastore.File{bad})
	require.ErrorContains(t, err, "with a bad checksum")
	bad = files[0]
	bad.Key = "raw/../../x"
	_, err = c.acquire(context.Background(), []metastore.File{bad})
	require.ErrorContains(t, err, "bad key")
	missing := files[0]
	missing.Key = "raw/missing.parquet"
	_, err = c.acquire(context.Background(), []metastore.File{missing})
	require.ErrorContains(t, err, "raw/missing.parquet")
	require.ErrorContains(t, err, "raw.a.s")
}
