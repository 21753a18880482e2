package mcpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/mcpserver"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/sdk"
)

// testLake is a lake on a folder and SQLite with a curated mart, a raw
// dataset, a knowledge entry, a finished agent session and its context.
type testLake struct {
	store   *folder.Store
	meta    metastore.Store
	kb      *knowledge.Base
	inner   sdk.LakeServer
	auditor *access.JSONLAuditor
	guard   *access.Guard
	entryID string
}

// commit writes one Parquet file of a dataset and records it.
func commit(t *testing.T, l *testLake, dataset, key string, schema sdk.Schema, b *sdk.BatchBuilder) {
	t.Helper()
	var buf bytes.Buffer
	w, err := parquetfile.NewWriter(&buf, schema, parquetfile.Options{})
	require.NoError(t, err)
	require.NoError(t, w.Write(b.Batch()))
	require.NoError(t, w.Close())
	_, err = l.store.Put(t.Context(), key, bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	_, err = l.meta.Commit(t.Context(), metastore.Commit{RunID: "seed-" + dataset, Batches: []metastore.Batch{{Dataset: dataset, ID: "seed-" + dataset}},
		Files: []metastore.File{{Dataset: dataset, Key: key, Size: int64(buf.Len()), Rows: int64(b.Len()), BatchID: "seed-" + dataset, RunID: "seed-" + dataset}}})
	require.NoError(t, err)
}

func newTestLake(t *testing.T) *testLake {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	meta, err := sqlstore.Open(ctx, sqlstore.Config{SQLitePath: filepath.Join(dir, "bedrot.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = meta.Close() })
	l := &testLake{store: st, meta: meta, kb: &knowledge.Base{Store: st, Meta: meta}}

	// curated.track_performance.v1_0: 150 rows, one per track and day.
	perf := sdk.Schema{Fields: []sdk.Field{{Name: "isrc", Type: sdk.TypeString}, {Name: "date", Type: sdk.TypeDate},
		{Name: "streams", Type: sdk.TypeInt64, Nullable: true}, {Name: "share", Type: sdk.TypeFloat64, Nullable: true}}}
	b := sdk.NewBatchBuilder("", perf)
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 150 {
		b.AppendString(0, []byte([]string{"QZSYN2600001", "QZSYN2600002", "QZSYN2600003"}[i%3]))
		b.AppendInt32(1, sdk.DaysSinceEpoch(day0.AddDate(0, 0, i/3)))
		if i == 4 {
			b.AppendNull(2)
		} else {
			b.AppendInt64(2, int64(1000+i))
		}
		b.AppendFloat64(3, 0.5)
		b.EndRow()
	}
	commit(t, l, "curated.track_performance.v1_0", "curated/mart=track_performance/version=v1.0/part-0.zstd.parquet", perf, b)

	// raw.spotify.tracks: the analyst may not read raw.
	raw := sdk.Schema{Fields: []sdk.Field{{Name: "isrc", Type: sdk.TypeString}, {Name: "title", Type: sdk.TypeString}}}
	rb := sdk.NewBatchBuilder("", raw)
	rb.AppendString(0, []byte("QZSYN2600001"))
	rb.AppendString(1, []byte("Secret Demo"))
	rb.EndRow()
	commit(t, l, "raw.spotify.tracks", "raw/source=spotify/date=2026-01-01/part-0.zstd.parquet", raw, rb)

	e, err := l.kb.Add(ctx, knowledge.Entry{Kind: knowledge.KindPattern, Title: "TikTok views lag two days",
		Body: "TikTok's Display API reports views with a two-day lag; do not read the last two days as a drop.",
		Tags: []string{"tiktok"}, Datasets: []string{"curated.track_performance"}})
	require.NoError(t, err)
	l.entryID = e.ID

	// A finished session and the context it left.
	sesCtx := `{"session_id":"ses-1","agent_id":"trends_agent_001","outputs":["sandbox/trends/report.md"],"next_steps":["run_agent:anomaly"],"context_notes":"streams up 12% week over week"}`
	started := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	ses := metastore.AgentSession{ID: "ses-1", AgentID: "trends_agent_001", AgentType: "trends", Task: "weekly", Status: metastore.SessionRunning, StartedAt: started}
	require.NoError(t, meta.CreateSession(ctx, ses))
	finished := started.Add(time.Minute)
	ses.Status, ses.FinishedAt, ses.Context = metastore.SessionCompleted, &finished, json.RawMessage(sesCtx)
	require.NoError(t, meta.FinishSession(ctx, ses))
	_, err = st.Put(ctx, agents.CurrentContextKey, strings.NewReader(sesCtx))
	require.NoError(t, err)

	eng, err := sqlengine.New(sqlengine.Options{Store: st, Meta: meta})
	require.NoError(t, err)
	l.inner = agents.NewLakeServer(st, meta, eng, l.kb)
	l.auditor = access.NewJSONLAuditor(st, access.JSONLOptions{Process: "mcp-test"})
	l.guard = access.NewGuard(access.Default(), l.auditor)
	return l
}

// queue is a fake job queue that records what it is asked.
type queue struct {
	mu    sync.Mutex
	calls []scheduler.AgentArgs
}

func (q *queue) queue(_ context.Context, a scheduler.AgentArgs) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, a)
	return int64(100 + len(q.calls)), nil
}

func (q *queue) got() []scheduler.AgentArgs {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.calls)
}

// connect serves the lake as role to an MCP client named test-assistant
// over in-memory transports.
func connect(t *testing.T, l *testLake, role string, allowWrites bool, q *queue) *mcp.ClientSession {
	t.Helper()
	ctx := t.Context()
	srv := mcpserver.New(mcpserver.Options{
		Lake:  access.NewGuardedLake(l.inner, l.guard, access.LakeOptions{Role: role}),
		Guard: l.guard, Auditor: l.auditor, Meta: l.meta, Store: l.store, Knowledge: l.kb,
		Queue: q.queue, AllowWrites: allowWrites, Principal: mcpserver.Principal{Role: role}, Version: "test",
	})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "Test Assistant", Version: "1"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// call calls a tool and returns its result, its structured output decoded
// into out (when not an error), and its text.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, out any) (isError bool, text string) {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err, "a tool's failure is a tool error, never a protocol error")
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	if !res.IsError && out != nil {
		b, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, out))
	}
	return res.IsError, sb.String()
}

