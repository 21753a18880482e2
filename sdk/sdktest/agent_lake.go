package sdktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bedrot-label/bedrot/sdk"
)

// MemoryLake is an in-memory sdk.LakeServer for tests of agents and hosts:
// datasets given as record batches, an object map and a knowledge list. It
// enforces the calling run's assigned zones (sdk.LakeCallerFrom): reads
// outside Zones.Read and writes outside Zones.Write (sandbox when none are
// assigned) fail with sdk.ErrPermissionDenied and are recorded in Denials;
// writes beyond Limits.MaxWriteBytes fail with sdk.ErrBudgetExceeded.
// Objects in the sandbox land under sandbox/<agent_id>/<session_id>/<key>,
// in other zones under <zone>/<key>.
//
// Query understands only `SELECT * | col, … FROM dataset [LIMIT n]`; other
// statements that start with SELECT fail with a configuration error, and
// anything else is denied as not read-only. It is safe for concurrent use.
type MemoryLake struct {
	mu        sync.Mutex
	datasets  map[string]*memDataset
	objects   map[string][]byte
	knowledge []sdk.KnowledgeEntry
	denials   []string
	written   map[string]int64 // bytes written per session
}

type memDataset struct {
	schema  sdk.Schema
	batches []*sdk.RecordBatch
	rows    int64
}

var _ sdk.LakeServer = (*MemoryLake)(nil)

// NewMemoryLake returns an empty lake.
func NewMemoryLake() *MemoryLake {
	return &MemoryLake{datasets: map[string]*memDataset{}, objects: map[string][]byte{}, written: map[string]int64{}}
}

// AddDataset adds (or replaces) a dataset named zone.name, e.g.
// staging.tiktok_daily_metrics. The batches are copied, so a BatchBuilder
// may be reused after the call. It panics if a batch does not match the
// schema or the name has no lake zone: both are mistakes in the test.
func (l *MemoryLake) AddDataset(name string, schema sdk.Schema, batches ...*sdk.RecordBatch) *MemoryLake {
	if !sdk.IsLakeZone(zoneOf(name)) {
		panic(fmt.Sprintf("sdktest: dataset %q must be named zone.name with a lake zone (%s)", name, strings.Join(sdk.LakeZones, ", ")))
	}
	d := &memDataset{schema: schema}
	for _, b := range batches {
		if err := b.Validate(schema); err != nil {
			panic(fmt.Sprintf("sdktest: dataset %q: %v", name, err))
		}
		d.batches = append(d.batches, cloneBatch(b))
		d.rows += int64(b.NumRows)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.datasets[name] = d
	return l
}

// SeedKnowledge adds entries to the knowledge base as they are (ids kept;
// empty ids are assigned).
func (l *MemoryLake) SeedKnowledge(entries ...sdk.KnowledgeEntry) *MemoryLake {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range entries {
		if e.ID == "" {
			e.ID = "k-" + strconv.Itoa(len(l.knowledge)+1)
		}
		l.knowledge = append(l.knowledge, e)
	}
	return l
}

// Object returns the object stored under a lake key (as PutObject returned
// it).
func (l *MemoryLake) Object(key string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.objects[key]
	return b, ok
}

// Objects returns a copy of every object by lake key.
func (l *MemoryLake) Objects() map[string][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.objects)
}

// Knowledge returns the knowledge base's entries in the order they came.
func (l *MemoryLake) Knowledge() []sdk.KnowledgeEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.knowledge)
}

// Denials returns the messages of every call the zone policy refused.
func (l *MemoryLake) Denials() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.denials)
}

func zoneOf(dataset string) string {
	z, _, _ := strings.Cut(dataset, ".")
	return z
}

// deny records and returns a permission error.
func (l *MemoryLake) deny(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.denials = append(l.denials, msg)
	l.mu.Unlock()
	return fmt.Errorf("%w: %s", sdk.ErrPermissionDenied, msg)
}

func callerOf(ctx context.Context) sdk.LakeCaller {
	c, _ := sdk.LakeCallerFrom(ctx)
	return c
}

func (l *MemoryLake) checkRead(ctx context.Context, dataset string) error {
	c := callerOf(ctx)
	if z := zoneOf(dataset); !c.Zones.CanRead(z) {
		return l.deny("rule assigned-zones: task %q of agent %s may read zones %v, not %s (dataset %s)", c.Task, c.AgentID, c.Zones.Read, z, dataset)
	}
	return nil
}

