package distrokid

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
	"github.com/stretchr/testify/require"
)

// testEmitter records everything a source emits and checks the protocol:
// batches name an open payload, a payload is written, closed, then ended.
type testEmitter struct {
	t           *testing.T
	mu          sync.Mutex
	payloads    []*testPayload
	rows        map[string][][]string // payload ID → rows
	checkpoints [][]byte
	logs        []string
	progress    [][2]int64
	failBatch   error
}

func newTestEmitter(t *testing.T) *testEmitter {
	return &testEmitter{t: t, rows: map[string][][]string{}}
}

type testPayload struct {
	e                *testEmitter
	id, name, media  string
	buf              bytes.Buffer
	closed, ended    bool
	records          int64
	problems         []sdk.Problem
	rowsBeforeEnding int
}

func (e *testEmitter) BeginPayload(name, mediaType string) (sdk.Payload, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.payloads {
		require.True(e.t, p.ended, "a payload began before the previous one ended")
	}
	p := &testPayload{e: e, id: fmt.Sprintf("p%d", len(e.payloads)+1), name: name, media: mediaType}
	e.payloads = append(e.payloads, p)
	return p, nil
}

func (e *testEmitter) Batch(b *sdk.RecordBatch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failBatch != nil {
		return e.failBatch
	}
	require.NoError(e.t, b.Validate(EarningsSchema))
	var open *testPayload
	for _, p := range e.payloads {
		if p.id == b.PayloadID {
			open = p
		}
	}
	require.NotNil(e.t, open, "batch for an unknown payload")
	require.False(e.t, open.ended, "batch after the payload ended")
	e.rows[b.PayloadID] = append(e.rows[b.PayloadID], renderBatch(b)...) // copies: the batch is reused
	return nil
}

func (e *testEmitter) Checkpoint(stream string, state []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Equal(e.t, StreamEarnings, stream)
	e.checkpoints = append(e.checkpoints, append([]byte(nil), state...))
	return nil
}

func (e *testEmitter) Log(level sdk.LogLevel, msg string, keyvals ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Zero(e.t, len(keyvals)%2, "keyvals must be pairs")
	e.logs = append(e.logs, msg)
}

func (e *testEmitter) Progress(done, total int64, unit string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Equal(e.t, "bytes", unit)
	require.LessOrEqual(e.t, done, total)
	e.progress = append(e.progress, [2]int64{done, total})
}

func (p *testPayload) Write(b []byte) (int, error) {
	require.False(p.e.t, p.closed, "write after close")
	return p.buf.Write(b)
}

func (p *testPayload) Close() error {
	require.False(p.e.t, p.closed, "closed twice")
	p.closed = true
	return nil
}

func (p *testPayload) ID() string { return p.id }

func (p *testPayload) Digest() string { return digest.Of(p.buf.Bytes()) }

func (p *testPayload) End(records int64, problems []sdk.Problem) error {
	require.True(p.e.t, p.closed, "End before Close")
	require.False(p.e.t, p.ended, "ended twice")
	p.ended, p.records, p.problems = true, records, problems
	p.rowsBeforeEnding = len(p.e.rows[p.id])
	return nil
}

// lastState decodes the last checkpoint.
func (e *testEmitter) lastState(t *testing.T) State {
	t.Helper()
	require.NotEmpty(t, e.checkpoints)
	st, err := ParseState(e.checkpoints[len(e.checkpoints)-1])
	require.NoError(t, err)
	return st
}

// writeExport generates an export into dir/name and returns its bytes.
func writeExport(t *testing.T, dir, name string, opts exportgen.Options) ([]byte, exportgen.Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := exportgen.Write(&buf, opts)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
	return buf.Bytes(), sum
}

func TestSourceReadInbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b1, s1 := writeExport(t, dir, "b_2026.tsv", exportgen.Options{Rows: 9000, Quoted: true, Seed: 1})
	b2, s2 := writeExport(t, dir, "a_legacy.TXT", exportgen.Options{Rows: 300, Layout: exportgen.Legacy13, Encoding: exportgen.Latin1, LineEnd: exportgen.CR, Seed: 2})
	b3, s3 := writeExport(t, dir, "c_hybrid.csv", exportgen.Options{Rows: 50, Layout: exportgen.Hybrid15, Delimiter: ',', Encoding: exportgen.UTF8BOM, Seed: 3})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.md"), []byte("not an export"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.tsv"), 0o755))

	src := NewSource().(*Source)
	src.now = func() time.Time { return time.Date(2026, 3, 26, 10, 0, 0, 0, time.UTC) }
	cfg := sdk.Config{ParamInbox: dir}
	require.NoError(t, src.Check(context.Background(), cfg))
	e := newTestEmitter(t)
	require.NoError(t, src.Read(context.Background(), sdk.ReadRequest{Config: cfg}, e))

	require.Len(t, e.payloads, 3)
	want := []struct {
		name, media string
		data        []byte
		sum         exportgen.Summary
	}{
		{"a_legacy.TXT", "text/tab-separated-values", b2, s2},
		{"b_2026.tsv", "text/tab-separated-values", b1, s1},
		{"c_hybrid.csv", "text/csv", b3, s3},
	}
	for i, w := range want {
		p := e.payloads[i]
		require.Equal(t, w.name, p.name)
		require.Equal(t, w.media, p.media)
		require.True(t, bytes.Equal(w.data, p.buf.Bytes()), "payload %s differs from the file", w.name)
		require.True(t, p.ended)
		require.Empty(t, p.problems)
		require.Equal(t, w.sum.Rows, p.records)
		rows := e.rows[p.id]
		require.Len(t, rows, int(w.sum.Rows))
		var earnings int64
		for _, r := range rows {
			require.Equal(t, w.name, r[ColSourceFile])
			v, _, verr := parseDecimal([]byte(r[ColEarningsUSD]), DecimalPrecision, MoneyScale)
			require.Equal(t, errNone, verr)
			earnings += v
		}
		require.Equal(t, w.sum.EarningsE12, earnings)
	}
	require.Len(t, e.checkpoints, 3)
	st := e.lastState(t)
	require.Len(t, st.Files, 3)
	for _, w := range want {
		h := digest.Of(w.data)
		require.Equal(t, FileState{Name: w.name, Rows: w.sum.Rows, Bytes: int64(len(w.data)),
			IngestedAt: time.Date(2026, 3, 26, 10, 0, 0, 0, time.UTC)}, st.Files[h])
	}
	// The raw checkpoint is the documented JSON shape.
	var raw map[string]map[string]map[string]any
	require.NoError(t, json.Unmarshal(e.checkpoints[2], &raw))
	require.Equal(t, "b_2026.tsv", raw["files"][digest.Of(b1)]["name"])
	require.Equal(t, "2026-03-26T10:00:00Z", raw["files"][digest.Of(b1)]["ingested_at"])

	total := int64(len(b1) + len(b2) + len(b3))
	require.NotEmpty(t, e.progress)
	require.Equal(t, [2]int64{total, total}, e.progress[len(e.progress)-1])
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestSourceSkipsIngestedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, _ := writeExport(t, dir, "one.tsv", exportgen.Options{Rows: 100, Seed: 5})
	src := NewSource()
	cfg := sdk.Config{ParamInbox: dir}
	e1 := newTestEmitter(t)
	require.NoError(t, src.Read(context.Background(), sdk.ReadRequest{Config: cfg}, e1))
	require.Len(t, e1.payloads, 1)
	state := e1.checkpoints[len(e1.checkpoints)-1]

	// The same content under another name, plus a new file.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "one-again.tsv"), data, 0o644))
	writeExport(t, dir, "two.tsv", exportgen.Options{Rows: 10, Seed: 6})
	e2 := newTestEmitter(t)
	require.NoError(t, src.Read(context.Background(), sdk.ReadRequest{Config: cfg,
		State: map[string][]byte{StreamEarnings: state}}, e2))
	require.Len(t, e2.payloads, 1)
	require.Equal(t, "two.tsv", e2.payloads[0].name)
	require.Contains(t, e2.logs, "skipping a DistroKid export already ingested")
	require.Len(t, e2.lastState(t).Files, 2)

	// A third run finds nothing new and checkpoints nothing.
	e3 := newTestEmitter(t)
	require.NoError(t, src.Read(context.Background(), sdk.ReadRequest{Config: cfg,
		State: map[string][]byte{StreamEarnings: e2.checkpoints[len(e2.checkpoints)-1]}}, e3))
	require.Empty(t, e3.payloads)
	require.Empty(t, e3.checkpoints)

	// Two identical files in one run: the second is skipped.
	dir2 := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir2, "x1.tsv"), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir2, "x2.tsv"), data, 0o644))
	e4 := newTestEmitter(t)
	require.NoError(t, src.Read(context.Background(), sdk.ReadRequest{Config: sdk.Config{ParamInbox: dir2}}, e4))
	require.Len(t, e4.payloads, 1)
	require.Equal(t, "x1.tsv", e4.payloads[0].name)
}

