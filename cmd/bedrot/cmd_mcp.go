package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/apiauth"
	"github.com/bedrot-label/bedrot/host/daemon"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/mcpserver"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/sqlengine"
)

// mcpAuditFlush is how often the MCP server writes buffered audit lines.
const mcpAuditFlush = 10 * time.Second

func newMCPCmd(g *globals) *cobra.Command {
	var (
		role        string
		allowWrites bool
		httpAddr    string
		cmd         *cobra.Command
	)
	cmd = &cobra.Command{
		Use:   "mcp",
		Short: "Serve the lake to AI assistants over MCP (Model Context Protocol), under the access policy",
		Long: `bedrot mcp lets outside AI assistants (Claude Desktop, Claude Code, IDE assistants, any MCP
client) use the lake: list datasets, run read-only SQL, read the agents' hand-off context and
sessions, and search and read the knowledge base. It serves over stdio by default (the assistant
starts it; stdout carries the protocol and logs go to stderr), or over streamable HTTP with --http.

Every call runs as one role of the access policy (agents.access_policy, default
config/access_control.yaml): analyst by default, which reads curated, sandbox and knowledge. A
refused call is a tool error naming the policy rule, and every decision is written to the audit log
(.agent/logs/audit/). The agents' context and sessions count as knowledge (read knowledge).

Writes are off unless you pass --allow-writes: then propose_handoff queues an agent job (requested
by "mcp:<client>", run by the bedrot daemon) if the role may execute run_agent, and add_knowledge
adds an entry if the role may write knowledge (e.g. --role data_engineer).

Add it to an assistant: in its MCP configuration (Claude Desktop: claude_desktop_config.json;
Claude Code: .mcp.json), with absolute paths:

  {
    "mcpServers": {
      "bedrot": {
        "command": "/usr/local/bin/bedrot",
        "args": ["mcp", "--lake", "/srv/bedrot/lake"]
      }
    }
  }

Add "--role", "data_engineer", "--allow-writes" to the args to let it propose hand-offs and add
knowledge. With --http, point the client at http://ADDR/. With agents.mcp_token set
(BEDROT_AGENTS_MCP_TOKEN, or BEDROT_AGENTS_MCP_TOKEN_FILE naming a file), every request must
carry it as "Authorization: Bearer <token>"; without one, bedrot mcp listens on loopback only.
Cross-origin browser requests are refused and, without a token, so are requests for other host
names than loopback's (DNS rebinding; behind a proxy that passes its own host name on, set a token).`,
		Example: `  bedrot mcp --lake ./lake                                   # stdio, role analyst, read-only
  bedrot mcp --lake ./lake --role data_engineer --allow-writes
  bedrot mcp --lake ./lake --http 127.0.0.1:8765             # streamable HTTP, this machine only
  BEDROT_AGENTS_MCP_TOKEN_FILE=/run/secrets/mcp bedrot mcp --http 0.0.0.0:8765`,
		Args: exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			return g.serveMCP(ctx, l, mcpserverFlags{role: role, allowWrites: allowWrites, http: httpAddr}, cmd.InOrStdin())
		}),
	}
	cmd.Flags().StringVar(&role, "role", mcpserver.DefaultRole, "the access policy role every call runs as")
	cmd.Flags().BoolVar(&allowWrites, "allow-writes", false, "enable propose_handoff and add_knowledge (still subject to the role's policy)")
	cmd.Flags().StringVar(&httpAddr, "http", "", "serve streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio")
	return cmd
}

// mcpserverFlags are bedrot mcp's flags.
type mcpserverFlags struct {
	role        string
	allowWrites bool
	http        string
}

// mcpPolicy is the access policy agents.access_policy names, or the
// shipped one when that file does not exist.
func mcpPolicy(cfg config.Config) (*access.Policy, error) {
	p := cfg.Agents.AccessPolicy
	if p == "" {
		return access.Default(), nil
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return access.Default(), nil
	}
	policy, err := access.Load(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrBadConfiguration, err)
	}
	return policy, nil
}

