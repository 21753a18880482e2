package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseNextStep(t *testing.T) {
	t.Parallel()
	s, err := ParseNextStep("validate_schema:staging.tiktok_daily_metrics")
	require.NoError(t, err)
	require.Equal(t, NextStep{Action: ActionValidateSchema, Target: "staging.tiktok_daily_metrics"}, s)
	require.Equal(t, "validate_schema:staging.tiktok_daily_metrics", s.String())
	s, err = ParseNextStep("notify:data_quality_team:urgent")
	require.NoError(t, err, "only the first colon separates")
	require.Equal(t, "data_quality_team:urgent", s.Target)
	for _, bad := range []string{"run_agent", "run_agent:", ":anomaly", "Run Agent:anomaly", "notify:two words"} {
		_, err := ParseNextStep(bad)
		require.Error(t, err, bad)
	}
}

func TestAgentContextJSON(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)
	c := AgentContext{AgentID: "a-1", SessionID: "s-1", CurrentTask: "summarize", StartTime: start,
		Metrics: ContextMetrics{RecordsProcessed: 14, ProcessingTimeSeconds: 1.5, DataQualityScore: 0.9}, NextSteps: []string{"run_agent:anomaly"}}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"agent_id":"a-1","session_id":"s-1","current_task":"summarize","start_time":"2026-03-09T08:00:00Z",
		"dependencies":[],"outputs":[],"metrics":{"records_processed":14,"processing_time_seconds":1.5,"data_quality_score":0.9},
		"next_steps":["run_agent:anomaly"],"context_notes":""}`, string(b))
	back, err := ParseAgentContext(b)
	require.NoError(t, err)
	require.Equal(t, c.NextSteps, back.NextSteps)
	require.Equal(t, start, back.StartTime)
	_, err = ParseAgentContext([]byte("{"))
	require.ErrorContains(t, err, "current_context.json")
}

func TestTaskNewContext(t *testing.T) {
	t.Parallel()
	task := Task{AgentID: "a", SessionID: "s2", Name: "summarize", Context: &AgentContext{Outputs: []string{"sandbox/a/s1/r.md"}}}
	c := task.NewContext()
	require.Equal(t, "a", c.AgentID)
	require.Equal(t, "s2", c.SessionID)
	require.Equal(t, "summarize", c.CurrentTask)
	require.Equal(t, []string{"sandbox/a/s1/r.md"}, c.Dependencies)
	require.WithinDuration(t, time.Now(), c.StartTime, time.Second)
}

func TestZoneAccess(t *testing.T) {
	t.Parallel()
	require.True(t, ZoneAccess{}.CanWrite(ZoneSandbox), "sandbox is the default write zone")
	require.False(t, ZoneAccess{}.CanWrite(ZoneCurated))
	require.False(t, ZoneAccess{Write: []string{ZoneCurated}}.CanWrite(ZoneSandbox))
	require.True(t, ZoneAccess{Read: []string{ZoneStaging}}.CanRead(ZoneStaging))
	require.False(t, ZoneAccess{}.CanRead(ZoneStaging))
	require.True(t, IsLakeZone("knowledge"))
	require.False(t, IsLakeZone("tmp"))
}

func TestValidateObjectKey(t *testing.T) {
	t.Parallel()
	require.NoError(t, ValidateObjectKey("reports/trends.md"))
	for _, bad := range []string{"", "/etc/passwd", "../x", "..", "a/../../b", "a//b", "a\\b", "./a", "a/"} {
		require.Equal(t, KindConfig, KindOf(ValidateObjectKey(bad)), bad)
	}
}

func TestKnowledgeEntryValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, KnowledgeEntry{Kind: KnowledgeFinding, Title: "t", Confidence: 1}.Validate())
	require.ErrorContains(t, KnowledgeEntry{Kind: "rumour", Title: "t"}.Validate(), `"rumour"`)
	require.ErrorContains(t, KnowledgeEntry{Kind: KnowledgeDecision}.Validate(), "title")
	require.ErrorContains(t, KnowledgeEntry{Kind: KnowledgePattern, Title: "t", Confidence: 1.5}.Validate(), "between 0 and 1")
}

func TestAgentErrorsOnTheWire(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		code codes.Code
		is   error
	}{
		{fmt.Errorf("%w: rule x denies curated", ErrPermissionDenied), codes.PermissionDenied, ErrPermissionDenied},
		{fmt.Errorf("%w: 1 MiB written", ErrBudgetExceeded), codes.ResourceExhausted, ErrBudgetExceeded},
		{fmt.Errorf("%w: dataset staging.x", ErrNotFound), codes.NotFound, ErrNotFound},
	}
	for _, c := range cases {
		st := agentErrorToStatus(c.err)
		require.Equal(t, c.code, status.Code(st))
		back := agentErrorFromStatus(st)
		require.ErrorIs(t, back, c.is)
		require.Equal(t, c.err.Error(), back.Error())
	}
	// A rate limit is RESOURCE_EXHAUSTED with RetryInfo, not a budget.
	rl := agentErrorFromStatus(agentErrorToStatus(RateLimited(errors.New("slow down"), time.Now().Add(time.Minute))))
	require.Equal(t, KindRateLimited, KindOf(rl))
	require.NotErrorIs(t, rl, ErrBudgetExceeded)
	require.ErrorIs(t, agentErrorFromStatus(agentErrorToStatus(context.Canceled)), context.Canceled)
	require.Equal(t, KindConfig, KindOf(agentErrorFromStatus(agentErrorToStatus(ConfigError(errors.New("bad"))))))
}

func TestTaskWireRoundTrip(t *testing.T) {
	t.Parallel()
	task := Task{AgentID: "a", SessionID: "s", Name: "summarize", Params: map[string]string{"dataset": "staging.x"},
		Context:   &AgentContext{AgentID: "b", SessionID: "s0", NextSteps: []string{"run_agent:trends"}},
		Knowledge: []KnowledgeEntry{{ID: "k-1", Kind: KnowledgeDecision, Title: "t", Body: "b", Tags: []string{"x"}, Datasets: []string{"staging.x"}, Confidence: 0.4, Author: "b"}},
		Zones:     ZoneAccess{Read: []string{ZoneStaging}, Write: []string{ZoneSandbox}},
		Limits:    Limits{MaxRuntime: 90 * time.Second, MaxReadBytes: 1, MaxWriteBytes: 2}}
	p, err := taskToProto(task, 7)
	require.NoError(t, err)
	require.Equal(t, uint32(7), p.LakeBrokerId)
	back, err := taskFromProto(p)
	require.NoError(t, err)
	require.Equal(t, task.Context.NextSteps, back.Context.NextSteps)
	back.Context, task.Context = nil, nil
	require.Equal(t, task, back)

	p.Context = []byte("not json")
	_, err = taskFromProto(p)
	require.Equal(t, KindConfig, KindOf(err))
}
