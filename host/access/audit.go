package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// AuditPrefix is where the audit log lives in the lake.
const AuditPrefix = ".agent/logs/audit/"

// Auditor records access decisions.
type Auditor interface {
	// Record keeps one decision. An error means the decision could not be
	// kept; Guard then refuses the call (fail closed).
	Record(ctx context.Context, d Decision) error
}

// AuditLine is one line of the JSON-lines audit log.
type AuditLine struct {
	Time      time.Time `json:"time"`
	Principal Principal `json:"principal"`
	Op        Op        `json:"op"`
	Zone      string    `json:"zone,omitempty"`
	Action    string    `json:"action,omitempty"`
	Resource  string    `json:"resource,omitempty"`
	Allowed   bool      `json:"allowed"`
	Rule      string    `json:"rule"`
	Reason    string    `json:"reason,omitempty"`
}

// LineOf returns the audit line of a decision.
func LineOf(d Decision) AuditLine {
	return AuditLine{Time: d.Time.UTC(), Principal: d.Request.Principal, Op: d.Request.Op, Zone: d.Request.Zone,
		Action: d.Request.Action, Resource: d.Request.Resource, Allowed: d.Allowed, Rule: d.Rule, Reason: d.Reason}
}

// JSONLOptions configure a JSONLAuditor.
type JSONLOptions struct {
	// Process names this process in object keys; it must be unique among
	// processes writing the same lake, including earlier runs of this one,
	// or a new object would replace an old one. Default:
	// bedrot-<start time>-<pid>.
	Process string
	// FlushLines flushes when this many lines are buffered (default 256).
	FlushLines int
	// FlushAge flushes, at the next Record, lines buffered longer than this
	// (default 10s).
	FlushAge time.Duration
}

// JSONLAuditor writes decisions as JSON lines to the lake's object store,
// one object per flush and day:
// .agent/logs/audit/date=YYYY-MM-DD/<process>-<seq>.jsonl (seq counts
// objects from 000001). Objects are immutable, so lines are buffered and
// written in chunks: every FlushLines lines, when the oldest buffered line
// is older than FlushAge (checked at Record), and on Flush and Close. A
// crash loses the lines buffered since the last flush; call Flush where
// that matters. It is safe for concurrent use.
type JSONLAuditor struct {
	store storage.Store
	opts  JSONLOptions

	mu     sync.Mutex
	buf    []AuditLine
	oldest time.Time
	seq    int
	closed bool
}

// NewJSONLAuditor returns an auditor writing to store.
func NewJSONLAuditor(store storage.Store, opts JSONLOptions) *JSONLAuditor {
	if opts.Process == "" {
		opts.Process = fmt.Sprintf("bedrot-%s-%d", time.Now().UTC().Format("20060102T150405.000000000Z"), os.Getpid())
	}
	if opts.FlushLines <= 0 {
		opts.FlushLines = 256
	}
	if opts.FlushAge <= 0 {
		opts.FlushAge = 10 * time.Second
	}
	return &JSONLAuditor{store: store, opts: opts}
}

// Record buffers one line and flushes when the buffer is full or old.
func (a *JSONLAuditor) Record(ctx context.Context, d Decision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.New("the audit log is closed; no decision can be recorded (open a new JSONLAuditor)")
	}
	if len(a.buf) == 0 {
		a.oldest = time.Now()
	}
	a.buf = append(a.buf, LineOf(d))
	if len(a.buf) >= a.opts.FlushLines || time.Since(a.oldest) >= a.opts.FlushAge {
		return a.flushLocked(ctx)
	}
	return nil
}

// Flush writes the buffered lines now.
func (a *JSONLAuditor) Flush(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flushLocked(ctx)
}

// Close flushes and refuses further records.
func (a *JSONLAuditor) Close(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.flushLocked(ctx)
	a.closed = true
	return err
}

// flushLocked writes one object per day of the buffered lines. Lines of a
// day whose object failed stay buffered for the next flush.
func (a *JSONLAuditor) flushLocked(ctx context.Context) error {
	if len(a.buf) == 0 {
		return nil
	}
	byDay := map[string][]AuditLine{}
	for _, l := range a.buf {
		day := l.Time.UTC().Format(time.DateOnly)
		byDay[day] = append(byDay[day], l)
	}
	var keep []AuditLine
	var errs []error
	for _, day := range slices.Sorted(maps.Keys(byDay)) {
		lines := byDay[day]
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return fmt.Errorf("failed to encode an audit line: %w", err)
			}
		}
		a.seq++
		key := fmt.Sprintf("%sdate=%s/%s-%06d.jsonl", AuditPrefix, day, a.opts.Process, a.seq)
		if _, err := a.store.Put(ctx, key, &b); err != nil {
			keep = append(keep, lines...)
			errs = append(errs, fmt.Errorf("failed to write the audit log %s to %s: %w (check the lake store is writable)", key, a.store.Location(), err))
		}
	}
	a.buf = keep
	if len(keep) > 0 {
		a.oldest = time.Now()
	}
	return errors.Join(errs...)
}

// Guard decides and audits in one call.
type Guard struct {
	policy  *Policy
	auditor Auditor
}

// NewGuard returns a guard applying policy and recording every decision
// with auditor (nil records nothing: tests only).
func NewGuard(policy *Policy, auditor Auditor) *Guard {
	return &Guard{policy: policy, auditor: auditor}
}

// Policy returns the guard's policy.
func (g *Guard) Policy() *Policy { return g.policy }

// Decide decides and audits a request and returns the decision; an audit
// failure turns an allowed decision into a denied one (fail closed) and is
// returned as well.
func (g *Guard) Decide(ctx context.Context, req Request) (Decision, error) {
	d := g.policy.Decide(ctx, req)
	if g.auditor != nil {
		if err := g.auditor.Record(ctx, d); err != nil {
			d.Allowed = false
			return d, fmt.Errorf("%w: the audit log could not record the decision, so the call is refused: %w", sdk.ErrPermissionDenied, err)
		}
	}
	return d, nil
}

// Check decides and audits a request: nil when allowed, else an error
// wrapping sdk.ErrPermissionDenied that names the rule.
func (g *Guard) Check(ctx context.Context, req Request) error {
	d, err := g.Decide(ctx, req)
	if err != nil {
		return err
	}
	return DenialError(d)
}

// DenialError returns nil for an allowed decision, else an error wrapping
// sdk.ErrPermissionDenied with the decision's rule and reason.
func DenialError(d Decision) error {
	if d.Allowed {
		return nil
	}
	r := d.Request
	target := r.Zone
	if r.Op == OpExecute {
		target = r.Action
	}
	what := fmt.Sprintf("%s %s", r.Op, target)
	if r.Resource != "" {
		what += " (" + r.Resource + ")"
	}
	return fmt.Errorf("%w: role %q may not %s: %s: %s", sdk.ErrPermissionDenied, r.Principal.Role, what, d.Rule, d.Reason)
}
