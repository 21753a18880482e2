package agents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/plugins/anomaly/detect"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// buildExample builds the third-party example agent, which has its own
// module.
func buildExample(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "bedrot-agent-trends")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join("..", "..", "examples", "agent-trends")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

// trackPerformance commits a curated.track_performance mart of synthetic
// daily Spotify streams (with injected anomalies) to the lake.
func trackPerformance(t *testing.T, st *folder.Store, meta metastore.Store) {
	schema := sdk.Schema{Fields: []sdk.Field{{Name: "isrc", Type: sdk.TypeString}, {Name: "title", Type: sdk.TypeString},
		{Name: "artist", Type: sdk.TypeString}, {Name: "platform", Type: sdk.TypeString}, {Name: "date", Type: sdk.TypeDate},
		{Name: "streams", Type: sdk.TypeInt64, Nullable: true}, {Name: "views", Type: sdk.TypeInt64, Nullable: true}}}
	b := sdk.NewBatchBuilder("", schema)
	for i, isrc := range []string{"QZSYN2600001", "QZSYN2600002"} {
		series, _ := detect.Synthetic(int64(i+1), 365, 30, detect.SynthOptions{Key: isrc + "/spotify/streams", Base: 2000})
		for _, p := range series.Points {
			b.AppendString(0, []byte(isrc))
			b.AppendString(1, []byte("Song "+isrc[len(isrc)-1:]))
			b.AppendString(2, []byte("BEDROT"))
			b.AppendString(3, []byte("spotify"))
			b.AppendInt32(4, sdk.DaysSinceEpoch(p.Date))
			if p.Missing {
				b.AppendNull(5)
			} else {
				b.AppendInt64(5, int64(p.Value))
			}
			b.AppendNull(6)
			b.EndRow()
		}
	}
	var buf bytes.Buffer
	w, err := parquetfile.NewWriter(&buf, schema, parquetfile.Options{})
	require.NoError(t, err)
	require.NoError(t, w.Write(b.Batch()))
	require.NoError(t, w.Close())
	key := "curated/mart=track_performance/version=v1.0/part-0.zstd.parquet"
	_, err = st.Put(t.Context(), key, bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	_, err = meta.Commit(t.Context(), metastore.Commit{RunID: "seed", Batches: []metastore.Batch{{Dataset: "curated.track_performance.v1_0", ID: "seed"}},
		Files: []metastore.File{{Dataset: "curated.track_performance.v1_0", Key: key, Size: int64(buf.Len()), Rows: int64(b.Len()), BatchID: "seed", RunID: "seed"}}})
	require.NoError(t, err)
}

// testLake is a folder lake with a SQLite metastore, the given agent
// plugins installed and a synthetic curated.track_performance mart.
func testLake(t *testing.T, plugins ...string) (*folder.Store, metastore.Store, *pluginhost.Host, *sqlengine.Engine) {
	dir := t.TempDir()
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	meta, err := sqlstore.Open(t.Context(), sqlstore.Config{SQLitePath: filepath.Join(dir, "bedrot.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = meta.Close() })
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(dir, "plugins")}, meta)
	for _, bin := range plugins {
		_, err := host.Install(t.Context(), bin)
		require.NoError(t, err)
	}
	trackPerformance(t, st, meta)
	eng, err := sqlengine.New(sqlengine.Options{Store: st, Meta: meta})
	require.NoError(t, err)
	return st, meta, host, eng
}

// An agent built from examples/ installs, registers, runs, and hands off
// to a second agent (the anomaly agent) that receives its context and the
// knowledge it left; both appear in agent_registry, the sessions are
// complete, and the context files are in the design's shape.
func TestExampleAgentHandsOffToTheAnomalyAgent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, meta, host, eng := testLake(t, buildExample(t), plugintest.Build(t, "plugins/anomaly/cmd/bedrot-agent-anomaly"))
	var dispatched []string
	var queued []agents.Request
	rt := &agents.Runtime{Store: st, Meta: meta, Plugins: host, Engine: eng, Knowledge: &knowledge.Base{Store: st, Meta: meta},
		Dispatch: func(_ context.Context, step sdk.NextStep, from metastore.AgentSession) error {
			dispatched = append(dispatched, step.String())
			if step.Action == "run_agent" {
				queued = append(queued, agents.Request{AgentType: step.Target, Params: from.Params, Previous: from.ID})
			}
			return nil
		}}

	first, err := rt.Run(ctx, agents.Request{AgentType: "trends", Params: map[string]string{"dataset": "curated.track_performance"}})
	require.NoError(t, err)
	require.Equal(t, metastore.SessionCompleted, first.Session.Status, "%+v", first.Handoff)
	require.Contains(t, dispatched, "run_agent:anomaly")
	require.NotEmpty(t, first.Knowledge)
	require.Len(t, queued, 1)

	second, err := rt.Run(ctx, queued[0])
	require.NoError(t, err)
	require.Equal(t, first.Session.ID, second.Session.Previous, "the anomaly agent was handed the trends session")
	require.Equal(t, metastore.SessionCompleted, second.Session.Status, "%+v", second.Handoff)
	// It received the first context: the trends report is its dependency.
	require.Contains(t, second.Context.Dependencies, first.Context.Outputs[0])
	require.NotEmpty(t, second.Knowledge, "it found the injected anomalies")
	// It was handed what the graph knew about its dataset: the first
	// agent's finding.
	require.Contains(t, second.Received, first.Knowledge[0])

	for _, id := range []string{"trends_agent_001", "anomaly_agent_001"} {
		a, err := meta.GetAgent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, metastore.AgentIdle, a.CurrentStatus)
		require.NotNil(t, a.LastActive)
		require.Positive(t, a.KnowledgeContributions)
		var perf struct{ Tasks, Successes int }
		require.NoError(t, json.Unmarshal(a.PerformanceMetrics, &perf))
		require.Equal(t, 1, perf.Tasks)
		require.Equal(t, 1, perf.Successes)
	}

	raw, err := agents.ReadCurrentContext(ctx, st)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	keys := []string{}
	for k := range doc {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"agent_id", "session_id", "current_task", "start_time", "dependencies", "outputs", "metrics", "next_steps", "context_notes"}, keys)
	require.Equal(t, second.Session.ID, doc["session_id"])
	require.ElementsMatch(t, []string{"records_processed", "processing_time_seconds", "data_quality_score"}, keysOf(doc["metrics"].(map[string]any)))
	for _, s := range []string{first.Session.ID, second.Session.ID} {
		_, err := st.Stat(ctx, ".agent/context/history/"+s+".json")
		require.NoError(t, err, "every session's context is kept")
	}
	sessions, err := meta.ListSessions(ctx, metastore.SessionFilter{})
	require.NoError(t, err)
	require.Len(t, sessions, 2)
}

