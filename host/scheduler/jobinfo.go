package scheduler

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// JobInfo is a job as `bedrot jobs` and the API show it.
type JobInfo struct {
	ID          int64      `json:"id"`
	Source      string     `json:"source"`
	Mode        string     `json:"mode"`
	Trigger     string     `json:"trigger"`
	Tick        *time.Time `json:"tick,omitempty"`
	Streams     []string   `json:"streams,omitempty"`
	From        string     `json:"from,omitempty"`
	To          string     `json:"to,omitempty"`
	State       string     `json:"state"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	AttemptedAt *time.Time `json:"attempted_at,omitempty"`
	FinalizedAt *time.Time `json:"finalized_at,omitempty"`
	// AttemptedBy are the daemons that worked it, in order.
	AttemptedBy []string `json:"attempted_by,omitempty"`
	// RunID, RunStatus and Skipped come from the last attempt's output.
	RunID     string `json:"run_id,omitempty"`
	RunStatus string `json:"run_status,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
	// LastError is the newest attempt error River recorded.
	LastError string `json:"last_error,omitempty"`
}

func jobInfo(row *rivertype.JobRow) JobInfo {
	var args RunArgs
	switch row.Kind {
	case (ValidateArgs{}).Kind():
		var va ValidateArgs
		_ = json.Unmarshal(row.EncodedArgs, &va)
		args = RunArgs{Source: "validate:" + va.Dataset, Mode: "validate", Trigger: requested("validate_schema", va.RequestedBy)}
	case (AgentArgs{}).Kind():
		var aa AgentArgs
		_ = json.Unmarshal(row.EncodedArgs, &aa)
		args = RunArgs{Source: "agent:" + aa.AgentType, Mode: "agent " + aa.Task, Trigger: requested("run_agent", aa.RequestedBy)}
	default:
		_ = json.Unmarshal(row.EncodedArgs, &args)
	}
	ji := JobInfo{
		ID: row.ID, Source: args.Source, Mode: args.Mode, Trigger: args.Trigger, Streams: args.Streams,
		From: args.From, To: args.To, State: string(row.State), Attempt: row.Attempt, MaxAttempts: row.MaxAttempts,
		CreatedAt: row.CreatedAt.UTC(), ScheduledAt: row.ScheduledAt.UTC(), AttemptedAt: row.AttemptedAt,
		FinalizedAt: row.FinalizedAt, AttemptedBy: row.AttemptedBy,
	}
	if !args.Tick.IsZero() {
		t := args.Tick.UTC()
		ji.Tick = &t
	}
	var out output
	if b := row.Output(); len(b) > 0 && json.Unmarshal(b, &out) == nil {
		ji.RunID, ji.RunStatus, ji.Skipped = out.RunID, out.Status, out.Skipped
		if out.Error != "" {
			ji.LastError = out.Error
		}
	}
	if n := len(row.Errors); n > 0 {
		msg := row.Errors[n-1].Error
		// River prefixes JobCancel's cause; keep the words that matter.
		ji.LastError = strings.TrimPrefix(msg, "JobCancelError: ")
	}
	return ji
}

// requested names a queued job's trigger and, when known, who asked for it.
func requested(trigger, by string) string {
	if by == "" {
		return trigger
	}
	return trigger + " from " + by
}
