package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/lineage/lineagetest"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
)

func keys(t *testing.T, st storage.Store) []string {
	t.Helper()
	var ks []string
	require.NoError(t, st.List(context.Background(), lineage.EventsPrefix, func(oi storage.ObjectInfo) error {
		ks = append(ks, oi.Key)
		return nil
	}))
	return ks
}

func read(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	obj, err := st.Open(context.Background(), key)
	require.NoError(t, err)
	defer obj.Close()
	b, err := io.ReadAll(obj)
	require.NoError(t, err)
	return b
}

func TestStoreEmitter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := folder.New(t.TempDir())
	require.NoError(t, err)
	namer, err := lineage.NewNamer(st.Location())
	require.NoError(t, err)
	c := lineage.NewClient(lineage.NewBuilder(lineage.Config{Namer: namer}), lineage.NewStoreEmitter(st), nil)

	r := runs(t)["ingest"]
	require.NoError(t, c.Start(ctx, r))
	require.NoError(t, c.Finish(ctx, r))
	require.NoError(t, c.Finish(ctx, r), "emitting the same event again is harmless")

	runID := lineage.RunUUID("bedrot", "ingest.spotify", r.RunID)
	require.Equal(t, []string{
		".bedrot/lineage/date=2026-11-26/20261126T055012.345Z-" + runID + "-START.json",
		".bedrot/lineage/date=2026-11-26/20261126T055312.345Z-" + runID + "-COMPLETE.json",
	}, keys(t, st))

	body := read(t, st, keys(t, st)[1])
	require.Equal(t, byte('\n'), body[len(body)-1], "one JSON object and a newline")
	require.NoError(t, lineagetest.Validate(body))
	var ev lineage.RunEvent
	require.NoError(t, json.Unmarshal(body, &ev))
	require.Equal(t, lineage.EventComplete, ev.EventType)
	require.Equal(t, st.Location()+"/raw/source=spotify/*/tracks-*.parquet", ev.Outputs[1].Name)
}

func TestEventKeyRejectsBadEvents(t *testing.T) {
	t.Parallel()
	_, err := lineage.EventKey(&lineage.RunEvent{EventType: lineage.EventStart, EventTime: "soon", Run: lineage.Run{RunID: "x"}})
	require.ErrorContains(t, err, "invalid eventTime")
	_, err = lineage.EventKey(&lineage.RunEvent{EventType: lineage.EventStart, EventTime: "2026-11-26T05:50:12Z"})
	require.ErrorContains(t, err, "no runId")
}

type failing struct{ n int }

func (f *failing) Emit(context.Context, *lineage.RunEvent) error {
	f.n++
	return errors.New("marquez is down")
}

func TestMultiAndClientErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := folder.New(t.TempDir())
	require.NoError(t, err)
	namer, err := lineage.NewNamer(st.Location())
	require.NoError(t, err)
	var logs bytes.Buffer
	bad := &failing{}
	c := lineage.NewClient(lineage.NewBuilder(lineage.Config{Namer: namer}),
		lineage.Multi(bad, lineage.NewStoreEmitter(st)),
		slog.New(slog.NewTextHandler(&logs, nil)))

	r := runs(t)["build"]
	err = c.Finish(ctx, r)
	require.ErrorContains(t, err, "marquez is down")
	require.ErrorContains(t, err, r.RunID)
	require.Equal(t, 1, bad.n)
	require.Len(t, keys(t, st), 1, "the lake got the event although the first emitter failed")
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "marquez is down")
	require.Contains(t, logs.String(), "event=COMPLETE")

	// A run the builder cannot describe is reported the same way.
	r.Status = metastore.RunRunning
	require.ErrorContains(t, c.Finish(ctx, r), "not a final status")
	require.Equal(t, 1, bad.n, "nothing was emitted")
}
