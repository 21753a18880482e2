package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/bedrot-label/bedrot/host/storage"
)

// Emitter sends run events somewhere. Implementations are safe for
// concurrent use.
type Emitter interface {
	Emit(ctx context.Context, ev *RunEvent) error
}

// EventsPrefix is where the lake keeps lineage events.
const EventsPrefix = ".bedrot/lineage/"

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// EventKey is the key of an event in the lake:
// .bedrot/lineage/date=YYYY-MM-DD/<eventTime>-<runId>-<EVENTTYPE>.json,
// with the event time compacted (20261126T055012.123Z) so that a listing
// is in time order within a day.
func EventKey(ev *RunEvent) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, ev.EventTime)
	if err != nil {
		return "", fmt.Errorf("event of run %s has an invalid eventTime %q: %w", ev.Run.RunID, ev.EventTime, err)
	}
	t = t.UTC()
	if ev.Run.RunID == "" || ev.EventType == "" {
		return "", errors.New("event has no runId or eventType: build it with Builder")
	}
	name := fmt.Sprintf("%s-%s-%s.json", t.Format("20060102T150405.000Z"),
		unsafeKeyChars.ReplaceAllString(ev.Run.RunID, "_"),
		unsafeKeyChars.ReplaceAllString(string(ev.EventType), "_"))
	return EventsPrefix + "date=" + t.Format("2006-01-02") + "/" + name, nil
}

// StoreEmitter writes each event as one JSON object to the lake (see
// EventKey). Writing the same event twice leaves one copy.
type StoreEmitter struct {
	st storage.Store
}

// NewStoreEmitter makes a StoreEmitter writing to st.
func NewStoreEmitter(st storage.Store) *StoreEmitter { return &StoreEmitter{st: st} }

// Emit writes ev.
func (s *StoreEmitter) Emit(ctx context.Context, ev *RunEvent) error {
	key, err := EventKey(ev)
	if err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("failed to encode lineage event %s: %w", key, err)
	}
	body = append(body, '\n')
	if _, err := s.st.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("failed to write lineage event to %s in %s: %w", key, s.st.Location(), err)
	}
	return nil
}

// Multi sends every event to all emitters, in order, even when one fails;
// the error joins the failures.
func Multi(emitters ...Emitter) Emitter { return multi(emitters) }

type multi []Emitter

func (m multi) Emit(ctx context.Context, ev *RunEvent) error {
	var errs []error
	for _, e := range m {
		if err := e.Emit(ctx, ev); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Client builds and emits the events of runs. A failure to emit is logged
// and returned; whether it fails the run is the caller's decision (the
// pipeline's should not: lineage is reporting, not data).
type Client struct {
	b   *Builder
	em  Emitter
	log *slog.Logger
}

// NewClient makes a Client. A nil logger discards.
func NewClient(b *Builder, em Emitter, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Client{b: b, em: em, log: log}
}

// Start emits the START event of a run.
func (c *Client) Start(ctx context.Context, r RunInfo) error {
	ev, err := c.b.Start(r)
	if err != nil {
		return c.fail(r, EventStart, err)
	}
	return c.emit(ctx, r, ev)
}

// Finish emits the COMPLETE or FAIL event of a run (see Builder.Finish).
func (c *Client) Finish(ctx context.Context, r RunInfo) error {
	ev, err := c.b.Finish(r)
	if err != nil {
		return c.fail(r, "", err)
	}
	return c.emit(ctx, r, ev)
}

func (c *Client) emit(ctx context.Context, r RunInfo, ev *RunEvent) error {
	if err := c.em.Emit(ctx, ev); err != nil {
		return c.fail(r, ev.EventType, err)
	}
	return nil
}

func (c *Client) fail(r RunInfo, t EventType, err error) error {
	err = fmt.Errorf("lineage: run %s (%s %s): %w", r.RunID, r.Kind, r.Name, err)
	c.log.Warn("lineage event not recorded", "run", r.RunID, "kind", string(r.Kind), "name", r.Name, "event", string(t), "err", err)
	return err
}
