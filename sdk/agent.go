package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// KindAgent is the plugin-set key of agent plugins.
const KindAgent = "agent"

// Agent is an AI or rule-based worker the host runs on the lake. The host
// describes it once (Describe), registers it, and then runs tasks: each Run
// gets the task, the previous session's context (the hand-off), knowledge
// the host gathered, the zones it may read and write, and a [Lake] — the
// agent's only way into the lake. Run reports through an [AgentEmitter] and
// must end with exactly one Final carrying the session's context.
//
// Before Run is called the SDK checks that the task is one Describe lists,
// that its required parameters are set, and fills in parameter defaults;
// an agent does not repeat those checks.
//
// Implementations must embed UnimplementedAgent.
//
//	type trends struct{ sdk.UnimplementedAgent }
//
//	func (trends) Run(ctx context.Context, task sdk.Task, lake sdk.Lake, out sdk.AgentEmitter) error {
//		rows, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: task.Params["dataset"]})
//		…
//		c := task.NewContext()
//		c.Metrics.RecordsProcessed = n
//		return out.Final(c)
//	}
type Agent interface {
	// Describe says what the agent is and what it accepts.
	Describe(ctx context.Context) (AgentInfo, error)
	// Run runs one task. Errors end the run as failed; classify them with
	// Transient and ConfigError as a source does.
	Run(ctx context.Context, task Task, lake Lake, out AgentEmitter) error

	mustEmbedUnimplementedAgent()
}

// UnimplementedAgent must be embedded by every Agent.
type UnimplementedAgent struct{}

// Describe returns ErrUnimplemented.
func (UnimplementedAgent) Describe(context.Context) (AgentInfo, error) {
	return AgentInfo{}, ErrUnimplemented
}

// Run returns ErrUnimplemented.
func (UnimplementedAgent) Run(context.Context, Task, Lake, AgentEmitter) error {
	return ErrUnimplemented
}

func (UnimplementedAgent) mustEmbedUnimplementedAgent() {}

// Lake zone names (the lake layout of DESIGN.md §3).
const (
	ZoneLanding   = "landing"
	ZoneRaw       = "raw"
	ZoneStaging   = "staging"
	ZoneCurated   = "curated"
	ZoneArchive   = "archive"
	ZoneSandbox   = "sandbox"
	ZoneKnowledge = "knowledge"
)

// LakeZones lists every zone name in layout order.
var LakeZones = []string{ZoneLanding, ZoneRaw, ZoneStaging, ZoneCurated, ZoneArchive, ZoneSandbox, ZoneKnowledge}

// IsLakeZone reports whether z names a zone of the lake layout.
func IsLakeZone(z string) bool { return slices.Contains(LakeZones, z) }

// ZoneAccess lists the zones an agent reads and writes.
type ZoneAccess struct {
	Read  []string
	Write []string
}

// CanRead reports whether zone is among the readable zones.
func (z ZoneAccess) CanRead(zone string) bool { return slices.Contains(z.Read, zone) }

// CanWrite reports whether zone is among the writable zones; with no write
// zones listed, only the sandbox is writable (the default assignment).
func (z ZoneAccess) CanWrite(zone string) bool {
	if len(z.Write) == 0 {
		return zone == ZoneSandbox
	}
	return slices.Contains(z.Write, zone)
}

// AgentInfo is what an agent says about itself.
type AgentInfo struct {
	// Type groups agents in the registry, e.g. "anomaly" or "trends";
	// next steps name it as run_agent:TYPE.
	Type        string
	Version     string
	Description string
	// Capabilities are free-form names, e.g. "read_dataset", "write_report".
	Capabilities []string
	// Zones are the zones the agent needs, e.g. read staging and curated,
	// write sandbox.
	Zones ZoneAccess
	// Tasks lists the tasks the agent accepts; at least one.
	Tasks []TaskSpec
}

// Task returns the task spec named name.
func (i AgentInfo) Task(name string) (TaskSpec, bool) {
	for _, t := range i.Tasks {
		if t.Name == name {
			return t, true
		}
	}
	return TaskSpec{}, false
}

// TaskSpec is one task an agent accepts and its parameters.
type TaskSpec struct {
	Name        string
	Description string
	Params      []Param
}