// An agent over its max_runtime is stopped within a second of it.
func TestAgentOverMaxRuntimeIsStopped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, meta, host, eng := testLake(t, plugintest.Build(t, "plugins/anomaly/cmd/bedrot-agent-anomaly"))
	const limit = 300 * time.Millisecond
	rt := &agents.Runtime{Store: st, Meta: meta, Plugins: host, Engine: eng, Knowledge: &knowledge.Base{Store: st, Meta: meta},
		Grant: func(string, string) (agents.Grant, error) {
			return agents.Grant{Zones: sdk.ZoneAccess{Read: []string{"curated", "knowledge"}, Write: []string{"sandbox", "knowledge"}},
				Limits: sdk.Limits{MaxRuntime: limit}}, nil
		},
		// A slow lake: every read takes longer than the agent may run.
		Guard: func(l sdk.LakeServer) sdk.LakeServer { return slowLake{LakeServer: l, delay: 5 * time.Second} }}
	began := time.Now()
	res, err := rt.Run(ctx, agents.Request{AgentType: "anomaly"})
	took := time.Since(began)
	require.Error(t, err)
	require.Contains(t, err.Error(), "max_runtime")
	require.Equal(t, metastore.SessionFailed, res.Session.Status)
	require.Less(t, took, limit+time.Second, "stopped within a second of its max_runtime")
	a, err := meta.GetAgent(ctx, "anomaly_agent_001")
	require.NoError(t, err)
	require.Equal(t, metastore.AgentFailed, a.CurrentStatus)
}

type slowLake struct {
	sdk.LakeServer
	delay time.Duration
}

func (s slowLake) ReadDataset(ctx context.Context, req sdk.ReadDatasetRequest) (sdk.TableReader, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(s.delay):
	}
	return s.LakeServer.ReadDataset(ctx, req)
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
