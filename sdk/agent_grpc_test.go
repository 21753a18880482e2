package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

var agentSpec = sdk.Spec{Name: "probe", Version: "0.0.1", Description: "agent round-trip probe", Author: "tests"}

// probeAgent exercises every Lake call and event; Params["mode"] picks a
// behaviour.
type probeAgent struct{ sdk.UnimplementedAgent }

func (probeAgent) Describe(context.Context) (sdk.AgentInfo, error) {
	return sdk.AgentInfo{Type: "probe", Version: "0.0.1", Description: "probes the lake", Capabilities: []string{"read_dataset", "write_report"},
		Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneStaging}, Write: []string{sdk.ZoneSandbox}},
		Tasks: []sdk.TaskSpec{{Name: "probe", Description: "probe the lake", Params: []sdk.Param{
			{Name: "dataset", Description: "dataset to read", Required: true},
			{Name: "mode", Description: "what to do", Default: "ok"},
		}}}}, nil
}

func (probeAgent) Run(ctx context.Context, task sdk.Task, lake sdk.Lake, out sdk.AgentEmitter) error {
	switch task.Params["mode"] {
	case "forbidden":
		_, err := lake.PutObject(ctx, sdk.ZoneCurated, "mart.parquet", "application/octet-stream", strings.NewReader("x"))
		return fmt.Errorf("writing the mart: %w", err)
	case "budget":
		_, err := lake.PutObject(ctx, sdk.ZoneSandbox, "big.bin", "application/octet-stream", bytes.NewReader(make([]byte, 3<<20)))
		return err
	case "nolake":
		_, err := lake.ListDatasets(ctx, "")
		return err
	case "nofinal":
		return nil
	case "twofinal":
		if err := out.Final(task.NewContext()); err != nil {
			return err
		}
		return out.Final(task.NewContext())
	case "block":
		out.Log(sdk.LevelInfo, "waiting")
		<-ctx.Done()
		return ctx.Err()
	case "badstep":
		return out.NextStep(sdk.NextStep{Action: "Run Agent", Target: "x"})
	}
	out.Log(sdk.LevelInfo, "probing", "dataset", task.Params["dataset"], "previous", task.Context.SessionID, "knowledge", len(task.Knowledge))
	ds, err := lake.ListDatasets(ctx, "staging.")
	if err != nil {
		return err
	}
	r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: task.Params["dataset"], Columns: []string{"views", "day"}, Limit: 3})
	if err != nil {
		return err
	}
	var rows int64
	var views []int64
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rows += int64(b.NumRows)
		views = append(views, b.Columns[0].Int64s...)
	}
	r.Close()
	if fields := r.Schema().Fields; len(fields) != 2 || fields[0].Name != "views" {
		return fmt.Errorf("projected schema is %+v", fields)
	}
	q, err := lake.Query(ctx, "SELECT day FROM "+task.Params["dataset"], 0)
	if err != nil {
		return err
	}
	qb, err := q.Next()
	if err != nil {
		return err
	}
	q.Close()
	// 2.5 MiB crosses the 1 MiB chunk size twice.
	report := bytes.Repeat([]byte("# report\n"), (5<<20)/18)
	obj, err := lake.PutObject(ctx, sdk.ZoneSandbox, "reports/probe.md", "text/markdown", bytes.NewReader(report))
	if err != nil {
		return err
	}
	found, err := lake.SearchKnowledge(ctx, "spike", 5)
	if err != nil {
		return err
	}
	id, err := lake.AddKnowledge(ctx, sdk.KnowledgeEntry{Kind: sdk.KnowledgePattern, Title: "probe pattern", Body: "seen", Author: "someone-else", Confidence: 0.5})
	if err != nil {
		return err
	}
	out.Progress(1, 2, "steps")
	if err := out.Output(sdk.AgentOutput{Zone: obj.Zone, Key: obj.Key, Description: "report", Bytes: obj.Size}); err != nil {
		return err
	}
	if err := out.Knowledge(sdk.KnowledgeEntry{Kind: sdk.KnowledgeFinding, Title: "views", Body: fmt.Sprintf("views %v", views),
		Tags: []string{"probe"}, Datasets: []string{task.Params["dataset"]}, Confidence: 0.9}); err != nil {
		return err
	}
	if err := out.NextStep(sdk.NextStep{Action: sdk.ActionRunAgent, Target: "anomaly", Reason: "views moved"}); err != nil {
		return err
	}
	c := task.NewContext()
	c.Metrics.RecordsProcessed = rows
	c.Metrics.DataQualityScore = 0.75
	c.ContextNotes = fmt.Sprintf("datasets=%d query_rows=%d search=%d added=%s sha=%s", len(ds), qb.NumRows, len(found), id, obj.SHA256)
	if err := out.Final(c); err != nil {
		return err
	}
	return out.NextStep(sdk.NextStep{Action: "notify", Target: "late"}) // must fail: after Final
}

