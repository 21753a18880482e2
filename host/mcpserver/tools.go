package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// Query row limits.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
)

// Session list limits.
const (
	defaultSessionLimit = 20
	maxSessionLimit     = 200
)

// Knowledge search limits.
const (
	defaultSearchLimit = 10
	maxSearchLimit     = 50
)

// Tool names.
const (
	ToolListDatasets    = "list_datasets"
	ToolQuery           = "query"
	ToolReadContext     = "read_context"
	ToolListSessions    = "list_sessions"
	ToolSearchKnowledge = "search_knowledge"
	ToolShowKnowledge   = "show_knowledge"
	ToolProposeHandoff  = "propose_handoff"
	ToolAddKnowledge    = "add_knowledge"
)

// ListDatasetsInput is list_datasets' input.
type ListDatasetsInput struct {
	Prefix string `json:"prefix,omitempty" jsonschema:"only datasets whose name starts with this, e.g. curated. or curated.track_; empty lists every dataset the role may read"`
}

// Dataset is one dataset of the lake.
type Dataset struct {
	Name  string `json:"name" jsonschema:"the dataset's name, zone first (curated.track_performance.v1_0); query it as a double-quoted table name"`
	Zone  string `json:"zone"`
	Rows  int64  `json:"rows"`
	Files int64  `json:"files"`
}

// ListDatasetsOutput is list_datasets' output.
type ListDatasetsOutput struct {
	Datasets []Dataset `json:"datasets"`
}

// QueryInput is query's input.
type QueryInput struct {
	SQL   string `json:"sql" jsonschema:"one read-only DuckDB SQL statement (SELECT, WITH, DESCRIBE, SUMMARIZE, EXPLAIN); name datasets in double quotes, e.g. \"curated.track_performance.v1_0\""`
	Limit int    `json:"limit,omitempty" jsonschema:"the most rows to return (default 100, at most 1000); aggregate in SQL rather than fetching many rows"`
}

// QueryColumn is one column of a query's result.
type QueryColumn struct {
	Name string `json:"name"`
	// Type is string, int64, float64, bool, date, timestamp or decimal.
	Type string `json:"type"`
}

// QueryOutput is query's output.
type QueryOutput struct {
	Columns []QueryColumn `json:"columns"`
	// Rows hold JSON values: numbers, strings, booleans, null; dates as
	// YYYY-MM-DD, timestamps as RFC 3339 UTC, decimals as exact strings.
	Rows     [][]any `json:"rows"`
	RowCount int     `json:"row_count"`
	// Truncated says the query had more rows than Limit.
	Truncated bool `json:"truncated"`
	Limit     int  `json:"limit"`
}

// ReadContextInput is read_context's input.
type ReadContextInput struct {
	SessionID string `json:"session_id,omitempty" jsonschema:"a session's id (from list_sessions) to read the context it left; empty reads the lake's current context, the last hand-off"`
}

// ReadContextOutput is read_context's output.
type ReadContextOutput struct {
	// Source is where the context came from: the lake key or "session <id>".
	Source    string `json:"source"`
	SessionID string `json:"session_id,omitempty"`
	Status    string `json:"status,omitempty"`
	// Context is the agent context document (current_context.json).
	Context any `json:"context"`
}

// ListSessionsInput is list_sessions' input.
type ListSessionsInput struct {
	AgentID string `json:"agent_id,omitempty" jsonschema:"only this agent's sessions, e.g. trends_agent_001"`
	Status  string `json:"status,omitempty" jsonschema:"only sessions with this status: running, completed, incomplete or failed"`
	Limit   int    `json:"limit,omitempty" jsonschema:"at most this many, newest first (default 20, at most 200)"`
}

