package sdktest

import (
	"bytes"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// Recorder is an sdk.Emitter for in-process unit tests of a source: pass it
// to Source.Read and inspect what the source emitted. It checks the
// protocol as it goes — batches match their stream's schema and belong to a
// payload that has not ended, no write after Close, End after Close and
// once, a payload without problems ends with the rows it sent — and fails
// the test on a violation. It is safe for concurrent use.
type Recorder struct {
	t       testing.TB
	streams map[string]sdk.Stream

	mu          sync.Mutex
	payloads    []*RecordedPayload
	rows        map[string][]map[string]any
	checkpoints map[string][][]byte
	logs        []RecordedLog
	config      []map[string]string
}

// RecordedPayload is one payload a source emitted.
type RecordedPayload struct {
	id              string
	Name, MediaType string
	Data            []byte
	Closed, Ended   bool
	// Records is what End reported; Rows counts the rows batches carried.
	Records, Rows int64
	Problems      []sdk.Problem
	recorder      *Recorder
}

// RecordedLog is one log line.
type RecordedLog struct {
	Level   sdk.LogLevel
	Message string
	KeyVals []any
}

// NewRecorder returns a Recorder for a source with these streams (as its
// Discover returns them).
func NewRecorder(t testing.TB, streams []sdk.Stream) *Recorder {
	r := &Recorder{t: t, streams: map[string]sdk.Stream{}, rows: map[string][]map[string]any{}, checkpoints: map[string][][]byte{}}
	for _, s := range streams {
		r.streams[s.Name] = s
	}
	return r
}

// Payloads returns the payloads in the order they began.
func (r *Recorder) Payloads() []*RecordedPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*RecordedPayload(nil), r.payloads...)
}

// Rows returns a stream's rows decoded to Go values by field name: strings,
// int64 (also for decimals, unscaled, and timestamps, in microseconds),
// float64, bool, dates as "YYYY-MM-DD", and nil for nulls.
func (r *Recorder) Rows(stream string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rows[stream]
}

// Checkpoints returns a stream's checkpoints in order.
func (r *Recorder) Checkpoints(stream string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checkpoints[stream]
}

// Logs returns the log lines.
func (r *Recorder) Logs() []RecordedLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RecordedLog(nil), r.logs...)
}

// BeginPayload implements sdk.Emitter.
func (r *Recorder) BeginPayload(name, mediaType string) (sdk.Payload, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &RecordedPayload{id: fmt.Sprintf("p%d", len(r.payloads)+1), Name: name, MediaType: mediaType, recorder: r}
	r.payloads = append(r.payloads, p)
	return p, nil
}

// Batch implements sdk.Emitter; the batch is decoded at once, so the source
// may reuse it.
func (r *Recorder) Batch(b *sdk.RecordBatch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.streams[b.Stream]
	if !ok {
		r.t.Errorf("batch for stream %q, which Discover did not declare", b.Stream)
		return nil
	}
	if err := b.Validate(s.Schema); err != nil {
		r.t.Errorf("batch does not match its schema: %v", err)
		return nil
	}
	if b.PayloadID != "" {
		var p *RecordedPayload
		for _, q := range r.payloads {
			if q.id == b.PayloadID {
				p = q
			}
		}
		switch {
		case p == nil:
			r.t.Errorf("batch for unknown payload %q", b.PayloadID)
		case p.Ended:
			r.t.Errorf("batch for payload %q after it ended", p.Name)
		default:
			p.Rows += int64(b.NumRows)
		}
	}
	for i := 0; i < b.NumRows; i++ {
		row := make(map[string]any, len(s.Schema.Fields))
		for c, f := range s.Schema.Fields {
			row[f.Name] = value(&b.Columns[c], f, i)
		}
		r.rows[b.Stream] = append(r.rows[b.Stream], row)
	}
	return nil
}

func value(c *sdk.Column, f sdk.Field, i int) any {
	if c.IsNull(i) {
		return nil
	}
	switch f.Type {
	case sdk.TypeString:
		return c.String(i)
	case sdk.TypeDate:
		return time.Unix(int64(c.Int32s[i])*86400, 0).UTC().Format(time.DateOnly)
	case sdk.TypeFloat64:
		return c.Float64s[i]
	case sdk.TypeBool:
		return c.Bools[i]
	}
	return c.Int64s[i]
}

// Checkpoint implements sdk.Emitter.
func (r *Recorder) Checkpoint(stream string, state []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.streams[stream]; !ok {
		r.t.Errorf("checkpoint for stream %q, which Discover did not declare", stream)
	}
	r.checkpoints[stream] = append(r.checkpoints[stream], bytes.Clone(state))
	return nil
}

// UpdateConfig implements sdk.Emitter.
func (r *Recorder) UpdateConfig(values map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(values) == 0 {
		r.t.Errorf("UpdateConfig with no values")
	}
	r.config = append(r.config, maps.Clone(values))
	return nil
}

// ConfigUpdates returns the configuration updates in the order sent.
func (r *Recorder) ConfigUpdates() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]string(nil), r.config...)
}

// Config returns cfg with every configuration update applied, as the host
// would pass it on the next call.
func (r *Recorder) Config(cfg sdk.Config) sdk.Config {
	out := maps.Clone(cfg)
	if out == nil {
		out = sdk.Config{}
	}
	for _, u := range r.ConfigUpdates() {
		maps.Copy(out, u)
	}
	return out
}

// Log implements sdk.Emitter.
func (r *Recorder) Log(level sdk.LogLevel, msg string, keyvals ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(keyvals)%2 != 0 {
		r.t.Errorf("log %q: keyvals must come in pairs, got %d", msg, len(keyvals))
	}
	r.logs = append(r.logs, RecordedLog{Level: level, Message: msg, KeyVals: keyvals})
}

// Progress implements sdk.Emitter.
func (r *Recorder) Progress(done, total int64, unit string) {
	if total > 0 && done > total {
		r.t.Errorf("progress %d of %d %s: done exceeds total", done, total, unit)
	}
}

// Write implements io.Writer.
func (p *RecordedPayload) Write(b []byte) (int, error) {
	p.recorder.mu.Lock()
	defer p.recorder.mu.Unlock()
	if p.Closed {
		p.recorder.t.Errorf("payload %q: write after Close", p.Name)
	}
	p.Data = append(p.Data, b...)
	return len(b), nil
}

// Close implements io.Closer.
func (p *RecordedPayload) Close() error {
	p.recorder.mu.Lock()
	defer p.recorder.mu.Unlock()
	p.Closed = true
	return nil
}

// Digest implements sdk.Payload.
func (p *RecordedPayload) Digest() string {
	p.recorder.mu.Lock()
	defer p.recorder.mu.Unlock()
	return digest.Of(p.Data)
}

// End implements sdk.Payload.
func (p *RecordedPayload) End(records int64, problems []sdk.Problem) error {
	p.recorder.mu.Lock()
	defer p.recorder.mu.Unlock()
	switch {
	case !p.Closed:
		p.recorder.t.Errorf("payload %q: End before Close", p.Name)
	case p.Ended:
		p.recorder.t.Errorf("payload %q: ended twice", p.Name)
	case len(problems) == 0 && records != p.Rows:
		p.recorder.t.Errorf("payload %q: ended with %d records but batches carried %d rows", p.Name, records, p.Rows)
	}
	p.Ended, p.Records, p.Problems = true, records, problems
	return nil
}

// ID implements sdk.Payload.
func (p *RecordedPayload) ID() string { return p.id }
