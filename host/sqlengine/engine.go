package sqlengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
)

// DefaultCacheMaxBytes bounds the S3 file cache when Options.CacheMaxBytes is zero.
const DefaultCacheMaxBytes int64 = 10 << 30

// Zones are the zones whose datasets are queryable: those that hold Parquet.
var Zones = []string{"raw", "staging", "curated"}

// DatasetsTable is the table that lists the queryable datasets in every query.
const DatasetsTable = "bedrot_datasets"

// Options configure an Engine.
type Options struct {
	// Store is the lake's object store, Meta its metastore. Both are required.
	Store storage.Store
	Meta  metastore.Store
	// CacheDir is the local folder that holds copies of object-store files
	// (unused on the folder backend, whose files DuckDB reads in place).
	// Empty means <user cache dir>/bedrot/query, e.g. ~/.cache/bedrot/query.
	// Processes may share it.
	CacheDir string
	// CacheMaxBytes bounds the cache; DefaultCacheMaxBytes when zero.
	CacheMaxBytes int64
	// MemoryLimit is DuckDB's memory_limit, e.g. "2GB"; DuckDB's default
	// (80% of RAM) when empty.
	MemoryLimit string
	// Threads is DuckDB's thread count; DuckDB's default (the CPUs) when zero.
	Threads int
	// TempDir is where DuckDB spills what does not fit in memory, in a
	// folder of its own per query; os.TempDir() when empty.
	TempDir string
}

// Engine runs read-only SQL over a lake. It is safe for concurrent use; each
// query runs in a DuckDB of its own.
type Engine struct {
	opts  Options
	local storage.LocalFiles // nil on object stores
	cache *cache             // nil on the folder backend
}

// New returns an engine over the lake of opts.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Meta == nil {
		return nil, errors.New("sqlengine: a store and a metastore are required")
	}
	if opts.CacheMaxBytes < 0 {
		return nil, fmt.Errorf("sqlengine: the cache bound is %d bytes; it must not be negative", opts.CacheMaxBytes)
	}
	if opts.CacheMaxBytes == 0 {
		opts.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if opts.Threads < 0 {
		return nil, fmt.Errorf("sqlengine: %d threads: the thread count must not be negative", opts.Threads)
	}
	e := &Engine{opts: opts}
	if lf, ok := opts.Store.(storage.LocalFiles); ok {
		e.local = lf
		return e, nil
	}
	dir := opts.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("sqlengine: no cache folder configured and no user cache folder: %w", err)
		}
		dir = filepath.Join(base, "bedrot", "query")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlengine: failed to resolve cache folder %s: %w", dir, err)
	}
	e.cache = &cache{dir: abs, max: opts.CacheMaxBytes, store: opts.Store}
	return e, nil
}

// Dataset is one queryable dataset.
type Dataset struct {
	// Name is the dataset name, e.g. "raw.distrokid.earnings"; the view
	// "raw.distrokid.earnings" (quoted) reads it.
	Name string
	// Zone is the first part of Name.
	Zone string
	// Table is the schema-qualified name, e.g. "raw.distrokid_earnings", or
	// "" when another dataset would have the same one.
	Table string
	// Files is the manifest, in key order.
	Files []metastore.File
}

// Rows is the dataset's row count as its manifest records it.
func (d Dataset) Rows() int64 {
	var n int64
	for _, f := range d.Files {
		n += f.Rows
	}
	return n
}

// Bytes is the size of the dataset's files.
func (d Dataset) Bytes() int64 {
	var n int64
	for _, f := range d.Files {
		n += f.Size
	}
	return n
}