// ListDatasets lists the readable datasets with the prefix, by name.
func (l *MemoryLake) ListDatasets(ctx context.Context, prefix string) ([]sdk.DatasetInfo, error) {
	c := callerOf(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sdk.DatasetInfo
	for _, name := range slices.Sorted(maps.Keys(l.datasets)) {
		if strings.HasPrefix(name, prefix) && c.Zones.CanRead(zoneOf(name)) {
			d := l.datasets[name]
			out = append(out, sdk.DatasetInfo{Name: name, Zone: zoneOf(name), Rows: d.rows, Files: int64(len(d.batches))})
		}
	}
	return out, nil
}

// ReadDataset streams a dataset, projected to the columns and cut at the limit.
func (l *MemoryLake) ReadDataset(ctx context.Context, req sdk.ReadDatasetRequest) (sdk.TableReader, error) {
	if err := l.checkRead(ctx, req.Name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	d, ok := l.datasets[req.Name]
	l.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: dataset %q; ListDatasets shows what exists", sdk.ErrNotFound, req.Name)
	}
	return project(d, req.Name, req.Columns, req.Limit)
}

var selectPattern = regexp.MustCompile(`(?is)^\s*select\s+(.+?)\s+from\s+([a-z0-9_.]+)\s*(?:limit\s+(\d+))?\s*;?\s*$`)

// Query answers `SELECT * | col, … FROM dataset [LIMIT n]`.
func (l *MemoryLake) Query(ctx context.Context, sql string, limit int64) (sdk.TableReader, error) {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(sql)), "select") {
		return nil, l.deny("rule read-only-sql: Query runs only SELECT statements, got %q", sql)
	}
	m := selectPattern.FindStringSubmatch(sql)
	if m == nil {
		return nil, sdk.ConfigError(fmt.Errorf("the memory lake answers only SELECT * | col, … FROM dataset [LIMIT n], got %q", sql))
	}
	var cols []string
	if strings.TrimSpace(m[1]) != "*" {
		for _, c := range strings.Split(m[1], ",") {
			cols = append(cols, strings.TrimSpace(c))
		}
	}
	if m[3] != "" {
		n, _ := strconv.ParseInt(m[3], 10, 64)
		if limit == 0 || n < limit {
			limit = n
		}
	}
	return l.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: m[2], Columns: cols, Limit: limit})
}

