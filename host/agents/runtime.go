// Package agents runs AI agent plugins (bedrot-agent-<type>) on the lake:
// it registers them in the design's agent_registry, gives each session the
// context the previous agent on the same work left and what the knowledge
// graph knows about its datasets and task, serves it the lake through an
// access-controlled host service (never credentials), stops it at its
// max_runtime, and enforces the hand-off protocol when it finishes:
//
//  1. context captured: the final context is written to
//     .agent/context/current_context.json and kept in
//     .agent/context/history/<session>.json;
//  2. knowledge updated: the agent contributed at least one entry, and the
//     session is in the knowledge graph (datasets consumed and produced);
//  3. next steps defined ("action:target");
//  4. outputs validated: every dataset output with an expectation suite
//     passes it (through the validator plugin);
//  5. stakeholders and next agents notified: each next step was dispatched
//     (notify:TEAM sent, run_agent:TYPE, ingest:SOURCE and
//     validate_schema:DATASET queued as jobs).
//
// A session that skips a step is recorded as incomplete, not completed.
package agents

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// Context file keys in the lake.
const (
	CurrentContextKey = ".agent/context/current_context.json"
	historyDir        = ".agent/context/history/"
)

// Hand-off steps, in order.
var HandoffSteps = []string{"context_captured", "knowledge_updated", "next_steps_defined", "outputs_validated", "stakeholders_notified"}

// Step is one hand-off step's record.
type Step struct {
	Name   string `json:"step"`
	Done   bool   `json:"done"`
	Detail string `json:"detail"`
}

// Grant says what a task may touch: its zones and limits (from the access
// policy's role for agents).
type Grant struct {
	Zones  sdk.ZoneAccess
	Limits sdk.Limits
}

// Runtime runs agent plugins.
type Runtime struct {
	Store     storage.Store
	Meta      metastore.Store
	Plugins   *pluginhost.Host
	Engine    *sqlengine.Engine
	Knowledge *knowledge.Base
	// Quality validates dataset outputs (nil: outputs are not validated, and
	// that hand-off step fails for dataset outputs).
	Quality *quality.Service
	// Grant gives a task its zones and limits; nil grants read of staging,
	// curated and knowledge and write of sandbox and knowledge, 30 minutes.
	Grant func(agentType, task string) (Grant, error)
	// Guard wraps the lake service with access control (host/access).
	Guard func(sdk.LakeServer) sdk.LakeServer
	// Limit applies the task's resource quota to the agent's process
	// (memory, CPU); it returns a release function.
	Limit func(pid int) (release func(), err error)
	// Finished hears every session's end (to flush the audit log, count
	// it in the metrics).
	Finished func(ctx context.Context, res Result)
	// Dispatch carries out a next step (queues a job, sends a note); nil
	// leaves every next step undispatched.
	Dispatch func(ctx context.Context, step sdk.NextStep, from metastore.AgentSession) error
	Logger   *slog.Logger
}

// Request asks for one agent session.
type Request struct {
	// AgentType is the agent plugin's name (bedrot-agent-<type>).
	AgentType string
	// AgentID names the agent in the registry (default <type>_agent_001).
	AgentID string
	Task    string
	Params  map[string]string
	// Previous is the session to hand from; empty: the newest completed
	// session that asked for this agent (run_agent:<type>) or, else, of the
	// same agent and task.
	Previous string
	// Datasets are what the task concerns, for gathering knowledge
	// (default: the "dataset" param).
	Datasets []string
}

// Result is a finished session.
type Result struct {
	Session   metastore.AgentSession `json:"session"`
	Context   sdk.AgentContext       `json:"context"`
	Handoff   []Step                 `json:"handoff"`
	Outputs   []sdk.AgentOutput      `json:"outputs"`
	Knowledge []string               `json:"knowledge"`
	// Received are the knowledge entries the agent was handed.
	Received []string `json:"received_knowledge,omitempty"`
	Logs     []string `json:"logs,omitempty"`
}

