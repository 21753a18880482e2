package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/bedrot-label/bedrot/sdk"
)

// AgentDriver describes an agent plugin under test: a binary, launched as
// the host launches it, or (for quick unit tests) an agent served in
// process over a real go-plugin gRPC connection.
type AgentDriver struct {
	// Binary is the plugin executable, named bedrot-agent-<name>.
	Binary string
	// Spec and NewAgent serve the agent in process when Binary is empty.
	Spec     sdk.Spec
	NewAgent func() sdk.Agent
	// Cases are the tasks to run; at least one.
	Cases []AgentCase
	// Timeout bounds each run (default 2 minutes).
	Timeout time.Duration
}

// AgentCase is one task run against a MemoryLake.
type AgentCase struct {
	// Name names the subtest (default: the task's name).
	Name string
	// Task is the task to run. AgentID and SessionID default to
	// "acceptance-agent" and "acceptance-<case>"; with no Zones the run is
	// assigned the zones the agent's Describe asks for.
	Task sdk.Task
	// Lake holds the data the task needs (default: an empty lake).
	Lake *MemoryLake
	// Check, if set, makes the case's own assertions on the run.
	Check func(t *testing.T, run *AgentRun)
}

// AgentRun is everything a run sent, in order and sorted by kind.
type AgentRun struct {
	Events    []sdk.AgentEvent
	Logs      []sdk.LogMessage
	Outputs   []sdk.AgentOutput
	Knowledge []sdk.KnowledgeEntry
	NextSteps []sdk.NextStep
	// Final is the run's final event (nil if it sent none).
	Final *sdk.AgentFinal
	// Finals counts the Final events.
	Finals int
}

// LaunchAgent starts an agent plugin binary as the host does.
func LaunchAgent(t testing.TB, binary string) (*sdk.AgentClient, sdk.Info) {
	t.Helper()
	rpc, info := launch(t, binary, nil)
	return dispenseAgent(t, rpc), info
}