// PutObject stores body under the zone if the run may write there.
func (l *MemoryLake) PutObject(ctx context.Context, zone, key, _ string, body io.Reader) (sdk.ObjectInfo, error) {
	c := callerOf(ctx)
	if !sdk.IsLakeZone(zone) {
		return sdk.ObjectInfo{}, sdk.ConfigError(fmt.Errorf("zone %q is not a lake zone (%s)", zone, strings.Join(sdk.LakeZones, ", ")))
	}
	if !c.Zones.CanWrite(zone) {
		write := c.Zones.Write
		if len(write) == 0 {
			write = []string{sdk.ZoneSandbox}
		}
		return sdk.ObjectInfo{}, l.deny("rule assigned-zones: task %q of agent %s may write zones %v, not %s (key %s)", c.Task, c.AgentID, write, zone, key)
	}
	if err := sdk.ValidateObjectKey(key); err != nil {
		return sdk.ObjectInfo{}, err
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, body); err != nil {
		return sdk.ObjectInfo{}, err
	}
	lakeKey := zone + "/" + key
	if zone == sdk.ZoneSandbox {
		lakeKey = fmt.Sprintf("%s/%s/%s/%s", zone, nonEmpty(c.AgentID, "unknown-agent"), nonEmpty(c.SessionID, "unknown-session"), key)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if budget := c.Limits.MaxWriteBytes; budget > 0 && l.written[c.SessionID]+int64(buf.Len()) > budget {
		return sdk.ObjectInfo{}, fmt.Errorf("%w: session %s may write %d bytes; %d are written and %s would add %d",
			sdk.ErrBudgetExceeded, c.SessionID, budget, l.written[c.SessionID], key, buf.Len())
	}
	l.written[c.SessionID] += int64(buf.Len())
	l.objects[lakeKey] = buf.Bytes()
	sum := sha256.Sum256(buf.Bytes())
	return sdk.ObjectInfo{Zone: zone, Key: lakeKey, Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}, nil
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// SearchKnowledge returns entries whose title, body, tags or datasets
// contain query (case-insensitive); an empty query matches everything.
func (l *MemoryLake) SearchKnowledge(_ context.Context, query string, limit int) ([]sdk.KnowledgeEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := strings.ToLower(query)
	var out []sdk.KnowledgeEntry
	for _, e := range l.knowledge {
		text := strings.ToLower(strings.Join(append(append([]string{e.Title, e.Body}, e.Tags...), e.Datasets...), "\n"))
		if strings.Contains(text, q) {
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// AddKnowledge appends an entry and returns its new id.
func (l *MemoryLake) AddKnowledge(_ context.Context, e sdk.KnowledgeEntry) (string, error) {
	if err := e.Validate(); err != nil {
		return "", sdk.ConfigError(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID = "k-" + strconv.Itoa(len(l.knowledge)+1)
	l.knowledge = append(l.knowledge, e)
	return e.ID, nil
}

// project builds a reader over a dataset's columns, cut at limit rows.
func project(d *memDataset, name string, columns []string, limit int64) (sdk.TableReader, error) {
	idx := make([]int, 0, len(d.schema.Fields))
	if len(columns) == 0 {
		for i := range d.schema.Fields {
			idx = append(idx, i)
		}
	}
	for _, c := range columns {
		i := slices.IndexFunc(d.schema.Fields, func(f sdk.Field) bool { return f.Name == c })
		if i < 0 {
			return nil, sdk.ConfigError(fmt.Errorf("dataset %s has no column %q", name, c))
		}
		idx = append(idx, i)
	}
	schema := sdk.Schema{}
	for _, i := range idx {
		schema.Fields = append(schema.Fields, d.schema.Fields[i])
	}
	var out []*sdk.RecordBatch
	left := limit
	for _, b := range d.batches {
		n := b.NumRows
		if limit > 0 {
			if left == 0 {
				break
			}
			n = int(min(int64(n), left))
			left -= int64(n)
		}
		pb := &sdk.RecordBatch{Stream: name, NumRows: n}
		for _, i := range idx {
			pb.Columns = append(pb.Columns, headColumn(b.Columns[i], n))
		}
		out = append(out, pb)
	}
	return &sliceReader{schema: schema, batches: out}, nil
}

// headColumn returns the first n values of a column (sharing memory).
func headColumn(c sdk.Column, n int) sdk.Column {
	cut := func(l int) int { return min(l, n) }
	h := sdk.Column{Int64s: c.Int64s[:cut(len(c.Int64s))], Int32s: c.Int32s[:cut(len(c.Int32s))],
		Float64s: c.Float64s[:cut(len(c.Float64s))], Bools: c.Bools[:cut(len(c.Bools))], Bytes: c.Bytes}
	if len(c.Offsets) > 0 {
		h.Offsets = c.Offsets[:min(len(c.Offsets), n+1)]
	}
	if c.Null != nil {
		h.Null = c.Null[:n]
	}
	return h
}

func cloneBatch(b *sdk.RecordBatch) *sdk.RecordBatch {
	c := &sdk.RecordBatch{Stream: b.Stream, PayloadID: b.PayloadID, NumRows: b.NumRows, Columns: make([]sdk.Column, len(b.Columns))}
	for i, col := range b.Columns {
		c.Columns[i] = sdk.Column{Int64s: slices.Clone(col.Int64s), Int32s: slices.Clone(col.Int32s), Float64s: slices.Clone(col.Float64s),
			Bools: slices.Clone(col.Bools), Bytes: slices.Clone(col.Bytes), Offsets: slices.Clone(col.Offsets), Null: slices.Clone(col.Null)}
	}
	return c
}

// sliceReader reads batches from memory.
type sliceReader struct {
	schema  sdk.Schema
	batches []*sdk.RecordBatch
}

func (r *sliceReader) Schema() sdk.Schema { return r.schema }

func (r *sliceReader) Next() (*sdk.RecordBatch, error) {
	if len(r.batches) == 0 {
		return nil, io.EOF
	}
	b := r.batches[0]
	r.batches = r.batches[1:]
	return b, nil
}

func (r *sliceReader) Close() error { return nil }
