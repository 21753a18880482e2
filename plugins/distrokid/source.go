// Package distrokid is the BEDROT source connector for DistroKid "bank
// details" earnings exports ("See Excruciating Detail" downloads).
//
// DistroKid has no API: users drop the exported files into an inbox folder,
// or name them on the command line (bedrot ingest distrokid FILE...). The
// source streams each new file byte for byte to the host as a payload and,
// while doing so, parses it into record batches of the earnings stream.
// Files are identified by the digest of their content (BLAKE3; SHA-256 for
// files a state recorded before), so a file that was already ingested is
// skipped however it is named.
//
// The parser (Parse) copes with every variant seen in real exports: the
// 13-column legacy layout, the 15-column 2025 layout and the hybrid; tab,
// comma or semicolon delimiters; quoted or unquoted fields; UTF-8, UTF-8
// with BOM, UTF-16 and windows-1252/latin-1; CRLF, LF and CR-only line ends;
// and the values Excel mangles on a re-save. Money is exact: amounts are
// scaled integers of 1e-12 USD, never floats. A file with any bad row is
// rejected whole: its payload is ended with one problem per bad value
// (file, line, field), so the host quarantines it.
package distrokid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// Version is the connector's version, reported in its Spec.
const Version = "0.1.0"

// Configuration parameter names.
const (
	// ParamInbox is a folder whose *.tsv, *.csv and *.txt files are ingested,
	// in name order.
	ParamInbox = "inbox"
	// ParamFiles is an explicit list of files, separated by the OS path-list
	// separator (':' on Unix, ';' on Windows).
	ParamFiles = "files"
)

// progressEvery is how many bytes pass between progress reports.
const progressEvery = 4 << 20

// Spec describes the connector and its parameters.
func Spec() sdk.Spec {
	return sdk.Spec{
		Name:    "distrokid",
		Version: Version,
		Description: "DistroKid bank-details earnings exports (TSV/CSV files from Bank → See Excruciating Detail), " +
			"read from an inbox folder or from named files.",
		Author: "BEDROT",
		Params: []sdk.Param{
			{Name: ParamInbox, Description: "Folder whose *.tsv, *.csv and *.txt files are ingested, in name order. " +
				"At least one of inbox and files is required."},
			{Name: ParamFiles, Description: "Files to ingest, separated by the OS path-list separator (':' on Unix). " +
				"At least one of inbox and files is required."},
		},
	}
}

// Source reads DistroKid exports. Create it with NewSource.
type Source struct {
	sdk.UnimplementedSource
	// now returns the time recorded as ingested_at; tests may replace it.
	now func() time.Time
}

// NewSource returns the DistroKid source.
func NewSource() sdk.Source { return &Source{now: time.Now} }

// config is the parsed plugin configuration.
type config struct {
	inbox string
	files []string
}

func parseConfig(cfg sdk.Config) (config, error) {
	c := config{inbox: strings.TrimSpace(cfg[ParamInbox])}
	for _, f := range filepath.SplitList(cfg[ParamFiles]) {
		if f = strings.TrimSpace(f); f != "" {
			c.files = append(c.files, f)
		}
	}
	if c.inbox == "" && len(c.files) == 0 {
		return c, sdk.ConfigError(fmt.Errorf("distrokid: set %q (a folder of exports) or %q (files to ingest)", ParamInbox, ParamFiles))
	}
	return c, nil
}

// isExport reports whether a file name in the inbox is an export to ingest.
func isExport(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".tsv", ".csv", ".txt":
		return true
	}
	return false
}

// paths lists the files to ingest: the inbox's exports in name order, then
// the explicit files in the order given, each once.
func (c config) paths() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		key := p
		if abs, err := filepath.Abs(p); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	if c.inbox != "" {
		entries, err := os.ReadDir(c.inbox)
		if err != nil {
			return nil, sdk.ConfigError(fmt.Errorf("failed to list the inbox %q: %w", c.inbox, err))
		}
		var names []string
		for _, e := range entries {
			if e.Type().IsRegular() && isExport(e.Name()) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			add(filepath.Join(c.inbox, n))
		}
	}
	for _, f := range c.files {
		add(f)
	}
	return out, nil
}