// Session is one agent session, without its context (read_context reads it).
type Session struct {
	ID         string            `json:"session_id"`
	AgentID    string            `json:"agent_id"`
	AgentType  string            `json:"agent_type"`
	Task       string            `json:"task"`
	Params     map[string]string `json:"params,omitempty"`
	Status     string            `json:"status"`
	Previous   string            `json:"previous_session,omitempty"`
	StartedAt  string            `json:"started_at"`
	FinishedAt string            `json:"finished_at,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// ListSessionsOutput is list_sessions' output.
type ListSessionsOutput struct {
	Sessions []Session `json:"sessions"`
}

// SearchKnowledgeInput is search_knowledge's input.
type SearchKnowledgeInput struct {
	Query string `json:"query" jsonschema:"words to search for in the knowledge base, e.g. tiktok rate limit or a dataset name"`
	Limit int    `json:"limit,omitempty" jsonschema:"at most this many entries (default 10, at most 50)"`
}

// KnowledgeEntry is one entry of the knowledge base.
type KnowledgeEntry struct {
	ID       string   `json:"id" jsonschema:"the entry's id (kind:slug), for show_knowledge"`
	Kind     string   `json:"kind"`
	Title    string   `json:"title"`
	Tags     []string `json:"tags,omitempty"`
	Datasets []string `json:"datasets,omitempty"`
	// Author is the agent (or MCP client) that contributed it.
	Author string `json:"author,omitempty"`
	// Session produced the entry (show_knowledge only).
	Session    string   `json:"session,omitempty"`
	Supersedes []string `json:"supersedes,omitempty"`
	Created    string   `json:"created,omitempty"`
	// Path is the entry's Markdown file in the lake (show_knowledge only).
	Path string `json:"path,omitempty"`
	Body string `json:"body"`
}

// SearchKnowledgeOutput is search_knowledge's output.
type SearchKnowledgeOutput struct {
	Entries []KnowledgeEntry `json:"entries"`
}

// ShowKnowledgeInput is show_knowledge's input.
type ShowKnowledgeInput struct {
	ID string `json:"id" jsonschema:"the entry's id (decision:tiktok-backoff) or slug"`
}

// ProposeHandoffInput is propose_handoff's input.
type ProposeHandoffInput struct {
	AgentType string            `json:"agent_type" jsonschema:"the agent to run, e.g. trends or anomaly (an installed bedrot-agent-<type> plugin)"`
	Task      string            `json:"task,omitempty" jsonschema:"the agent's task; empty runs its first"`
	Params    map[string]string `json:"params,omitempty" jsonschema:"task parameters, e.g. {\"dataset\": \"curated.track_performance\"}"`
	Previous  string            `json:"previous_session,omitempty" jsonschema:"a session whose context the agent should be handed (default: the lake's own choice)"`
	Reason    string            `json:"reason" jsonschema:"why the agent should run: what you found and what you expect it to do (kept in the audit log)"`
}

// ProposeHandoffOutput is propose_handoff's output.
type ProposeHandoffOutput struct {
	JobID       int64  `json:"job_id"`
	AgentType   string `json:"agent_type"`
	RequestedBy string `json:"requested_by"`
	Message     string `json:"message"`
}

// AddKnowledgeInput is add_knowledge's input.
type AddKnowledgeInput struct {
	Kind     string   `json:"kind" jsonschema:"decision, pattern or finding"`
	Title    string   `json:"title" jsonschema:"a one-line title"`
	Body     string   `json:"body" jsonschema:"the entry in Markdown: what, the evidence (queries, numbers), and what to do about it"`
	Tags     []string `json:"tags,omitempty" jsonschema:"lower-case tags; a task type tag (trends, anomaly) hands the entry to agents of that type"`
	Datasets []string `json:"datasets,omitempty" jsonschema:"the datasets the entry concerns, e.g. curated.track_performance"`
}

// AddKnowledgeOutput is add_knowledge's output.
type AddKnowledgeOutput struct {
	ID     string `json:"id"`
	Author string `json:"author"`
}

func (s *server) addTools(srv *mcp.Server) {
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)}
	write := &mcp.ToolAnnotations{DestructiveHint: new(false), OpenWorldHint: new(false)}
	mcp.AddTool(srv, &mcp.Tool{Name: ToolListDatasets, Title: "List datasets", Annotations: readOnly,
		Description: `List the lake's datasets you may read, with their zone, row count and file count. Zones: raw (as pulled from
DistroKid, Spotify, TikTok), staging (cleaned, typed, per domain), curated (business-ready marts, e.g.
curated.track_performance.v1_0: streams and views per track, platform and day). Use it first to find what to query.`},
		s.listDatasets)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolQuery, Title: "Query the lake (read-only SQL)", Annotations: readOnly,
		Description: `Run one read-only DuckDB SQL statement over the lake's datasets and get columns and rows as JSON. Name a
