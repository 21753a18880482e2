package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	agentv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/agent/v1"
	pluginv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/plugin/v1"
	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

// This file converts the agent kind's Go types to and from protocol v1 and
// carries lake errors as gRPC status codes.

// lakeError is a lake error received from the wire: its text is the
// server's, errors.Is matches the kind.
type lakeError struct {
	kind error
	msg  string
}

func (e *lakeError) Error() string        { return e.msg }
func (e *lakeError) Is(target error) bool { return target == e.kind }

// agentErrorToStatus is errorToStatus with the lake's error kinds.
func agentErrorToStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, ErrBudgetExceeded):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	}
	return errorToStatus(err)
}

// agentErrorFromStatus is errorFromStatus with the lake's error kinds.
func agentErrorFromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	switch st.Code() {
	case codes.PermissionDenied:
		return &lakeError{kind: ErrPermissionDenied, msg: st.Message()}
	case codes.NotFound:
		return &lakeError{kind: ErrNotFound, msg: st.Message()}
	case codes.ResourceExhausted:
		for _, d := range st.Details() {
			if _, ok := d.(*errdetails.RetryInfo); ok {
				return errorFromStatus(err)
			}
		}
		return &lakeError{kind: ErrBudgetExceeded, msg: st.Message()}
	}
	return errorFromStatus(err)
}

func zonesToProto(z ZoneAccess) *agentv1.Zones {
	return &agentv1.Zones{Read: z.Read, Write: z.Write}
}

func zonesFromProto(z *agentv1.Zones) ZoneAccess {
	return ZoneAccess{Read: z.GetRead(), Write: z.GetWrite()}
}

func paramsToProto(ps []Param) []*pluginv1.Param {
	out := make([]*pluginv1.Param, len(ps))
	for i, pa := range ps {
		out[i] = &pluginv1.Param{Name: pa.Name, Description: pa.Description, Required: pa.Required, Secret: pa.Secret, Default: pa.Default}
	}
	return out
}

func paramsFromProto(ps []*pluginv1.Param) []Param {
	var out []Param
	for _, pa := range ps {
		out = append(out, Param{Name: pa.Name, Description: pa.Description, Required: pa.Required, Secret: pa.Secret, Default: pa.Default})
	}
	return out
}

func agentInfoToProto(i AgentInfo) *agentv1.DescribeResponse {
	p := &agentv1.DescribeResponse{Type: i.Type, Version: i.Version, Description: i.Description, Capabilities: i.Capabilities, Zones: zonesToProto(i.Zones)}
	for _, t := range i.Tasks {
		p.Tasks = append(p.Tasks, &agentv1.TaskSpec{Name: t.Name, Description: t.Description, Params: paramsToProto(t.Params)})
	}
	return p
}

func agentInfoFromProto(p *agentv1.DescribeResponse) AgentInfo {
	i := AgentInfo{Type: p.GetType(), Version: p.GetVersion(), Description: p.GetDescription(), Capabilities: p.GetCapabilities(), Zones: zonesFromProto(p.GetZones())}
	for _, t := range p.GetTasks() {
		i.Tasks = append(i.Tasks, TaskSpec{Name: t.Name, Description: t.Description, Params: paramsFromProto(t.Params)})
	}
	return i
}

func knowledgeToProto(e KnowledgeEntry) *agentv1.KnowledgeEntry {
	return &agentv1.KnowledgeEntry{Id: e.ID, Kind: e.Kind, Title: e.Title, Body: e.Body, Tags: e.Tags, Datasets: e.Datasets, Confidence: e.Confidence, Author: e.Author}
}

func knowledgeFromProto(p *agentv1.KnowledgeEntry) KnowledgeEntry {
	return KnowledgeEntry{ID: p.GetId(), Kind: p.GetKind(), Title: p.GetTitle(), Body: p.GetBody(), Tags: p.GetTags(), Datasets: p.GetDatasets(),
		Confidence: p.GetConfidence(), Author: p.GetAuthor()}
}

func knowledgeListToProto(es []KnowledgeEntry) []*agentv1.KnowledgeEntry {
	out := make([]*agentv1.KnowledgeEntry, len(es))
	for i, e := range es {
		out[i] = knowledgeToProto(e)
	}
	return out
}

func knowledgeListFromProto(ps []*agentv1.KnowledgeEntry) []KnowledgeEntry {
	var out []KnowledgeEntry
	for _, p := range ps {
		out = append(out, knowledgeFromProto(p))
	}
	return out
}