// Datasets lists the queryable datasets (those of Zones) with their
// manifests, sorted by name.
func (e *Engine) Datasets(ctx context.Context) ([]Dataset, error) {
	names, err := e.opts.Meta.ListDatasets(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to list datasets: %w", err)
	}
	var out []Dataset
	tables := map[string]int{}
	for _, name := range names {
		parts := strings.Split(name, ".")
		if len(parts) < 2 || !slices.Contains(Zones, parts[0]) {
			continue
		}
		files, err := e.opts.Meta.ListFiles(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("failed to list the files of dataset %s: %w", name, err)
		}
		table := parts[0] + "." + strings.Join(parts[1:], "_")
		tables[strings.ToLower(table)]++
		out = append(out, Dataset{Name: name, Zone: parts[0], Table: table, Files: files})
	}
	// A mart's versions are curated.<mart>.v<X>_<Y>; curated.<mart> names
	// the newest, so that readers follow new versions.
	newest := map[string]Dataset{}
	var order []string
	for _, d := range out {
		m := martVersion.FindStringSubmatch(d.Name)
		if m == nil {
			continue
		}
		prev, ok := newest[m[1]]
		if !ok {
			order = append(order, m[1])
		}
		if !ok || versionAfter(d.Name, prev.Name) {
			newest[m[1]] = d
		}
	}
	for _, mart := range order {
		name := "curated." + mart
		if _, taken := tables[strings.ToLower(name)]; taken || slices.Contains(names, name) {
			continue
		}
		tables[strings.ToLower(name)]++
		out = append(out, Dataset{Name: name, Zone: "curated", Table: name, Files: newest[mart].Files})
	}
	for i := range out {
		if tables[strings.ToLower(out[i].Table)] > 1 {
			out[i].Table = ""
		}
	}
	slices.SortFunc(out, func(a, b Dataset) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

var martVersion = regexp.MustCompile(`^curated\.([a-z][a-z0-9_]*)\.v(\d+)_(\d+)$`)

// versionAfter reports whether mart dataset a is a newer version than b.
func versionAfter(a, b string) bool {
	ma, mb := martVersion.FindStringSubmatch(a), martVersion.FindStringSubmatch(b)
	x, _ := strconv.Atoi(ma[2])
	y, _ := strconv.Atoi(mb[2])
	if x != y {
		return x > y
	}
	x, _ = strconv.Atoi(ma[3])
	y, _ = strconv.Atoi(mb[3])
	return x > y
}

// Stats describe what a query read.
type Stats struct {
	// Datasets are the datasets the query was given views for (those its
	// text names), sorted.
	Datasets []string
	// Files is the number of files behind those views.
	Files int
	// Rows is the number of rows the callback read.
	Rows int64
	// Cache is what the S3 file cache did (zero on the folder backend).
	Cache CacheStats
}

// CacheStats describe the cache work of one query.
type CacheStats struct {
	// Hits are needed files found in the cache.
	Hits int
	// Downloaded and DownloadedBytes count files fetched from the store.
	Downloaded      int
	DownloadedBytes int64
	// Evicted and EvictedBytes count files removed to respect the bound.
	Evicted      int
	EvictedBytes int64
}

// Query runs one read-only SQL statement and calls fn with its rows, which
// reach fn one at a time (DuckDB materialises the result first; see the
// package documentation); fn must not keep Rows after it returns. An error
// of fn is returned as is. Statements that are not read-only fail with
// ErrReadOnly, several statements with ErrMultipleStatements, before any of
// them runs. Cancelling ctx interrupts DuckDB.
func (e *Engine) Query(ctx context.Context, query string, fn func(*Rows) error) (Stats, error) {
	var st Stats
	if err := precheck(query); err != nil {
		return st, err
	}
	all, err := e.Datasets(ctx)
	if err != nil {
		return st, err
	}
	used := named(query, all)
	var files []metastore.File
	for _, d := range used {
		st.Datasets = append(st.Datasets, d.Name)
		files = append(files, d.Files...)
	}
	st.Files = len(files)

	var paths map[string]string // key → local path
	if e.cache != nil {
		acq, err := e.cache.acquire(ctx, files)
		if err != nil {
			return st, err
		}
		defer acq.release()
		paths, st.Cache = acq.paths, acq.stats
	} else {
		paths = make(map[string]string, len(files))
		for _, f := range files {
			p := e.local.LocalPath(f.Key)
			if p == "" {
				return st, fmt.Errorf("dataset %s lists an invalid key %q", f.Dataset, f.Key)
			}
			if p, err = filepath.Abs(p); err != nil {
				return st, fmt.Errorf("failed to resolve the path of %s: %w", f.Key, err)
			}
			paths[f.Key] = p
		}
	}

	tmpDir, err := os.MkdirTemp(e.opts.TempDir, "bedrot-query-")
	if err != nil {
		return st, fmt.Errorf("failed to create DuckDB's spill folder: %w", err)
	}
	defer os.RemoveAll(tmpDir)

	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return st, fmt.Errorf("failed to open DuckDB: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return st, fmt.Errorf("failed to connect to DuckDB: %w", err)
	}
	defer conn.Close()

	if err := e.prepare(ctx, conn, all, used, paths, tmpDir); err != nil {
		return st, err
	}
	if err := checkStatement(conn, query); err != nil {
		return st, err
	}
	sqlRows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return st, queryError(err)
	}
	rows, err := newRows(sqlRows)
	if err != nil {
		sqlRows.Close()
		return st, err
	}
	fnErr := fn(rows)
	st.Rows = rows.n
	closeErr := sqlRows.Close()
	if fnErr != nil {
		return st, fnErr
	}
	if rows.err != nil {
		return st, rows.err
	}
	if closeErr != nil {
		return st, queryError(closeErr)
	}
	return st, nil
}

// named returns the datasets with files whose dataset name or table name
// (the part after the zone) appears in the query, case-insensitively.
func named(query string, all []Dataset) []Dataset {
	q := strings.ToLower(query)
	var out []Dataset
	for _, d := range all {
		if len(d.Files) == 0 {
			continue
		}
		hit := strings.Contains(q, strings.ToLower(d.Name))
		if !hit && d.Table != "" {
			hit = strings.Contains(q, strings.ToLower(d.Table[len(d.Zone)+1:]))
		}
		if hit {
			out = append(out, d)
		}
	}
	return out
}

// prepare sets DuckDB up for one query: settings, the views of the used
// datasets, the datasets table, and then the lock that makes it read-only.
func (e *Engine) prepare(ctx context.Context, conn *sql.Conn, all, used []Dataset, paths map[string]string, tmpDir string) error {
	exec := func(what, stmt string, args ...any) error {
		if _, err := conn.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("failed to %s: %w", what, err)
		}
		return nil
	}
	if err := exec("set DuckDB's spill folder", "SET temp_directory = "+quoteString(tmpDir)); err != nil {
		return err
	}
	if e.opts.MemoryLimit != "" {
		if err := exec("set DuckDB's memory limit", "SET memory_limit = "+quoteString(e.opts.MemoryLimit)); err != nil {
			return err
		}
	}
	if e.opts.Threads > 0 {
		if err := exec("set DuckDB's threads", fmt.Sprintf("SET threads = %d", e.opts.Threads)); err != nil {
			return err
		}
	}
	for _, z := range Zones {
		if err := exec("create schema "+z, "CREATE SCHEMA "+quoteIdent(z)); err != nil {
			return err
		}
	}
	var allowed []string
	for _, d := range used {
		list := make([]string, len(d.Files))
		for i, f := range d.Files {
			list[i] = paths[f.Key]
		}
		allowed = append(allowed, list...)
		if err := createView(ctx, conn, d, list); err != nil {
			return err
		}
	}
	if err := exec("create "+DatasetsTable, `CREATE TABLE `+DatasetsTable+` (dataset VARCHAR, alias VARCHAR, zone VARCHAR,
		file_count BIGINT, row_count BIGINT, byte_count BIGINT)`); err != nil {
		return err
	}
	for _, d := range all {
		var alias any
		if d.Table != "" {
			alias = d.Table
		}
		if err := exec("fill "+DatasetsTable, `INSERT INTO `+DatasetsTable+` VALUES (?, ?, ?, ?, ?, ?)`,
			d.Name, alias, d.Zone, int64(len(d.Files)), d.Rows(), d.Bytes()); err != nil {
			return err
		}
	}
	quoted := make([]string, len(allowed))
	for i, p := range allowed {
		quoted[i] = quoteString(p)
	}
	for _, s := range []string{
		"SET allowed_paths = [" + strings.Join(quoted, ", ") + "]",
		"SET allowed_directories = []",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	} {
		if err := exec("make DuckDB read-only", s); err != nil {
			return err
		}
	}
	return nil
}

