package metastore

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Knowledge node kinds.
const (
	NodeAgent    = "agent"
	NodeSession  = "session"
	NodeDataset  = "dataset"
	NodeDecision = "decision"
	NodePattern  = "pattern"
	NodeFinding  = "finding"
)

// Knowledge edge kinds, read "From <kind> To".
const (
	// EdgeProduced: a session produced a dataset or an entry.
	EdgeProduced = "produced"
	// EdgeConsumed: a session consumed (read) a dataset.
	EdgeConsumed = "consumed"
	// EdgeContributed: an agent contributed an entry or ran a session.
	EdgeContributed = "contributed"
	// EdgeInforms: an entry informs work on a dataset (or another node).
	EdgeInforms = "informs"
	// EdgeSupersedes: a newer entry supersedes an older one.
	EdgeSupersedes = "supersedes"
)

// Directions for KnowledgeNeighbors.
const (
	// DirectionOut follows edges from the node.
	DirectionOut = "out"
	// DirectionIn follows edges to the node.
	DirectionIn = "in"
	// DirectionBoth follows edges either way.
	DirectionBoth = "both"
)

// MaxKnowledgeDepth caps how far KnowledgeNeighbors walks.
const MaxKnowledgeDepth = 10

// KnowledgeNodeKinds lists the node kinds, in the order the graph's docs
// name them.
var KnowledgeNodeKinds = []string{NodeAgent, NodeSession, NodeDataset, NodeDecision, NodePattern, NodeFinding}

// KnowledgeEdgeKinds lists the edge kinds.
var KnowledgeEdgeKinds = []string{EdgeProduced, EdgeConsumed, EdgeContributed, EdgeInforms, EdgeSupersedes}

// KnowledgeNode is one node of the knowledge graph. A node is identified by
// its Kind and Key; ID is the handle edges refer to.
type KnowledgeNode struct {
	// ID is the node's stable handle. UpsertKnowledgeNode assigns
	// "<kind>:<key>" when it is empty; an existing node keeps its ID.
	ID string `json:"id"`
	// Kind is agent, session, dataset, decision, pattern or finding.
	Kind string `json:"kind"`
	// Key is the natural key: a dataset's name (raw.tiktok.videos, as in
	// lineage), an agent's or session's id, an entry's slug.
	Key   string   `json:"key"`
	Title string   `json:"title,omitempty"`
	Body  string   `json:"body,omitempty"`
	Tags  []string `json:"tags,omitempty"`
	// Path is the lake key of the node's Markdown entry, for entries.
	Path string `json:"path,omitempty"`
	// Meta is free-form JSON.
	Meta      json.RawMessage `json:"meta,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// KnowledgeEdge is a directed, typed link between two nodes. An edge is
// identified by From, To and Kind.
type KnowledgeEdge struct {
	From string `json:"from"` // node ID
	To   string `json:"to"`   // node ID
	// Kind is produced, consumed, contributed, informs or supersedes.
	Kind      string          `json:"kind"`
	Meta      json.RawMessage `json:"meta,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// KnowledgeFilter narrows SearchKnowledge.
type KnowledgeFilter struct {
	// Kinds keeps nodes of these kinds; empty keeps all.
	Kinds []string
	// Tag keeps nodes carrying this tag (exact match); empty keeps all.
	Tag string
	// Limit caps the hits: 0 means 20, a negative value no limit.
	Limit int
}

// KnowledgeHit is one search result.
type KnowledgeHit struct {
	Node KnowledgeNode `json:"node"`
	// Rank orders hits: higher is more relevant. Values are comparable
	// only within one result and differ between dialects.
	Rank float64 `json:"rank"`
	// Snippet is an excerpt around the matched words, which are wrapped in
	// "**"; empty when the query was empty.
	Snippet string `json:"snippet,omitempty"`
}

// KnowledgeStore keeps the knowledge graph and searches it. The Markdown
// entries in the lake are the source of truth for entry nodes (package
// knowledge); datasets, agents and sessions get nodes as they show up.
type KnowledgeStore interface {
	// UpsertKnowledgeNode inserts the node or, when a node of the same kind
	// and key exists, replaces its title, body, tags, path, meta and
	// UpdatedAt (keeping its ID, and its CreatedAt unless n sets one). A
	// zero CreatedAt/UpdatedAt becomes now. It returns the stored node.
	UpsertKnowledgeNode(ctx context.Context, n KnowledgeNode) (KnowledgeNode, error)
	// AddKnowledgeEdge links two nodes; adding an edge that exists changes
	// nothing. It returns ErrNotFound (wrapped) if a node does not exist.
	AddKnowledgeEdge(ctx context.Context, e KnowledgeEdge) error
	// RemoveKnowledgeEdge unlinks two nodes and reports whether the edge
	// existed.
	RemoveKnowledgeEdge(ctx context.Context, e KnowledgeEdge) (bool, error)
	// DeleteKnowledgeNode deletes a node and its edges. It returns
	// ErrNotFound (wrapped) for an unknown id.
	DeleteKnowledgeNode(ctx context.Context, id string) error
	// GetKnowledgeNode returns ErrNotFound (wrapped) for an unknown id.
	GetKnowledgeNode(ctx context.Context, id string) (KnowledgeNode, error)
	// FindKnowledgeNode returns the node of a kind and key, or ErrNotFound
	// (wrapped).
	FindKnowledgeNode(ctx context.Context, kind, key string) (KnowledgeNode, error)
	// SearchKnowledge finds nodes whose title, body or tags match query,
	// most relevant first. The query is web-search style — words (all must
	// match, stemmed), "quoted phrases", OR, and -word to exclude — and any
	// user input is safe: stray quotes and operators never cause an error.
	// An empty query lists the nodes f selects, most recently updated
	// first.
	SearchKnowledge(ctx context.Context, query string, f KnowledgeFilter) ([]KnowledgeHit, error)
	// KnowledgeNeighbors walks the graph from node id, following edges of
	// edgeKinds (empty: all) in direction (DirectionOut, DirectionIn or
	// DirectionBoth) up to depth steps (1 to MaxKnowledgeDepth). It returns
	// the nodes reached, nearest first and without the start node, and the
	// edges walked. An unknown id returns ErrNotFound (wrapped).
	KnowledgeNeighbors(ctx context.Context, id string, edgeKinds []string, direction string, depth int) ([]KnowledgeNode, []KnowledgeEdge, error)
}

// ValidKnowledgeNodeKind reports whether kind is a knowledge node kind.
func ValidKnowledgeNodeKind(kind string) bool {
	return slices.Contains(KnowledgeNodeKinds, kind)
}

// ValidKnowledgeEdgeKind reports whether kind is a knowledge edge kind.
func ValidKnowledgeEdgeKind(kind string) bool {
	return slices.Contains(KnowledgeEdgeKinds, kind)
}