// ServeAgent serves an agent in process over a real go-plugin gRPC
// connection (with its GRPCBroker) and returns the host's client; it stops
// when the test ends.
func ServeAgent(t testing.TB, spec sdk.Spec, newAgent func() sdk.Agent) (*sdk.AgentClient, sdk.Info) {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, sdk.PluginSets(sdk.Plugin{Spec: spec, NewAgent: newAgent})[sdk.ProtocolVersion])
	t.Cleanup(func() {
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(sdk.KindPlugin)
	if err != nil {
		t.Fatalf("plugin does not serve %q: %v", sdk.KindPlugin, err)
	}
	info, err := raw.(*sdk.InfoClient).GetInfo(context.Background())
	if err != nil {
		t.Fatalf("GetInfo failed: %v", err)
	}
	return dispenseAgent(t, client), info
}

func dispenseAgent(t testing.TB, rpc plugin.ClientProtocol) *sdk.AgentClient {
	t.Helper()
	raw, err := rpc.Dispense(sdk.KindAgent)
	if err != nil {
		t.Fatalf("plugin does not serve %q: %v", sdk.KindAgent, err)
	}
	a, ok := raw.(*sdk.AgentClient)
	if !ok {
		t.Fatalf("unexpected %T for %q", raw, sdk.KindAgent)
	}
	return a
}

// RunAgent runs task on the agent against lake and collects what it sent.
// The error is the run's (nil only if it succeeded with exactly one Final).
func RunAgent(ctx context.Context, a *sdk.AgentClient, task sdk.Task, lake sdk.LakeServer) (*AgentRun, error) {
	run := &AgentRun{}
	err := a.Run(ctx, task, lake, func(ev sdk.AgentEvent) error {
		run.Events = append(run.Events, ev)
		switch {
		case ev.Log != nil:
			run.Logs = append(run.Logs, *ev.Log)
		case ev.Output != nil:
			run.Outputs = append(run.Outputs, *ev.Output)
		case ev.Knowledge != nil:
			run.Knowledge = append(run.Knowledge, *ev.Knowledge)
		case ev.NextStep != nil:
			run.NextSteps = append(run.NextSteps, *ev.NextStep)
		case ev.Final != nil:
			run.Final = ev.Final
			run.Finals++
		}
		return nil
	})
	return run, err
}

var agentTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// AgentAcceptanceTest checks that an agent honours protocol v1: it
// describes itself well (a type usable in run_agent:TYPE, a version, at
// least one task with named and described parameters, zones from the lake
// layout), refuses a task it does not accept and a task missing a required
// parameter with a configuration error, and runs every case against a
// MemoryLake that enforces the run's zones: the run succeeds without a
// refused lake call, sends exactly one Final as its last event, valid next
// steps (action:target), knowledge with a known kind, a title and a
// confidence in [0, 1], outputs that exist in the lake, and a final context
// in the current_context.json shape that echoes agent_id, session_id and
// the task, with sane metrics.
func AgentAcceptanceTest(t *testing.T, d AgentDriver) {
	t.Helper()
	if d.Timeout == 0 {
		d.Timeout = 2 * time.Minute
	}
	var a *sdk.AgentClient
	var info sdk.Info
	if d.Binary != "" {
		a, info = LaunchAgent(t, d.Binary)
	} else {
		a, info = ServeAgent(t, d.Spec, d.NewAgent)
	}
	ctx := context.Background()
	t.Run("Info", func(t *testing.T) {
		if info.Spec.Name == "" || info.Spec.Version == "" {
			t.Fatalf("spec must have a name and a version, got %+v", info.Spec)
		}
		if !contains(info.Kinds, sdk.KindAgent) {
			t.Fatalf("kinds %v must include %q", info.Kinds, sdk.KindAgent)
		}
		if want := "bedrot-agent-" + info.Spec.Name; d.Binary != "" && filepath.Base(d.Binary) != want {
			t.Errorf("binary is named %q; the host installs it only as %q", filepath.Base(d.Binary), want)
		}
	})
	desc, err := a.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe failed: %v", err)
	}
	t.Run("Describe", func(t *testing.T) { checkDescribe(t, desc) })
	t.Run("UnknownTask", func(t *testing.T) {
		_, err := RunAgent(ctx, a, sdk.Task{AgentID: "acceptance-agent", SessionID: "acceptance-unknown", Name: "no-such-task-from-sdktest"}, NewMemoryLake())
		if sdk.KindOf(err) != sdk.KindConfig {
			t.Fatalf("a task the agent does not accept must fail with a configuration error, got %v", err)
		}
	})
	t.Run("MissingParameter", func(t *testing.T) {
		for _, task := range desc.Tasks {
			for _, p := range task.Params {
				if !p.Required || p.Default != "" {
					continue
				}
				_, err := RunAgent(ctx, a, sdk.Task{AgentID: "acceptance-agent", SessionID: "acceptance-missing", Name: task.Name}, NewMemoryLake())
				if sdk.KindOf(err) != sdk.KindConfig {
					t.Errorf("task %q without its required parameter %q must fail with a configuration error, got %v", task.Name, p.Name, err)
				}
				break
			}
		}
	})
	if len(d.Cases) == 0 {
		t.Fatal("give AgentAcceptanceTest at least one case to run")
	}
	for _, c := range d.Cases {
		name := c.Name
		if name == "" {
			name = c.Task.Name
		}
		t.Run("Run/"+name, func(t *testing.T) {
			task := c.Task
			if task.AgentID == "" {
				task.AgentID = "acceptance-agent"
			}
			if task.SessionID == "" {
				task.SessionID = "acceptance-" + name
			}
			if len(task.Zones.Read) == 0 && len(task.Zones.Write) == 0 {
				task.Zones = desc.Zones
			}
			lake := c.Lake
			if lake == nil {
				lake = NewMemoryLake()
			}
			runCtx, cancel := context.WithTimeout(ctx, d.Timeout)
			defer cancel()
			run, err := RunAgent(runCtx, a, task, lake)
			if err != nil {
				t.Fatalf("task %q failed: %v (lake refused: %v)", task.Name, err, lake.Denials())
			}
			checkRun(t, task, lake, run)
			if c.Check != nil {
				c.Check(t, run)
			}
		})
	}
}