func (rt *Runtime) log() *slog.Logger {
	if rt.Logger != nil {
		return rt.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run runs one session of an agent and records it.
func (rt *Runtime) Run(ctx context.Context, req Request) (Result, error) {
	if req.AgentID == "" {
		req.AgentID = req.AgentType + "_agent_001"
	}
	if len(req.Datasets) == 0 && req.Params["dataset"] != "" {
		req.Datasets = []string{req.Params["dataset"]}
	}
	grant := Grant{Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneStaging, sdk.ZoneCurated, sdk.ZoneKnowledge}, Write: []string{sdk.ZoneSandbox, sdk.ZoneKnowledge}},
		Limits: sdk.Limits{MaxRuntime: 30 * time.Minute}}
	if rt.Grant != nil {
		var err error
		if grant, err = rt.Grant(req.AgentType, req.Task); err != nil {
			return Result{}, err
		}
	}
	inst, err := rt.Plugins.Launch(ctx, sdk.KindAgent, req.AgentType)
	if err != nil {
		return Result{}, err
	}
	defer inst.Kill()
	if rt.Limit != nil {
		release, err := rt.Limit(inst.PID())
		if err != nil {
			return Result{}, fmt.Errorf("failed to limit the agent's resources: %w", err)
		}
		defer release()
	}
	info, err := inst.Agent.Describe(ctx)
	if err != nil {
		return Result{}, inst.Describe(fmt.Errorf("failed to describe itself: %w", err))
	}
	if req.Task == "" && len(info.Tasks) > 0 {
		req.Task = info.Tasks[0].Name // a hand-off names the agent, not its task
	}

	prev, err := rt.previous(ctx, req)
	if err != nil {
		return Result{}, err
	}
	gathered, err := rt.Knowledge.Gather(ctx, req.Datasets, req.Task, 20)
	if err != nil {
		return Result{}, err
	}
	ses := metastore.AgentSession{ID: newSessionID(), AgentID: req.AgentID, AgentType: info.Type, Task: req.Task, Params: req.Params,
		StartedAt: time.Now().UTC()}
	if prev != nil {
		ses.Previous = prev.ID
	}
	agent, err := rt.register(ctx, req.AgentID, info.Type)
	if err != nil {
		return Result{}, err
	}
	if err := rt.Meta.CreateSession(ctx, ses); err != nil {
		return Result{}, err
	}
	task := sdk.Task{AgentID: req.AgentID, SessionID: ses.ID, Name: req.Task, Params: req.Params, Zones: grant.Zones, Limits: grant.Limits}
	if prev != nil && len(prev.Context) > 0 {
		if task.Context, err = sdk.ParseAgentContext(prev.Context); err != nil {
			rt.log().Warn("the previous session's context cannot be read; the agent starts without it", "session", prev.ID, "error", err)
		}
	}
	for _, e := range gathered {
		task.Knowledge = append(task.Knowledge, toSDKEntry(e))
	}
	// The starting context, for anyone looking while the agent works.
	start := task.NewContext()
	if b, err := json.MarshalIndent(start, "", "  "); err == nil {
		_, _ = rt.Store.Put(ctx, CurrentContextKey, bytes.NewReader(b))
	}

	res := Result{Session: ses}
	for _, e := range gathered {
		res.Received = append(res.Received, e.ID)
	}
	var mu sync.Mutex
	contributed := 0
	lake := &lakeServer{store: rt.Store, meta: rt.Meta, engine: rt.Engine, knowledge: rt.Knowledge,
		onKnowledge: func(_ sdk.LakeCaller, e knowledge.Entry) {
			mu.Lock()
			defer mu.Unlock()
			contributed++
			res.Knowledge = append(res.Knowledge, e.ID)
		}}
	var served sdk.LakeServer = lake
	if rt.Guard != nil {
		served = rt.Guard(lake)
	}
	var final *sdk.AgentFinal
	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if grant.Limits.MaxRuntime > 0 {
		// The host enforces max_runtime too: at the deadline the plugin is
		// killed, whatever it is doing.
		runCtx, cancel = context.WithTimeout(ctx, grant.Limits.MaxRuntime)
		stop := context.AfterFunc(runCtx, func() {
			if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
				inst.Kill()
			}
		})
		defer stop()
	}
	began := time.Now()
	runErr := inst.Agent.Run(runCtx, task, served, func(ev sdk.AgentEvent) error {
		switch {
		case ev.Log != nil:
			rt.log().Info("agent: "+ev.Log.Message, "agent", req.AgentID, "session", ses.ID)
			res.Logs = append(res.Logs, ev.Log.Message)
		case ev.Output != nil:
			res.Outputs = append(res.Outputs, *ev.Output)
		case ev.Knowledge != nil:
			e, err := rt.Knowledge.Add(ctx, knowledge.Entry{Kind: ev.Knowledge.Kind, Title: ev.Knowledge.Title, Body: ev.Knowledge.Body,
				Tags: ev.Knowledge.Tags, Datasets: ev.Knowledge.Datasets, Agent: req.AgentID, Session: ses.ID})
			if err != nil {
				return fmt.Errorf("failed to keep the agent's knowledge %q: %w", ev.Knowledge.Title, err)
			}
			mu.Lock()
			contributed++
			res.Knowledge = append(res.Knowledge, e.ID)
			mu.Unlock()
		case ev.Final != nil:
			f := *ev.Final
			final = &f
		}
		return nil
	})
	overRun := errors.Is(runCtx.Err(), context.DeadlineExceeded)
	cancel()
	elapsed := time.Since(began)
	// The plugin side may see the propagated deadline, and its answer
	// arrive, before this side's timer fires: over its time is over it.
	if grant.Limits.MaxRuntime > 0 && runErr != nil && (overRun || elapsed >= grant.Limits.MaxRuntime) {
		runErr = fmt.Errorf("stopped after its max_runtime of %s: %w", grant.Limits.MaxRuntime, runErr)
	}

	ses.Status = metastore.SessionFailed
	if runErr == nil && final != nil {
		res.Context = final.Context
		res.Handoff = rt.handoff(ctx, &ses, final, res.Outputs, contributed)
		ses.Status = metastore.SessionCompleted
		for _, st := range res.Handoff {
			if !st.Done {
				ses.Status = metastore.SessionIncomplete
			}
		}
		ses.Context = final.RawContext
	} else if runErr == nil {
		runErr = errors.New("the agent ended without a final context")
	}
	if runErr != nil {
		ses.Error = runErr.Error()
	}
	ses.Handoff, _ = json.Marshal(res.Handoff)
	now := time.Now().UTC()
	ses.FinishedAt = &now
	if err := rt.Meta.FinishSession(context.WithoutCancel(ctx), ses); err != nil {
		return res, err
	}
	res.Session = ses
	rt.account(context.WithoutCancel(ctx), agent, ses, elapsed, contributed, inst.PeakRSS())
	if rt.Finished != nil {
		rt.Finished(context.WithoutCancel(ctx), res)
	}
	if runErr != nil {
		return res, fmt.Errorf("agent %s session %s: %w", req.AgentID, ses.ID, runErr)
	}
	return res, nil
}

