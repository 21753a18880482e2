package metastoretest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
)

func testAgents(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	_, err := s.GetAgent(ctx, "data_ingest_agent_001")
	require.ErrorIs(t, err, metastore.ErrNotFound)

	active := stamp()
	a := metastore.Agent{ID: "data_ingest_agent_001", Type: "ingest", LastActive: &active, CurrentStatus: metastore.AgentRunning,
		ResourceUsage: json.RawMessage(`{"peak_rss_bytes": 1024}`), PerformanceMetrics: json.RawMessage(`{"tasks": 1}`)}
	require.NoError(t, s.UpsertAgent(ctx, a))
	got, err := s.GetAgent(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "ingest", got.Type)
	require.Equal(t, metastore.AgentRunning, got.CurrentStatus)
	require.True(t, active.Equal(*got.LastActive))
	require.JSONEq(t, `{"tasks": 1}`, string(got.PerformanceMetrics))
	created := got.CreatedAt

	a.CurrentStatus, a.KnowledgeContributions = metastore.AgentIdle, 3
	a.PerformanceMetrics = json.RawMessage(`{"tasks": 2, "successes": 2}`)
	require.NoError(t, s.UpsertAgent(ctx, a))
	got, err = s.GetAgent(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, 3, got.KnowledgeContributions)
	require.Equal(t, metastore.AgentIdle, got.CurrentStatus)
	require.True(t, created.Equal(got.CreatedAt), "created_at is kept")
	require.False(t, got.UpdatedAt.Before(got.CreatedAt))
	require.NoError(t, s.UpsertAgent(ctx, metastore.Agent{ID: "anomaly_agent_001", Type: "anomaly", CurrentStatus: metastore.AgentIdle}))
	all, err := s.ListAgents(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "anomaly_agent_001", all[0].ID)

	start := stamp()
	first := metastore.AgentSession{ID: "s1", AgentID: a.ID, AgentType: "ingest", Task: "ingest_tiktok_metrics",
		Params: map[string]string{"source": "tiktok"}, StartedAt: start}
	require.NoError(t, s.CreateSession(ctx, first))
	ses, err := s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, metastore.SessionRunning, ses.Status)
	require.Equal(t, "tiktok", ses.Params["source"])
	require.Nil(t, ses.FinishedAt)

	end := start.Add(2 * time.Second)
	first.Status, first.FinishedAt = metastore.SessionCompleted, &end
	first.Context = json.RawMessage(`{"agent_id": "data_ingest_agent_001", "next_steps": ["validate_schema:staging.tiktok_daily_metrics"]}`)
	first.Handoff = json.RawMessage(`[{"step": "context_captured", "done": true}]`)
	require.NoError(t, s.FinishSession(ctx, first))
	require.NoError(t, s.CreateSession(ctx, metastore.AgentSession{ID: "s2", AgentID: "anomaly_agent_001", AgentType: "anomaly",
		Task: "detect", Previous: "s1", StartedAt: start.Add(3 * time.Second)}))

	ses, err = s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, metastore.SessionCompleted, ses.Status)
	require.True(t, end.Equal(*ses.FinishedAt))
	require.JSONEq(t, string(first.Context), string(ses.Context))
	list, err := s.ListSessions(ctx, metastore.SessionFilter{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "s2", list[0].ID, "newest first")
	require.Equal(t, "s1", list[0].Previous)
	list, err = s.ListSessions(ctx, metastore.SessionFilter{AgentType: "ingest", Status: metastore.SessionCompleted})
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = s.GetSession(ctx, "nope")
	require.ErrorIs(t, err, metastore.ErrNotFound)
	require.Error(t, s.FinishSession(ctx, metastore.AgentSession{ID: "nope", Status: metastore.SessionFailed}))
}
