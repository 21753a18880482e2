// Package quality validates lake datasets and local files against
// expectation suites through a validator plugin (bedrot-validator-quality-ge
// by default): the host reads the data — a dataset's Parquet files as its
// manifest lists them, or a Parquet or CSV file — and streams it to the
// plugin as columnar batches; the plugin answers with a GX 1.x validation
// result, which the host records in the metastore.
//
// Suites are files users edit: <suites dir>/<dataset>.json (GX 0.x, 1.x or
// the shorthand form), config/suites in a checkout.
package quality

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/csvfile"
	"github.com/bedrot-label/bedrot/host/datadocs"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk"
)

// DefaultValidator is the validator plugin used when none is configured.
const DefaultValidator = "quality-ge"

// ErrNoSuite is returned when a dataset has no suite file.
var ErrNoSuite = errors.New("no expectation suite")

// Service validates datasets and files.
type Service struct {
	Store   storage.Store
	Meta    metastore.Store
	Plugins *pluginhost.Host
	// Validator is the validator plugin's name (default quality-ge).
	Validator string
	// SuitesDir holds <dataset>.json suites (default config/suites).
	SuitesDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Options tune a validation.
type Options struct {
	// Suite is a suite file; empty means <SuitesDir>/<dataset>.json.
	Suite string
	// ResultFormat is BOOLEAN_ONLY, BASIC, SUMMARY (default) or COMPLETE.
	ResultFormat string
	// RunID links the validation to a pipeline run.
	RunID string
}

// Outcome is a finished validation.
type Outcome struct {
	metastore.Validation
	// SuiteFile is the suite's path.
	SuiteFile string
	// Expectations is the suite's number of expectations.
	Expectations int
	// PluginPeakRSS is the validator process's peak resident memory.
	PluginPeakRSS int64
	// Docs is the key of the validation's data docs page, once recorded.
	Docs string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// SuiteFor returns the suite file of a dataset, or "" when it has none.
func (s *Service) SuiteFor(dataset string) string {
	p := s.SuitePath(dataset)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// SuitePath returns the suite file of a dataset.
func (s *Service) SuitePath(dataset string) string {
	dir := s.SuitesDir
	if dir == "" {
		dir = filepath.Join("config", "suites")
	}
	return filepath.Join(dir, dataset+".json")
}

// input is data to validate: its schema and its batches.
type input interface {
	Schema() sdk.Schema
	Next() (*sdk.RecordBatch, error)
}

// ValidateDataset validates every file a dataset's manifest lists and
// records the result.
func (s *Service) ValidateDataset(ctx context.Context, dataset string, opts Options) (Outcome, error) {
	suitePath := opts.Suite
	if suitePath == "" {
		if suitePath = s.SuiteFor(dataset); suitePath == "" {
			return Outcome{}, fmt.Errorf("%w for %s: write one at %s or pass --suite FILE", ErrNoSuite, dataset, s.SuitePath(dataset))
		}
	}
	files, err := s.Meta.ListFiles(ctx, dataset)
	if err != nil && !errors.Is(err, metastore.ErrNotFound) {
		return Outcome{}, err
	}
	if len(files) == 0 {
		return Outcome{}, fmt.Errorf("dataset %s has no files (see `bedrot status` for the datasets there are)", dataset)
	}
	in := &datasetInput{ctx: ctx, store: s.Store, files: files}
	defer in.close()
	if err := in.open(0); err != nil {
		return Outcome{}, err
	}
	out, err := s.validate(ctx, dataset, suitePath, in, opts)
	if err != nil {
		return out, err
	}
	out.Docs, err = s.Record(ctx, out)
	return out, err
}

// ValidateFile validates a local Parquet or CSV file; nothing is recorded.
func (s *Service) ValidateFile(ctx context.Context, path string, opts Options) (Outcome, error) {
	if opts.Suite == "" {
		return Outcome{}, fmt.Errorf("%w: validating a file needs --suite FILE", ErrNoSuite)
	}
	var in input
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		r, err := csvfile.Open(path)
		if err != nil {
			return Outcome{}, err
		}
		defer r.Close()
		in = r
	case ".parquet":
		f, err := os.Open(path)
		if err != nil {
			return Outcome{}, err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return Outcome{}, err
		}
		r, err := parquetfile.NewReader(f, fi.Size(), parquetfile.ReadOptions{})
		if err != nil {
			return Outcome{}, fmt.Errorf("%s: %w", path, err)
		}
		defer r.Close()
		in = r
	default:
		return Outcome{}, fmt.Errorf("%s: only .parquet and .csv files can be validated", path)
	}
	out, err := s.validate(ctx, filepath.Base(path), opts.Suite, in, opts)
	out.ID = "" // not recorded
	return out, err
}

func (s *Service) validate(ctx context.Context, dataset, suitePath string, in input, opts Options) (Outcome, error) {
	sess, err := s.Open(ctx)
	if err != nil {
		return Outcome{}, err
	}
	defer sess.Close()
	out, err := sess.validate(ctx, dataset, suitePath, in, opts)
	if err != nil {
		return out, err
	}
	sess.inst.Kill()
	out.PluginPeakRSS = sess.inst.PeakRSS()
	return out, nil
}

// Session is a running validator plugin that validates one input after
// another (the batches of a pipeline run). Close it when done.
type Session struct {
	s    *Service
	inst *pluginhost.Instance
}

// Open launches the validator plugin. It returns an error wrapping
// pluginhost.ErrNotInstalled when the plugin is not installed.
func (s *Service) Open(ctx context.Context) (*Session, error) {
	name := s.Validator
	if name == "" {
		name = DefaultValidator
	}
	inst, err := s.Plugins.Launch(ctx, sdk.KindValidator, name)
	if err != nil {
		return nil, err
	}
	return &Session{s: s, inst: inst}, nil
}

// Close stops the plugin.
func (sess *Session) Close() { sess.inst.Kill() }

// ValidateKeys validates the given Parquet objects of a dataset as one
// batch, without recording the result.
func (sess *Session) ValidateKeys(ctx context.Context, dataset, suitePath string, keys []string, opts Options) (Outcome, error) {
	files := make([]metastore.File, len(keys))
	for i, k := range keys {
		files[i] = metastore.File{Key: k}
	}
	in := &datasetInput{ctx: ctx, store: sess.s.Store, files: files}
	defer in.close()
	if err := in.open(0); err != nil {
		return Outcome{}, err
	}
	return sess.validate(ctx, dataset, suitePath, in, opts)
}

func (sess *Session) validate(ctx context.Context, dataset, suitePath string, in input, opts Options) (Outcome, error) {
	s, inst := sess.s, sess.inst
	suiteJSON, err := os.ReadFile(suitePath)
	if err != nil {
		return Outcome{}, fmt.Errorf("failed to read the suite: %w", err)
	}
	req := sdk.SuiteRequest{Suite: suiteJSON, SuiteFile: filepath.Base(suitePath)}
	info, err := inst.Validator.CheckSuite(ctx, req)
	if err != nil {
		return Outcome{}, inst.Describe(err)
	}
	start := s.now()
	st, err := inst.Validator.Validate(ctx, sdk.ValidateRequest{SuiteRequest: req, Dataset: dataset, Schema: in.Schema(), ResultFormat: opts.ResultFormat})
	if err != nil {
		return Outcome{}, inst.Describe(err)
	}
	for {
		b, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Outcome{}, err
		}
		if err := st.Send(b); err != nil {
			return Outcome{}, inst.Describe(err)
		}
	}
	res, err := st.Close()
	if err != nil {
		return Outcome{}, inst.Describe(err)
	}
	return Outcome{
		Validation: metastore.Validation{ID: newID(start), Dataset: dataset, Suite: info.Name, RunID: opts.RunID, StartedAt: start, FinishedAt: s.now(),
			Rows: res.Rows, Success: res.Success, Score: res.Score, Result: res.Result},
		SuiteFile: suitePath, Expectations: info.Expectations,
	}, nil
}

// WriteDocs renders a recorded validation's data docs page and its
// dataset's index (newest 200 validations) into the lake, and returns the
// page's key.
func (s *Service) WriteDocs(ctx context.Context, v metastore.Validation, suiteFile string) (string, error) {
	dir := zone.DataDocsDir(v.Dataset)
	var page bytes.Buffer
	if err := datadocs.RenderValidation(&page, datadocs.Page{ID: v.ID, Dataset: v.Dataset, Suite: v.Suite, SuiteFile: suiteFile, RunID: v.RunID,
		StartedAt: v.StartedAt, FinishedAt: v.FinishedAt, Rows: v.Rows, Success: v.Success, Score: v.Score, Result: v.Result}); err != nil {
		return "", err
	}
	key := dir + "/" + v.ID + ".html"
	if _, err := s.Store.Put(ctx, key, &page); err != nil {
		return "", fmt.Errorf("failed to write the data docs of %s: %w", v.ID, err)
	}
	list, err := s.Meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: v.Dataset, Limit: 200})
	if err != nil {
		return key, err
	}
	entries := make([]datadocs.IndexEntry, len(list))
	for i, e := range list {
		entries[i] = datadocs.IndexEntry{ID: e.ID, Dataset: e.Dataset, Suite: e.Suite, StartedAt: e.StartedAt, Rows: e.Rows,
			Success: e.Success, Score: e.Score, Href: e.ID + ".html"}
	}
	var index bytes.Buffer
	if err := datadocs.RenderIndex(&index, entries); err != nil {
		return key, err
	}
	if _, err := s.Store.Put(ctx, dir+"/index.html", &index); err != nil {
		return key, fmt.Errorf("failed to write the data docs index of %s: %w", v.Dataset, err)
	}
	return key, nil
}

