package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	agentv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/agent/v1"
)

// agentServer adapts an Agent to the gRPC AgentService (plugin side).
type agentServer struct {
	agentv1.UnimplementedAgentServiceServer
	a      Agent
	broker *plugin.GRPCBroker
}

func (s *agentServer) Describe(ctx context.Context, _ *agentv1.DescribeRequest) (*agentv1.DescribeResponse, error) {
	info, err := s.a.Describe(ctx)
	if err != nil {
		return nil, agentErrorToStatus(err)
	}
	return agentInfoToProto(info), nil
}

func (s *agentServer) Run(req *agentv1.RunRequest, stream grpc.ServerStreamingServer[agentv1.RunEvent]) error {
	ctx := stream.Context()
	task, err := taskFromProto(req)
	if err != nil {
		return agentErrorToStatus(err)
	}
	task.started = time.Now()
	info, err := s.a.Describe(ctx)
	if err != nil {
		return agentErrorToStatus(fmt.Errorf("the agent failed to describe itself before the run: %w", err))
	}
	if err := prepareTask(info, &task); err != nil {
		return agentErrorToStatus(err)
	}
	if task.Limits.MaxRuntime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, task.Limits.MaxRuntime)
		defer cancel()
	}
	var lake Lake = noLake{}
	if id := req.GetLakeBrokerId(); id != 0 {
		if s.broker == nil {
			return status.Error(codes.Internal, "the plugin has no GRPCBroker to reach the host's lake")
		}
		conn, err := s.broker.DialWithOptions(id, DialOptions()...)
		if err != nil {
			return agentErrorToStatus(Transient(fmt.Errorf("failed to connect to the host's lake service (broker id %d): %w", id, err)))
		}
		defer conn.Close()
		lake = &lakeClient{c: agentv1.NewLakeServiceClient(conn)}
	}
	em := &agentEmitter{stream: stream, task: task}
	if err := s.a.Run(ctx, task, lake, em); err != nil {
		return agentErrorToStatus(err)
	}
	if !em.finalSent() {
		return status.Errorf(codes.Internal, "agent %s ran task %q without calling Final: end every successful Run with out.Final(task.NewContext())", info.Type, task.Name)
	}
	return nil
}

// prepareTask checks the task against the agent's description and fills
// parameter defaults.
func prepareTask(info AgentInfo, task *Task) error {
	spec, ok := info.Task(task.Name)
	if !ok {
		names := make([]string, len(info.Tasks))
		for i, t := range info.Tasks {
			names[i] = t.Name
		}
		return ConfigError(fmt.Errorf("agent %s does not accept task %q; it accepts: %s", info.Type, task.Name, strings.Join(names, ", ")))
	}
	var missing []string
	for _, p := range spec.Params {
		if _, set := task.Params[p.Name]; set {
			continue
		}
		if p.Default != "" {
			task.Params[p.Name] = p.Default
		} else if p.Required {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return ConfigError(fmt.Errorf("task %q of agent %s needs parameter(s) %s", task.Name, info.Type, strings.Join(missing, ", ")))
	}
	return nil
}

// agentEmitter sends an agent's events over the Run stream.
type agentEmitter struct {
	mu        sync.Mutex
	stream    grpc.ServerStreamingServer[agentv1.RunEvent]
	task      Task
	outputs   []string
	nextSteps []string
	final     bool
}

func (e *agentEmitter) send(ev *agentv1.RunEvent) error {
	if err := e.stream.Send(ev); err != nil {
		return fmt.Errorf("failed to send to host: %w", err)
	}
	return nil
}

// sendEvent sends an event that must come before Final.
func (e *agentEmitter) sendEvent(ev *agentv1.RunEvent, record func()) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.final {
		return errors.New("the run already sent Final; emit outputs, knowledge and next steps before it")
	}
	if err := e.send(ev); err != nil {
		return err
	}
	record()
	return nil
}

func (e *agentEmitter) finalSent() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.final
}

func (e *agentEmitter) Log(level LogLevel, msg string, keyvals ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.send(&agentv1.RunEvent{Event: &agentv1.RunEvent_Log{Log: logToProto(level, msg, keyvals)}})
}

func (e *agentEmitter) Progress(done, total int64, unit string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.send(&agentv1.RunEvent{Event: &agentv1.RunEvent_Progress{Progress: progressToProto(done, total, unit)}})
}

func (e *agentEmitter) Output(o AgentOutput) error {
	if o.Dataset == "" && (o.Zone == "" || o.Key == "") {
		return errors.New("an output names a dataset, or a zone and the key PutObject returned")
	}
	if o.Zone != "" && !IsLakeZone(o.Zone) {
		return fmt.Errorf("output zone %q is not a lake zone (%s)", o.Zone, strings.Join(LakeZones, ", "))
	}
	ev := &agentv1.RunEvent{Event: &agentv1.RunEvent_Output{Output: &agentv1.Output{Zone: o.Zone, Key: o.Key, Dataset: o.Dataset,
		Description: o.Description, Rows: o.Rows, Bytes: o.Bytes}}}
	return e.sendEvent(ev, func() {
		name := o.Key
		if name == "" {
			name = o.Dataset
		}
		e.outputs = append(e.outputs, name)
	})
}

func (e *agentEmitter) Knowledge(k KnowledgeEntry) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return e.sendEvent(&agentv1.RunEvent{Event: &agentv1.RunEvent_Knowledge{Knowledge: knowledgeToProto(k)}}, func() {})
}