dataset in double quotes: SELECT isrc, sum(streams) FROM "curated.track_performance.v1_0" GROUP BY isrc. The table
bedrot_datasets lists every dataset. Dates come back as YYYY-MM-DD. At most 1000 rows (default 100); "truncated"
says there were more, so aggregate in SQL. A query naming a zone the role may not read is refused.`},
		s.query)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolReadContext, Title: "Read the agents' hand-off context", Annotations: readOnly,
		Description: `Read the context the lake's AI agents hand each other: with no session_id, the current one
(.agent/context/current_context.json: the last agent's findings, outputs, dependencies, next steps and notes);
with a session_id, the context that session left. Use it to pick up where the agents stopped.`},
		s.readContext)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolListSessions, Title: "List agent sessions", Annotations: readOnly,
		Description: `List the lake's AI agent sessions, newest first: which agent ran which task, its status (completed means
every hand-off step was done), and the session it was handed from. Read one's context with read_context.`},
		s.listSessions)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolSearchKnowledge, Title: "Search the knowledge base", Annotations: readOnly,
		Description: `Full-text search of the lake's knowledge base: decisions (why the data is shaped as it is), patterns
(known quirks of sources and data) and findings (what agents found, e.g. anomalies). Search before concluding from
numbers: a dip may already be explained. Returns whole entries, most relevant first.`},
		s.searchKnowledge)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolShowKnowledge, Title: "Show a knowledge entry", Annotations: readOnly,
		Description: `Show one knowledge entry by id (decision:tiktok-backoff) or slug, read from its Markdown file: title, tags,
datasets it informs, who added it, what it supersedes, and its body.`},
		s.showKnowledge)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolProposeHandoff, Title: "Propose a hand-off to an agent", Annotations: write,
		Description: `Ask one of the lake's AI agents to run: queues an agent job (like an agent's next step run_agent:TYPE) that
the bedrot daemon runs, recorded as requested by this MCP client. Give the agent type, its parameters and why.
This is a WRITE: it is refused unless the operator started the server with --allow-writes and the role may execute
run_agent.`},
		s.proposeHandoff)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolAddKnowledge, Title: "Add a knowledge entry", Annotations: write,
		Description: `Add an entry to the lake's knowledge base so people and agents learn from it: a decision, a pattern (a
recurring quirk) or a finding (something you found in the data, with the evidence). Name the datasets it concerns:
agents working on them are handed it. This is a WRITE: it is refused unless the operator started the server with
--allow-writes and the role may write the knowledge zone.`},
		s.addKnowledge)
}

// done logs a tool call's outcome.
func (s *server) done(tool string, c caller, start time.Time, err error) {
	if err != nil {
		s.log.Info("mcp tool refused or failed", "tool", tool, "client", c.client, "session", c.sessionID, "error", err)
		return
	}
	s.log.Info("mcp tool", "tool", tool, "client", c.client, "session", c.sessionID, "elapsed", time.Since(start))
}