// previous finds the session to hand from.
func (rt *Runtime) previous(ctx context.Context, req Request) (*metastore.AgentSession, error) {
	if req.Previous != "" {
		s, err := rt.Meta.GetSession(ctx, req.Previous)
		if err != nil {
			return nil, err
		}
		return &s, nil
	}
	done, err := rt.Meta.ListSessions(ctx, metastore.SessionFilter{Status: metastore.SessionCompleted, Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, s := range done {
		var c struct {
			NextSteps []string `json:"next_steps"`
		}
		if json.Unmarshal(s.Context, &c) == nil && slices.Contains(c.NextSteps, "run_agent:"+req.AgentType) {
			return &s, nil
		}
	}
	for _, s := range done {
		if s.AgentID == req.AgentID && s.Task == req.Task {
			return &s, nil
		}
	}
	return nil, nil
}

// handoff carries out and records the five steps.
func (rt *Runtime) handoff(ctx context.Context, ses *metastore.AgentSession, final *sdk.AgentFinal, outputs []sdk.AgentOutput, contributed int) []Step {
	steps := make([]Step, 0, len(HandoffSteps))
	raw := final.RawContext
	if len(raw) == 0 {
		raw, _ = json.Marshal(final.Context)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(raw)
	}
	if err := writeContext(ctx, rt.Store, ses.ID, pretty.Bytes()); err != nil {
		steps = append(steps, Step{Name: "context_captured", Detail: err.Error()})
	} else {
		steps = append(steps, Step{Name: "context_captured", Done: true, Detail: CurrentContextKey + ", " + historyDir + ses.ID + ".json"})
	}

	var produced []string
	for _, o := range outputs {
		if o.Dataset != "" {
			produced = append(produced, o.Dataset)
		}
	}
	consumed := final.Context.Dependencies
	graphErr := rt.Knowledge.RecordSession(ctx, ses.AgentID, ses.ID, datasetsOnly(consumed), produced)
	switch {
	case graphErr != nil:
		steps = append(steps, Step{Name: "knowledge_updated", Detail: graphErr.Error()})
	case contributed == 0:
		steps = append(steps, Step{Name: "knowledge_updated", Detail: "the agent contributed no knowledge entry"})
	default:
		steps = append(steps, Step{Name: "knowledge_updated", Done: true, Detail: fmt.Sprintf("%d entr(ies) contributed; session in the graph", contributed)})
	}

	var next []sdk.NextStep
	for _, s := range final.Context.NextSteps {
		if ns, err := sdk.ParseNextStep(s); err == nil {
			next = append(next, ns)
		}
	}
	if len(next) == 0 {
		steps = append(steps, Step{Name: "next_steps_defined", Detail: "the final context lists no next step (action:target)"})
	} else {
		steps = append(steps, Step{Name: "next_steps_defined", Done: true, Detail: fmt.Sprint(final.Context.NextSteps)})
	}

	validated := Step{Name: "outputs_validated", Done: true, Detail: "no dataset output has an expectation suite"}
	var checked []string
	for _, ds := range produced {
		if rt.Quality == nil || rt.Quality.SuiteFor(ds) == "" {
			continue
		}
		out, err := rt.Quality.ValidateDataset(ctx, ds, quality.Options{})
		switch {
		case err != nil:
			validated = Step{Name: "outputs_validated", Detail: fmt.Sprintf("%s: %v", ds, err)}
		case !out.Success:
			validated = Step{Name: "outputs_validated", Detail: fmt.Sprintf("%s does not meet its suite (validation %s)", ds, out.ID)}
		default:
			checked = append(checked, ds)
		}
		if !validated.Done {
			break
		}
	}
	if validated.Done && len(checked) > 0 {
		validated.Detail = fmt.Sprintf("%v meet their suites", checked)
	}
	steps = append(steps, validated)

	notified := Step{Name: "stakeholders_notified", Done: len(next) > 0}
	if rt.Dispatch == nil {
		notified = Step{Name: "stakeholders_notified", Detail: "this host dispatches no next steps (no daemon queue)"}
	} else {
		var done []string
		for _, ns := range next {
			if err := rt.Dispatch(ctx, ns, *ses); err != nil {
				notified.Done = false
				notified.Detail = fmt.Sprintf("%s: %v", ns, err)
				break
			}
			done = append(done, ns.String())
		}
		if notified.Done {
			notified.Detail = fmt.Sprintf("dispatched %v", done)
		}
	}
	steps = append(steps, notified)
	return steps
}

// datasetsOnly keeps the dependencies that name datasets of the lake.
func datasetsOnly(deps []string) []string {
	var out []string
	for _, d := range deps {
		if sdk.IsLakeZone(zoneOf(d)) {
			out = append(out, d)
		}
	}
	return out
}

// register marks the agent running in the registry.
func (rt *Runtime) register(ctx context.Context, id, typ string) (metastore.Agent, error) {
	a, err := rt.Meta.GetAgent(ctx, id)
	if err != nil && !errors.Is(err, metastore.ErrNotFound) {
		return a, err
	}
	now := time.Now().UTC()
	a.ID, a.Type, a.CurrentStatus, a.LastActive = id, typ, metastore.AgentRunning, &now
	return a, rt.Meta.UpsertAgent(ctx, a)
}

// performance is agent_registry.performance_metrics.
type performance struct {
	Tasks     int     `json:"tasks"`
	Successes int     `json:"successes"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
}

// account records the session in the registry.
func (rt *Runtime) account(ctx context.Context, a metastore.Agent, ses metastore.AgentSession, elapsed time.Duration, contributed int, peakRSS int64) {
	countTask(&a, ses.Status, elapsed)
	a.CurrentStatus = metastore.AgentIdle
	if ses.Status == metastore.SessionFailed {
		a.CurrentStatus = metastore.AgentFailed
	}
	a.ResourceUsage, _ = json.Marshal(map[string]any{"peak_rss_bytes": peakRSS, "last_session_seconds": elapsed.Seconds()})
	a.KnowledgeContributions += contributed
	now := time.Now().UTC()
	a.LastActive = &now
	if err := rt.Meta.UpsertAgent(ctx, a); err != nil {
		rt.log().Error("failed to update the agent registry", "agent", a.ID, "error", err)
	}
}

// countTask adds a finished session to an agent's performance_metrics.
func countTask(a *metastore.Agent, status string, elapsed time.Duration) {
	var p performance
	_ = json.Unmarshal(a.PerformanceMetrics, &p)
	p.Tasks++
	p.Seconds += elapsed.Seconds()
	switch status {
	case metastore.SessionFailed:
		p.Errors++
	case metastore.SessionCompleted:
		p.Successes++
	}
	a.PerformanceMetrics, _ = json.Marshal(p)
}

// writeContext writes a session's context as the current one and keeps it
// in the history.
func writeContext(ctx context.Context, st storage.Store, sessionID string, raw []byte) error {
	_, err1 := st.Put(ctx, CurrentContextKey, bytes.NewReader(raw))
	_, err2 := st.Put(ctx, historyDir+sessionID+".json", bytes.NewReader(raw))
	return errors.Join(err1, err2)
}

// ReadCurrentContext returns .agent/context/current_context.json.
func ReadCurrentContext(ctx context.Context, st storage.Store) ([]byte, error) {
	obj, err := st.Open(ctx, CurrentContextKey)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func newSessionID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "ses-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