// Limits bound a run. Zero means no limit from the host.
type Limits struct {
	// MaxRuntime bounds the run; the SDK also sets it as Run's deadline.
	MaxRuntime time.Duration
	// MaxReadBytes and MaxWriteBytes are the run's lake budgets; the host
	// answers calls beyond them with ErrBudgetExceeded.
	MaxReadBytes  int64
	MaxWriteBytes int64
}

// Task is one run of an agent: what the host asks it to do.
type Task struct {
	// AgentID is the agent's id in the registry; SessionID names this run.
	AgentID   string
	SessionID string
	// Name is the task's name (one of AgentInfo.Tasks) and Params its
	// parameters, defaults filled in.
	Name   string
	Params map[string]string
	// Context is the previous session's context (the hand-off), or nil for
	// a first session.
	Context *AgentContext
	// Knowledge holds entries the host gathered for the task.
	Knowledge []KnowledgeEntry
	// Zones are the zones this run may read and write; the lake refuses
	// the rest with ErrPermissionDenied.
	Zones  ZoneAccess
	Limits Limits

	// started is when the SDK began the run (plugin side).
	started time.Time
}

// NewContext returns the context of this session, ready to fill and pass to
// Final: agent id, session id, current task and start time set, and the
// previous session's outputs as dependencies.
func (t Task) NewContext() AgentContext {
	start := t.started
	if start.IsZero() {
		start = time.Now()
	}
	c := AgentContext{AgentID: t.AgentID, SessionID: t.SessionID, CurrentTask: t.Name, StartTime: start.UTC()}
	if t.Context != nil {
		c.Dependencies = append([]string(nil), t.Context.Outputs...)
	}
	return c
}

// AgentContext is a session's context, the hand-off from one agent session
// to the next. Its JSON is the lake's .agent/context/current_context.json.
type AgentContext struct {
	AgentID     string    `json:"agent_id"`
	SessionID   string    `json:"session_id"`
	CurrentTask string    `json:"current_task"`
	StartTime   time.Time `json:"start_time"`
	// Dependencies name what the session built on (datasets, earlier
	// outputs).
	Dependencies []string `json:"dependencies"`
	// Outputs name what the session wrote (lake keys or dataset names).
	Outputs []string       `json:"outputs"`
	Metrics ContextMetrics `json:"metrics"`
	// NextSteps are "action:target" strings (see NextStep).
	NextSteps    []string `json:"next_steps"`
	ContextNotes string   `json:"context_notes"`
}

// ContextMetrics are a session's metrics.
type ContextMetrics struct {
	RecordsProcessed      int64   `json:"records_processed"`
	ProcessingTimeSeconds float64 `json:"processing_time_seconds"`
	// DataQualityScore is 0 to 1.
	DataQualityScore float64 `json:"data_quality_score"`
}

// MarshalJSON writes the context with empty lists as [] rather than null,
// so every reader sees the same shape.
func (c AgentContext) MarshalJSON() ([]byte, error) {
	type plain AgentContext
	p := plain(c)
	for _, s := range []*[]string{&p.Dependencies, &p.Outputs, &p.NextSteps} {
		if *s == nil {
			*s = []string{}
		}
	}
	return json.Marshal(p)
}

// ParseAgentContext parses a current_context.json document.
func ParseAgentContext(b []byte) (*AgentContext, error) {
	var c AgentContext
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("the agent context is not valid JSON in the current_context.json shape: %w", err)
	}
	return &c, nil
}

// Knowledge entry kinds.
const (
	KnowledgeDecision = "decision"
	KnowledgePattern  = "pattern"
	KnowledgeFinding  = "finding"
)

// KnowledgeEntry is one entry of the lake's knowledge base: what the host
// hands a task, what SearchKnowledge finds, and what an agent contributes.
type KnowledgeEntry struct {
	// ID is set by the knowledge base; leave it empty when contributing.
	ID string
	// Kind is KnowledgeDecision, KnowledgePattern or KnowledgeFinding.
	Kind  string
	Title string
	// Body is Markdown.
	Body string
	Tags []string
	// Datasets are the datasets the entry concerns.
	Datasets []string
	// Confidence is 0 to 1.
	Confidence float64
	// Author is the contributing agent's id; the host sets it.
	Author string
}

