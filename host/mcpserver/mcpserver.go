// Package mcpserver is the lake as an MCP (Model Context Protocol) server,
// so outside AI assistants (Claude Desktop, IDE assistants, …) can list
// datasets, query the lake read-only, read the agents' context and
// sessions, search and read the knowledge base, and — when the operator
// enables writes — propose hand-offs to agents and add knowledge.
//
// Every tool runs under the access policy (host/access) as one role
// (analyst by default): the lake service it is given is already a
// GuardedLake, and the calls that do not go through the lake service
// (context, sessions, a knowledge entry, a hand-off) are checked with the
// same Guard, so every decision is in the audit log. A denial is a tool
// error naming the policy's rule, never a protocol error, so the assistant
// can read why and tell its user.
//
// The agents' context and sessions count as knowledge: reading them needs
// read on the knowledge zone. A hand-off needs execute run_agent, and adding
// knowledge needs write on the knowledge zone; both are refused unless
// Options.AllowWrites.
package mcpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// DefaultRole is the policy role MCP clients act as unless the operator
// picks another: it reads curated, sandbox and knowledge and runs queries.
const DefaultRole = "analyst"

// Name is the server's name in the MCP handshake.
const Name = "bedrot"

// Principal is who the MCP clients act as.
type Principal struct {
	// Role is the access policy role of every call (DefaultRole when
	// empty). It must be the Role the GuardedLake in Options.Lake was built
	// with.
	Role string
	// Client names the client in the audit log and in hand-offs
	// ("mcp:<client>"); empty: the name the client gives in the MCP
	// handshake.
	Client string
}

// Options configure New.
type Options struct {
	// Lake is the lake service, already wrapped in an access.GuardedLake
	// with Principal.Role (required).
	Lake sdk.LakeServer
	// Guard decides the calls that do not go through Lake: reading the
	// context and sessions, showing a knowledge entry, proposing a hand-off
	// (required). It should share Lake's policy and audit log.
	Guard *access.Guard
	// Auditor, when set, also records the writes refused because
	// AllowWrites is off (they never reach the policy).
	Auditor access.Auditor
	// Meta holds the agents' sessions (required).
	Meta metastore.Store
	// Store holds .agent/context/current_context.json (required).
	Store storage.Store
	// Knowledge is the knowledge base, for show_knowledge (required).
	Knowledge *knowledge.Base
	// Queue queues an agent job (scheduler.Scheduler.QueueAgent); nil makes
	// propose_handoff fail with a message saying so.
	Queue func(ctx context.Context, args scheduler.AgentArgs) (int64, error)
	// AllowWrites enables propose_handoff and add_knowledge (still subject
	// to the policy). Off, they are refused.
	AllowWrites bool
	Principal   Principal
	// Version is bedrot's version, reported in the handshake.
	Version string
	// SessionEnded hears a client connection's end with its session ID
	// (e.g. access.GuardedLake.ForgetSession to drop its byte counts).
	SessionEnded func(sessionID string)
	// Logger logs tool calls; nil logs nothing. Over stdio it must not
	// write to stdout, which carries the protocol.
	Logger *slog.Logger
}

// server holds the tools' state.
type server struct {
	opts Options
	log  *slog.Logger
	// read and write are the role's zones, the grant of every call.
	read, write []string

	mu       sync.Mutex
	sessions map[*mcp.ServerSession]string
}

