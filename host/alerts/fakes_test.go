package alerts_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/notify"
)

// The notify package's router is a Notifier.
var _ alerts.Notifier = (*notify.Router)(nil)

// openMeta opens a fresh SQLite metastore in a temporary folder.
func openMeta(t *testing.T) metastore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// fakeNotifier records the alerts it is sent; while fail is set it
// records them and fails.
type fakeNotifier struct {
	mu   sync.Mutex
	sent []notify.Alert
	fail error
}

func (f *fakeNotifier) Notify(_ context.Context, a notify.Alert) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := a.Validate(); err != nil {
		return err
	}
	f.sent = append(f.sent, a)
	return f.fail
}

func (f *fakeNotifier) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// take returns the alerts sent since the last take.
func (f *fakeNotifier) take() []notify.Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.sent
	f.sent = nil
	return out
}

// call is one Remediator call.
type call struct {
	Op       string // "pause" or "retry"
	Source   string
	Reason   string
	Attempts int
}

// fakeRemediator records its calls and fails with fail when set.
type fakeRemediator struct {
	mu    sync.Mutex
	calls []call
	fail  error
}

func (f *fakeRemediator) Pause(_ context.Context, source, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Op: "pause", Source: source, Reason: reason})
	return f.fail
}

func (f *fakeRemediator) Retry(_ context.Context, source string, attempts int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Op: "retry", Source: source, Attempts: attempts})
	return f.fail
}

func (f *fakeRemediator) take() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a Manager on a SQLite metastore with recording fakes.
type harness struct {
	meta  metastore.Store
	n     *fakeNotifier
	r     *fakeRemediator
	clock *clock
	log   *syncBuffer
	m     *alerts.Manager
}

// t0 is the harness clock's start.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{meta: openMeta(t), n: &fakeNotifier{}, r: &fakeRemediator{}, clock: newClock(t0), log: &syncBuffer{}}
	h.m = alerts.NewManager(h.meta, alerts.Options{Notifier: h.n, Remediator: h.r, Now: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return h
}

var errBoom = errors.New("boom")
