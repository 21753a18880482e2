package staging

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// StateSource is the source name under which staging keeps its stream
// states in the metastore: one per partition ("<dataset>/year=YYYY") and
// one index of the raw files' years ("<dataset>/_inputs").
const StateSource = "staging"

// Deps is what a build works with.
type Deps struct {
	// Store and Meta are the lake's object store and metastore (required).
	Store storage.Store
	Meta  metastore.Store
	// Engine reads the raw files (through its S3 cache on object stores).
	// When nil, one is made from Store and Meta with CacheDir.
	Engine *sqlengine.Engine
	// CacheDir is the S3 file cache of the engine made when Engine is nil
	// (the sqlengine default when empty).
	CacheDir string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Quality, when set, validates every rebuilt partition against its
	// dataset's suite (<suites dir>/<dataset>.json) before it is committed.
	Quality *quality.Service
}

// Options say what to build.
type Options struct {
	// Domains to build (see DomainNames); all when empty.
	Domains []string
	// StoreAliases is an optional YAML file of store aliases added to the
	// built-in table (store_aliases.yaml); its entries win.
	StoreAliases string
	// IdentityOverrides is the identity overrides file the catalog domain
	// applies (DefaultIdentityOverrides, relative to the working folder,
	// when empty); a missing file is no overrides.
	IdentityOverrides string
	// TempDir holds the files DuckDB writes before they are uploaded;
	// os.TempDir() when empty.
	TempDir string
}

// placeholderYear is the partition of the empty file of a dataset with a
// placeholder while none of its inputs has a row (year=0000).
const placeholderYear = 0

// Partition actions.
const (
	// Rebuilt: the partition's inputs changed; a new file replaced it.
	Rebuilt = "rebuilt"
	// Skipped: its inputs are those of the last build; nothing was written.
	Skipped = "skipped"
	// Emptied: no input row falls in it any more; its file left the manifest.
	Emptied = "emptied"
	// Held: the rebuilt partition broke its dataset's expectation suite; it
	// is quarantined whole and the previous version stays in staging.
	Held = "held"
)

// PartitionResult says what a build did with one partition.
type PartitionResult struct {
	Dataset   string // e.g. "staging.royalties.earnings"
	Partition string // e.g. "year=2025"
	Action    string // Rebuilt, Skipped or Emptied
	// Key, Rows, Size and Digest describe the partition's file after the
	// build (the existing one when skipped; empty when emptied).
	Key    string
	Rows   int64
	Size   int64
	Digest string
	// Inputs are the keys of the raw files that feed the partition.
	Inputs []string
	// Fingerprint identifies the inputs and the build's rules.
	Fingerprint string
	// Validation is the id of its validation, when its dataset has a suite.
	Validation string
}

// Result is what Build did.
type Result struct {
	// RunID is the run recorded in the metastore ("staging-…").
	RunID      string
	Partitions []PartitionResult
	// Rebuilt, Skipped, Emptied and Held count partitions by action.
	Rebuilt, Skipped, Emptied, Held int
	// Rows is the number of rows written (in rebuilt partitions).
	Rows int64
	// Files are the keys of the files written.
	Files []string
}

// partitionState is the stream state of one partition.
type partitionState struct {
	Fingerprint string   `json:"fingerprint"`
	Version     string   `json:"version"`
	Inputs      []string `json:"inputs"`
	Key         string   `json:"key,omitempty"`
	Rows        int64    `json:"rows"`
}

// inputIndex is the stream state that remembers the sale years of every raw
// file already read, so that a build reads only new raw files to place them.
type inputIndex struct {
	Files map[string]indexedFile `json:"files"`
}

type indexedFile struct {
	// Digest is the raw file's (the JSON name predates BLAKE3 digests).
	Digest string `json:"sha256"`
	Years  []int  `json:"years"`
}

// input is a raw dataset a staging dataset reads.
type input struct {
	// dataset is the raw dataset, e.g. "raw.tiktok.videos".
	dataset string
	// year is the SQL expression, over the raw columns, of the partition
	// year a row belongs to.
	year string
}

