package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/scheduler"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/sdk"
)

// AgentRuntime builds the lake's agent runtime. Next steps become jobs on
// sched's queue (run_agent:TYPE, ingest:SOURCE, validate_schema:DATASET),
// and notify:TEAM raises a medium alert through mgr (nil: notes are only
// logged).
func AgentRuntime(l *lake.Lake, sched *scheduler.Scheduler, mgr *alerts.Manager) (*agents.Runtime, error) {
	eng, err := sqlengine.New(sqlengine.Options{Store: l.Store, Meta: l.Meta})
	if err != nil {
		return nil, err
	}
	rt := &agents.Runtime{Store: l.Store, Meta: l.Meta, Plugins: l.Plugins, Engine: eng, Quality: l.Quality,
		Knowledge: &knowledge.Base{Store: l.Store, Meta: l.Meta}, Logger: l.Logger}
	if err := guardAgents(l, rt); err != nil {
		return nil, err
	}
	rt.Dispatch = func(ctx context.Context, step sdk.NextStep, from metastore.AgentSession) error {
		return dispatch(ctx, l, sched, mgr, step, from)
	}
	return rt, nil
}

// guardAgents enforces the access policy on the runtime: each task's zones
// and limits come from the agents' role, every call of the lake service is
// decided and audit-logged (.agent/logs/audit/), budgets are counted per
// session, and the plugin process gets the role's quota.
func guardAgents(l *lake.Lake, rt *agents.Runtime) error {
	policy := access.Default()
	if p := l.Config.Agents.AccessPolicy; p != "" {
		if _, err := os.Stat(p); err == nil {
			if policy, err = access.Load(p); err != nil {
				return fmt.Errorf("%w: %w", config.ErrBadConfiguration, err)
			}
		}
	}
	role := l.Config.Agents.Role
	aud := access.NewJSONLAuditor(l.Store, access.JSONLOptions{})
	guard := access.NewGuard(policy, aud)
	rt.Grant = func(string, string) (agents.Grant, error) {
		zones, err := policy.AgentGrant(role, nil)
		if err != nil {
			return agents.Grant{}, err
		}
		return agents.Grant{Zones: zones, Limits: policy.Limits(role)}, nil
	}
	// One guarded lake per session: its budgets are the session's.
	rt.Guard = func(inner sdk.LakeServer) sdk.LakeServer {
		return access.NewGuardedLake(inner, guard, access.LakeOptions{Role: role})
	}
	rt.Limit = func(pid int) (func(), error) {
		_, quota := policy.Constraints(role)
		applied, err := access.ApplyLimits(pid, quota)
		if err != nil {
			return nil, err
		}
		return func() { _ = applied.Release() }, nil
	}
	rt.Finished = func(ctx context.Context, _ agents.Result) {
		if err := aud.Flush(ctx); err != nil {
			l.Logger.Error("failed to write the access audit log", "error", err)
		}
	}
	return nil
}

// dispatch carries out one next step of a finished session.
func dispatch(ctx context.Context, l *lake.Lake, sched *scheduler.Scheduler, mgr *alerts.Manager, step sdk.NextStep, from metastore.AgentSession) error {
	switch step.Action {
	case "run_agent":
		_, err := sched.QueueAgent(ctx, scheduler.AgentArgs{AgentType: step.Target, Params: from.Params, Previous: from.ID, RequestedBy: from.ID, Task: ""})
		return err
	case "ingest":
		_, err := sched.Trigger(ctx, step.Target, scheduler.ModeIngest, "agent")
		return err
	case "validate_schema":
		if l.Quality.SuiteFor(step.Target) == "" {
			return fmt.Errorf("no expectation suite for %s (looked for %s)", step.Target, l.Quality.SuitePath(step.Target))
		}
		_, err := sched.QueueValidation(ctx, scheduler.ValidateArgs{Dataset: step.Target, RequestedBy: from.ID})
		return err
	case "notify":
		title := fmt.Sprintf("%s asks %s to review session %s", from.AgentID, step.Target, from.ID)
		if step.Reason != "" {
			title += ": " + step.Reason
		}
		if mgr == nil {
			l.Logger.Warn("agent note (no alert manager here)", "to", step.Target, "title", title)
			return nil
		}
		_, _, err := mgr.Raise(ctx, alerts.Condition{Key: "agent:" + from.AgentID + ":" + step.Target, Kind: "agent_note",
			Severity: notify.Medium, Title: title, Detail: notes(from), Details: map[string]string{"session": from.ID, "to": step.Target}})
		return err
	}
	return fmt.Errorf("next step %q: this host knows run_agent, ingest, validate_schema and notify", step)
}

// notes is a session's context notes, for the alert's detail.
func notes(s metastore.AgentSession) string {
	var c sdk.AgentContext
	if ctx, err := sdk.ParseAgentContext(s.Context); err == nil && ctx != nil {
		c = *ctx
	}
	var b strings.Builder
	b.WriteString(c.ContextNotes)
	if len(c.Outputs) > 0 {
		fmt.Fprintf(&b, "\nOutputs: %s", strings.Join(c.Outputs, ", "))
	}
	fmt.Fprintf(&b, "\nSee bedrot agents sessions --agent %s", s.AgentID)
	return b.String()
}

// validateJob works queued validations with l's quality service, which
// records each outcome (bedrot quality results shows it).
func validateJob(l *lake.Lake) scheduler.Validator {
	return func(ctx context.Context, a scheduler.ValidateArgs) error {
		out, err := l.Quality.ValidateDataset(ctx, a.Dataset, quality.Options{})
		if err != nil {
			return err
		}
		l.Logger.Info("dataset validated", "dataset", a.Dataset, "requested_by", a.RequestedBy, "success", out.Success,
			"score", out.Score, "rows", out.Rows)
		return nil
	}
}

// agentRunner works queued agent jobs with rt.
func agentRunner(rt *agents.Runtime, log *slog.Logger) scheduler.AgentRunner {
	return func(ctx context.Context, a scheduler.AgentArgs) error {
		res, err := rt.Run(ctx, agents.Request{AgentType: a.AgentType, Task: a.Task, Params: a.Params, Previous: a.Previous})
		if err != nil {
			return err
		}
		log.Info("agent session finished", "agent", res.Session.AgentID, "session", res.Session.ID, "status", res.Session.Status)
		return nil
	}
}