func (s *server) listDatasets(ctx context.Context, req *mcp.CallToolRequest, in ListDatasetsInput) (_ *mcp.CallToolResult, out ListDatasetsOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolListDatasets, c, start, err) }()
	list, err := s.opts.Lake.ListDatasets(ctx, strings.TrimSpace(in.Prefix))
	if err != nil {
		return nil, out, err
	}
	out.Datasets = make([]Dataset, 0, len(list))
	for _, d := range list {
		out.Datasets = append(out.Datasets, Dataset{Name: d.Name, Zone: d.Zone, Rows: d.Rows, Files: d.Files})
	}
	return nil, out, nil
}

func (s *server) query(ctx context.Context, req *mcp.CallToolRequest, in QueryInput) (_ *mcp.CallToolResult, out QueryOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolQuery, c, start, err) }()
	if strings.TrimSpace(in.SQL) == "" {
		return nil, out, errors.New("sql is empty: give one read-only statement, e.g. SELECT * FROM \"curated.track_performance.v1_0\" LIMIT 10")
	}
	limit := in.Limit
	switch {
	case limit <= 0:
		limit = DefaultQueryLimit
	case limit > MaxQueryLimit:
		limit = MaxQueryLimit
	}
	r, err := s.opts.Lake.Query(ctx, in.SQL, int64(limit)+1)
	if err != nil {
		return nil, out, err
	}
	defer r.Close()
	schema := r.Schema()
	out.Limit = limit
	out.Columns = make([]QueryColumn, len(schema.Fields))
	for i, f := range schema.Fields {
		out.Columns[i] = QueryColumn{Name: f.Name, Type: f.TypeString()}
	}
	out.Rows = [][]any{}
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, QueryOutput{}, err
		}
		for i := 0; i < b.NumRows; i++ {
			if len(out.Rows) == limit {
				out.Truncated = true
				break
			}
			row := make([]any, len(schema.Fields))
			for j, f := range schema.Fields {
				row[j] = jsonValue(f, &b.Columns[j], i)
			}
			out.Rows = append(out.Rows, row)
		}
		if out.Truncated {
			break
		}
	}
	out.RowCount = len(out.Rows)
	return nil, out, nil
}

// jsonValue is value i of a column as a JSON value.
func jsonValue(f sdk.Field, c *sdk.Column, i int) any {
	if c.IsNull(i) {
		return nil
	}
	switch f.Type {
	case sdk.TypeInt64:
		return c.Int64s[i]
	case sdk.TypeFloat64:
		v := c.Float64s[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprint(v) // JSON has no NaN or infinity
		}
		return v
	case sdk.TypeBool:
		return c.Bools[i]
	case sdk.TypeDate:
		return time.Unix(int64(c.Int32s[i])*86400, 0).UTC().Format(time.DateOnly)
	case sdk.TypeTimestamp:
		return time.UnixMicro(c.Int64s[i]).UTC().Format(time.RFC3339Nano)
	case sdk.TypeDecimal:
		return new(big.Rat).SetFrac(big.NewInt(c.Int64s[i]), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(f.Scale)), nil)).FloatString(int(f.Scale))
	default:
		return c.String(i)
	}
}

func (s *server) readContext(ctx context.Context, req *mcp.CallToolRequest, in ReadContextInput) (_ *mcp.CallToolResult, out ReadContextOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolReadContext, c, start, err) }()
	id := strings.TrimSpace(in.SessionID)
	resource := agents.CurrentContextKey
	if id != "" {
		resource = "context of session " + id
	}
	if err := s.check(ctx, c, access.Request{Op: access.OpRead, Zone: sdk.ZoneKnowledge, Resource: resource}); err != nil {
		return nil, out, err
	}
	var raw []byte
	if id == "" {
		raw, err = agents.ReadCurrentContext(ctx, s.opts.Store)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, out, fmt.Errorf("no agent has handed off yet: %s does not exist (list_sessions shows the sessions; an operator runs one with `bedrot agents run TYPE`)", agents.CurrentContextKey)
		}
		if err != nil {
			return nil, out, fmt.Errorf("failed to read %s: %w", agents.CurrentContextKey, err)
		}
		out.Source = agents.CurrentContextKey
	} else {
		ses, err := s.opts.Meta.GetSession(ctx, id)
		if errors.Is(err, metastore.ErrNotFound) {
			return nil, out, fmt.Errorf("no session %q: list_sessions lists the sessions' ids", id)
		}
		if err != nil {
			return nil, out, err
		}
		if len(ses.Context) == 0 {
			return nil, out, fmt.Errorf("session %s (%s) left no context", id, ses.Status)
		}
		raw = ses.Context
		out.Source, out.SessionID, out.Status = "session "+id, id, ses.Status
	}
	if err := json.Unmarshal(raw, &out.Context); err != nil {
		return nil, ReadContextOutput{}, fmt.Errorf("%s is not JSON: %w", out.Source, err)
	}
	return nil, out, nil
}

