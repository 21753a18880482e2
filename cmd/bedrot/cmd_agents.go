package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/daemon"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
	"github.com/bedrot-label/bedrot/sdk"
)

func newAgentsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "AI agent plugins: the registry, sessions, their context and hand-offs",
		Long: `Agents are plugins (bedrot-agent-<type>, installed with bedrot plugin install)
that work on the lake through a host service: they read datasets and query,
write only to the zones their task is granted (sandbox by default), and read
and add knowledge. Each session receives the context the previous agent on the
same work left (.agent/context/current_context.json) and what the knowledge
graph knows about its datasets, and must complete the hand-off protocol:
context captured, knowledge updated, next steps defined, outputs validated,
stakeholders and next agents notified. Next steps (run_agent:TYPE,
ingest:SOURCE, validate_schema:DATASET, notify:TEAM) become jobs.`,
	}
	cmd.AddCommand(newAgentsRunCmd(g), newAgentsListCmd(g), newAgentsShowCmd(g), newAgentsSessionsCmd(g))
	return cmd
}

func newAgentsRunCmd(g *globals) *cobra.Command {
	var task, previous string
	var params []string
	var follow bool
	cmd := &cobra.Command{
		Use:   "run TYPE",
		Short: "Run one session of an agent now (and, with --follow, the agents it hands off to)",
		Example: `  bedrot agents run trends --param dataset=curated.track_performance
  bedrot agents run trends --param dataset=curated.track_performance --follow   # then run_agent:anomaly
  bedrot agents run anomaly --previous ses-20261126T101500Z-1a2b3c4d`,
		Args: exactArgs(1, "one agent type"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			p := map[string]string{}
			for _, kv := range params {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageError("--param %q: use key=value", kv)
				}
				p[k] = v
			}
			sched, err := daemon.OpenScheduler(ctx, l, 0, nil, nil, nil, daemon.Options{})
			if err != nil {
				return err
			}
			defer sched.Close()
			router, err := notify.NewRouter(g.cfg.Alerts)
			if err != nil {
				return usageError("alerts: %v", err)
			}
			rt, err := daemon.AgentRuntime(l, sched, alerts.NewManager(l.Meta, alerts.Options{Notifier: router, Logger: l.Logger}))
			if err != nil {
				return err
			}
			queueNext := rt.Dispatch
			var chain []agents.Request
			if follow {
				rt.Dispatch = func(ctx context.Context, step sdk.NextStep, from metastore.AgentSession) error {
					if step.Action == "run_agent" {
						chain = append(chain, agents.Request{AgentType: step.Target, Params: from.Params, Previous: from.ID})
						return nil
					}
					return queueNext(ctx, step, from)
				}
			}
			reqs := []agents.Request{{AgentType: args[0], Task: task, Params: p, Previous: previous}}
			var results []agents.Result
			for len(reqs) > 0 && len(results) < 10 {
				res, err := rt.Run(ctx, reqs[0])
				reqs = reqs[1:]
				if res.Session.ID != "" {
					results = append(results, res)
				}
				if err != nil {
					g.printSessions(results)
					return err
				}
				reqs, chain = append(reqs, chain...), nil
			}
			return g.printSessions(results)
		}),
	}
	cmd.Flags().StringVar(&task, "task", "", "the task (default: the agent's first)")
	cmd.Flags().StringArrayVar(&params, "param", nil, "a task parameter key=value (repeatable)")
	cmd.Flags().StringVar(&previous, "previous", "", "hand from this session (default: the newest that asked for this agent, else its own last)")
	cmd.Flags().BoolVar(&follow, "follow", false, "run the agents the session hands off to (run_agent:TYPE) here, in turn, instead of queueing them")
	return cmd
}