// Validate checks the entry is one the knowledge base accepts.
func (e KnowledgeEntry) Validate() error {
	switch e.Kind {
	case KnowledgeDecision, KnowledgePattern, KnowledgeFinding:
	default:
		return fmt.Errorf("knowledge kind %q must be %q, %q or %q", e.Kind, KnowledgeDecision, KnowledgePattern, KnowledgeFinding)
	}
	if strings.TrimSpace(e.Title) == "" {
		return errors.New("a knowledge entry needs a title")
	}
	if e.Confidence < 0 || e.Confidence > 1 {
		return fmt.Errorf("knowledge confidence %v must be between 0 and 1", e.Confidence)
	}
	return nil
}

// NextStep is a hand-off the agent proposes, written "action:target":
// validate_schema:staging.tiktok_daily_metrics, notify:data_quality_team,
// run_agent:anomaly, ingest:tiktok.
type NextStep struct {
	Action string
	Target string
	// Reason says why, for people reading the session.
	Reason string
}

// Well-known next-step actions.
const (
	ActionValidateSchema = "validate_schema"
	ActionNotify         = "notify"
	ActionRunAgent       = "run_agent"
	ActionIngest         = "ingest"
)

var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ParseNextStep parses "action:target".
func ParseNextStep(s string) (NextStep, error) {
	action, target, ok := strings.Cut(s, ":")
	step := NextStep{Action: action, Target: target}
	if !ok {
		return NextStep{}, fmt.Errorf("next step %q must be written action:target, e.g. run_agent:anomaly", s)
	}
	if err := step.Validate(); err != nil {
		return NextStep{}, err
	}
	return step, nil
}

// String returns "action:target".
func (s NextStep) String() string { return s.Action + ":" + s.Target }

// Validate checks the action is a lower-case word and the target is set.
func (s NextStep) Validate() error {
	if !actionPattern.MatchString(s.Action) {
		return fmt.Errorf("next step %q: the action must be a lower-case word such as %s or %s", s.String(), ActionRunAgent, ActionNotify)
	}
	if strings.TrimSpace(s.Target) == "" || strings.ContainsAny(s.Target, " \t\n") {
		return fmt.Errorf("next step %q: the target must be set and contain no spaces", s.String())
	}
	return nil
}

// AgentOutput is something a run wrote: an object (Zone and the Key
// Lake.PutObject returned) or a dataset.
type AgentOutput struct {
	Zone        string
	Key         string
	Dataset     string
	Description string
	Rows        int64
	Bytes       int64
}

// AgentEmitter is how a running agent reports. It is safe for concurrent
// use. Log and Progress never fail the run; the other methods return an
// error when the host has gone away or the event is malformed.
type AgentEmitter interface {
	// Log writes a log line with alternating keys and values.
	Log(level LogLevel, msg string, keyvals ...any)
	// Progress reports done of total units of work.
	Progress(done, total int64, unit string)
	// Output reports something the run wrote.
	Output(o AgentOutput) error
	// Knowledge contributes an entry to the knowledge base; the host adds
	// it when the run succeeds. (Lake.AddKnowledge adds one at once.)
	Knowledge(e KnowledgeEntry) error
	// NextStep proposes a hand-off.
	NextStep(s NextStep) error
	// Final ends the run with the session's context; call it exactly once.
	// Left empty, c.Outputs and c.NextSteps are filled from what the run
	// emitted and c.Metrics.ProcessingTimeSeconds from the run's duration.
	Final(c AgentContext) error
}

// AgentEvent is one event of a run, as the host receives it; exactly one
// field is set.
type AgentEvent struct {
	Log       *LogMessage
	Progress  *ProgressMessage
	Output    *AgentOutput
	Knowledge *KnowledgeEntry
	NextStep  *NextStep
	Final     *AgentFinal
}

// AgentFinal ends a run.
type AgentFinal struct {
	// Context is the session's final context and RawContext its JSON as
	// the agent sent it (write it to current_context.json).
	Context    AgentContext
	RawContext []byte
	Metrics    ContextMetrics
	Notes      string
}