func (s *server) listSessions(ctx context.Context, req *mcp.CallToolRequest, in ListSessionsInput) (_ *mcp.CallToolResult, out ListSessionsOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolListSessions, c, start, err) }()
	if err := s.check(ctx, c, access.Request{Op: access.OpRead, Zone: sdk.ZoneKnowledge, Resource: "agent sessions"}); err != nil {
		return nil, out, err
	}
	limit := in.Limit
	switch {
	case limit <= 0:
		limit = defaultSessionLimit
	case limit > maxSessionLimit:
		limit = maxSessionLimit
	}
	list, err := s.opts.Meta.ListSessions(ctx, metastore.SessionFilter{AgentID: strings.TrimSpace(in.AgentID), Status: strings.TrimSpace(in.Status), Limit: limit})
	if err != nil {
		return nil, out, err
	}
	out.Sessions = make([]Session, 0, len(list))
	for _, ses := range list {
		o := Session{ID: ses.ID, AgentID: ses.AgentID, AgentType: ses.AgentType, Task: ses.Task, Params: ses.Params, Status: ses.Status,
			Previous: ses.Previous, StartedAt: ses.StartedAt.UTC().Format(time.RFC3339), Error: ses.Error}
		if ses.FinishedAt != nil {
			o.FinishedAt = ses.FinishedAt.UTC().Format(time.RFC3339)
		}
		out.Sessions = append(out.Sessions, o)
	}
	return nil, out, nil
}

func (s *server) searchKnowledge(ctx context.Context, req *mcp.CallToolRequest, in SearchKnowledgeInput) (_ *mcp.CallToolResult, out SearchKnowledgeOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolSearchKnowledge, c, start, err) }()
	limit := in.Limit
	switch {
	case limit <= 0:
		limit = defaultSearchLimit
	case limit > maxSearchLimit:
		limit = maxSearchLimit
	}
	found, err := s.opts.Lake.SearchKnowledge(ctx, in.Query, limit)
	if err != nil {
		return nil, out, err
	}
	out.Entries = make([]KnowledgeEntry, 0, len(found))
	for _, e := range found {
		out.Entries = append(out.Entries, KnowledgeEntry{ID: e.ID, Kind: e.Kind, Title: e.Title, Tags: e.Tags, Datasets: e.Datasets, Author: e.Author, Body: e.Body})
	}
	return nil, out, nil
}

func (s *server) showKnowledge(ctx context.Context, req *mcp.CallToolRequest, in ShowKnowledgeInput) (_ *mcp.CallToolResult, out KnowledgeEntry, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolShowKnowledge, c, start, err) }()
	id := strings.TrimSpace(in.ID)
	if id == "" {
		return nil, out, errors.New("id is empty: give an entry's id (from search_knowledge) or slug")
	}
	if err := s.check(ctx, c, access.Request{Op: access.OpRead, Zone: sdk.ZoneKnowledge, Resource: "knowledge entry " + id}); err != nil {
		return nil, out, err
	}
	e, err := s.opts.Knowledge.Show(ctx, id)
	if err != nil {
		return nil, out, err
	}
	return nil, entryOut(e), nil
}

