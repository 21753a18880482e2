package lineage

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/storage"
)

// NodeKind says whether a graph node is a dataset or a job.
type NodeKind int

// Node kinds.
const (
	DatasetNode NodeKind = iota
	JobNode
)

// Node is a dataset or a job of the lineage graph.
type Node struct {
	Kind      NodeKind
	Namespace string
	Name      string
	// Label is a dataset's BEDROT name (raw.spotify.tracks, source.spotify)
	// when its events carried one; a job's name otherwise.
	Label string
	// For jobs: the latest COMPLETE or FAIL seen, its time and BEDROT run
	// id, and how many runs completed.
	LastEvent     EventType
	LastEventTime time.Time
	LastRunID     string
	Completed     int
}

// ID is the node's OpenLineage identity.
func (n Node) ID() DatasetID { return DatasetID{Namespace: n.Namespace, Name: n.Name} }

type nodeKey struct {
	kind      NodeKind
	namespace string
	name      string
}

// LineageGraph is the lineage the lake's events record: which jobs read
// and wrote which datasets. Only completed runs (COMPLETE events) make
// edges; a failed run wrote nothing that counts. It holds the edges and
// nodes only, never the events.
type LineageGraph struct {
	nodes map[nodeKey]*Node
	up    map[nodeKey]map[nodeKey]struct{} // node -> what feeds it
	down  map[nodeKey]map[nodeKey]struct{} // node -> what it feeds
	// Skipped lists the event files that could not be read, with why;
	// the graph is built without them.
	Skipped []string
	// Events is how many events were read.
	Events int
}

// slimEvent is the part of an event the graph needs.
type slimEvent struct {
	EventType EventType `json:"eventType"`
	EventTime string    `json:"eventTime"`
	Run       struct {
		RunID  string `json:"runId"`
		Facets struct {
			Bedrot *struct {
				RunID string `json:"runId"`
			} `json:"bedrot_run"`
		} `json:"facets"`
	} `json:"run"`
	Job struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
	Inputs  []slimDataset `json:"inputs"`
	Outputs []slimDataset `json:"outputs"`
}

type slimDataset struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Facets    struct {
		Bedrot *struct {
			Name string `json:"name"`
		} `json:"bedrot_dataset"`
	} `json:"facets"`
}

