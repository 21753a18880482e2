package access

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/bedrot-label/bedrot/sdk"
)

// LakeOptions configure a GuardedLake.
type LakeOptions struct {
	// Role is the policy role of every caller (default "ai_agent").
	Role string
	// RoleOf, when set, picks the role per caller instead of Role.
	RoleOf func(sdk.LakeCaller) string
	// Catalog lists every dataset name of the lake, to find the datasets a
	// query names. Default: the inner lake's ListDatasets with a caller
	// allowed to read every zone.
	Catalog func(ctx context.Context) ([]string, error)
}

// GuardedLake wraps an sdk.LakeServer and applies a Guard to every call,
// deny by default, every decision audited:
//
//   - ListDatasets, ReadDataset, Query need read on each dataset's zone
//     (the first segment of its name: raw.spotify.tracks is in raw). A
//     query is checked against every dataset whose name, or schema-qualified
//     table name, it mentions (as host/sqlengine resolves them), and against
//     every zone it names as a schema (curated.x, "raw"."y"), so it is
//     denied when it names a zone the role cannot read.
//   - PutObject needs write on the zone by the role AND the zone in the
//     caller's granted zones (sdk.LakeCallerFrom: Zones.Write, the sandbox
//     when none).
//   - SearchKnowledge and AddKnowledge need read and write on knowledge.
//
// Bytes read (record batches, knowledge found) and written (objects,
// knowledge added) are counted per session against the role's quota
// budgets, or the caller's Limits when smaller; a call past them fails with
// an error wrapping sdk.ErrBudgetExceeded. A call without a LakeCaller has
// no principal and is denied.
type GuardedLake struct {
	inner sdk.LakeServer
	guard *Guard
	opts  LakeOptions

	mu    sync.Mutex
	usage map[string]*Usage
}

// Usage is what a session has read and written.
type Usage struct {
	ReadBytes  int64
	WriteBytes int64
}

var _ sdk.LakeServer = (*GuardedLake)(nil)

// NewGuardedLake wraps inner.
func NewGuardedLake(inner sdk.LakeServer, guard *Guard, opts LakeOptions) *GuardedLake {
	if opts.Role == "" {
		opts.Role = "ai_agent"
	}
	return &GuardedLake{inner: inner, guard: guard, opts: opts, usage: map[string]*Usage{}}
}

// Usage returns what a session has read and written so far.
func (l *GuardedLake) Usage(sessionID string) Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.usage[sessionID]; u != nil {
		return *u
	}
	return Usage{}
}

// ForgetSession drops a finished session's byte counts.
func (l *GuardedLake) ForgetSession(sessionID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.usage, sessionID)
}

// call is one call's caller, principal and budgets.
type call struct {
	caller    sdk.LakeCaller
	principal Principal
	hasCaller bool
	readMax   int64
	writeMax  int64
}

func (l *GuardedLake) callOf(ctx context.Context) call {
	c, ok := sdk.LakeCallerFrom(ctx)
	cl := call{caller: c, hasCaller: ok}
	if !ok {
		return cl // no role: denied by default
	}
	role := l.opts.Role
	if l.opts.RoleOf != nil {
		role = l.opts.RoleOf(c)
	}
	cl.principal = Principal{Role: role, AgentID: c.AgentID, SessionID: c.SessionID}
	_, q := l.guard.Policy().Constraints(role)
	cl.readMax = minBudget(q.ReadBytes, c.Limits.MaxReadBytes)
	cl.writeMax = minBudget(q.WriteBytes, c.Limits.MaxWriteBytes)
	return cl
}

