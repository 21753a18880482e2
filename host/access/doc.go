// Package access enforces config/access_control.yaml: which role may read
// and write which lake zone and run which action, deny by default, with
// every decision written to an audit log.
//
// The pieces:
//
//   - Policy (Load, Default) answers Decide for one Request and says which
//     rule of the file allowed it, or that none did.
//   - Guard decides and audits in one call; a denial is an error wrapping
//     sdk.ErrPermissionDenied whose message names the rule.
//   - JSONLAuditor writes one JSON line per decision to the lake's object
//     store under .agent/logs/audit/date=YYYY-MM-DD/<process>-<seq>.jsonl.
//   - GuardedLake wraps any sdk.LakeServer and applies the Guard to every
//     agent call, with per-session read and write byte budgets.
//   - ApplyLimits puts a quota's memory and CPU limits on a plugin process;
//     StopAfter stops it when its max_runtime is spent.
package access