// taskToProto builds a RunRequest; brokerID is where the lake is served.
func taskToProto(t Task, brokerID uint32) (*agentv1.RunRequest, error) {
	req := &agentv1.RunRequest{AgentId: t.AgentID, SessionId: t.SessionID, Task: &agentv1.Task{Name: t.Name, Params: t.Params},
		Knowledge: knowledgeListToProto(t.Knowledge), Zones: zonesToProto(t.Zones), LakeBrokerId: brokerID,
		Limits: &agentv1.Limits{MaxRuntimeSeconds: int64(t.Limits.MaxRuntime / time.Second), MaxReadBytes: t.Limits.MaxReadBytes, MaxWriteBytes: t.Limits.MaxWriteBytes}}
	if t.Context != nil {
		b, err := json.Marshal(t.Context)
		if err != nil {
			return nil, fmt.Errorf("failed to encode the previous context: %w", err)
		}
		req.Context = b
	}
	return req, nil
}

func taskFromProto(p *agentv1.RunRequest) (Task, error) {
	t := Task{AgentID: p.GetAgentId(), SessionID: p.GetSessionId(), Name: p.GetTask().GetName(), Params: p.GetTask().GetParams(),
		Knowledge: knowledgeListFromProto(p.GetKnowledge()), Zones: zonesFromProto(p.GetZones()),
		Limits: Limits{MaxRuntime: time.Duration(p.GetLimits().GetMaxRuntimeSeconds()) * time.Second,
			MaxReadBytes: p.GetLimits().GetMaxReadBytes(), MaxWriteBytes: p.GetLimits().GetMaxWriteBytes()}}
	if t.Params == nil {
		t.Params = map[string]string{}
	}
	if len(p.GetContext()) > 0 {
		c, err := ParseAgentContext(p.GetContext())
		if err != nil {
			return Task{}, ConfigError(fmt.Errorf("the host sent a previous context that is not valid: %w", err))
		}
		t.Context = c
	}
	return t, nil
}

func eventFromProto(m *agentv1.RunEvent) (AgentEvent, error) {
	switch v := m.GetEvent().(type) {
	case *agentv1.RunEvent_Log:
		return AgentEvent{Log: &LogMessage{Level: LogLevel(v.Log.Level), Message: v.Log.Message, KeyVals: v.Log.Keyvals}}, nil
	case *agentv1.RunEvent_Progress:
		return AgentEvent{Progress: &ProgressMessage{Done: v.Progress.Done, Total: v.Progress.Total, Unit: v.Progress.Unit}}, nil
	case *agentv1.RunEvent_Output:
		o := v.Output
		return AgentEvent{Output: &AgentOutput{Zone: o.Zone, Key: o.Key, Dataset: o.Dataset, Description: o.Description, Rows: o.Rows, Bytes: o.Bytes}}, nil
	case *agentv1.RunEvent_Knowledge:
		e := knowledgeFromProto(v.Knowledge)
		return AgentEvent{Knowledge: &e}, nil
	case *agentv1.RunEvent_NextStep:
		return AgentEvent{NextStep: &NextStep{Action: v.NextStep.Action, Target: v.NextStep.Target, Reason: v.NextStep.Reason}}, nil
	case *agentv1.RunEvent_Final:
		f := &AgentFinal{RawContext: v.Final.Context, Notes: v.Final.Notes,
			Metrics: ContextMetrics{RecordsProcessed: v.Final.GetMetrics().GetRecordsProcessed(),
				ProcessingTimeSeconds: v.Final.GetMetrics().GetProcessingTimeSeconds(), DataQualityScore: v.Final.GetMetrics().GetDataQualityScore()}}
		c, err := ParseAgentContext(v.Final.Context)
		if err != nil {
			return AgentEvent{}, fmt.Errorf("the agent's final context is malformed: %w", err)
		}
		f.Context = *c
		return AgentEvent{Final: f}, nil
	}
	return AgentEvent{}, fmt.Errorf("agent sent an unknown event type %T (newer protocol?)", m.GetEvent())
}

func logToProto(level LogLevel, msg string, keyvals []any) *sourcev1.Log {
	kv := make([]string, len(keyvals))
	for i, v := range keyvals {
		kv[i] = fmt.Sprint(v)
	}
	return &sourcev1.Log{Level: sourcev1.LogLevel(level), Message: msg, Keyvals: kv}
}

func progressToProto(done, total int64, unit string) *sourcev1.Progress {
	return &sourcev1.Progress{Done: done, Total: total, Unit: unit}
}