// A state written before payload digests were BLAKE3 keys files by their
// SHA-256; those files are still known, and new ones are keyed by BLAKE3.
func TestSourceSkipsFilesInALegacyState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old, _ := writeExport(t, dir, "old.tsv", exportgen.Options{Rows: 50, Seed: 11})
	// As large as old.tsv, another content: the last digit of the last
	// row's earnings changed.
	sameSize := bytes.Clone(old)
	header := bytes.Split(sameSize[:bytes.IndexByte(sameSize, '\n')], []byte("\t"))
	col := slices.IndexFunc(header, func(h []byte) bool { return string(bytes.TrimSpace(h)) == "Earnings (USD)" })
	require.GreaterOrEqual(t, col, 0)
	last := bytes.LastIndexByte(bytes.TrimRight(sameSize, "\r\n"), '\n') + 1
	at := last
	for range col {
		at += bytes.IndexByte(sameSize[at:], '\t') + 1
	}
	end := at + bytes.IndexByte(sameSize[at:], '\t') - 1
	sameSize[end] = "10"[min(int(sameSize[end]-'0'), 1)] // 0 -> 1, other digits -> 0
	require.NoError(t, os.WriteFile(filepath.Join(dir, "same-size.tsv"), sameSize, 0o644))
	legacy := fmt.Sprintf(`{"files":{%q:{"name":"old.tsv","rows":50,"bytes":%d,"ingested_at":"2025-06-01T00:00:00Z"}}}`, sha256Hex(old), len(old))

	e := newTestEmitter(t)
	require.NoError(t, NewSource().Read(context.Background(), sdk.ReadRequest{Config: sdk.Config{ParamInbox: dir},
		State: map[string][]byte{StreamEarnings: []byte(legacy)}}, e))
	require.Len(t, e.payloads, 1, "old.tsv is skipped")
	require.Equal(t, "same-size.tsv", e.payloads[0].name)
	require.Contains(t, e.logs, "skipping a DistroKid export already ingested")
	st := e.lastState(t)
	require.Contains(t, st.Files, sha256Hex(old), "the legacy entry is kept")
	require.Contains(t, st.Files, digest.Of(sameSize))
	require.Len(t, st.Files, 2)
}

func TestSourceMalformedFileIsQuarantined(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad, err := os.ReadFile("testdata/malformed.tsv")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "1_bad.tsv"), bad, 0o644))
	writeExport(t, dir, "2_good.tsv", exportgen.Options{Rows: 20, Seed: 9})
	e := newTestEmitter(t)
	require.NoError(t, NewSource().Read(context.Background(), sdk.ReadRequest{Config: sdk.Config{ParamInbox: dir}}, e))
	require.Len(t, e.payloads, 2)
	p := e.payloads[0]
	require.Equal(t, bad, p.buf.Bytes(), "the bad file still lands byte for byte")
	require.Len(t, p.problems, 11)
	require.Equal(t, sdk.Problem{File: "1_bad.tsv", Line: 3, Field: "Quantity", Message: `not an integer: "12x"`}, p.problems[0])
	require.Zero(t, p.records)
	require.Empty(t, e.rows[p.id])
	require.Contains(t, e.logs, "DistroKid export rejected: the host quarantines it")
	// Only the good file is in the state, so the bad one is retried next time.
	st := e.lastState(t)
	require.Len(t, st.Files, 1)
	for _, f := range st.Files {
		require.Equal(t, "2_good.tsv", f.Name)
	}
}

func TestSourceFilesParam(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeExport(t, dir, "z.tsv", exportgen.Options{Rows: 5, Seed: 1})
	writeExport(t, dir, "a.tsv", exportgen.Options{Rows: 6, Seed: 2})
	files := filepath.Join(dir, "z.tsv") + string(os.PathListSeparator) + filepath.Join(dir, "a.tsv") +
		string(os.PathListSeparator) + filepath.Join(dir, "z.tsv")
	cfg := sdk.Config{ParamFiles: files}
	src := NewSource()
	require.NoError(t, src.Check(context.Background(), cfg))
	e := newTestEmitter(t)
	require.NoError(t, src.Read(context.Background(), sdk.ReadRequest{Config: cfg, Streams: []string{StreamEarnings}}, e))
	require.Len(t, e.payloads, 2, "a file named twice is read once")
	require.Equal(t, "z.tsv", e.payloads[0].name, "explicit files keep their order")
	require.Equal(t, "a.tsv", e.payloads[1].name)
}

func TestSourceCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f.tsv")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		cfg  sdk.Config
		want string
	}{
		{"nothing configured", sdk.Config{}, `set "inbox"`},
		{"missing inbox", sdk.Config{ParamInbox: missing}, missing},
		{"inbox is a file", sdk.Config{ParamInbox: file}, "is not a folder"},
		{"missing file", sdk.Config{ParamFiles: file + string(os.PathListSeparator) + missing}, missing},
		{"file is a folder", sdk.Config{ParamFiles: dir}, "is not a regular file"},
	}
	src := NewSource()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := src.Check(context.Background(), tc.cfg)
			require.Error(t, err)
			require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
			require.Contains(t, err.Error(), tc.want)
		})
	}
	require.NoError(t, src.Check(context.Background(), sdk.Config{ParamInbox: dir, ParamFiles: file}))
	err := src.Read(context.Background(), sdk.ReadRequest{Config: sdk.Config{ParamInbox: missing}}, newTestEmitter(t))
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
}

func TestSourceDiscoverAndSpec(t *testing.T) {
	t.Parallel()
	src := NewSource()
	streams, err := src.Discover(context.Background(), sdk.Config{ParamInbox: t.TempDir()})
	require.NoError(t, err)
	require.Len(t, streams, 1)
	s := streams[0]
	require.Equal(t, StreamEarnings, s.Name)
	require.Equal(t, []string{"source_file", "source_line"}, s.PrimaryKey)
	require.Empty(t, s.CursorField)
	var names []string
	for _, f := range s.Schema.Fields {
		names = append(names, f.Name+" "+f.TypeString())
		require.NotEmpty(t, f.Doc)
	}
	require.Equal(t, []string{
		"date_inserted date", "reporting_date date", "sale_month date", "store string", "artist string", "title string",
		"isrc string", "upc string", "quantity int64", "team_percentage decimal(18,6)", "source_type string",
		"country_of_sale string", "songwriter_royalties_withheld_usd decimal(18,12)", "earnings_usd decimal(18,12)",
		"recoup_usd decimal(18,12)", "extra_columns string", "source_file string", "source_line int64",
	}, names)
	_, err = src.Discover(context.Background(), sdk.Config{})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))

	spec := Spec()
	require.Equal(t, "distrokid", spec.Name)
	require.Equal(t, Version, spec.Version)
	require.Len(t, spec.Params, 2)
}

func TestSourceOtherStreamAndBadState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeExport(t, dir, "a.tsv", exportgen.Options{Rows: 5})
	cfg := sdk.Config{ParamInbox: dir}
	e := newTestEmitter(t)
	require.NoError(t, NewSource().Read(context.Background(), sdk.ReadRequest{Config: cfg, Streams: []string{"other"}}, e))
	require.Empty(t, e.payloads)

	err := NewSource().Read(context.Background(), sdk.ReadRequest{Config: cfg,
		State: map[string][]byte{StreamEarnings: []byte("{not json")}}, newTestEmitter(t))
	require.ErrorContains(t, err, "failed to decode the distrokid state")
}

func TestSourceCancelAndEmitErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeExport(t, dir, "a.tsv", exportgen.Options{Rows: 20000})
	cfg := sdk.Config{ParamInbox: dir}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := NewSource().Read(ctx, sdk.ReadRequest{Config: cfg}, newTestEmitter(t))
	require.ErrorIs(t, err, context.Canceled)

	// Cancelled while reading: the emitter cancels on the first batch.
	ctx, cancel = context.WithCancel(context.Background())
	e := &cancelEmitter{testEmitter: newTestEmitter(t), cancel: cancel}
	err = NewSource().Read(ctx, sdk.ReadRequest{Config: cfg}, e)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, e.checkpoints)

	boom := errors.New("host went away")
	e2 := newTestEmitter(t)
	e2.failBatch = boom
	err = NewSource().Read(context.Background(), sdk.ReadRequest{Config: cfg}, e2)
	require.ErrorIs(t, err, boom)
	require.Empty(t, e2.checkpoints)
}

type cancelEmitter struct {
	*testEmitter
	cancel context.CancelFunc
}

func (c *cancelEmitter) Batch(b *sdk.RecordBatch) error {
	c.cancel()
	return c.testEmitter.Batch(b)
}

func (e *testEmitter) UpdateConfig(map[string]string) error {
	e.t.Errorf("the DistroKid source has no credentials to rotate, yet it sent a configuration update")
	return nil
}