var probeSchema = sdk.Schema{Fields: []sdk.Field{{Name: "day", Type: sdk.TypeDate}, {Name: "views", Type: sdk.TypeInt64}, {Name: "title", Type: sdk.TypeString}}}

func probeLake() *sdktest.MemoryLake {
	var batches []*sdk.RecordBatch
	for part := 0; part < 2; part++ {
		b := sdk.NewBatchBuilder("s", probeSchema)
		for i := 0; i < 2; i++ {
			b.AppendInt32(0, int32(20000+part*2+i))
			b.AppendInt64(1, int64(100*(part*2+i+1)))
			b.AppendString(2, []byte("clip"))
			b.EndRow()
		}
		batches = append(batches, b.Batch())
	}
	lake := sdktest.NewMemoryLake()
	lake.AddDataset("staging.tiktok_daily_metrics", probeSchema, batches...)
	lake.AddDataset("curated.mart", probeSchema)
	lake.SeedKnowledge(sdk.KnowledgeEntry{Kind: sdk.KnowledgeDecision, Title: "views spike on Mondays", Confidence: 1})
	return lake
}

func probeTask(mode string) sdk.Task {
	params := map[string]string{"dataset": "staging.tiktok_daily_metrics"}
	if mode != "" {
		params["mode"] = mode
	}
	return sdk.Task{AgentID: "probe-1", SessionID: "s-2", Name: "probe", Params: params,
		Context:   &sdk.AgentContext{AgentID: "ingest-1", SessionID: "s-1", Outputs: []string{"staging.tiktok_daily_metrics"}},
		Knowledge: []sdk.KnowledgeEntry{{ID: "k-9", Kind: sdk.KnowledgeFinding, Title: "t"}},
		Zones:     sdk.ZoneAccess{Read: []string{sdk.ZoneStaging}, Write: []string{sdk.ZoneSandbox}},
		Limits:    sdk.Limits{MaxRuntime: time.Minute, MaxWriteBytes: 8 << 20}}
}

func connectAgent(t *testing.T) *sdk.AgentClient {
	t.Helper()
	a, info := sdktest.ServeAgent(t, agentSpec, func() sdk.Agent { return probeAgent{} })
	require.Equal(t, []string{sdk.KindAgent}, info.Kinds)
	return a
}

func TestAgentDescribe(t *testing.T) {
	t.Parallel()
	a := connectAgent(t)
	info, err := a.Describe(context.Background())
	require.NoError(t, err)
	want, _ := probeAgent{}.Describe(context.Background())
	require.Equal(t, want, info)
}

func TestAgentRunRoundTrip(t *testing.T) {
	t.Parallel()
	a := connectAgent(t)
	lake := probeLake()
	run, err := sdktest.RunAgent(context.Background(), a, probeTask(""), lake)
	require.ErrorContains(t, err, "already sent Final", "an event after Final fails the run")
	require.Empty(t, lake.Denials())

	// The task arrived whole, defaults filled in, the hand-off parsed.
	require.Equal(t, sdk.LogMessage{Level: sdk.LevelInfo, Message: "probing",
		KeyVals: []string{"dataset", "staging.tiktok_daily_metrics", "previous", "s-1", "knowledge", "1"}}, run.Logs[0])

	// The report crossed the broker in chunks, byte for byte, into the sandbox.
	require.Len(t, run.Outputs, 1)
	key := "sandbox/probe-1/s-2/reports/probe.md"
	require.Equal(t, sdk.AgentOutput{Zone: sdk.ZoneSandbox, Key: key, Description: "report", Bytes: int64(len(bytes.Repeat([]byte("# report\n"), (5<<20)/18)))}, run.Outputs[0])
	got, ok := lake.Object(key)
	require.True(t, ok)
	require.Equal(t, bytes.Repeat([]byte("# report\n"), (5<<20)/18), got)

	require.Equal(t, []sdk.KnowledgeEntry{{Kind: sdk.KnowledgeFinding, Title: "views", Body: "views [100 200 300]", Tags: []string{"probe"},
		Datasets: []string{"staging.tiktok_daily_metrics"}, Confidence: 0.9}}, run.Knowledge, "the limit cut the read at 3 rows")
	require.Equal(t, []sdk.NextStep{{Action: "run_agent", Target: "anomaly", Reason: "views moved"}}, run.NextSteps)
	// AddKnowledge reached the lake with the run's agent as author.
	kb := lake.Knowledge()
	require.Len(t, kb, 2)
	require.Equal(t, "probe-1", kb[1].Author)
	require.Equal(t, "k-2", kb[1].ID)

	require.Equal(t, 1, run.Finals)
	f := run.Final
	require.Equal(t, "probe-1", f.Context.AgentID)
	require.Equal(t, "s-2", f.Context.SessionID)
	require.Equal(t, "probe", f.Context.CurrentTask)
	require.Equal(t, []string{"staging.tiktok_daily_metrics"}, f.Context.Dependencies, "the previous outputs are the dependencies")
	require.Equal(t, []string{key}, f.Context.Outputs, "outputs filled from the emitted outputs")
	require.Equal(t, []string{"run_agent:anomaly"}, f.Context.NextSteps)
	require.Equal(t, int64(3), f.Metrics.RecordsProcessed)
	require.Equal(t, 0.75, f.Metrics.DataQualityScore)
	require.Positive(t, f.Metrics.ProcessingTimeSeconds)
	require.WithinDuration(t, time.Now(), f.Context.StartTime, time.Minute)
	require.Contains(t, f.Notes, "datasets=1 query_rows=2 search=1 added=k-2 sha=")
	require.Equal(t, f.Context.ContextNotes, f.Notes)
	require.Contains(t, string(f.RawContext), `"metrics":{"records_processed":3,`)
}