// dataset is one staging dataset: a pluggable unit of a domain, saying what
// it is built from and how.
type dataset struct {
	// name is the dataset, e.g. "staging.royalties.earnings".
	name string
	// domain is its staging domain (staging/domain=<domain>/...).
	domain string
	// file starts the names of its files (<file>-<run>.parquet).
	file string
	// version is the version of the build's rules; it is part of every
	// partition's fingerprint, so changing it rebuilds every partition.
	version string
	// inputs are the raw datasets it reads.
	inputs []input
	// lookback makes a partition depend on every input file with a row in
	// its year or any earlier one (a day's difference needs the snapshot
	// before it, which may lie in an earlier year); otherwise a partition
	// depends on the files with a row in its year only.
	lookback bool
	// ordered says the build depends on the ingest order of the input
	// files (the newest export wins), so the fingerprint includes it.
	ordered bool
	// placeholder says that, while no input file has a row, the dataset
	// has one empty file (partition year=0000) so that it can be queried
	// (a mart naming it builds); its query must accept no input paths.
	placeholder bool
	// rules, when set, returns more text that identifies the build's rules
	// (e.g. the hash of the alias table), hashed into the fingerprint.
	rules func(b *builder) string
	// prepare, when set, creates the tables the query needs besides
	// inputs(path, batch, dataset, seq).
	prepare func(ctx context.Context, b *builder, conn *sql.Conn) error
	// query returns the SELECT that builds one year from the local paths
	// of the input files, by raw dataset (a raw dataset without files has
	// no entry).
	query func(paths map[string][]string, year int) string
}

// domains are the staging domains and their datasets, in build order.
var domains = []struct {
	name     string
	datasets []*dataset
	// build, when set, builds the domain instead (the catalog, resolved in
	// Go rather than in SQL).
	build func(b *builder, ctx context.Context) error
}{
	{name: RoyaltiesDomain, datasets: []*dataset{royaltiesEarnings}},
	{name: StreamingDomain, datasets: streamingDatasets},
	{name: CatalogDomain, build: (*builder).buildCatalog},
}

// DomainNames returns the known staging domains in build order.
func DomainNames() []string {
	names := make([]string, len(domains))
	for i, d := range domains {
		names[i] = d.name
	}
	return names
}