// Graph reads the lake's lineage events (under EventsPrefix) and builds the
// graph. It reads one event at a time and keeps only nodes and edges.
// Unreadable events are listed in Skipped, not fatal.
func Graph(ctx context.Context, st storage.Store) (*LineageGraph, error) {
	var keys []string
	err := st.List(ctx, EventsPrefix, func(oi storage.ObjectInfo) error {
		if strings.HasSuffix(oi.Key, ".json") {
			keys = append(keys, oi.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list lineage events in %s%s: %w", st.Location(), "/"+EventsPrefix, err)
	}
	g := newGraph()
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ev, err := readEvent(ctx, st, key)
		if err != nil {
			g.Skipped = append(g.Skipped, key+": "+err.Error())
			continue
		}
		g.Events++
		g.add(ev)
	}
	return g, nil
}

func readEvent(ctx context.Context, st storage.Store, key string) (*slimEvent, error) {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	var ev slimEvent
	if err := json.NewDecoder(obj).Decode(&ev); err != nil {
		return nil, fmt.Errorf("not a lineage event: %w", err)
	}
	if ev.Job.Name == "" || ev.EventType == "" {
		return nil, fmt.Errorf("not a lineage event: no job name or eventType")
	}
	return &ev, nil
}

func newGraph() *LineageGraph {
	return &LineageGraph{
		nodes: map[nodeKey]*Node{},
		up:    map[nodeKey]map[nodeKey]struct{}{},
		down:  map[nodeKey]map[nodeKey]struct{}{},
	}
}

func (g *LineageGraph) node(k nodeKey, label string) *Node {
	n := g.nodes[k]
	if n == nil {
		n = &Node{Kind: k.kind, Namespace: k.namespace, Name: k.name, Label: k.name}
		g.nodes[k] = n
	}
	if label != "" {
		n.Label = label
	}
	return n
}

func (g *LineageGraph) edge(from, to nodeKey) {
	if g.down[from] == nil {
		g.down[from] = map[nodeKey]struct{}{}
	}
	g.down[from][to] = struct{}{}
	if g.up[to] == nil {
		g.up[to] = map[nodeKey]struct{}{}
	}
	g.up[to][from] = struct{}{}
}

func (g *LineageGraph) add(ev *slimEvent) {
	jk := nodeKey{JobNode, ev.Job.Namespace, ev.Job.Name}
	job := g.node(jk, "")
	if ev.EventType != EventComplete && ev.EventType != EventFail && ev.EventType != "ABORT" {
		return
	}
	at, _ := time.Parse(time.RFC3339Nano, ev.EventTime)
	if job.LastEvent == "" || !at.Before(job.LastEventTime) {
		job.LastEvent, job.LastEventTime = ev.EventType, at
		job.LastRunID = ev.Run.RunID
		if b := ev.Run.Facets.Bedrot; b != nil && b.RunID != "" {
			job.LastRunID = b.RunID
		}
	}
	if ev.EventType != EventComplete {
		return
	}
	job.Completed++
	for _, d := range ev.Inputs {
		dk := nodeKey{DatasetNode, d.Namespace, d.Name}
		g.node(dk, d.label())
		g.edge(dk, jk)
	}
	for _, d := range ev.Outputs {
		dk := nodeKey{DatasetNode, d.Namespace, d.Name}
		g.node(dk, d.label())
		g.edge(jk, dk)
	}
}

func (d slimDataset) label() string {
	if d.Facets.Bedrot != nil {
		return d.Facets.Bedrot.Name
	}
	return ""
}

// Find returns the nodes a user's name refers to: a dataset's BEDROT name
// (raw.spotify.tracks), a job name (ingest.spotify), an OpenLineage
// "namespace:name" or name, or a lake path (raw/source=spotify, matching
// every dataset under it).
func (g *LineageGraph) Find(q string) []Node {
	var exact, under, versions []Node
	for k, n := range g.nodes {
		switch {
		case n.Label == q || k.name == q || k.namespace+":"+k.name == q:
			exact = append(exact, *n)
		case k.kind == DatasetNode && q != "" && (strings.HasSuffix("/"+k.name, "/"+q) || strings.Contains("/"+k.name, "/"+strings.Trim(q, "/")+"/")):
			under = append(under, *n)
		case k.kind == DatasetNode && q != "" && strings.HasPrefix(n.Label, q+".v"):
			// curated.<mart> names the mart's newest version, as in bedrot query.
			versions = append(versions, *n)
		}
	}
	if len(exact) == 0 {
		exact = under
	}
	if len(exact) == 0 && len(versions) > 0 {
		slices.SortFunc(versions, func(a, b Node) int { return cmp.Compare(a.Label, b.Label) })
		exact = versions[len(versions)-1:]
	}
	slices.SortFunc(exact, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Label, b.Label), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return exact
}

// Tree is the answer to an upstream or downstream question: a node and,
// as children, what feeds it (upstream) or what it feeds (downstream).
// Datasets and jobs alternate down the tree.
type Tree struct {
	Node     Node
	Children []*Tree
	// Repeated marks a node whose subtree appears earlier in the tree.
	Repeated bool
	// Truncated marks a node the depth limit stopped at: there is more.
	Truncated bool
}

// Direction is the way a tree points.
type Direction int

// Directions.
const (
	Upstream Direction = iota
	Downstream
)

// Upstream returns what name comes from: the jobs that wrote it, what they
// read, and so on, up to depth jobs away (0: all the way).
func (g *LineageGraph) Upstream(name string, depth int) (*Tree, error) {
	return g.tree(name, depth, Upstream)
}

// Downstream returns what comes from name: the jobs that read it, what they
// wrote, and so on, up to depth jobs away (0: all the way).
func (g *LineageGraph) Downstream(name string, depth int) (*Tree, error) {
	return g.tree(name, depth, Downstream)
}

func (g *LineageGraph) tree(name string, depth int, dir Direction) (*Tree, error) {
	found := g.Find(name)
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%q has no lineage yet: no completed run read or wrote it (check the name with `bedrot datasets`, or run the pipeline first)", name)
	case 1:
	default:
		names := make([]string, 0, len(found))
		for _, n := range found {
			names = append(names, n.Label)
		}
		return nil, fmt.Errorf("%q matches %d datasets or jobs: %s; name one", name, len(found), strings.Join(names, ", "))
	}
	n := found[0]
	jobs := 0
	if n.Kind == JobNode {
		jobs = 1
	}
	return g.walk(nodeKey{n.Kind, n.Namespace, n.Name}, dir, depth, jobs, map[nodeKey]bool{}), nil
}

// walk builds the tree under k; jobs counts the jobs from the root to k
// (inclusive).
func (g *LineageGraph) walk(k nodeKey, dir Direction, depth, jobs int, expanded map[nodeKey]bool) *Tree {
	t := &Tree{Node: *g.nodes[k]}
	next := g.up[k]
	if dir == Downstream {
		next = g.down[k]
	}
	if len(next) == 0 {
		return t
	}
	if k.kind == DatasetNode && depth > 0 && jobs >= depth {
		t.Truncated = true
		return t
	}
	if expanded[k] {
		t.Repeated = true
		return t
	}
	expanded[k] = true
	keys := make([]nodeKey, 0, len(next))
	for nk := range next {
		keys = append(keys, nk)
	}
	slices.SortFunc(keys, func(a, b nodeKey) int {
		return cmp.Or(cmp.Compare(g.nodes[a].Label, g.nodes[b].Label), cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	for _, nk := range keys {
		nj := jobs
		if nk.kind == JobNode {
			nj++
		}
		t.Children = append(t.Children, g.walk(nk, dir, depth, nj, expanded))
	}
	return t
}

// Render draws a tree, one node a line:
//
//	raw.spotify.tracks  (file:/srv/lake/raw/source=spotify/*/tracks-*.parquet)
//	└── <- ingest.spotify  [COMPLETE 2026-11-26T05:50:12Z, run 20261126T055012Z-9f3a1c]
//	    └── <- (source) spotify
func Render(w io.Writer, t *Tree, dir Direction) error {
	arrow := "<- "
	if dir == Downstream {
		arrow = "-> "
	}
	root := describe(t.Node)
	if t.Node.Kind == DatasetNode && t.Node.Label != t.Node.Name && t.Node.Namespace != SourceNamespace {
		root += "  (" + t.Node.ID().String() + ")"
	}
	if _, err := fmt.Fprintln(w, root+marks(t, dir)); err != nil {
		return err
	}
	return renderChildren(w, t, "", arrow, dir)
}

func renderChildren(w io.Writer, t *Tree, indent, arrow string, dir Direction) error {
	for i, c := range t.Children {
		branch, next := "├── ", "│   "
		if i == len(t.Children)-1 {
			branch, next = "└── ", "    "
		}
		if _, err := fmt.Fprintln(w, indent+branch+arrow+describe(c.Node)+marks(c, dir)); err != nil {
			return err
		}
		if err := renderChildren(w, c, indent+next, arrow, dir); err != nil {
			return err
		}
	}
	return nil
}

func describe(n Node) string {
	switch {
	case n.Kind == JobNode:
		s := n.Name
		if n.LastEvent != "" {
			s += "  [" + string(n.LastEvent) + " " + n.LastEventTime.UTC().Format(time.RFC3339)
			if n.LastRunID != "" {
				s += ", run " + n.LastRunID
			}
			s += "]"
		}
		return s
	case n.Namespace == SourceNamespace:
		return "(source) " + n.Name
	case n.Label != "" && n.Label != n.Name:
		return n.Label
	}
	return n.ID().String()
}

func marks(t *Tree, dir Direction) string {
	switch {
	case t.Repeated:
		return "  (see above)"
	case t.Truncated && dir == Upstream:
		return "  (more upstream)"
	case t.Truncated:
		return "  (more downstream)"
	}
	return ""
}