// Record stores a validation and its data docs; it returns the page's key.
func (s *Service) Record(ctx context.Context, out Outcome) (string, error) {
	if err := s.Meta.AddValidation(ctx, out.Validation); err != nil {
		return "", err
	}
	return s.WriteDocs(ctx, out.Validation, out.SuiteFile)
}

func newID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "val-" + t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// datasetInput reads a dataset's files one after the other; every file
// must have the first file's schema.
type datasetInput struct {
	ctx    context.Context
	store  storage.Store
	files  []metastore.File
	i      int
	obj    storage.Object
	r      *parquetfile.Reader
	schema sdk.Schema
}

func (d *datasetInput) open(i int) error {
	d.close()
	d.i = i
	key := d.files[i].Key
	obj, err := d.store.Open(d.ctx, key)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", key, err)
	}
	r, err := parquetfile.NewReader(obj, obj.Size(), parquetfile.ReadOptions{})
	if err != nil {
		obj.Close()
		return fmt.Errorf("%s: %w", key, err)
	}
	d.obj, d.r = obj, r
	if i == 0 {
		d.schema = r.Schema()
	} else if !sameSchema(d.schema, r.Schema()) {
		return fmt.Errorf("%s has another schema than %s (%s vs %s): validate the files of one schema version with --suite on each file",
			key, d.files[0].Key, describe(r.Schema()), describe(d.schema))
	}
	return nil
}

func (d *datasetInput) close() {
	if d.r != nil {
		_ = d.r.Close()
		d.r = nil
	}
	if d.obj != nil {
		_ = d.obj.Close()
		d.obj = nil
	}
}

func (d *datasetInput) Schema() sdk.Schema { return d.schema }

func (d *datasetInput) Next() (*sdk.RecordBatch, error) {
	for {
		b, err := d.r.Next()
		if !errors.Is(err, io.EOF) {
			return b, err
		}
		if d.i+1 >= len(d.files) {
			return nil, io.EOF
		}
		if err := d.open(d.i + 1); err != nil {
			return nil, err
		}
	}
}

func sameSchema(a, b sdk.Schema) bool {
	return slices.EqualFunc(a.Fields, b.Fields, func(x, y sdk.Field) bool {
		return x.Name == y.Name && x.Type == y.Type && x.Nullable == y.Nullable && x.Precision == y.Precision && x.Scale == y.Scale
	})
}

func describe(s sdk.Schema) string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return strings.Join(names, ",")
}
