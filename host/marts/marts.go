// Package marts builds the curated zone's marts: SQL files users edit
// (config/marts/<mart>.sql) with a declared version, run by the embedded
// DuckDB over the lake's datasets, each version written beside the others
// under curated/mart=<mart>/version=v<X.Y>/ so that an old version stays
// readable when a new one is published.
//
// A mart file starts with comment headers:
//
//	-- mart: royalties_monthly        (default: the file name)
//	-- version: 1.0                   (required; change it when the SQL changes)
//	-- primary_key: isrc, store, country_of_sale, sale_month
//	-- description: …
//
// Its datasets are named as in `bedrot query` (staging.royalties_earnings,
// "staging.royalties.earnings"). Each version is the dataset
// curated.<mart>.v<X>_<Y>; `bedrot query` reads the newest as
// curated.<mart>.
// A mart is rebuilt only when its SQL or its inputs' files changed, so
// re-running on unchanged inputs writes nothing.
package marts

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// StateSource keys the marts' fingerprints in the metastore's stream state.
const StateSource = "curated"

// Mart is one mart definition.
type Mart struct {
	Name        string
	Version     string
	PrimaryKey  []string
	Description string
	SQL         string
	File        string
}

// Dataset is the dataset of this version, e.g. curated.royalties_monthly.v1_0.
func (m Mart) Dataset() string {
	return "curated." + m.Name + ".v" + strings.ReplaceAll(m.Version, ".", "_")
}

// Current is the name that reads the newest built version (bedrot query
// resolves it; see package sqlengine).
func (m Mart) Current() string { return "curated." + m.Name }

var (
	versionRE = regexp.MustCompile(`^\d+\.\d+$`)
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Parse reads a mart file.
func Parse(path string, data []byte) (Mart, error) {
	m := Mart{Name: strings.TrimSuffix(filepath.Base(path), ".sql"), SQL: string(data), File: path}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		rest, ok := strings.CutPrefix(text, "--")
		if !ok {
			break
		}
		key, val, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(strings.ToLower(key)) {
		case "mart":
			m.Name = val
		case "version":
			m.Version = val
		case "primary_key":
			for k := range strings.SplitSeq(val, ",") {
				if k = strings.TrimSpace(k); k != "" {
					m.PrimaryKey = append(m.PrimaryKey, k)
				}
			}
		case "description":
			m.Description = val
		}
	}
	var errs []error
	if !nameRE.MatchString(m.Name) {
		errs = append(errs, fmt.Errorf("mart name %q must be lower case letters, digits and _", m.Name))
	}
	if !versionRE.MatchString(m.Version) {
		errs = append(errs, fmt.Errorf("-- version: %q must look like 1.0 (declare it in a comment header)", m.Version))
	}
	if err := errors.Join(errs...); err != nil {
		return m, fmt.Errorf("mart file %s: %w", path, err)
	}
	return m, nil
}