// createView creates the dataset's views over the local copies of its files.
func createView(ctx context.Context, conn *sql.Conn, d Dataset, paths []string) error {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = quoteString(p)
	}
	list := "[" + strings.Join(quoted, ", ") + "]"
	hive := false
	if keys := partitionKeys(d.Files, paths); len(keys) > 0 {
		cols, err := fileColumns(ctx, conn, list)
		if err != nil {
			return fmt.Errorf("failed to read the schema of dataset %s: %w", d.Name, err)
		}
		hive = true
		for _, k := range keys {
			if slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, k) }) {
				hive = false
			}
		}
	}
	src := fmt.Sprintf("SELECT * FROM read_parquet(%s, union_by_name = true, hive_partitioning = %t)", list, hive)
	if _, err := conn.ExecContext(ctx, "CREATE VIEW main."+quoteIdent(d.Name)+" AS "+src); err != nil {
		return fmt.Errorf("failed to open dataset %s: %w", d.Name, err)
	}
	if d.Table != "" {
		table := d.Table[len(d.Zone)+1:]
		stmt := "CREATE VIEW " + quoteIdent(d.Zone) + "." + quoteIdent(table) + " AS SELECT * FROM main." + quoteIdent(d.Name)
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("failed to open dataset %s as %s: %w", d.Name, d.Table, err)
		}
	}
	return nil
}

// partitionKeys returns the Hive partition keys the files' keys share (e.g.
// source, date), or nil when they differ between files or when a local path
// holds a "=" outside its key, which DuckDB would read as a partition too.
func partitionKeys(files []metastore.File, paths []string) []string {
	var keys []string
	for i, f := range files {
		p := filepath.ToSlash(paths[i])
		if !strings.HasSuffix(p, "/"+f.Key) || strings.Contains(strings.TrimSuffix(p, f.Key), "=") {
			return nil
		}
		segs := strings.Split(f.Key, "/")
		var ks []string
		for _, s := range segs[:len(segs)-1] {
			if k, _, ok := strings.Cut(s, "="); ok {
				ks = append(ks, k)
			}
		}
		if i == 0 {
			keys = ks
		} else if !slices.Equal(keys, ks) {
			return nil
		}
	}
	return keys
}

// fileColumns returns the column names of the files, without partitions.
func fileColumns(ctx context.Context, conn *sql.Conn, list string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT * FROM read_parquet("+list+", union_by_name = true, hive_partitioning = false) LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// quoteIdent quotes a DuckDB identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString quotes a DuckDB string literal.
func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// queryError wraps an error of DuckDB. Its message names the statement's
// line and position, or the table it could not find.
func queryError(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeCatalog && strings.Contains(de.Msg, "does not exist") {
		return fmt.Errorf("query failed: %w\n(datasets are named \"zone.source.stream\" or zone.source_stream; SELECT * FROM %s lists them)", err, DatasetsTable)
	}
	return fmt.Errorf("query failed: %w", err)
}