func (e *agentEmitter) NextStep(s NextStep) error {
	if err := s.Validate(); err != nil {
		return err
	}
	ev := &agentv1.RunEvent{Event: &agentv1.RunEvent_NextStep{NextStep: &agentv1.NextStep{Action: s.Action, Target: s.Target, Reason: s.Reason}}}
	return e.sendEvent(ev, func() { e.nextSteps = append(e.nextSteps, s.String()) })
}

func (e *agentEmitter) Final(c AgentContext) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.final {
		return errors.New("Final was already called; call it exactly once")
	}
	if c.AgentID == "" {
		c.AgentID = e.task.AgentID
	}
	if c.SessionID == "" {
		c.SessionID = e.task.SessionID
	}
	if c.CurrentTask == "" {
		c.CurrentTask = e.task.Name
	}
	if c.StartTime.IsZero() {
		c.StartTime = e.task.started.UTC()
	}
	if c.Outputs == nil {
		c.Outputs = slices.Clone(e.outputs)
	}
	if c.NextSteps == nil {
		c.NextSteps = slices.Clone(e.nextSteps)
	}
	if c.Metrics.ProcessingTimeSeconds == 0 {
		c.Metrics.ProcessingTimeSeconds = time.Since(e.task.started).Seconds()
	}
	for _, s := range c.NextSteps {
		if _, err := ParseNextStep(s); err != nil {
			return fmt.Errorf("final context: %w", err)
		}
	}
	if q := c.Metrics.DataQualityScore; q < 0 || q > 1 {
		return fmt.Errorf("final context: data_quality_score %v must be between 0 and 1", q)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("failed to encode the final context: %w", err)
	}
	m := c.Metrics
	err = e.send(&agentv1.RunEvent{Event: &agentv1.RunEvent_Final{Final: &agentv1.Final{Context: b, Notes: c.ContextNotes,
		Metrics: &agentv1.Metrics{RecordsProcessed: m.RecordsProcessed, ProcessingTimeSeconds: m.ProcessingTimeSeconds, DataQualityScore: m.DataQualityScore}}}})
	if err != nil {
		return err
	}
	e.final = true
	return nil
}

// agentGRPCPlugin is the go-plugin glue for AgentService.
type agentGRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	newAgent func() Agent
}

func (p *agentGRPCPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	agentv1.RegisterAgentServiceServer(s, &agentServer{a: p.newAgent(), broker: broker})
	return nil
}

func (p *agentGRPCPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &AgentClient{c: agentv1.NewAgentServiceClient(c), broker: broker}, nil
}

// AgentClient calls an agent plugin (host side): dispense sdk.KindAgent
// from the plugin's go-plugin client and assert *sdk.AgentClient.
type AgentClient struct {
	c      agentv1.AgentServiceClient
	broker *plugin.GRPCBroker
}

// Describe asks the agent what it is and which tasks it accepts.
func (c *AgentClient) Describe(ctx context.Context) (AgentInfo, error) {
	resp, err := c.c.Describe(ctx, &agentv1.DescribeRequest{})
	if err != nil {
		return AgentInfo{}, agentErrorFromStatus(err)
	}
	return agentInfoFromProto(resp), nil
}

// Run runs task on the agent and calls handle for every event, in order,
// until the run ends. While it runs, the SDK serves lake to the agent over
// the GRPCBroker (each call's ctx carries the run's LakeCaller); the lake
// server is stopped before Run returns. A nil lake gives the agent no lake
// access.
//
// Run returns nil only when the agent succeeded and sent exactly one Final;
// an error from handle cancels the run and is returned as is. A task the
// agent does not accept, or one missing a required parameter, fails with a
// ConfigError.
func (c *AgentClient) Run(ctx context.Context, task Task, lake LakeServer, handle func(AgentEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var brokerID uint32
	if lake != nil {
		if c.broker == nil {
			return errors.New("this AgentClient has no GRPCBroker to serve the lake on; dispense it from a go-plugin gRPC client")
		}
		brokerID = c.broker.NextId()
		stop := serveLake(c.broker, brokerID, &lakeServer{impl: lake, caller: LakeCaller{AgentID: task.AgentID, SessionID: task.SessionID,
			Task: task.Name, Zones: task.Zones, Limits: task.Limits}})
		defer stop()
	}
	req, err := taskToProto(task, brokerID)
	if err != nil {
		return err
	}
	st, err := c.c.Run(ctx, req)
	if err != nil {
		return agentErrorFromStatus(err)
	}
	finals := 0
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return agentErrorFromStatus(err)
		}
		ev, err := eventFromProto(m)
		if err != nil {
			return err
		}
		if ev.Final != nil {
			if finals++; finals > 1 {
				return errors.New("the agent sent a second Final; protocol v1 allows exactly one")
			}
		}
		if err := handle(ev); err != nil {
			return err
		}
	}
	if finals == 0 {
		return errors.New("the agent ended the run without a Final context; the plugin does not follow protocol v1")
	}
	return nil
}

// serveLake serves srv on the broker stream id and returns a function that
// stops the server and waits until it is gone.
func serveLake(broker *plugin.GRPCBroker, id uint32, srv agentv1.LakeServiceServer) (stop func()) {
	servers := make(chan *grpc.Server, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(append(opts, ServerOptions()...)...)
			agentv1.RegisterLakeServiceServer(s, srv)
			servers <- s
			return s
		})
	}()
	return func() {
		select {
		case s := <-servers:
			s.Stop()
		case <-done:
		}
		<-done
	}
}