// LoadDir reads every *.sql mart of dir.
func LoadDir(dir string) ([]Mart, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Mart
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m, err := Parse(path, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// Deps is what a build needs.
type Deps struct {
	Store  storage.Store
	Meta   metastore.Store
	Engine *sqlengine.Engine
	Logger *slog.Logger
}

// Result is one mart's outcome.
type Result struct {
	Mart, Version, Dataset string
	// Inputs are the datasets its SQL reads.
	Inputs []string
	// Built is false when the mart was up to date.
	Built bool
	Rows  int64
	Key   string
}

// state is a mart version's recorded fingerprint.
type state struct {
	Fingerprint string `json:"fingerprint"`
	Key         string `json:"key"`
	Rows        int64  `json:"rows"`
}

// Build brings every mart up to date.
func Build(ctx context.Context, deps Deps, marts []Mart) ([]Result, error) {
	datasets, err := deps.Engine.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	states, err := deps.Meta.States(ctx, StateSource)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, m := range marts {
		r, err := build(ctx, deps, m, datasets, states)
		if err != nil {
			return out, fmt.Errorf("mart %s v%s (%s): %w", m.Name, m.Version, m.File, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// inputsOf returns the datasets a mart's SQL names (curated marts excluded,
// except other marts named explicitly).
func inputsOf(m Mart, datasets []sqlengine.Dataset) []sqlengine.Dataset {
	sql := strings.ToLower(m.SQL)
	var in []sqlengine.Dataset
	for _, d := range datasets {
		if d.Name == m.Current() || strings.HasPrefix(d.Name, m.Current()+".v") {
			continue // itself, in any version
		}
		if strings.Contains(sql, `"`+strings.ToLower(d.Name)+`"`) || (d.Table != "" && strings.Contains(sql, strings.ToLower(d.Table))) {
			in = append(in, d)
		}
	}
	return in
}

func build(ctx context.Context, deps Deps, m Mart, datasets []sqlengine.Dataset, states map[string]metastore.StreamState) (Result, error) {
	res := Result{Mart: m.Name, Version: m.Version, Dataset: m.Dataset()}
	inputs := inputsOf(m, datasets)
	for _, d := range inputs {
		res.Inputs = append(res.Inputs, d.Name)
	}
	if len(inputs) == 0 {
		return res, errors.New("its SQL names no dataset of the lake (yet): build staging first, or check the names")
	}
	h := sha256.New()
	io.WriteString(h, m.SQL)
	var files []metastore.File
	for _, d := range inputs {
		io.WriteString(h, "\x00"+d.Name)
		for _, f := range d.Files {
			io.WriteString(h, "\x00"+f.Key+"\x00"+f.Digest)
			files = append(files, f)
		}
	}
	fp := hex.EncodeToString(h.Sum(nil))
	stream := m.Name + "/v" + m.Version
	var prev state
	if st, ok := states[stream]; ok {
		_ = json.Unmarshal(st.State, &prev)
	}
	if prev.Fingerprint == fp {
		res.Rows, res.Key = prev.Rows, prev.Key
		return res, nil
	}

	dir, err := os.MkdirTemp("", "bedrot-mart-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	w, err := deps.Engine.Workspace(ctx, files, dir)
	if err != nil {
		return res, err
	}
	defer w.Close()
	conn := w.Conn()
	schemas := map[string]bool{}
	for _, d := range inputs {
		paths := make([]string, len(d.Files))
		for i, f := range d.Files {
			paths[i] = sqlengine.QuoteString(w.Path(f.Key))
		}
		src := "read_parquet([" + strings.Join(paths, ", ") + "], union_by_name = true)"
		if _, err := conn.ExecContext(ctx, `CREATE VIEW "`+d.Name+`" AS SELECT * FROM `+src); err != nil {
			return res, fmt.Errorf("failed to open %s: %w", d.Name, err)
		}
		if d.Table != "" {
			schema, table, _ := strings.Cut(d.Table, ".")
			if !schemas[schema] {
				schemas[schema] = true
				if _, err := conn.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
					return res, err
				}
			}
			if _, err := conn.ExecContext(ctx, `CREATE VIEW `+schema+`."`+table+`" AS SELECT * FROM `+src); err != nil {
				return res, fmt.Errorf("failed to open %s: %w", d.Table, err)
			}
		}
	}
	order := ""
	if len(m.PrimaryKey) > 0 {
		order = " ORDER BY " + strings.Join(m.PrimaryKey, ", ")
	}
	local := filepath.Join(dir, m.Name+".parquet")
	body := strings.TrimRight(strings.TrimSpace(m.SQL), ";")
	if _, err := conn.ExecContext(ctx, "COPY (SELECT * FROM ("+body+")"+order+") TO "+sqlengine.QuoteString(local)+" (FORMAT parquet, COMPRESSION zstd)"); err != nil {
		return res, fmt.Errorf("its SQL failed: %w", err)
	}
	if len(m.PrimaryKey) > 0 {
		var dups int64
		q := "SELECT count(*) FROM (SELECT " + strings.Join(m.PrimaryKey, ", ") + " FROM read_parquet(" + sqlengine.QuoteString(local) + ") GROUP BY ALL HAVING count(*) > 1)"
		if err := conn.QueryRowContext(ctx, q).Scan(&dups); err != nil {
			return res, fmt.Errorf("failed to check its primary key: %w", err)
		}
		if dups > 0 {
			return res, fmt.Errorf("its primary key (%s) repeats for %d key(s): fix the SQL or the key", strings.Join(m.PrimaryKey, ", "), dups)
		}
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlengine.QuoteString(local)+")").Scan(&res.Rows); err != nil {
		return res, err
	}
	runID := newRunID()
	// The lease tells sweepers of other processes that this run is alive.
	unlock, err := deps.Meta.LockRun(ctx, runID)
	if err != nil {
		return res, err
	}
	defer unlock()
	key := fmt.Sprintf("curated/mart=%s/version=v%s/%s-%s.parquet", m.Name, m.Version, m.Name, runID)
	f, err := upload(ctx, deps, runID, local, key)
	if err != nil {
		return res, err
	}
	f.Dataset, f.Rows, f.BatchID, f.RunID = m.Dataset(), res.Rows, "v"+m.Version, runID
	inputsMeta := make([]string, len(inputs))
	for i, d := range inputs {
		inputsMeta[i] = d.Name
	}
	f.Meta, _ = json.Marshal(map[string]any{"inputs": inputsMeta, "fingerprint": fp, "sql": m.File})
	st, _ := json.Marshal(state{Fingerprint: fp, Key: key, Rows: res.Rows})
	replaced, err := deps.Meta.Commit(ctx, metastore.Commit{RunID: runID, Replace: true, Fenced: true,
		Batches: []metastore.Batch{{Dataset: m.Dataset(), ID: "v" + m.Version, RunID: runID, Rows: res.Rows}},
		Files:   []metastore.File{f},
		States:  []metastore.StreamState{{Source: StateSource, Stream: stream, State: st, RunID: runID}}})
	if err != nil {
		_ = deps.Store.Delete(context.WithoutCancel(ctx), key)
		return res, fmt.Errorf("failed to commit: %w", err)
	}
	for _, old := range replaced {
		if err := deps.Store.Delete(ctx, old.Key); err != nil && deps.Logger != nil {
			deps.Logger.Warn("failed to delete a replaced mart file", "key", old.Key, "error", err)
		}
	}
	res.Built, res.Key = true, key
	return res, nil
}

func versionLess(a, b string) bool {
	var am, an, bm, bn int
	fmt.Sscanf(a, "%d.%d", &am, &an)
	fmt.Sscanf(b, "%d.%d", &bm, &bn)
	return am < bm || (am == bm && an < bn)
}

func upload(ctx context.Context, deps Deps, runID, local, key string) (metastore.File, error) {
	if err := deps.Meta.AddPending(ctx, runID, key); err != nil {
		return metastore.File{}, err
	}
	f, err := os.Open(local)
	if err != nil {
		return metastore.File{}, err
	}
	defer f.Close()
	h := digest.New()
	n, err := deps.Store.Put(ctx, key, io.TeeReader(f, h))
	if err != nil {
		return metastore.File{}, err
	}
	return metastore.File{Key: key, Size: n, Digest: h.String()}, nil
}

func newRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "mart-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
