package access_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/sdk"
)

func newStore(t *testing.T) storage.Store {
	t.Helper()
	s, err := folder.New(t.TempDir())
	require.NoError(t, err)
	return s
}

// auditLines reads every audit line in the store, by key order.
func auditLines(t *testing.T, s storage.Store) (keys []string, lines []access.AuditLine) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.List(ctx, access.AuditPrefix, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		obj, err := s.Open(ctx, o.Key)
		if err != nil {
			return err
		}
		defer obj.Close()
		sc := bufio.NewScanner(obj)
		for sc.Scan() {
			var l access.AuditLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				return err
			}
			lines = append(lines, l)
		}
		return sc.Err()
	}))
	return keys, lines
}

func TestGuardAuditsEveryDecision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	auditor := access.NewJSONLAuditor(store, access.JSONLOptions{Process: "host-1", FlushLines: 3})
	g := access.NewGuard(access.Default(), auditor)
	analyst := access.Principal{Role: "analyst", AgentID: "ann", SessionID: "s-9"}

	require.NoError(t, g.Check(ctx, access.Request{Principal: analyst, Op: access.OpRead, Zone: "curated", Resource: "curated.track_performance"}))
	err := g.Check(ctx, access.Request{Principal: analyst, Op: access.OpRead, Zone: "raw", Resource: "raw.spotify.tracks"})
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, `role "analyst" may not read raw (raw.spotify.tracks): no rule allows it: deny by default: role analyst may read only curated, sandbox, knowledge`)
	keys, _ := auditLines(t, store)
	require.Empty(t, keys, "two lines stay buffered")

	require.NoError(t, g.Check(ctx, access.Request{Principal: analyst, Op: access.OpExecute, Action: "query"}))
	keys, lines := auditLines(t, store)
	require.Len(t, keys, 1, "the third line flushes one object")
	require.Len(t, lines, 3)

	err = g.Check(ctx, access.Request{Principal: analyst, Op: access.OpExecute, Action: "publish"})
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.NoError(t, g.Check(ctx, access.Request{Principal: analyst, Op: access.OpWrite, Zone: "sandbox", Resource: "sandbox/ann/x.csv"}))
	require.NoError(t, auditor.Close(ctx))

	keys, lines = auditLines(t, store)
	require.Len(t, keys, 2)
	today := time.Now().UTC().Format(time.DateOnly)
	require.Equal(t, ".agent/logs/audit/date="+today+"/host-1-000001.jsonl", keys[0])
	require.Equal(t, ".agent/logs/audit/date="+today+"/host-1-000002.jsonl", keys[1])
	require.Len(t, lines, 5, "one line per decision")

	require.Equal(t, analyst, lines[1].Principal)
	require.Equal(t, access.OpRead, lines[1].Op)
	require.Equal(t, "raw", lines[1].Zone)
	require.Equal(t, "raw.spotify.tracks", lines[1].Resource)
	require.False(t, lines[1].Allowed)
	require.Equal(t, access.RuleDenyByDefault, lines[1].Rule)
	require.True(t, lines[0].Allowed)
	require.Regexp(t, `^config/access_control.yaml:\d+ roles.analyst.read lists curated$`, lines[0].Rule)
	require.Equal(t, "query", lines[2].Action)
	require.True(t, lines[2].Allowed)
	require.Equal(t, "publish", lines[3].Action)
	require.False(t, lines[3].Allowed)
	require.WithinDuration(t, time.Now(), lines[4].Time, time.Minute)

	require.Error(t, auditor.Record(ctx, access.Decision{}), "a closed auditor refuses records")
}

func TestAuditObjectsPerDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	a := access.NewJSONLAuditor(store, access.JSONLOptions{})
	day1 := time.Date(2026, 1, 2, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	for _, tm := range []time.Time{day1, day2, day1} {
		require.NoError(t, a.Record(ctx, access.Decision{Time: tm, Request: access.Request{Op: access.OpRead, Zone: "raw"}, Rule: access.RuleDenyByDefault}))
	}
	require.NoError(t, a.Flush(ctx))
	keys, lines := auditLines(t, store)
	require.Len(t, keys, 2)
	require.Regexp(t, regexp.MustCompile(`^\.agent/logs/audit/date=2026-01-02/bedrot-\d{8}T[0-9.]+Z-\d+-000001\.jsonl$`), keys[0])
	require.Regexp(t, `^\.agent/logs/audit/date=2026-01-03/bedrot-.*-000002\.jsonl$`, keys[1])
	require.Len(t, lines, 3)
	require.NoError(t, a.Flush(ctx))
	keys, _ = auditLines(t, store)
	require.Len(t, keys, 2, "an empty flush writes nothing")
}

// failingStore fails every Put.
type failingStore struct{ storage.Store }

func (failingStore) Put(context.Context, string, io.Reader) (int64, error) {
	return 0, errors.New("disk full")
}

func TestGuardFailsClosedWhenTheAuditFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner := newStore(t)
	a := access.NewJSONLAuditor(failingStore{inner}, access.JSONLOptions{FlushLines: 1})
	g := access.NewGuard(access.Default(), a)
	err := g.Check(ctx, access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: access.OpRead, Zone: "raw"})
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "disk full")

	// The same request is allowed when nothing fails.
	d, err := access.NewGuard(access.Default(), nil).Decide(ctx, access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: access.OpRead, Zone: "raw"})
	require.NoError(t, err)
	require.True(t, d.Allowed)
}
