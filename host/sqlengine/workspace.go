package sqlengine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// Workspace is a DuckDB that may read a given set of lake files and write
// into one local folder, for the host's own builds (staging, marts), which
// write Parquet with COPY … TO before uploading it through the store. Unlike
// Query it runs any statement the caller gives, so it is never handed user
// SQL; beneath it the same lock holds: external access is off, the lake files
// it was opened with are the only files it can read, Dir is the only folder
// it can write, and the configuration is locked.
type Workspace struct {
	// Dir is the folder DuckDB may write into (and read back from).
	Dir string
	// Paths maps each lake file's key to the local path DuckDB reads: the
	// file itself on the folder backend, a cached copy on S3/MinIO.
	Paths map[string]string

	db      *sql.DB
	conn    *sql.Conn
	release func()
	spill   string
}

// Workspace opens a workspace that can read files (downloading them into the
// cache first on S3/MinIO, exactly as Query does) and write into dir, which
// must exist. Close it when done; the cached files stay held until then.
func (e *Engine) Workspace(ctx context.Context, files []metastore.File, dir string) (_ *Workspace, err error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve the workspace folder %s: %w", dir, err)
	}
	if fi, err := os.Stat(absDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the workspace folder %s must be an existing folder", absDir)
	}
	w := &Workspace{Dir: absDir, release: func() {}}
	defer func() {
		if err != nil {
			_ = w.Close()
		}
	}()
	if e.cache != nil {
		acq, err := e.cache.acquire(ctx, files)
		if err != nil {
			return nil, err
		}
		w.Paths, w.release = acq.paths, acq.release
	} else {
		w.Paths = make(map[string]string, len(files))
		for _, f := range files {
			p := e.local.LocalPath(f.Key)
			if p == "" {
				return nil, fmt.Errorf("dataset %s lists an invalid key %q", f.Dataset, f.Key)
			}
			if p, err = filepath.Abs(p); err != nil {
				return nil, fmt.Errorf("failed to resolve the path of %s: %w", f.Key, err)
			}
			w.Paths[f.Key] = p
		}
	}
	if w.spill, err = os.MkdirTemp(e.opts.TempDir, "bedrot-workspace-"); err != nil {
		return nil, fmt.Errorf("failed to create DuckDB's spill folder: %w", err)
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("failed to open DuckDB: %w", err)
	}
	w.db = sql.OpenDB(connector)
	if w.conn, err = w.db.Conn(ctx); err != nil {
		return nil, fmt.Errorf("failed to connect to DuckDB: %w", err)
	}
	settings := []string{"SET temp_directory = " + quoteString(w.spill)}
	if e.opts.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+quoteString(e.opts.MemoryLimit))
	}
	if e.opts.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads = %d", e.opts.Threads))
	}
	quoted := make([]string, 0, len(w.Paths))
	for _, p := range w.Paths {
		quoted = append(quoted, quoteString(p))
	}
	settings = append(settings,
		"SET allowed_paths = ["+strings.Join(quoted, ", ")+"]",
		"SET allowed_directories = ["+quoteString(absDir+string(filepath.Separator))+"]",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	)
	for _, s := range settings {
		if _, err := w.conn.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("failed to set up the DuckDB workspace (%s): %w", s, err)
		}
	}
	return w, nil
}

// Conn is the workspace's DuckDB connection. Statements on it may read the
// workspace's files and write under Dir only.
func (w *Workspace) Conn() *sql.Conn { return w.conn }

// Path is the local path of a lake file the workspace was opened with, or
// "" for any other key.
func (w *Workspace) Path(key string) string { return w.Paths[key] }

// Close closes DuckDB, removes its spill folder and lets the cached files go.
// Dir and what was written there stay: the caller owns them.
func (w *Workspace) Close() error {
	var err error
	if w.conn != nil {
		err = w.conn.Close()
		w.conn = nil
	}
	if w.db != nil {
		if cerr := w.db.Close(); err == nil {
			err = cerr
		}
		w.db = nil
	}
	if w.spill != "" {
		_ = os.RemoveAll(w.spill)
		w.spill = ""
	}
	if w.release != nil {
		w.release()
		w.release = nil
	}
	return err
}

// QuoteString quotes s as a DuckDB string literal, for the paths of a
// workspace's files in the SQL given to it.
func QuoteString(s string) string { return quoteString(s) }