// Check verifies that the inbox is a readable folder and that every file
// exists and is readable.
func (s *Source) Check(ctx context.Context, cfg sdk.Config) error {
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	if c.inbox != "" {
		fi, err := os.Stat(c.inbox)
		if err != nil {
			return sdk.ConfigError(fmt.Errorf("inbox %q: %w", c.inbox, err))
		}
		if !fi.IsDir() {
			return sdk.ConfigError(fmt.Errorf("inbox %q is not a folder", c.inbox))
		}
	}
	paths, err := c.paths()
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkReadable(p); err != nil {
			return sdk.ConfigError(err)
		}
	}
	return nil
}

func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("file %q: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("file %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("file %q is not a regular file", path)
	}
	var b [1]byte
	if _, err := f.Read(b[:]); err != nil && err != io.EOF {
		return fmt.Errorf("file %q is not readable: %w", path, err)
	}
	return nil
}

// Discover returns the earnings stream.
func (s *Source) Discover(ctx context.Context, cfg sdk.Config) ([]sdk.Stream, error) {
	if _, err := parseConfig(cfg); err != nil {
		return nil, err
	}
	return []sdk.Stream{EarningsStream()}, nil
}

// State is the checkpoint of the earnings stream: the files ingested,
// keyed by the digest of their content (package digest: BLAKE3, or the
// bare hex SHA-256 of files ingested before payload digests were BLAKE3).
type State struct {
	Files map[string]FileState `json:"files"`
}

// FileState records one ingested file.
type FileState struct {
	Name       string    `json:"name"`
	Rows       int64     `json:"rows"`
	Bytes      int64     `json:"bytes,omitempty"`
	IngestedAt time.Time `json:"ingested_at"`
}

// ParseState decodes a checkpoint; nil or empty means no file ingested yet.
func ParseState(b []byte) (State, error) {
	st := State{Files: map[string]FileState{}}
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("failed to decode the distrokid state: %w", err)
	}
	if st.Files == nil {
		st.Files = map[string]FileState{}
	}
	return st, nil
}

// algorithmsFor returns the digest algorithms of the files in the state
// that a file of this size could be; only when there are some is the file
// hashed before it is read, with each of them.
func (st State) algorithmsFor(size int64) []string {
	var algos []string
	for key, f := range st.Files {
		if f.Bytes != size && f.Bytes != 0 {
			continue
		}
		if algo, err := digest.Algorithm(key); err == nil && !slices.Contains(algos, algo) {
			algos = append(algos, algo)
		}
	}
	slices.Sort(algos)
	return algos
}

// Read ingests every file not ingested yet. Per file it streams the bytes
// as a payload, emits the parsed batches, ends the payload with the rows
// and problems, and, for a file without problems, checkpoints the state.
func (s *Source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	if len(req.Streams) > 0 && !contains(req.Streams, StreamEarnings) {
		return nil
	}
	c, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	st, err := ParseState(req.State[StreamEarnings])
	if err != nil {
		return err
	}
	paths, err := c.paths()
	if err != nil {
		return err
	}
	sizes := make([]int64, len(paths))
	var total int64
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return sdk.ConfigError(fmt.Errorf("file %q: %w", p, err))
		}
		sizes[i] = fi.Size()
		total += fi.Size()
	}
	pr := &progress{out: out, total: total}
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := filepath.Base(p)
		if algos := st.algorithmsFor(sizes[i]); len(algos) > 0 {
			sums, err := hashFile(ctx, p, algos)
			if err != nil {
				return err
			}
			if sum, prev, ok := st.find(sums); ok {
				out.Log(sdk.LevelInfo, "skipping a DistroKid export already ingested", "file", name,
					"digest", sum, "ingested_as", prev.Name, "ingested_at", prev.IngestedAt.UTC().Format(time.RFC3339))
				pr.add(sizes[i], true)
				continue
			}
		}
		res, sum, n, err := s.ingest(ctx, p, out, pr)
		if err != nil {
			return err
		}
		if len(res.Problems) > 0 {
			out.Log(sdk.LevelWarn, "DistroKid export rejected: the host quarantines it", "file", name,
				"problems", len(res.Problems), "first", res.Problems[0].Message)
			continue
		}
		st.Files[sum] = FileState{Name: name, Rows: res.Rows, Bytes: n, IngestedAt: s.now().UTC()}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("failed to encode the distrokid state: %w", err)
		}
		if err := out.Checkpoint(StreamEarnings, b); err != nil {
			return fmt.Errorf("failed to checkpoint after %s: %w", name, err)
		}
		out.Log(sdk.LevelInfo, "ingested a DistroKid export", "file", name, "rows", res.Rows,
			"layout", res.Layout, "encoding", res.Encoding, "delimiter", string(res.Delimiter))
	}
	pr.flush()
	return nil
}

