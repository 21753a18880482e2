// Package sqlstore implements metastore.Store over database/sql, for SQLite
// (modernc.org/sqlite, pure Go) and PostgreSQL (pgx through its database/sql
// adapter). Both dialects share every query; they differ only in how times
// are passed (SQLite keeps fixed-width UTC text, PostgreSQL TIMESTAMPTZ), in
// their migrations, and in how a run's liveness lease is held (an flock on
// SQLite, a session advisory lock on PostgreSQL).
//
// On SQLite, writes go through a single connection that begins transactions
// with BEGIN IMMEDIATE, so writers in this process queue in Go and writers in
// other processes wait on busy_timeout instead of failing with SQLITE_BUSY;
// reads use a separate pool of read-only connections (WAL lets them run
// alongside the writer).
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/bedrot-label/bedrot/host/metastore"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteBusyTimeout is how long a SQLite writer waits for another process's
// write transaction before giving up, in milliseconds.
const sqliteBusyTimeout = 30000

// Config selects and locates the metastore.
type Config struct {
	// URL is a PostgreSQL connection URL. When set, PostgreSQL is used and
	// SQLitePath is ignored.
	URL string
	// SQLitePath is the SQLite database file, used when URL is empty.
	SQLitePath string
	// Schema is the PostgreSQL schema holding the tables, created if
	// missing. Empty means the URL's default search_path.
	Schema string
}

// Open opens the metastore cfg describes, migrating it to the current
// schema: PostgreSQL when cfg.URL is set, otherwise SQLite at
// cfg.SQLitePath.
func Open(ctx context.Context, cfg Config) (metastore.Store, error) {
	if cfg.URL != "" {
		return OpenPostgres(ctx, cfg.URL, cfg.Schema)
	}
	if cfg.SQLitePath == "" {
		return nil, errors.New("failed to open metastore: neither a PostgreSQL URL nor a SQLite path is configured")
	}
	return OpenSQLite(ctx, cfg.SQLitePath)
}

// store implements metastore.Store for both dialects.
type store struct {
	dialect string
	// db serves reads; on PostgreSQL it also serves writes.
	db *sql.DB
	// wdb serves writes: on SQLite a single connection beginning every
	// transaction IMMEDIATE, on PostgreSQL the same pool as db.
	wdb *sql.DB

	// lockDir holds the SQLite lease files.
	lockDir string
	// lockNamespace distinguishes PostgreSQL lease keys of lakes sharing a
	// database (the schema in use).
	lockNamespace string
}

var _ metastore.Store = (*store)(nil)

// OpenSQLite opens (creating if needed) the SQLite metastore at path and
// migrates it. Lease files live in a "locks" folder beside the database.
func OpenSQLite(ctx context.Context, path string) (metastore.Store, error) {
	if path == "" {
		return nil, errors.New("failed to open SQLite metastore: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve SQLite metastore path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("failed to create folder of SQLite metastore %q: %w", abs, err)
	}

	lockDir := filepath.Join(filepath.Dir(abs), "locks")

	// Switching a new database to WAL from several connections at once can
	// fail with SQLITE_BUSY without waiting, so openers in all processes
	// take turns: the first switches the file to WAL (a persistent setting)
	// and migrates it, later ones find both done.
	unlockOpen, err := lockFileWait(ctx, filepath.Join(lockDir, "open.lock"))
	if err != nil {
		return nil, fmt.Errorf("failed to open SQLite metastore %q: %w", abs, err)
	}
	defer unlockOpen()

	dsn := func(extra url.Values) string {
		q := url.Values{}
		q.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeout))
		// FULL: a commit survives power loss once Commit returns; callers
		// delete replaced files on the strength of it.
		q.Set("_synchronous", "FULL")
		q.Set("_foreign_keys", "1")
		for k, v := range extra {
			q[k] = v
		}
		return (&url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: q.Encode()}).String()
	}

	wdb, err := sql.Open("sqlite", dsn(url.Values{"_txlock": {"immediate"}}))
	if err != nil {
		return nil, fmt.Errorf("failed to open SQLite metastore %q: %w", abs, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)

	s := &store{dialect: DialectSQLite, wdb: wdb, lockDir: lockDir}
	var mode string
	if err := wdb.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("failed to switch SQLite metastore %q to WAL: %w", abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		_ = wdb.Close()
		return nil, fmt.Errorf("failed to switch SQLite metastore %q to WAL: journal mode is %q", abs, mode)
	}
	if err := s.migrate(ctx, ""); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("failed to migrate SQLite metastore %q: %w", abs, err)
	}

	db, err := sql.Open("sqlite", dsn(url.Values{"_query_only": {"1"}}))
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("failed to open SQLite metastore %q for reading: %w", abs, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s.db = db
	return s, nil
}

// OpenPostgres opens the PostgreSQL metastore at databaseURL (a postgres://
// URL or a key=value connection string) and migrates it. A
// non-empty schema is created if missing and put first on every
// connection's search_path; an empty one leaves the URL's search_path as it
// is.
func OpenPostgres(ctx context.Context, databaseURL, schema string) (metastore.Store, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("failed to parse PostgreSQL metastore URL: %w", err)
	}
	if schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "bedrot"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)

	s := &store{dialect: DialectPostgres, db: db, wdb: db}
	if err := s.migrate(ctx, schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("failed to migrate PostgreSQL metastore (schema %q): %w", schema, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&s.lockNamespace); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("failed to read PostgreSQL metastore's current schema: %w", err)
	}
	return s, nil
}

// Dialect is "sqlite" or "postgres".
func (s *store) Dialect() string { return s.dialect }

// Close closes the store's connections. Leases still held are released.
func (s *store) Close() error {
	var errs []error
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("failed to close metastore read pool: %w", err))
		}
	}
	if s.wdb != nil && s.wdb != s.db {
		if err := s.wdb.Close(); err != nil {
			errs = append(errs, fmt.Errorf("failed to close metastore write connection: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sqliteTimeLayout is how SQLite columns hold times: UTC, fixed width, so
// that text order is time order. It is valid RFC 3339.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// now is the current time as the store keeps it.
func now() time.Time { return normTime(time.Now()) }

// normTime gives t the precision both dialects keep: UTC microseconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// timeArg makes t a query argument of the store's dialect.
func (s *store) timeArg(t time.Time) any {
	t = normTime(t)
	if s.dialect == DialectSQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// jsonArg makes raw a query argument: NULL when empty, an error when it is
// not valid JSON.
func jsonArg(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("invalid JSON")
	}
	return string(raw), nil
}