func entryOut(e knowledge.Entry) KnowledgeEntry {
	out := KnowledgeEntry{ID: e.ID, Kind: e.Kind, Title: e.Title, Tags: e.Tags, Datasets: e.Datasets, Author: e.Agent,
		Session: e.Session, Supersedes: e.Supersedes, Path: e.Path, Body: e.Body}
	if !e.Created.IsZero() {
		out.Created = e.Created.UTC().Format(time.RFC3339)
	}
	return out
}

func (s *server) proposeHandoff(ctx context.Context, req *mcp.CallToolRequest, in ProposeHandoffInput) (_ *mcp.CallToolResult, out ProposeHandoffOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolProposeHandoff, c, start, err) }()
	typ := strings.TrimSpace(in.AgentType)
	reason := strings.Join(strings.Fields(in.Reason), " ")
	resource := fmt.Sprintf("hand-off to agent %s: %s", typ, reason)
	ar := access.Request{Op: access.OpExecute, Action: "run_agent", Resource: resource}
	if err := s.writesOff(ctx, c, ToolProposeHandoff, ar); err != nil {
		return nil, out, err
	}
	if typ == "" {
		return nil, out, errors.New("agent_type is empty: name the agent to run, e.g. trends or anomaly")
	}
	if reason == "" {
		return nil, out, errors.New("reason is empty: say why the agent should run, so the operator can review the hand-off")
	}
	if err := s.check(ctx, c, ar); err != nil {
		return nil, out, err
	}
	if s.opts.Queue == nil {
		return nil, out, errors.New("this MCP server has no job queue, so it cannot queue a hand-off (run it with `bedrot mcp`, which opens the lake's queue)")
	}
	args := scheduler.AgentArgs{AgentType: typ, Task: strings.TrimSpace(in.Task), Params: in.Params,
		Previous: strings.TrimSpace(in.Previous), RequestedBy: c.requestedBy()}
	id, err := s.opts.Queue(ctx, args)
	if err != nil {
		return nil, out, err
	}
	s.log.Info("mcp hand-off queued", "agent_type", typ, "job", id, "requested_by", args.RequestedBy, "reason", reason)
	return nil, ProposeHandoffOutput{JobID: id, AgentType: typ, RequestedBy: args.RequestedBy,
		Message: fmt.Sprintf("queued agent %s as job %d; the bedrot daemon runs it (`bedrot jobs` shows it, `bedrot agents sessions` its session)", typ, id)}, nil
}

// entryKinds are the kinds an MCP client may add.
var entryKinds = []string{knowledge.KindDecision, knowledge.KindPattern, knowledge.KindFinding}

func (s *server) addKnowledge(ctx context.Context, req *mcp.CallToolRequest, in AddKnowledgeInput) (_ *mcp.CallToolResult, out AddKnowledgeOutput, err error) {
	ctx, c := s.callerOf(ctx, req)
	start := time.Now()
	defer func() { s.done(ToolAddKnowledge, c, start, err) }()
	title := strings.TrimSpace(in.Title)
	if err := s.writesOff(ctx, c, ToolAddKnowledge, access.Request{Op: access.OpWrite, Zone: sdk.ZoneKnowledge, Resource: "knowledge entry " + title}); err != nil {
		return nil, out, err
	}
	kind := strings.TrimSpace(in.Kind)
	if !slices.Contains(entryKinds, kind) {
		return nil, out, fmt.Errorf("kind %q: use decision, pattern or finding", in.Kind)
	}
	id, err := s.opts.Lake.AddKnowledge(ctx, sdk.KnowledgeEntry{Kind: kind, Title: title, Body: in.Body, Tags: in.Tags, Datasets: in.Datasets})
	if err != nil {
		return nil, out, err
	}
	return nil, AddKnowledgeOutput{ID: id, Author: c.agentID}, nil
}
