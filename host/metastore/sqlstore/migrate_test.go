package sqlstore_test

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
)

func TestOpenChoosesDialect(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	_, err := sqlstore.Open(ctx, sqlstore.Config{})
	require.Error(t, err, "a metastore needs a URL or a path")

	s, err := sqlstore.Open(ctx, sqlstore.Config{SQLitePath: filepath.Join(t.TempDir(), "sub", "meta.db")})
	require.NoError(t, err)
	require.Equal(t, sqlstore.DialectSQLite, s.Dialect())
	require.NoError(t, s.Close())

	s, err = sqlstore.Open(ctx, sqlstore.Config{URL: pgtest.URL(), Schema: testSchema(t),
		SQLitePath: "ignored when a URL is set"})
	require.NoError(t, err)
	require.Equal(t, sqlstore.DialectPostgres, s.Dialect())
	require.NoError(t, s.Close())

	_, err = sqlstore.OpenPostgres(ctx, "not a url ::", "x")
	require.Error(t, err)
}

func TestMigrateSQLiteTwice(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "meta.db")
	testMigrateTwice(t, sqlstore.Config{SQLitePath: path}, func(t *testing.T) *sql.DB {
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}

func TestMigratePostgresTwice(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	testMigrateTwice(t, sqlstore.Config{URL: pgtest.URL(), Schema: schema}, func(t *testing.T) *sql.DB {
		return testDBIn(t, schema)
	})
}

// testMigrateTwice opens a store twice: the second Open applies nothing and
// keeps the data.
func testMigrateTwice(t *testing.T, cfg sqlstore.Config, raw func(t *testing.T) *sql.DB) {
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, s.CreateRun(ctx, metastore.Run{ID: "r1", Source: "distrokid", Kind: "ingest"}))
	require.NoError(t, s.Close())

	db := raw(t)
	before := migrationRows(t, db)
	require.Equal(t, migrationFiles(t, dialectOf(cfg)), before, "every migration applied, in order")

	s, err = sqlstore.Open(ctx, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	_, err = s.GetRun(ctx, "r1")
	require.NoError(t, err, "reopening keeps the data")
	require.Equal(t, before, migrationRows(t, db))
}

// migrationFiles lists a dialect's migration files, in order.
func migrationFiles(t *testing.T, dialect string) []string {
	entries, err := os.ReadDir(filepath.Join("migrations", dialect))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".sql"))
	}
	require.NotEmpty(t, names)
	return names
}

func dialectOf(cfg sqlstore.Config) string {
	if cfg.URL != "" {
		return "postgres"
	}
	return "sqlite"
}

func TestMigrateSQLiteConcurrentOpens(t *testing.T) {
	t.Parallel()
	testConcurrentOpens(t, sqlstore.Config{SQLitePath: filepath.Join(t.TempDir(), "meta.db")})
}

func TestMigratePostgresConcurrentOpens(t *testing.T) {
	t.Parallel()
	testConcurrentOpens(t, sqlstore.Config{URL: pgtest.URL(), Schema: testSchema(t)})
}

// testConcurrentOpens opens one fresh database from several goroutines at
// once: every Open succeeds and the schema is migrated once.
func testConcurrentOpens(t *testing.T, cfg sqlstore.Config) {
	const n = 4
	stores := make([]metastore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = sqlstore.Open(t.Context(), cfg)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		defer func() { require.NoError(t, stores[i].Close()) }()
	}
	// Every store sees the same database.
	_, err := stores[0].Commit(t.Context(), metastore.Commit{RunID: "r", Batches: []metastore.Batch{{Dataset: "d", ID: "b"}}})
	require.NoError(t, err)
	for _, s := range stores {
		has, err := s.HasBatch(t.Context(), "d", "b")
		require.NoError(t, err)
		require.True(t, has)
	}
}