func TestAgentRunErrors(t *testing.T) {
	t.Parallel()
	a := connectAgent(t)
	ctx := context.Background()
	run := func(task sdk.Task, lake sdk.LakeServer) error {
		_, err := sdktest.RunAgent(ctx, a, task, lake)
		return err
	}

	lake := probeLake()
	err := run(probeTask("forbidden"), lake)
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "rule assigned-zones")
	require.ErrorContains(t, err, "not curated")
	require.Len(t, lake.Denials(), 1)

	task := probeTask("budget")
	task.Limits.MaxWriteBytes = 1 << 20
	err = run(task, probeLake())
	require.ErrorIs(t, err, sdk.ErrBudgetExceeded)
	require.NotErrorIs(t, err, sdk.ErrPermissionDenied)

	err = run(probeTask("nolake"), nil)
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "no lake access")

	require.ErrorContains(t, run(probeTask("nofinal"), probeLake()), "without calling Final")
	require.ErrorContains(t, run(probeTask("twofinal"), probeLake()), "Final was already called")
	require.ErrorContains(t, run(probeTask("badstep"), probeLake()), "action must be a lower-case word")

	err = run(sdk.Task{Name: "summarize"}, probeLake())
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, `does not accept task "summarize"; it accepts: probe`)

	err = run(sdk.Task{Name: "probe"}, probeLake())
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, "needs parameter(s) dataset")

	// An error from the handler stops the run and comes back as is.
	stop := errors.New("host is shutting down")
	err = a.Run(ctx, probeTask(""), probeLake(), func(sdk.AgentEvent) error { return stop })
	require.ErrorIs(t, err, stop)
}

func TestAgentRunCancel(t *testing.T) {
	t.Parallel()
	a := connectAgent(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := a.Run(ctx, probeTask("block"), probeLake(), func(ev sdk.AgentEvent) error {
		if ev.Log != nil {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
}

// TestAgentRunStopsLakeServer is not parallel: it looks for the broker's
// serving goroutine, which another test's run could own.
func TestAgentRunStopsLakeServer(t *testing.T) {
	a := connectAgent(t)
	for _, mode := range []string{"", "forbidden", "nofinal"} {
		_, _ = sdktest.RunAgent(context.Background(), a, probeTask(mode), probeLake())
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		require.False(t, strings.Contains(stacks, "AcceptAndServe"), "mode %q: the lake server outlived the run", mode)
	}
}

func TestAgentAcceptanceInProcess(t *testing.T) {
	t.Parallel()
	sdktest.AgentAcceptanceTest(t, sdktest.AgentDriver{Spec: agentSpec, NewAgent: func() sdk.Agent { return finalAgent{} },
		Cases: []sdktest.AgentCase{{Task: sdk.Task{Name: "probe", Params: map[string]string{"dataset": "staging.tiktok_daily_metrics"}}, Lake: probeLake(),
			Check: func(t *testing.T, run *sdktest.AgentRun) {
				require.Equal(t, int64(4), run.Final.Metrics.RecordsProcessed)
			}}}})
}

// finalAgent is probeAgent without the deliberate event after Final: it
// reads the whole dataset and writes a small report.
type finalAgent struct{ probeAgent }

func (finalAgent) Run(ctx context.Context, task sdk.Task, lake sdk.Lake, out sdk.AgentEmitter) error {
	r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: task.Params["dataset"]})
	if err != nil {
		return err
	}
	defer r.Close()
	var rows int64
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rows += int64(b.NumRows)
	}
	obj, err := lake.PutObject(ctx, sdk.ZoneSandbox, "r.md", "text/markdown", strings.NewReader("# r\n"))
	if err != nil {
		return err
	}
	if err := out.Output(sdk.AgentOutput{Zone: obj.Zone, Key: obj.Key}); err != nil {
		return err
	}
	if err := out.NextStep(sdk.NextStep{Action: sdk.ActionNotify, Target: "data_quality_team"}); err != nil {
		return err
	}
	c := task.NewContext()
	c.Metrics.RecordsProcessed = rows
	c.Metrics.DataQualityScore = 1
	return out.Final(c)
}