// auditLines flushes the audit log and reads every line of it.
func auditLines(t *testing.T, l *testLake) []access.AuditLine {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, l.auditor.Flush(ctx))
	var keys []string
	require.NoError(t, l.store.List(ctx, access.AuditPrefix, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}))
	require.NotEmpty(t, keys, "the audit log was written")
	var lines []access.AuditLine
	for _, k := range keys {
		obj, err := l.store.Open(ctx, k)
		require.NoError(t, err)
		data, err := io.ReadAll(obj)
		require.NoError(t, err)
		require.NoError(t, obj.Close())
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var line access.AuditLine
			require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
			lines = append(lines, line)
		}
	}
	return lines
}

// audited reports whether a line matches.
func audited(lines []access.AuditLine, match func(access.AuditLine) bool) bool {
	return slices.ContainsFunc(lines, match)
}

func TestAnalystReadsCuratedNotRaw(t *testing.T) {
	t.Parallel()
	l := newTestLake(t)
	q := &queue{}
	cs := connect(t, l, "analyst", false, q)

	tools, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		require.NotEmpty(t, tool.Description, tool.Name)
	}
	require.ElementsMatch(t, []string{"list_datasets", "query", "read_context", "list_sessions", "search_knowledge",
		"show_knowledge", "propose_handoff", "add_knowledge"}, names)

	var ds mcpserver.ListDatasetsOutput
	isErr, text := call(t, cs, "list_datasets", nil, &ds)
	require.False(t, isErr, text)
	require.Equal(t, []mcpserver.Dataset{{Name: "curated.track_performance.v1_0", Zone: "curated", Rows: 150, Files: 1}}, ds.Datasets,
		"the analyst sees curated, not raw")
	isErr, text = call(t, cs, "list_datasets", map[string]any{"prefix": "raw."}, nil)
	require.True(t, isErr)
	require.Contains(t, text, "roles.analyst.read")

	var qo mcpserver.QueryOutput
	isErr, text = call(t, cs, "query", map[string]any{"sql": `SELECT isrc, date, streams, share FROM "curated.track_performance.v1_0" ORDER BY date, isrc`, "limit": 5}, &qo)
	require.False(t, isErr, text)
	require.Equal(t, []mcpserver.QueryColumn{{Name: "isrc", Type: "string"}, {Name: "date", Type: "date"}, {Name: "streams", Type: "int64"}, {Name: "share", Type: "float64"}}, qo.Columns)
	require.True(t, qo.Truncated, "150 rows, limit 5")
	require.Equal(t, 5, qo.RowCount)
	require.Equal(t, []any{"QZSYN2600001", "2026-01-01", float64(1000), 0.5}, qo.Rows[0])
	require.Equal(t, []any{"QZSYN2600002", "2026-01-02", nil, 0.5}, qo.Rows[4], "a null is JSON null")

	isErr, text = call(t, cs, "query", map[string]any{"sql": `SELECT count(*) AS n, sum(streams) AS total FROM "curated.track_performance.v1_0"`}, &qo)
	require.False(t, isErr, text)
	require.False(t, qo.Truncated)
	require.Equal(t, 100, qo.Limit, "the default limit")
	require.Equal(t, [][]any{{float64(150), float64(149*150/2 + 1000*150 - 1004)}}, qo.Rows)

	isErr, text = call(t, cs, "query", map[string]any{"sql": `SELECT * FROM "raw.spotify.tracks"`}, nil)
	require.True(t, isErr, "the analyst may not read raw")
	require.Contains(t, text, "role \"analyst\" may not read raw")
	require.Contains(t, text, "roles.analyst.read")
	require.NotContains(t, text, "Secret Demo")

	var rc mcpserver.ReadContextOutput
	isErr, text = call(t, cs, "read_context", nil, &rc)
	require.False(t, isErr, text)
	require.Equal(t, agents.CurrentContextKey, rc.Source)
	require.Equal(t, "streams up 12% week over week", rc.Context.(map[string]any)["context_notes"])
	isErr, text = call(t, cs, "read_context", map[string]any{"session_id": "ses-1"}, &rc)
	require.False(t, isErr, text)
	require.Equal(t, "completed", rc.Status)
	require.Equal(t, []any{"run_agent:anomaly"}, rc.Context.(map[string]any)["next_steps"])
	isErr, text = call(t, cs, "read_context", map[string]any{"session_id": "ses-404"}, nil)
	require.True(t, isErr)
	require.Contains(t, text, "list_sessions")

	var so mcpserver.ListSessionsOutput
	isErr, text = call(t, cs, "list_sessions", map[string]any{"agent_id": "trends_agent_001"}, &so)
	require.False(t, isErr, text)
	require.Len(t, so.Sessions, 1)
	require.Equal(t, "ses-1", so.Sessions[0].ID)
	require.Equal(t, "completed", so.Sessions[0].Status)
	require.Equal(t, "2026-02-01T10:01:00Z", so.Sessions[0].FinishedAt)

	var ko mcpserver.SearchKnowledgeOutput
	isErr, text = call(t, cs, "search_knowledge", map[string]any{"query": "tiktok lag"}, &ko)
	require.False(t, isErr, text)
	require.Len(t, ko.Entries, 1)
	require.Equal(t, l.entryID, ko.Entries[0].ID)
	var ke mcpserver.KnowledgeEntry
	isErr, text = call(t, cs, "show_knowledge", map[string]any{"id": l.entryID}, &ke)
	require.False(t, isErr, text)
	require.Equal(t, "TikTok views lag two days", ke.Title)
	require.Contains(t, ke.Body, "two-day lag")
	require.Equal(t, []string{"curated.track_performance"}, ke.Datasets)

	// Writes are off.
	isErr, text = call(t, cs, "propose_handoff", map[string]any{"agent_type": "anomaly", "reason": "streams look odd"}, nil)
	require.True(t, isErr)
	require.Contains(t, text, "--allow-writes")
	isErr, text = call(t, cs, "add_knowledge", map[string]any{"kind": "finding", "title": "x", "body": "y"}, nil)
	require.True(t, isErr)
	require.Contains(t, text, "--allow-writes")
	require.Empty(t, q.got(), "nothing was queued")
	_, err = l.kb.Show(t.Context(), "finding:x")
	require.Error(t, err, "nothing was added")

	lines := auditLines(t, l)
	who := func(a access.AuditLine) bool {
		return a.Principal.Role == "analyst" && a.Principal.AgentID == "mcp-test-assistant" && strings.HasPrefix(a.Principal.SessionID, "mcp-")
	}
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return who(a) && a.Allowed && a.Op == access.OpRead && a.Zone == "curated" && strings.Contains(a.Resource, "curated.track_performance.v1_0")
	}), "the curated query is audited")
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return who(a) && !a.Allowed && a.Op == access.OpRead && a.Zone == "raw" && a.Resource == "query of raw.spotify.tracks"
	}), "the raw query's denial is audited")
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return who(a) && a.Allowed && a.Zone == "knowledge" && a.Resource == agents.CurrentContextKey
	}), "reading the context is audited")
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return who(a) && a.Allowed && a.Zone == "knowledge" && a.Resource == "knowledge entry "+l.entryID
	}), "showing an entry is audited")
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return who(a) && !a.Allowed && a.Op == access.OpExecute && a.Action == "run_agent" && a.Rule == "bedrot mcp runs without --allow-writes"
	}), "the refused hand-off is audited")
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return who(a) && !a.Allowed && a.Op == access.OpWrite && a.Zone == "knowledge" && a.Rule == "bedrot mcp runs without --allow-writes"
	}), "the refused entry is audited")
}