func checkDescribe(t *testing.T, d sdk.AgentInfo) {
	if !agentTypePattern.MatchString(d.Type) {
		t.Errorf("agent type %q must be a lower-case word (it is used as run_agent:TYPE)", d.Type)
	}
	if d.Version == "" {
		t.Error("Describe must give a version")
	}
	if len(d.Tasks) == 0 {
		t.Error("Describe must list at least one task")
	}
	seen := map[string]bool{}
	for _, task := range d.Tasks {
		if task.Name == "" || seen[task.Name] {
			t.Errorf("task name %q is empty or repeated", task.Name)
		}
		seen[task.Name] = true
		for _, p := range task.Params {
			if p.Name == "" || p.Description == "" {
				t.Errorf("task %q: parameter %+v needs a name and a description", task.Name, p)
			}
		}
	}
	for _, zs := range [][]string{d.Zones.Read, d.Zones.Write} {
		for _, z := range zs {
			if !sdk.IsLakeZone(z) {
				t.Errorf("zone %q is not a lake zone (%v)", z, sdk.LakeZones)
			}
		}
	}
}

func checkRun(t *testing.T, task sdk.Task, lake *MemoryLake, run *AgentRun) {
	if denied := lake.Denials(); len(denied) > 0 {
		t.Errorf("the agent made lake calls its assigned zones do not allow: %v", denied)
	}
	if run.Finals != 1 {
		t.Fatalf("the run sent %d Final events, want exactly 1", run.Finals)
	}
	if run.Events[len(run.Events)-1].Final == nil {
		t.Error("Final must be the run's last event")
	}
	for _, s := range run.NextSteps {
		if err := s.Validate(); err != nil {
			t.Errorf("next step: %v", err)
		}
	}
	for _, k := range run.Knowledge {
		if err := k.Validate(); err != nil {
			t.Errorf("knowledge %q: %v", k.Title, err)
		}
	}
	for _, o := range run.Outputs {
		switch {
		case o.Key != "":
			if !task.Zones.CanWrite(o.Zone) {
				t.Errorf("output %s is in zone %q, which the task does not assign for writing", o.Key, o.Zone)
			}
			if _, ok := lake.Object(o.Key); !ok {
				t.Errorf("output %s/%s is not in the lake; report the key PutObject returned", o.Zone, o.Key)
			}
		case o.Dataset == "":
			t.Errorf("output %+v names neither an object key nor a dataset", o)
		}
	}
	checkContext(t, task, run.Final)
}

// checkContext checks the final context JSON has the design's shape.
func checkContext(t *testing.T, task sdk.Task, f *sdk.AgentFinal) {
	var doc map[string]any
	if err := json.Unmarshal(f.RawContext, &doc); err != nil {
		t.Fatalf("the final context is not a JSON object: %v", err)
	}
	want := map[string]string{"agent_id": "string", "session_id": "string", "current_task": "string", "start_time": "string",
		"dependencies": "array", "outputs": "array", "metrics": "object", "next_steps": "array", "context_notes": "string"}
	for k, typ := range want {
		if got := jsonType(doc[k]); got != typ {
			t.Errorf("final context: %q is %s, want %s (current_context.json shape)", k, got, typ)
		}
	}
	c := f.Context
	if c.AgentID != task.AgentID || c.SessionID != task.SessionID || c.CurrentTask != task.Name {
		t.Errorf("final context names agent %q, session %q, task %q; want %q, %q, %q", c.AgentID, c.SessionID, c.CurrentTask, task.AgentID, task.SessionID, task.Name)
	}
	if s, _ := doc["start_time"].(string); s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("final context: start_time %q is not RFC 3339", s)
		}
	}
	if m, ok := doc["metrics"].(map[string]any); ok {
		for _, k := range []string{"records_processed", "processing_time_seconds", "data_quality_score"} {
			if jsonType(m[k]) != "number" {
				t.Errorf("final context: metrics.%s is %s, want number", k, jsonType(m[k]))
			}
		}
	}
	for _, s := range c.NextSteps {
		if _, err := sdk.ParseNextStep(s); err != nil {
			t.Errorf("final context: %v", err)
		}
	}
	m := c.Metrics
	if m.RecordsProcessed < 0 || m.ProcessingTimeSeconds < 0 || m.DataQualityScore < 0 || m.DataQualityScore > 1 {
		t.Errorf("final metrics %+v: counts and times must not be negative and data_quality_score must be in [0, 1]", m)
	}
	if f.Metrics != m {
		t.Errorf("Final's metrics %+v differ from its context's %+v", f.Metrics, m)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "missing or null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
