package agents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk"
)

// IngestAgentID is the built-in ingest agent: every pipeline run is one
// of its sessions, so an ingest leaves the same context as any agent
// (the design's data_ingest_agent_001 / ingest_tiktok_metrics).
const IngestAgentID = "data_ingest_agent_001"

// IngestAgent records pipeline runs as sessions of the built-in ingest
// agent (a pipeline.RunObserver).
type IngestAgent struct {
	Store     storage.Store
	Meta      metastore.Store
	Knowledge *knowledge.Base
	// SuitesDir names the expectation suites, for the next steps
	// (validate_schema:<dataset> for the source's staging datasets).
	SuitesDir string
	Logger    *slog.Logger
}

func (a IngestAgent) sessionID(runID string) string { return "ses-" + runID }

// RunStarted opens the run's session.
func (a IngestAgent) RunStarted(ctx context.Context, res pipeline.Result) {
	now := res.Started
	if err := a.Meta.UpsertAgent(ctx, a.agent(ctx, metastore.AgentRunning, &now)); err != nil {
		a.Logger.Warn("failed to register the ingest agent", "error", err)
	}
	if err := a.Meta.CreateSession(ctx, metastore.AgentSession{ID: a.sessionID(res.RunID), AgentID: IngestAgentID, AgentType: "ingest",
		Task: "ingest_" + res.Source + "_metrics", Params: map[string]string{"source": res.Source, "run_id": res.RunID}, StartedAt: res.Started}); err != nil {
		a.Logger.Warn("failed to record the ingest session", "run", res.RunID, "error", err)
	}
}

// agent returns the registry row, keeping its counters.
func (a IngestAgent) agent(ctx context.Context, status string, active *time.Time) metastore.Agent {
	ag, err := a.Meta.GetAgent(ctx, IngestAgentID)
	if err != nil {
		ag = metastore.Agent{ID: IngestAgentID}
	}
	ag.Type, ag.CurrentStatus, ag.LastActive = "ingest", status, active
	return ag
}

// RunFinished writes the session's context and hand-off, and accounts it.
func (a IngestAgent) RunFinished(ctx context.Context, res pipeline.Result) {
	var outputs []string
	var scores []float64
	for _, p := range res.Payloads {
		if p.Status != pipeline.StatusIngested {
			continue
		}
		for _, k := range p.RawFiles {
			if s := zone.RawFileStream(k); s != "" && !slices.Contains(outputs, zone.RawDataset(res.Source, s)) {
				outputs = append(outputs, zone.RawDataset(res.Source, s))
			}
		}
		for _, id := range p.Validations {
			if v, err := a.Meta.GetValidation(ctx, id); err == nil {
				scores = append(scores, v.Score)
			}
		}
	}
	slices.Sort(outputs)
	quality := 1.0
	if len(scores) > 0 {
		quality = 0
		for _, s := range scores {
			quality += s
		}
		quality /= float64(len(scores))
	}
	next := a.nextSteps(res.Source, outputs)
	c := sdk.AgentContext{AgentID: IngestAgentID, SessionID: a.sessionID(res.RunID), CurrentTask: "ingest_" + res.Source + "_metrics",
		StartTime: res.Started, Dependencies: []string{"source:" + res.Source}, Outputs: outputs,
		Metrics:      sdk.ContextMetrics{RecordsProcessed: res.Rows, ProcessingTimeSeconds: res.Finished.Sub(res.Started).Seconds(), DataQualityScore: quality},
		NextSteps:    next,
		ContextNotes: fmt.Sprintf("Run %s of %s: %s, %d rows from %d payload(s)", res.RunID, res.Source, res.Status, res.Rows, len(res.Payloads))}
	if res.Error != "" {
		c.ContextNotes += ". Error: " + res.Error
	}
	if c.Outputs == nil {
		c.Outputs = []string{}
	}
	raw, _ := json.MarshalIndent(c, "", "  ")
	ses := metastore.AgentSession{ID: c.SessionID, Status: metastore.SessionCompleted, Context: raw}
	if res.Status == metastore.RunFailed {
		ses.Status, ses.Error = metastore.SessionFailed, res.Error
	} else {
		ctxErr := writeContext(ctx, a.Store, c.SessionID, raw)
		graph := a.Knowledge.RecordSession(ctx, IngestAgentID, c.SessionID, nil, outputs)
		steps := []Step{
			{Name: "context_captured", Done: ctxErr == nil, Detail: CurrentContextKey},
			{Name: "knowledge_updated", Done: graph == nil, Detail: "session and its datasets in the knowledge graph"},
			{Name: "next_steps_defined", Done: len(next) > 0, Detail: strings.Join(next, ", ")},
			{Name: "outputs_validated", Done: true, Detail: "every payload was validated against its suite before commit"},
			{Name: "stakeholders_notified", Done: true, Detail: "failures and quality warnings are alerted by the daemon"},
		}
		for _, st := range steps {
			if !st.Done {
				ses.Status = metastore.SessionIncomplete
			}
		}
		ses.Handoff, _ = json.Marshal(steps)
	}
	fin := res.Finished
	ses.FinishedAt = &fin
	if err := a.Meta.FinishSession(ctx, ses); err != nil {
		a.Logger.Warn("failed to finish the ingest session", "run", res.RunID, "error", err)
	}
	ag := a.agent(ctx, metastore.AgentIdle, &fin)
	countTask(&ag, ses.Status, res.Finished.Sub(res.Started))
	if err := a.Meta.UpsertAgent(ctx, ag); err != nil {
		a.Logger.Warn("failed to update the ingest agent", "error", err)
	}
}

// nextSteps asks for the source's staging datasets with a suite to be
// validated, else its raw outputs.
func (a IngestAgent) nextSteps(source string, outputs []string) []string {
	var next []string
	if entries, err := os.ReadDir(a.SuitesDir); err == nil {
		for _, e := range entries {
			name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
			if strings.HasPrefix(name, "staging.") && strings.Contains(name, source) {
				next = append(next, "validate_schema:"+name)
			}
		}
	}
	if len(next) == 0 {
		for _, o := range outputs {
			next = append(next, "validate_schema:"+o)
		}
	}
	return next
}
