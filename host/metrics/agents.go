package metrics

import "time"

// Agent task statuses AgentTaskFinished accepts as label values. Anything
// else is counted as StatusOther.
const (
	AgentTaskSucceeded = "succeeded"
	AgentTaskFailed    = "failed"
	AgentTaskCanceled  = "canceled"
)

var knownAgentStatuses = map[string]bool{AgentTaskSucceeded: true, AgentTaskFailed: true, AgentTaskCanceled: true}

// AgentTaskFinished records a finished task of an AI agent: it counts the
// task under agentType and status and observes its duration. agentType is
// the agent registry's agent_type (a small, configured set), never an agent
// ID. Statuses other than succeeded, failed and canceled are counted as
// "other".
func (m *Metrics) AgentTaskFinished(agentType, status string, d time.Duration) {
	agentType = labelValue(agentType)
	if !knownAgentStatuses[status] {
		status = StatusOther
	}
	m.agentTasks.WithLabelValues(agentType, status).Inc()
	m.agentDuration.WithLabelValues(agentType).Observe(seconds(max(d, 0)))
}

// AgentKnowledgeContributed adds n entries an agent of agentType wrote to
// the knowledge base. n <= 0 is ignored (counters only go up).
func (m *Metrics) AgentKnowledgeContributed(agentType string, n int) {
	if n <= 0 {
		return
	}
	m.agentKnowledge.WithLabelValues(labelValue(agentType)).Add(float64(n))
}