// serveMCP serves the lake over stdio (stdin, g.stdout) or HTTP until the
// client leaves or ctx ends.
func (g *globals) serveMCP(ctx context.Context, l *lake.Lake, f mcpserverFlags, stdin io.Reader) error {
	policy, err := mcpPolicy(l.Config)
	if err != nil {
		return err
	}
	if !slices.Contains(policy.Roles(), f.role) {
		return usageError("--role %q is not a role of %s (roles: %s)", f.role, policy.File(), strings.Join(policy.Roles(), ", "))
	}
	log := l.Logger
	aud := access.NewJSONLAuditor(l.Store, access.JSONLOptions{FlushAge: mcpAuditFlush})
	defer func() {
		if err := aud.Close(context.WithoutCancel(ctx)); err != nil {
			log.Error("failed to write the access audit log", "error", err)
		}
	}()
	flushCtx, stopFlush := context.WithCancel(ctx)
	defer stopFlush()
	go func() {
		t := time.NewTicker(mcpAuditFlush)
		defer t.Stop()
		for {
			select {
			case <-flushCtx.Done():
				return
			case <-t.C:
				if err := aud.Flush(flushCtx); err != nil && flushCtx.Err() == nil {
					log.Error("failed to write the access audit log", "error", err)
				}
			}
		}
	}()
	guard := access.NewGuard(policy, aud)
	eng, err := sqlengine.New(sqlengine.Options{Store: l.Store, Meta: l.Meta})
	if err != nil {
		return err
	}
	kb := &knowledge.Base{Store: l.Store, Meta: l.Meta}
	guarded := access.NewGuardedLake(agents.NewLakeServer(l.Store, l.Meta, eng, kb), guard, access.LakeOptions{Role: f.role})
	opts := mcpserver.Options{Lake: guarded, Guard: guard, Auditor: aud, Meta: l.Meta, Store: l.Store, Knowledge: kb,
		AllowWrites: f.allowWrites, Principal: mcpserver.Principal{Role: f.role}, Version: version,
		SessionEnded: guarded.ForgetSession, Logger: log}
	if f.allowWrites {
		// Insert-only: the daemon works the jobs.
		sched, err := daemon.OpenScheduler(ctx, l, 0, nil, nil, nil, daemon.Options{})
		if err != nil {
			return err
		}
		defer sched.Close()
		opts.Queue = func(ctx context.Context, a scheduler.AgentArgs) (int64, error) { return sched.QueueAgent(ctx, a) }
	}
	srv := mcpserver.New(opts)
	writes := "off"
	if f.allowWrites {
		writes = "on"
	}

	if f.http == "" {
		log.Info("serving MCP over stdio", "role", f.role, "writes", writes, "policy", policy.File())
		err := srv.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{g.stdout}})
		if ctx.Err() != nil || errors.Is(err, io.EOF) {
			return nil // the client or the operator stopped the server
		}
		return err
	}

	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return usageError("--http %s: %v", f.http, err)
	}
	token := l.Config.Agents.MCPToken
	if err := apiauth.CheckExposure(ln.Addr(), token, "bedrot mcp --http",
		"agents.mcp_token (BEDROT_AGENTS_MCP_TOKEN, or BEDROT_AGENTS_MCP_TOKEN_FILE naming a file)"); err != nil {
		_ = ln.Close()
		return fmt.Errorf("%w: %w", config.ErrBadConfiguration, err)
	}
	// apiauth.Guard does the SDK's DNS rebinding check, and with a token
	// lets a proxy's host name through.
	h := apiauth.Guard(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Logger: log, DisableLocalhostProtection: true}), token, apiauth.IsLoopback(ln.Addr()))
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	auth := "no token: any program on this machine may connect"
	if token != "" {
		auth = "bearer token required"
	}
	fmt.Fprintf(g.stderr, "bedrot mcp: serving MCP (streamable HTTP) on http://%s/ as role %s, writes %s, %s\n", ln.Addr(), f.role, writes, auth)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		return nil
	}
}

// nopWriteCloser is a writer whose Close does nothing (stdout stays open).
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