// Build brings the staging datasets of opts.Domains up to date with the raw
// zone: partitions whose inputs changed are rebuilt and committed in one
// metastore transaction per dataset; the others are left as they are.
func Build(ctx context.Context, deps Deps, opts Options) (Result, error) {
	var res Result
	if deps.Store == nil || deps.Meta == nil {
		return res, errors.New("staging: a store and a metastore are required")
	}
	var todo []func(b *builder, ctx context.Context) error
	want := map[string]bool{}
	for _, d := range opts.Domains {
		if !slices.Contains(DomainNames(), d) {
			return res, fmt.Errorf("staging: unknown domain %q (known: %s)", d, strings.Join(DomainNames(), ", "))
		}
		want[d] = true
	}
	for _, d := range domains {
		if len(want) > 0 && !want[d.name] {
			continue
		}
		if d.build != nil {
			todo = append(todo, d.build)
		}
		for _, ds := range d.datasets {
			todo = append(todo, func(b *builder, ctx context.Context) error { return b.build(ctx, ds) })
		}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	engine := deps.Engine
	if engine == nil {
		var err error
		if engine, err = sqlengine.New(sqlengine.Options{Store: deps.Store, Meta: deps.Meta, CacheDir: deps.CacheDir, TempDir: opts.TempDir}); err != nil {
			return res, err
		}
	}
	aliases, err := loadAliases(opts.StoreAliases)
	if err != nil {
		return res, err
	}

	start := time.Now().UTC()
	res.RunID = newRunID(start)
	unlock, err := deps.Meta.LockRun(ctx, res.RunID)
	if err != nil {
		return res, fmt.Errorf("failed to lock staging run: %w", err)
	}
	defer unlock()
	if err := deps.Meta.CreateRun(ctx, metastore.Run{ID: res.RunID, Source: StateSource, Kind: "staging", StartedAt: start, Owner: owner()}); err != nil {
		return res, fmt.Errorf("failed to record staging run: %w", err)
	}
	b := &builder{deps: deps, opts: opts, engine: engine, aliases: aliases, log: log.With("run", res.RunID), res: &res}
	defer func() {
		if b.validator != nil {
			b.validator.Close()
		}
	}()
	var runErr error
	for _, step := range todo {
		if runErr = step(b, ctx); runErr != nil {
			break
		}
	}
	status, errText := metastore.RunSucceeded, ""
	if runErr != nil {
		status, errText = metastore.RunFailed, runErr.Error()
	}
	stats, _ := json.Marshal(map[string]any{"rebuilt": res.Rebuilt, "skipped": res.Skipped, "emptied": res.Emptied, "rows": res.Rows, "files": res.Files})
	if ferr := deps.Meta.FinishRun(context.WithoutCancel(ctx), res.RunID, status, errText, stats); ferr != nil && runErr == nil {
		runErr = fmt.Errorf("failed to record the end of staging run %s: %w", res.RunID, ferr)
	}
	return res, runErr
}

type builder struct {
	deps    Deps
	opts    Options
	engine  *sqlengine.Engine
	aliases *storeAliases
	log     *slog.Logger
	res     *Result
	// validator is the quality plugin, launched at the first partition
	// that has a suite.
	validator *quality.Session
}

// rawFile is an input file with the raw dataset it belongs to and its place
// in the ingest order of all the dataset's input files.
type rawFile struct {
	metastore.File
	input int // index in dataset.inputs
	seq   int // 0 for the file committed first
}

// build brings one staging dataset up to date.
func (b *builder) build(ctx context.Context, ds *dataset) error {
	meta := b.deps.Meta
	var raw []*rawFile
	for i, in := range ds.inputs {
		files, err := meta.ListFiles(ctx, in.dataset)
		if err != nil && !errors.Is(err, metastore.ErrNotFound) {
			return fmt.Errorf("failed to list the files of %s: %w", in.dataset, err)
		}
		for _, f := range files {
			raw = append(raw, &rawFile{File: f, input: i})
		}
	}
	// Ingest order: the time each file was committed, then its key (the
	// pipeline numbers a run's files in the order it writes them).
	slices.SortStableFunc(raw, func(x, y *rawFile) int {
		return cmp.Or(x.AddedAt.Compare(y.AddedAt), cmp.Compare(x.Key, y.Key))
	})
	rawByKey := make(map[string]*rawFile, len(raw))
	for i, f := range raw {
		f.seq = i
		rawByKey[f.Key] = f
	}
	states, err := meta.States(ctx, StateSource)
	if err != nil {
		return fmt.Errorf("failed to read the staging states: %w", err)
	}

	// Place every raw file in the years of its rows, reading only those
	// the index does not know yet.
	indexStream := ds.name + "/_inputs"
	var index inputIndex
	if st, ok := states[indexStream]; ok && len(st.State) > 0 {
		if err := json.Unmarshal(st.State, &index); err != nil {
			return fmt.Errorf("the staging state %s/%s is damaged (%v); delete that stream state to rebuild the dataset", StateSource, indexStream, err)
		}
	}
	if index.Files == nil {
		index.Files = map[string]indexedFile{}
	}
	indexChanged := false
	for k, f := range index.Files {
		if rf, ok := rawByKey[k]; !ok || rf.Digest != f.Digest {
			delete(index.Files, k)
			indexChanged = true
		}
	}
	var unknown []*rawFile
	for _, f := range raw {
		if _, ok := index.Files[f.Key]; !ok {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		years, err := b.readYears(ctx, ds, unknown)
		if err != nil {
			return err
		}
		for _, f := range unknown {
			index.Files[f.Key] = indexedFile{Digest: f.Digest, Years: years[f.Key]}
		}
		indexChanged = true
	}

	// Each year's inputs and fingerprint, against the last build's.
	years := map[int]bool{}
	for _, f := range raw {
		for _, y := range index.Files[f.Key].Years {
			years[y] = true
		}
	}
	inputs := map[int][]*rawFile{}
	for y := range years {
		for _, f := range raw {
			for _, fy := range index.Files[f.Key].Years {
				if fy == y || (ds.lookback && fy < y) {
					inputs[y] = append(inputs[y], f)
					break
				}
			}
		}
	}
	empty := ds.placeholder && len(years) == 0
	prev := map[int]partitionState{}
	prefix := ds.name + "/year="
	for stream, st := range states {
		ys, ok := strings.CutPrefix(stream, prefix)
		if !ok {
			continue
		}
		y, err := strconv.Atoi(ys)
		var ps partitionState
		if err == nil {
			err = json.Unmarshal(st.State, &ps)
		}
		if err != nil {
			return fmt.Errorf("the staging state %s/%s is damaged (%v); delete that stream state to rebuild the partition", StateSource, stream, err)
		}
		prev[y] = ps
		if ps.Key != "" || len(ps.Inputs) > 0 {
			years[y] = true
		}
	}
	if empty {
		years[placeholderYear] = true
	}
	var todo []int
	parts := map[int]*PartitionResult{}
	for _, y := range slices.Sorted(maps.Keys(years)) {
		in := inputs[y]
		pr := &PartitionResult{Dataset: ds.name, Partition: fmt.Sprintf("year=%04d", y), Fingerprint: b.fingerprint(ds, in)}
		for _, f := range in {
			pr.Inputs = append(pr.Inputs, f.Key)
		}
		sort.Strings(pr.Inputs)
		parts[y] = pr
		if y == placeholderYear && !empty {
			todo = append(todo, y) // real rows arrived: the empty file goes
			continue
		}
		if p, ok := prev[y]; ok && p.Fingerprint == pr.Fingerprint {
			pr.Action = Skipped
			continue
		}
		todo = append(todo, y)
	}

	var commit metastore.Commit
	commit.RunID = b.res.RunID
	commit.Replace = true
	commit.Fenced = true
	if len(todo) > 0 {
		if err := b.rebuild(ctx, ds, todo, inputs, parts, empty, &commit); err != nil {
			return err
		}
	}
	if indexChanged {
		state, _ := json.Marshal(index)
		commit.States = append(commit.States, metastore.StreamState{Source: StateSource, Stream: indexStream, State: state})
	}

	// Skipped partitions report their current file.
	current, err := meta.ListFiles(ctx, ds.name)
	if err != nil && !errors.Is(err, metastore.ErrNotFound) {
		return fmt.Errorf("failed to list the files of %s: %w", ds.name, err)
	}
	for _, y := range slices.Sorted(maps.Keys(parts)) {
		pr := parts[y]
		if pr.Action == Skipped {
			for _, f := range current {
				if f.BatchID == pr.Partition {
					pr.Key, pr.Rows, pr.Size, pr.Digest = f.Key, f.Rows, f.Size, f.Digest
				}
			}
			b.res.Skipped++
		}
	}

	if len(commit.Batches) > 0 || len(commit.States) > 0 {
		replaced, err := meta.Commit(ctx, commit)
		if err != nil {
			b.discard(ctx, commit.Files)
			return fmt.Errorf("failed to commit %s: %w", ds.name, err)
		}
		for _, f := range replaced {
			if err := b.deps.Store.Delete(ctx, f.Key); err != nil {
				b.log.Warn("failed to delete a replaced staging file", "key", f.Key, "error", err)
			}
		}
	}
	for _, y := range slices.Sorted(maps.Keys(parts)) {
		b.res.Partitions = append(b.res.Partitions, *parts[y])
	}
	return nil
}

// readYears returns the partition years of the rows of each file.
func (b *builder) readYears(ctx context.Context, ds *dataset, files []*rawFile) (map[string][]int, error) {
	dir, err := os.MkdirTemp(b.opts.TempDir, "bedrot-staging-")
	if err != nil {
		return nil, fmt.Errorf("failed to create a staging work folder: %w", err)
	}
	defer os.RemoveAll(dir)
	plain := make([]metastore.File, len(files))
	for i, f := range files {
		plain[i] = f.File
	}
	w, err := b.engine.Workspace(ctx, plain, dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	out := map[string][]int{}
	for i, in := range ds.inputs {
		byPath := map[string]string{}
		var paths []string
		for _, f := range files {
			if f.input == i {
				p := w.Path(f.Key)
				paths = append(paths, p)
				byPath[p] = f.Key
			}
		}
		if len(paths) == 0 {
			continue
		}
		if err := func() error {
			rows, err := w.Conn().QueryContext(ctx, yearsSQL(paths, in.year))
			if err != nil {
				return fmt.Errorf("failed to read the years of %d files of %s: %w", len(paths), in.dataset, err)
			}
			defer rows.Close()
			for rows.Next() {
				var path string
				var year int
				if err := rows.Scan(&path, &year); err != nil {
					return fmt.Errorf("failed to read the years of %s: %w", in.dataset, err)
				}
				out[byPath[path]] = append(out[byPath[path]], year)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("failed to read the years of %s: %w", in.dataset, err)
			}
			return nil
		}(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// yearsSQL lists the distinct partition years (the SQL expression year) of
// each file.
func yearsSQL(paths []string, year string) string {
	return `SELECT DISTINCT filename, CAST(` + year + ` AS INTEGER) FROM ` + scanSQL(paths) + ` WHERE ` + year + ` IS NOT NULL ORDER BY ALL`
}

// scanSQL reads the Parquet files at paths, with their path in filename.
func scanSQL(paths []string) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = sqlengine.QuoteString(p)
	}
	return `read_parquet([` + strings.Join(quoted, ", ") + `], filename = true, union_by_name = true, hive_partitioning = false)`
}

// fingerprint identifies a partition's inputs and the rules that build it:
// the files in key order, each with its place in the partition's ingest
// order when the dataset depends on it.
func (b *builder) fingerprint(ds *dataset, in []*rawFile) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", ds.version)
	if ds.rules != nil {
		io.WriteString(h, ds.rules(b))
	}
	order := map[string]int{}
	for i, f := range in { // in is in ingest order
		order[f.Key] = i
	}
	sorted := slices.Clone(in)
	slices.SortFunc(sorted, func(x, y *rawFile) int { return cmp.Compare(x.Key, y.Key) })
	for _, f := range sorted {
		if ds.ordered {
			fmt.Fprintf(h, "%s %s %d\n", f.Key, strings.ToLower(f.Digest), order[f.Key])
		} else {
			fmt.Fprintf(h, "%s %s\n", f.Key, strings.ToLower(f.Digest))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rebuild writes the partitions of years, uploads their files and adds them
// and their states to commit.
func (b *builder) rebuild(ctx context.Context, ds *dataset, years []int, inputs map[int][]*rawFile, parts map[int]*PartitionResult, empty bool, commit *metastore.Commit) (err error) {
	var files []*rawFile
	seen := map[string]bool{}
	for _, y := range years {
		for _, f := range inputs[y] {
			if !seen[f.Key] {
				seen[f.Key] = true
				files = append(files, f)
			}
		}
	}
	plain := make([]metastore.File, len(files))
	for i, f := range files {
		plain[i] = f.File
	}
	dir, err := os.MkdirTemp(b.opts.TempDir, "bedrot-staging-")
	if err != nil {
		return fmt.Errorf("failed to create a staging work folder: %w", err)
	}
	defer os.RemoveAll(dir)
	w, err := b.engine.Workspace(ctx, plain, dir)
	if err != nil {
		return err
	}
	defer w.Close()
	conn := w.Conn()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE inputs (path VARCHAR, batch VARCHAR, dataset VARCHAR, seq INTEGER)"); err != nil {
		return fmt.Errorf("failed to prepare the staging build: %w", err)
	}
	for _, f := range files {
		if _, err := conn.ExecContext(ctx, "INSERT INTO inputs VALUES (?, ?, ?, ?)", w.Path(f.Key), cmp.Or(f.BatchID, f.Digest), ds.inputs[f.input].dataset, f.seq); err != nil {
			return fmt.Errorf("failed to prepare the staging build: %w", err)
		}
	}
	if ds.prepare != nil {
		if err := ds.prepare(ctx, b, conn); err != nil {
			return err
		}
	}

	var written []metastore.File
	defer func() {
		if err != nil {
			b.discard(context.WithoutCancel(ctx), written)
		}
	}()
	for _, y := range years {
		pr := parts[y]
		paths := map[string][]string{}
		for _, f := range inputs[y] {
			in := ds.inputs[f.input].dataset
			paths[in] = append(paths[in], w.Path(f.Key))
		}
		commit.Batches = append(commit.Batches, metastore.Batch{Dataset: ds.name, ID: pr.Partition})
		state := partitionState{Fingerprint: pr.Fingerprint, Version: ds.version, Inputs: pr.Inputs}
		if len(inputs[y]) == 0 && !(empty && y == placeholderYear) {
			pr.Action = Emptied
			b.res.Emptied++
		} else {
			local := filepath.Join(dir, pr.Partition+".parquet")
			q := "COPY (" + ds.query(paths, y) + ") TO " + sqlengine.QuoteString(local) + " (FORMAT parquet, COMPRESSION zstd)"
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("failed to build %s %s from %d raw files: %w", ds.name, pr.Partition, len(inputs[y]), err)
			}
			var rows int64
			if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlengine.QuoteString(local)+")").Scan(&rows); err != nil {
				return fmt.Errorf("failed to read back %s %s: %w", ds.name, pr.Partition, err)
			}
			key := fmt.Sprintf("staging/domain=%s/%s/%s-%s.parquet", ds.domain, pr.Partition, ds.file, b.res.RunID)
			f, err := b.upload(ctx, local, key)
			if err != nil {
				return err
			}
			f.Dataset, f.Rows, f.BatchID = ds.name, rows, pr.Partition
			batch := len(commit.Batches) - 1 // this partition's
			if held, err := b.validate(ctx, ds.name, pr, key, f, commit); err != nil || held {
				if err != nil {
					return err
				}
				commit.Batches = slices.Delete(commit.Batches, batch, batch+1)
				continue // no state: the next build tries again
			}
			f.Meta, _ = json.Marshal(map[string]any{"inputs": pr.Inputs, "fingerprint": pr.Fingerprint, "version": ds.version})
			written = append(written, f)
			commit.Batches[len(commit.Batches)-1].Rows = rows
			commit.Files = append(commit.Files, f)
			pr.Action, pr.Key, pr.Rows, pr.Size, pr.Digest = Rebuilt, key, rows, f.Size, f.Digest
			state.Key, state.Rows = key, rows
			b.res.Rebuilt++
			b.res.Rows += rows
			b.res.Files = append(b.res.Files, key)
			b.log.Info("staging partition rebuilt", "dataset", ds.name, "partition", pr.Partition, "rows", rows, "inputs", len(inputs[y]))
		}
		st, _ := json.Marshal(state)
		commit.States = append(commit.States, metastore.StreamState{Source: StateSource, Stream: ds.name + "/" + pr.Partition, State: st})
	}
	return nil
}

// upload announces key as pending for the run and stores the local file
// under it.
func (b *builder) upload(ctx context.Context, local, key string) (metastore.File, error) {
	if err := b.deps.Meta.AddPending(ctx, b.res.RunID, key); err != nil {
		return metastore.File{}, fmt.Errorf("failed to announce %s: %w", key, err)
	}
	fh, err := os.Open(local)
	if err != nil {
		return metastore.File{}, fmt.Errorf("failed to open the built file for %s: %w", key, err)
	}
	defer fh.Close()
	h := digest.New()
	n, err := b.deps.Store.Put(ctx, key, io.TeeReader(fh, h))
	if err != nil {
		return metastore.File{}, fmt.Errorf("failed to upload %s to %s: %w", key, b.deps.Store.Location(), err)
	}
	return metastore.File{Key: key, Size: n, Digest: h.String()}, nil
}

// discard deletes files a failed build uploaded and forgets them. On an
// unknown commit outcome the files are left for the sweeper, which deletes
// them only if no manifest lists them.
func (b *builder) discard(ctx context.Context, files []metastore.File) {
	for _, f := range files {
		if listed, err := b.deps.Meta.FileListed(ctx, f.Key); err != nil || listed {
			continue
		}
		if err := b.deps.Store.Delete(ctx, f.Key); err != nil {
			b.log.Warn("failed to delete an uncommitted staging file; the sweeper will", "key", f.Key, "error", err)
			continue
		}
		_ = b.deps.Meta.DropPending(ctx, f.Key)
	}
}

func newRunID(t time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return "staging-" + t.Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
}

// owner identifies this process as a run's owner, as the pipeline does.
func owner() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}

// validate checks a rebuilt partition's file against its dataset's suite.
// A partition that breaks it is held: its file moves to the domain's
// _quarantine folder with the validation result beside it (both listed in
// the quarantine.staging dataset by the same commit), and the partition's
// previous version stays in staging.
func (b *builder) validate(ctx context.Context, dataset string, pr *PartitionResult, key string, f metastore.File, commit *metastore.Commit) (bool, error) {
	q := b.deps.Quality
	if q == nil {
		return false, nil
	}
	suite := q.SuiteFor(dataset)
	if suite == "" {
		return false, nil
	}
	if b.validator == nil {
		sess, err := q.Open(ctx)
		if errors.Is(err, pluginhost.ErrNotInstalled) {
			b.log.Warn("not validated: the validator plugin is not installed", "dataset", dataset)
			return false, nil
		}
		if err != nil {
			return false, err
		}
		b.validator = sess
	}
	out, err := b.validator.ValidateKeys(ctx, dataset, suite, []string{key}, quality.Options{RunID: b.res.RunID})
	if err != nil {
		return false, fmt.Errorf("failed to validate %s %s: %w", dataset, pr.Partition, err)
	}
	if _, err := q.Record(ctx, out); err != nil {
		return false, err
	}
	pr.Validation = out.ID
	if out.Success {
		return false, nil
	}
	qkey := path.Dir(path.Dir(key)) + "/_quarantine/" + path.Base(path.Dir(key)) + "-" + path.Base(key)
	if err := b.deps.Meta.AddPending(ctx, b.res.RunID, qkey, qkey+".reason.json"); err != nil {
		return false, err
	}
	obj, err := b.deps.Store.Open(ctx, key)
	if err != nil {
		return false, err
	}
	_, err = b.deps.Store.Put(ctx, qkey, obj)
	obj.Close()
	if err != nil {
		return false, err
	}
	reason, _ := json.MarshalIndent(map[string]any{"dataset": dataset, "partition": pr.Partition, "run_id": b.res.RunID,
		"reason": "the rebuilt partition breaks its expectation suite; the previous version stays in staging", "validation": out.Result}, "", "  ")
	n, err := b.deps.Store.Put(ctx, qkey+".reason.json", bytes.NewReader(reason))
	if err != nil {
		return false, err
	}
	if err := b.deps.Store.Delete(ctx, key); err == nil {
		_ = b.deps.Meta.DropPending(ctx, key)
	}
	batch := "held-" + b.res.RunID + "-" + dataset + "-" + pr.Partition
	commit.Batches = append(commit.Batches, metastore.Batch{Dataset: "quarantine.staging", ID: batch, RunID: b.res.RunID})
	commit.Files = append(commit.Files,
		metastore.File{Dataset: "quarantine.staging", Key: qkey, Size: f.Size, Digest: f.Digest, Rows: f.Rows, BatchID: batch, RunID: b.res.RunID},
		metastore.File{Dataset: "quarantine.staging", Key: qkey + ".reason.json", Size: n, Digest: digest.Of(reason), BatchID: batch, RunID: b.res.RunID})
	pr.Action, pr.Key = Held, qkey
	b.res.Held++
	b.log.Warn("staging partition breaks its suite; held in quarantine", "dataset", dataset, "partition", pr.Partition, "validation", out.ID)
	return true, nil
}