// New returns an MCP server with the lake's tools. Connect it to a
// transport (mcp.StdioTransport, mcp.NewStreamableHTTPHandler) to serve.
func New(opts Options) *mcp.Server {
	if opts.Principal.Role == "" {
		opts.Principal.Role = DefaultRole
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &server{opts: opts, log: opts.Logger, sessions: map[*mcp.ServerSession]string{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Guard != nil {
		p := opts.Guard.Policy()
		for _, z := range sdk.LakeZones {
			if p.CanRead(opts.Principal.Role, z) {
				s.read = append(s.read, z)
			}
			if p.CanWrite(opts.Principal.Role, z) {
				s.write = append(s.write, z)
			}
		}
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: Name, Title: "BEDROT data lake", Version: opts.Version},
		&mcp.ServerOptions{Instructions: s.instructions(), Logger: opts.Logger, Capabilities: &mcp.ServerCapabilities{}})
	s.addTools(srv)
	return srv
}

// instructions tell the assistant what the server is and how to use it.
func (s *server) instructions() string {
	writes := "Writes are OFF: propose_handoff and add_knowledge are refused (the operator enables them with `bedrot mcp --allow-writes`)."
	if s.opts.AllowWrites {
		writes = "Writes are ON: propose_handoff queues an agent job and add_knowledge adds an entry, if the role's policy allows."
	}
	return fmt.Sprintf(`This is the BEDROT label's data lake: DistroKid earnings, Spotify and TikTok data, kept by zone
(raw: as pulled; staging: cleaned and typed; curated: business-ready marts such as curated.track_performance;
sandbox: experiments; knowledge: what people and agents learned). You act as role %q of the lake's access policy,
which may read %s. Start with list_datasets, then query (DuckDB SQL, read-only; name a dataset in double quotes,
e.g. SELECT * FROM "curated.track_performance.v1_0" LIMIT 10). search_knowledge before drawing conclusions: it holds
decisions and known data quirks. read_context and list_sessions show what the lake's own AI agents did last.
A refused call is a tool error naming the policy rule; do not retry it, tell the user. %s`,
		s.opts.Principal.Role, orNothing(s.read), writes)
}

func orNothing(zones []string) string {
	if len(zones) == 0 {
		return "nothing"
	}
	return strings.Join(zones, ", ")
}

// caller is who makes one tool call.
type caller struct {
	// client is the client's name, a slug.
	client string
	// agentID names the caller in the audit log and as a knowledge
	// entry's agent: mcp-<client> (a knowledge slug cannot hold ':').
	agentID   string
	sessionID string
}

// requestedBy is the hand-off's RequestedBy: mcp:<client>.
func (c caller) requestedBy() string { return "mcp:" + c.client }

// callerOf returns the caller of a request and the context carrying it as
// the lake service's LakeCaller.
func (s *server) callerOf(ctx context.Context, req *mcp.CallToolRequest) (context.Context, caller) {
	c := caller{client: clientSlug(s.opts.Principal.Client)}
	var ss *mcp.ServerSession
	if req != nil {
		ss = req.Session
	}
	if c.client == "" && ss != nil {
		if p := ss.InitializeParams(); p != nil && p.ClientInfo != nil {
			c.client = clientSlug(p.ClientInfo.Name)
		}
	}
	if c.client == "" {
		c.client = "client"
	}
	c.agentID = "mcp-" + c.client
	c.sessionID = s.sessionID(ss)
	ctx = sdk.WithLakeCaller(ctx, sdk.LakeCaller{AgentID: c.agentID, SessionID: c.sessionID, Task: "mcp",
		Zones: sdk.ZoneAccess{Read: slices.Clone(s.read), Write: slices.Clone(s.write)}})
	return ctx, c
}

// sessionID returns the connection's session ID, made at its first call:
// mcp-<UTC time>-<random>.
func (s *server) sessionID(ss *mcp.ServerSession) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.sessions[ss]; ok {
		return id
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := "mcp-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
	s.sessions[ss] = id
	if ss != nil {
		go func() {
			_ = ss.Wait()
			s.mu.Lock()
			delete(s.sessions, ss)
			s.mu.Unlock()
			if s.opts.SessionEnded != nil {
				s.opts.SessionEnded(id)
			}
		}()
	}
	return id
}

// clientSlug makes a client's name safe for an agent id: lower-case
// letters, digits, '.', '_' and '-', at most 40 characters.
func clientSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-._")
}

// principal is the access principal of a caller.
func (s *server) principal(c caller) access.Principal {
	return access.Principal{Role: s.opts.Principal.Role, AgentID: c.agentID, SessionID: c.sessionID}
}

// check decides and audits a call outside the lake service.
func (s *server) check(ctx context.Context, c caller, req access.Request) error {
	if s.opts.Guard == nil {
		return fmt.Errorf("%w: this MCP server has no access guard, so it refuses the call (a wiring error: set mcpserver.Options.Guard)", sdk.ErrPermissionDenied)
	}
	req.Principal = s.principal(c)
	if req.Op != access.OpExecute {
		z := sdk.ZoneAccess{Read: s.read, Write: s.write}
		req.Grant = &z
	}
	return s.opts.Guard.Check(ctx, req)
}

// writesOff is the refusal of a write when AllowWrites is off, recorded in
// the audit log when there is an Auditor.
func (s *server) writesOff(ctx context.Context, c caller, tool string, req access.Request) error {
	if s.opts.AllowWrites {
		return nil
	}
	req.Principal = s.principal(c)
	d := access.Decision{Time: time.Now().UTC(), Request: req, Rule: "bedrot mcp runs without --allow-writes",
		Reason: tool + " is a write, and the operator did not enable writes for MCP clients"}
	if s.opts.Auditor != nil {
		if err := s.opts.Auditor.Record(ctx, d); err != nil {
			s.log.Error("failed to record a refused write in the audit log", "tool", tool, "error", err)
		}
	}
	return fmt.Errorf("%w: %s is a write and writes are off for MCP clients: the operator must restart the server with `bedrot mcp --allow-writes` to enable it (and the role's policy must allow it)",
		sdk.ErrPermissionDenied, tool)
}