func TestWritesNeedThePolicyToo(t *testing.T) {
	t.Parallel()
	l := newTestLake(t)
	q := &queue{}
	cs := connect(t, l, "analyst", true, q)

	isErr, text := call(t, cs, "propose_handoff", map[string]any{"agent_type": "anomaly", "reason": "streams look odd"}, nil)
	require.True(t, isErr, "writes are on, but the analyst may not execute run_agent")
	require.Contains(t, text, "roles.analyst.execute")
	require.Empty(t, q.got())
	isErr, text = call(t, cs, "add_knowledge", map[string]any{"kind": "finding", "title": "Odd streams", "body": "y"}, nil)
	require.True(t, isErr, "the analyst may not write knowledge")
	require.Contains(t, text, "roles.analyst.write")

	lines := auditLines(t, l)
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return !a.Allowed && a.Op == access.OpExecute && a.Action == "run_agent" && a.Rule == access.RuleDenyByDefault
	}))
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return !a.Allowed && a.Op == access.OpWrite && a.Zone == "knowledge" && a.Rule == access.RuleDenyByDefault
	}))
}

func TestDataEngineerWithWritesHandsOffAndAddsKnowledge(t *testing.T) {
	t.Parallel()
	l := newTestLake(t)
	q := &queue{}
	cs := connect(t, l, "data_engineer", true, q)

	var ho mcpserver.ProposeHandoffOutput
	isErr, text := call(t, cs, "propose_handoff", map[string]any{"agent_type": "anomaly", "task": "scan",
		"params": map[string]any{"dataset": "curated.track_performance"}, "previous_session": "ses-1",
		"reason": "streams of QZSYN2600002 dropped on 2026-01-02"}, &ho)
	require.False(t, isErr, text)
	require.Equal(t, int64(101), ho.JobID)
	require.Equal(t, "mcp:test-assistant", ho.RequestedBy)
	require.Equal(t, []scheduler.AgentArgs{{AgentType: "anomaly", Task: "scan", Params: map[string]string{"dataset": "curated.track_performance"},
		Previous: "ses-1", RequestedBy: "mcp:test-assistant"}}, q.got())

	isErr, text = call(t, cs, "propose_handoff", map[string]any{"agent_type": "anomaly", "reason": "  "}, nil)
	require.True(t, isErr, "a hand-off needs a reason")
	require.Contains(t, text, "reason")
	require.Len(t, q.got(), 1)

	var ao mcpserver.AddKnowledgeOutput
	isErr, text = call(t, cs, "add_knowledge", map[string]any{"kind": "finding", "title": "Streams drop on 2 January",
		"body": "QZSYN2600002 has no streams on 2026-01-02.", "tags": []string{"anomaly"}, "datasets": []string{"curated.track_performance"}}, &ao)
	require.False(t, isErr, text)
	e, err := l.kb.Show(t.Context(), ao.ID)
	require.NoError(t, err)
	require.Equal(t, "Streams drop on 2 January", e.Title)
	require.Equal(t, "mcp-test-assistant", e.Agent, "the entry names the client that added it")
	require.Equal(t, []string{"curated.track_performance"}, e.Datasets)

	isErr, text = call(t, cs, "add_knowledge", map[string]any{"kind": "agent", "title": "x", "body": "y"}, nil)
	require.True(t, isErr)
	require.Contains(t, text, "decision, pattern or finding")

	// The data engineer reads raw.
	var ds mcpserver.ListDatasetsOutput
	isErr, text = call(t, cs, "list_datasets", nil, &ds)
	require.False(t, isErr, text)
	require.Len(t, ds.Datasets, 2)

	lines := auditLines(t, l)
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return a.Allowed && a.Principal.Role == "data_engineer" && a.Op == access.OpExecute && a.Action == "run_agent" &&
			strings.Contains(a.Resource, "streams of QZSYN2600002 dropped")
	}), "the hand-off and its reason are audited")
	require.True(t, audited(lines, func(a access.AuditLine) bool {
		return a.Allowed && a.Op == access.OpWrite && a.Zone == "knowledge" && a.Resource == "knowledge entry Streams drop on 2 January"
	}), "the entry is audited")
}

func TestReadContextBeforeAnyHandoff(t *testing.T) {
	t.Parallel()
	l := newTestLake(t)
	require.NoError(t, l.store.Delete(t.Context(), agents.CurrentContextKey))
	cs := connect(t, l, "analyst", false, &queue{})
	isErr, text := call(t, cs, "read_context", nil, nil)
	require.True(t, isErr)
	require.Contains(t, text, "no agent has handed off yet")
}