// ingest streams one file as a payload while parsing it.
func (s *Source) ingest(ctx context.Context, path string, out sdk.Emitter, pr *progress) (ParseResult, string, int64, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return ParseResult{}, "", 0, fmt.Errorf("failed to open %q: %w", path, err)
	}
	defer f.Close()
	// The host may copy the file to landing itself (it is on this
	// machine): the bytes read below are then hashed here, not sent.
	pl, err := sdk.BeginFilePayload(out, path, name, mediaType(name))
	if err != nil {
		return ParseResult{}, "", 0, fmt.Errorf("failed to begin the payload of %s: %w", name, err)
	}
	tee := &teeReader{ctx: ctx, r: f, w: pl, pr: pr}
	res, err := Parse(ctx, tee, ParseOptions{FileName: name, PayloadID: pl.ID(), Log: out.Log}, out.Batch)
	if err != nil {
		_ = pl.Close()
		return res, "", 0, err
	}
	if err := pl.Close(); err != nil {
		return res, "", 0, fmt.Errorf("failed to close the payload of %s: %w", name, err)
	}
	if err := pl.End(res.Rows, res.Problems); err != nil {
		return res, "", 0, fmt.Errorf("failed to end the payload of %s: %w", name, err)
	}
	return res, pl.Digest(), tee.n, nil
}

// mediaType is the payload's media type, from the file name.
func mediaType(name string) string {
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		return "text/csv"
	}
	return "text/tab-separated-values"
}

// teeReader reads a file, copying every byte to the payload (which hashes
// it) as it goes, and reports progress.
type teeReader struct {
	ctx context.Context
	r   io.Reader
	w   io.Writer
	pr  *progress
	n   int64
}

func (t *teeReader) Read(p []byte) (int, error) {
	if err := t.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			return n, fmt.Errorf("failed to write the payload: %w", werr)
		}
		t.n += int64(n)
		t.pr.add(int64(n), false)
	}
	return n, err
}

// progress reports bytes done every progressEvery bytes.
type progress struct {
	out        sdk.Emitter
	done, last int64
	total      int64
}

func (p *progress) add(n int64, force bool) {
	p.done += n
	if force || p.done-p.last >= progressEvery {
		p.flush()
	}
}

func (p *progress) flush() {
	p.last = p.done
	p.out.Progress(p.done, p.total, "bytes")
}

// find returns the first of a file's digests that the state holds.
func (st State) find(sums []string) (string, FileState, bool) {
	for _, sum := range sums {
		if f, ok := st.Files[sum]; ok {
			return sum, f, true
		}
	}
	return "", FileState{}, false
}

// hashFile returns the digests of a file's content, one per algorithm, in
// one pass over the file.
func hashFile(ctx context.Context, path string, algos []string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %q: %w", path, err)
	}
	defer f.Close()
	hs := make([]*digest.Hash, len(algos))
	for i, algo := range algos {
		if hs[i], err = digest.NewAlgorithm(algo); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, readChunk)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := f.Read(buf)
		for _, h := range hs {
			h.Write(buf[:n])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("failed to hash %q: %w", path, err)
		}
	}
	sums := make([]string, len(hs))
	for i, h := range hs {
		sums[i] = h.String()
	}
	return sums, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