func (g *globals) printSessions(results []agents.Result) error {
	if g.json() {
		return g.printJSON("AgentSessions", map[string]any{"items": results})
	}
	for _, r := range results {
		s := r.Session
		fmt.Fprintf(g.stdout, "Session %s: agent %s (%s) task %s: %s\n", s.ID, s.AgentID, s.AgentType, s.Task, strings.ToUpper(s.Status))
		if s.Previous != "" {
			fmt.Fprintf(g.stdout, "  handed from %s\n", s.Previous)
		}
		if s.Error != "" {
			fmt.Fprintf(g.stdout, "  error: %s\n", s.Error)
		}
		for _, st := range r.Handoff {
			mark := "ok  "
			if !st.Done {
				mark = "MISS"
			}
			fmt.Fprintf(g.stdout, "  [%s] %-22s %s\n", mark, st.Name, st.Detail)
		}
		for _, o := range r.Outputs {
			fmt.Fprintf(g.stdout, "  output: %s%s %s\n", o.Key, o.Dataset, o.Description)
		}
		if len(r.Received) > 0 {
			fmt.Fprintf(g.stdout, "  handed knowledge: %s\n", strings.Join(r.Received, ", "))
		}
		for _, k := range r.Knowledge {
			fmt.Fprintf(g.stdout, "  knowledge: %s\n", k)
		}
		if len(r.Context.NextSteps) > 0 {
			fmt.Fprintf(g.stdout, "  next steps: %s\n", strings.Join(r.Context.NextSteps, ", "))
		}
	}
	if len(results) > 0 {
		fmt.Fprintf(g.stdout, "Context: %s (bedrot agents sessions shows the history)\n", agents.CurrentContextKey)
	}
	return nil
}

func newAgentsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the agent registry (agent_registry)",
		Args:  exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			list, err := l.Meta.ListAgents(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				if list == nil {
					list = []metastore.Agent{}
				}
				return g.printJSON("AgentList", map[string]any{"items": list})
			}
			if len(list) == 0 {
				fmt.Fprintln(g.stdout, "No agents yet: install one (bedrot plugin install bin/bedrot-agent-…) and run it (bedrot agents run TYPE).")
				return nil
			}
			w := g.table()
			fmt.Fprintln(w, "AGENT\tTYPE\tSTATUS\tLAST ACTIVE\tTASKS\tOK\tERRORS\tKNOWLEDGE")
			for _, a := range list {
				var p struct{ Tasks, Successes, Errors int }
				_ = json.Unmarshal(a.PerformanceMetrics, &p)
				last := ""
				if a.LastActive != nil {
					last = a.LastActive.Local().Format(time.DateTime)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", a.ID, a.Type, a.CurrentStatus, last, p.Tasks, p.Successes, p.Errors, a.KnowledgeContributions)
			}
			return w.Flush()
		}),
	}
}

func newAgentsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show AGENT-ID",
		Short: "Show an agent's registry entry and its recent sessions",
		Args:  exactArgs(1, "one agent id"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			a, err := l.Meta.GetAgent(ctx, args[0])
			if err != nil {
				return err
			}
			sessions, err := l.Meta.ListSessions(ctx, metastore.SessionFilter{AgentID: a.ID, Limit: 10})
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("Agent", map[string]any{"agent": a, "sessions": sessions})
			}
			b, _ := json.MarshalIndent(a, "", "  ")
			fmt.Fprintln(g.stdout, string(b))
			return g.sessionTable(sessions)
		}),
	}
}

func newAgentsSessionsCmd(g *globals) *cobra.Command {
	var f metastore.SessionFilter
	cmd := &cobra.Command{
		Use:   "sessions [SESSION-ID]",
		Short: "List agent sessions (newest first), or show one with its context and hand-off",
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			if len(args) == 1 {
				s, err := l.Meta.GetSession(ctx, args[0])
				if err != nil {
					return err
				}
				if g.json() {
					return g.printJSON("AgentSession", map[string]any{"session": s})
				}
				b, _ := json.MarshalIndent(s, "", "  ")
				fmt.Fprintln(g.stdout, string(b))
				return nil
			}
			list, err := l.Meta.ListSessions(ctx, f)
			if err != nil {
				return err
			}
			if g.json() {
				if list == nil {
					list = []metastore.AgentSession{}
				}
				return g.printJSON("AgentSessionList", map[string]any{"items": list})
			}
			return g.sessionTable(list)
		}),
	}
	cmd.Flags().StringVar(&f.AgentID, "agent", "", "only this agent's sessions")
	cmd.Flags().StringVar(&f.Status, "status", "", "only sessions with this status (running, completed, incomplete, failed)")
	cmd.Flags().IntVarP(&f.Limit, "limit", "n", 20, "at most this many")
	return cmd
}

func (g *globals) sessionTable(list []metastore.AgentSession) error {
	if len(list) == 0 {
		fmt.Fprintln(g.stdout, "No sessions.")
		return nil
	}
	w := g.table()
	fmt.Fprintln(w, "SESSION\tAGENT\tTASK\tSTATUS\tSTARTED\tHANDED FROM")
	for _, s := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.AgentID, s.Task, s.Status, s.StartedAt.Local().Format(time.DateTime), s.Previous)
	}
	return w.Flush()
}