// minBudget is the smaller of two budgets, 0 meaning none.
func minBudget(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func (l *GuardedLake) check(ctx context.Context, c call, op Op, zone, resource string) error {
	req := Request{Principal: c.principal, Op: op, Zone: zone, Resource: resource}
	if c.hasCaller {
		z := c.caller.Zones
		req.Grant = &z
	}
	return l.guard.Check(ctx, req)
}

// spend adds n bytes to a session's reads or writes, or refuses them when
// they would pass max (0: no budget).
func (l *GuardedLake) spend(c call, write bool, n int64, what string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.usage[c.principal.SessionID]
	if u == nil {
		u = &Usage{}
		l.usage[c.principal.SessionID] = u
	}
	used, max, kind := &u.ReadBytes, c.readMax, "read"
	if write {
		used, max, kind = &u.WriteBytes, c.writeMax, "write"
	}
	if max > 0 && *used+n > max {
		return fmt.Errorf("%w: session %s may %s %d bytes in all; %d are spent and %s needs %d more (the role's resource_quota sets the budget)",
			sdk.ErrBudgetExceeded, c.principal.SessionID, kind, max, *used, what, n)
	}
	*used += n
	return nil
}

func zoneOf(dataset string) string {
	z, _, _ := strings.Cut(dataset, ".")
	return z
}

// ListDatasets lists the datasets of zones the role may read. A prefix
// inside one zone is checked like a read of that zone; otherwise datasets
// of unreadable zones are left out, each such zone audited as a denial.
func (l *GuardedLake) ListDatasets(ctx context.Context, prefix string) ([]sdk.DatasetInfo, error) {
	c := l.callOf(ctx)
	allowed := map[string]bool{}
	if z, _, found := strings.Cut(prefix, "."); found || sdk.IsLakeZone(prefix) {
		if err := l.check(ctx, c, OpRead, z, prefix+"*"); err != nil {
			return nil, err
		}
		allowed[z] = true
	} else if !c.hasCaller {
		return nil, l.check(ctx, c, OpRead, "", prefix+"*")
	}
	all, err := l.inner.ListDatasets(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []sdk.DatasetInfo
	for _, d := range all {
		z := zoneOf(d.Name)
		ok, seen := allowed[z]
		if !seen {
			ok = l.check(ctx, c, OpRead, z, prefix+"*") == nil
			allowed[z] = ok
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// ReadDataset checks read on the dataset's zone and counts the bytes read.
func (l *GuardedLake) ReadDataset(ctx context.Context, req sdk.ReadDatasetRequest) (sdk.TableReader, error) {
	c := l.callOf(ctx)
	if err := l.check(ctx, c, OpRead, zoneOf(req.Name), req.Name); err != nil {
		return nil, err
	}
	if err := l.budgetLeft(c, false, "dataset "+req.Name); err != nil {
		return nil, err
	}
	r, err := l.inner.ReadDataset(ctx, req)
	if err != nil {
		return nil, err
	}
	return &countingReader{TableReader: r, lake: l, call: c, what: "dataset " + req.Name}, nil
}

// budgetLeft fails when the session's budget is already spent.
func (l *GuardedLake) budgetLeft(c call, write bool, what string) error {
	max := c.readMax
	if write {
		max = c.writeMax
	}
	if max == 0 {
		return nil
	}
	u := l.Usage(c.principal.SessionID)
	used := u.ReadBytes
	if write {
		used = u.WriteBytes
	}
	if used >= max {
		kind := "read"
		if write {
			kind = "write"
		}
		return fmt.Errorf("%w: session %s has spent its %s budget of %d bytes, so %s is refused (the role's resource_quota sets the budget)",
			sdk.ErrBudgetExceeded, c.principal.SessionID, kind, max, what)
	}
	return nil
}

// zoneSchema finds zones named as a schema: raw.x, "raw".x, raw . x.
var zoneSchema = regexp.MustCompile(`(?i)(?:^|[^a-z0-9_."])"?(` + strings.Join(sdk.LakeZones, "|") + `)"?\s*\.`)

// QueryZones returns the zones a query reads and the datasets it names, by
// host/sqlengine's rule: a dataset is used when its name, or its table name
// (the part after the zone, dots turned into underscores), appears in the
// query, case-insensitively; and every zone named as a schema counts too.
func QueryZones(query string, datasets []string) (zones, named []string) {
	q := strings.ToLower(query)
	add := func(z string) {
		if !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	for _, m := range zoneSchema.FindAllStringSubmatch(query, -1) {
		add(strings.ToLower(m[1]))
	}
	for _, name := range datasets {
		parts := strings.Split(name, ".")
		if len(parts) < 2 {
			continue
		}
		table := strings.ToLower(strings.Join(parts[1:], "_"))
		if strings.Contains(q, strings.ToLower(name)) || strings.Contains(q, table) {
			named = append(named, name)
			add(parts[0])
		}
	}
	return zones, named
}

func (l *GuardedLake) catalog(ctx context.Context, c call) ([]string, error) {
	if l.opts.Catalog != nil {
		return l.opts.Catalog(ctx)
	}
	all := c.caller
	all.Zones = sdk.ZoneAccess{Read: slices.Clone(sdk.LakeZones)}
	infos, err := l.inner.ListDatasets(sdk.WithLakeCaller(ctx, all), "")
	if err != nil {
		return nil, fmt.Errorf("failed to list the lake's datasets to check the query: %w", err)
	}
	names := make([]string, len(infos))
	for i, d := range infos {
		names[i] = d.Name
	}
	return names, nil
}

// Query checks read on every zone the SQL names and counts the bytes read.
func (l *GuardedLake) Query(ctx context.Context, sql string, limit int64) (sdk.TableReader, error) {
	c := l.callOf(ctx)
	if !c.hasCaller {
		return nil, l.check(ctx, c, OpRead, "", "query")
	}
	names, err := l.catalog(ctx, c)
	if err != nil {
		return nil, err
	}
	zones, named := QueryZones(sql, names)
	for _, z := range zones {
		var res []string
		for _, n := range named {
			if zoneOf(n) == z {
				res = append(res, n)
			}
		}
		resource := "query naming " + z
		if len(res) > 0 {
			resource = "query of " + strings.Join(res, ", ")
		}
		if err := l.check(ctx, c, OpRead, z, resource); err != nil {
			return nil, err
		}
	}
	if err := l.budgetLeft(c, false, "the query"); err != nil {
		return nil, err
	}
	r, err := l.inner.Query(ctx, sql, limit)
	if err != nil {
		return nil, err
	}
	return &countingReader{TableReader: r, lake: l, call: c, what: "the query"}, nil
}

// PutObject checks write on the zone (role and grant) and counts the bytes.
func (l *GuardedLake) PutObject(ctx context.Context, zone, key, contentType string, body io.Reader) (sdk.ObjectInfo, error) {
	c := l.callOf(ctx)
	if err := l.check(ctx, c, OpWrite, zone, zone+"/"+key); err != nil {
		return sdk.ObjectInfo{}, err
	}
	what := "object " + zone + "/" + key
	if err := l.budgetLeft(c, true, what); err != nil {
		return sdk.ObjectInfo{}, err
	}
	return l.inner.PutObject(ctx, zone, key, contentType, &countingBody{r: body, lake: l, call: c, what: what})
}

// SearchKnowledge checks read on knowledge and counts the entries' bytes.
func (l *GuardedLake) SearchKnowledge(ctx context.Context, query string, limit int) ([]sdk.KnowledgeEntry, error) {
	c := l.callOf(ctx)
	if err := l.check(ctx, c, OpRead, sdk.ZoneKnowledge, "knowledge search "+query); err != nil {
		return nil, err
	}
	if err := l.budgetLeft(c, false, "knowledge search"); err != nil {
		return nil, err
	}
	found, err := l.inner.SearchKnowledge(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	var n int64
	for _, e := range found {
		n += entrySize(e)
	}
	if err := l.spend(c, false, n, "knowledge search"); err != nil {
		return nil, err
	}
	return found, nil
}

// AddKnowledge checks write on knowledge, counts the entry's bytes and sets
// its Author to the calling agent.
func (l *GuardedLake) AddKnowledge(ctx context.Context, e sdk.KnowledgeEntry) (string, error) {
	c := l.callOf(ctx)
	if err := l.check(ctx, c, OpWrite, sdk.ZoneKnowledge, "knowledge entry "+e.Title); err != nil {
		return "", err
	}
	if err := l.spend(c, true, entrySize(e), "knowledge entry "+e.Title); err != nil {
		return "", err
	}
	e.Author = c.principal.AgentID
	return l.inner.AddKnowledge(ctx, e)
}

func entrySize(e sdk.KnowledgeEntry) int64 {
	n := len(e.Kind) + len(e.Title) + len(e.Body)
	for _, s := range e.Tags {
		n += len(s)
	}
	for _, s := range e.Datasets {
		n += len(s)
	}
	return int64(n)
}

// BatchBytes is the size of a batch's values as budgets count it: 8 bytes
// an int64 or float64, 4 an int32, 1 a bool or null flag, and a string's
// bytes plus a 4-byte offset.
func BatchBytes(b *sdk.RecordBatch) int64 {
	var n int
	for _, c := range b.Columns {
		n += 8*len(c.Int64s) + 4*len(c.Int32s) + 8*len(c.Float64s) + len(c.Bools) + len(c.Bytes) + len(c.Null)
		if len(c.Offsets) > 1 { // a string column: one offset per value
			n += 4 * (len(c.Offsets) - 1)
		}
	}
	return int64(n)
}

// countingReader counts batches against the session's read budget.
type countingReader struct {
	sdk.TableReader
	lake *GuardedLake
	call call
	what string
}

func (r *countingReader) Next() (*sdk.RecordBatch, error) {
	b, err := r.TableReader.Next()
	if err != nil {
		return b, err
	}
	if err := r.lake.spend(r.call, false, BatchBytes(b), r.what); err != nil {
		return nil, err
	}
	return b, nil
}

// countingBody counts an object's bytes against the write budget as they
// stream, failing the read that passes it.
type countingBody struct {
	r    io.Reader
	lake *GuardedLake
	call call
	what string
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		if serr := b.lake.spend(b.call, true, int64(n), b.what); serr != nil {
			return 0, serr
		}
	}
	return n, err
}