func TestMigratePostgresURLSearchPath(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// With no schema configured, the store uses the URL's search_path.
	schema := testSchema(t)
	_, err := testDB(t).ExecContext(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	s, err := sqlstore.OpenPostgres(ctx, urlWithSearchPath(t, schema), "")
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	require.NoError(t, s.CreateRun(ctx, metastore.Run{ID: "r1", Source: "distrokid", Kind: "ingest"}))

	var n int
	require.NoError(t, testDB(t).QueryRowContext(ctx,
		`SELECT count(*) FROM `+pgx.Identifier{schema, "runs"}.Sanitize()).Scan(&n))
	require.Equal(t, 1, n)
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', '')`)
	require.NoError(t, err)

	_, err = sqlstore.OpenSQLite(ctx, path)
	require.ErrorContains(t, err, "newer version")
}

// TestAgentRegistryPostgres checks the agent registry has exactly the
// design's columns.
func TestAgentRegistryPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := testSchema(t)
	s, err := sqlstore.OpenPostgres(ctx, pgtest.URL(), schema)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	rows, err := testDB(t).QueryContext(ctx, `SELECT column_name, data_type, coalesce(character_maximum_length, 0),
			coalesce(column_default, ''), is_nullable
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'agent_registry'
		ORDER BY ordinal_position`, schema)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	type column struct {
		name, dataType string
		length         int
		def, nullable  string
	}
	var got []column
	for rows.Next() {
		var c column
		require.NoError(t, rows.Scan(&c.name, &c.dataType, &c.length, &c.def, &c.nullable))
		got = append(got, c)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []column{
		{"agent_id", "character varying", 255, "", "NO"},
		{"agent_type", "character varying", 100, "", "YES"},
		{"last_active", "timestamp with time zone", 0, "", "YES"},
		{"current_status", "character varying", 50, "", "YES"},
		{"resource_usage", "jsonb", 0, "", "YES"},
		{"performance_metrics", "jsonb", 0, "", "YES"},
		{"knowledge_contributions", "integer", 0, "0", "YES"},
		{"created_at", "timestamp with time zone", 0, "now()", "YES"},
		{"updated_at", "timestamp with time zone", 0, "now()", "YES"},
	}, got)
}

// TestAgentRegistrySQLite checks the agent registry's declared types and
// defaults on SQLite.
func TestAgentRegistrySQLite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()

	rows, err := db.QueryContext(ctx, `SELECT name, type, coalesce(dflt_value, '') FROM pragma_table_info('agent_registry') ORDER BY cid`)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	var got [][3]string
	for rows.Next() {
		var c [3]string
		require.NoError(t, rows.Scan(&c[0], &c[1], &c[2]))
		got = append(got, c)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, [][3]string{
		{"agent_id", "VARCHAR(255)", ""},
		{"agent_type", "VARCHAR(100)", ""},
		{"last_active", "TIMESTAMPTZ", ""},
		{"current_status", "VARCHAR(50)", ""},
		{"resource_usage", "JSONB", ""},
		{"performance_metrics", "JSONB", ""},
		{"knowledge_contributions", "INTEGER", "0"},
		{"created_at", "TIMESTAMPTZ", "CURRENT_TIMESTAMP"},
		{"updated_at", "TIMESTAMPTZ", "CURRENT_TIMESTAMP"},
	}, got)

	_, err = db.ExecContext(ctx, `INSERT INTO agent_registry (agent_id, agent_type) VALUES ('a1', 'curator')`)
	require.NoError(t, err)
	var contributions int
	var created string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT knowledge_contributions, created_at FROM agent_registry`).
		Scan(&contributions, &created))
	require.Equal(t, 0, contributions)
	require.NotEmpty(t, created)
}

// migrationRows returns the names recorded in schema_migrations.
func migrationRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}

// testDBIn is a connection pool to the test server with search_path set to
// schema, closed when the test ends.
func testDBIn(t *testing.T, schema string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", urlWithSearchPath(t, schema))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// urlWithSearchPath is the test server's URL with search_path set to schema.
func urlWithSearchPath(t *testing.T, schema string) string {
	t.Helper()
	u, err := url.Parse(pgtest.URL())
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
