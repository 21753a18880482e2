package knowledge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// DefaultGraphDepth is how far Graph walks when depth is 0.
const DefaultGraphDepth = 2

// Graph is the neighbourhood of one node.
type Graph struct {
	Root  metastore.KnowledgeNode   `json:"root"`
	Nodes []metastore.KnowledgeNode `json:"nodes"` // without Root, nearest first
	Edges []metastore.KnowledgeEdge `json:"edges"`
}

// Graph returns the nodes within depth steps of a node, following edges
// both ways. ref is a node ID ("dataset:raw.tiktok.videos"), a dataset
// name, an entry slug, or an agent's or session's id, tried in that order.
func (b *Base) Graph(ctx context.Context, ref string, depth int) (Graph, error) {
	if depth == 0 {
		depth = DefaultGraphDepth
	}
	root, err := b.resolve(ctx, strings.TrimSpace(ref))
	if err != nil {
		return Graph{}, fmt.Errorf("failed to show the graph of %q: %w", ref, err)
	}
	nodes, edges, err := b.Meta.KnowledgeNeighbors(ctx, root.ID, nil, metastore.DirectionBoth, depth)
	if err != nil {
		return Graph{}, fmt.Errorf("failed to show the graph of %q: %w", ref, err)
	}
	return Graph{Root: root, Nodes: nodes, Edges: edges}, nil
}

// resolve finds a node by ID, dataset name, entry slug, agent or session
// id.
func (b *Base) resolve(ctx context.Context, ref string) (metastore.KnowledgeNode, error) {
	n, err := b.Meta.GetKnowledgeNode(ctx, ref)
	if !errors.Is(err, metastore.ErrNotFound) {
		return n, err
	}
	n, err = b.Meta.FindKnowledgeNode(ctx, metastore.NodeDataset, ref)
	if !errors.Is(err, metastore.ErrNotFound) {
		return n, err
	}
	n, err = b.findEntry(ctx, ref)
	if !errors.Is(err, metastore.ErrNotFound) {
		return n, err
	}
	for _, kind := range []string{metastore.NodeSession} {
		n, err = b.Meta.FindKnowledgeNode(ctx, kind, ref)
		if !errors.Is(err, metastore.ErrNotFound) {
			return n, err
		}
	}
	return n, fmt.Errorf("no node %q in the knowledge graph: %w (name a dataset, an entry slug or ID, an agent or a session)", ref, metastore.ErrNotFound)
}

// Render writes the graph as an indented tree from its root: each line is
// an edge ("->" leaving the node above, "<-" entering it), its kind, and
// the node at its other end. A node met again is printed with "(above)"
// and not expanded twice.
func (g Graph) Render(w io.Writer) error {
	byID := map[string]metastore.KnowledgeNode{g.Root.ID: g.Root}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	adj := map[string][]metastore.KnowledgeEdge{}
	for _, e := range g.Edges {
		adj[e.From] = append(adj[e.From], e)
		adj[e.To] = append(adj[e.To], e)
	}
	for id := range adj {
		es := adj[id]
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].Kind != es[j].Kind {
				return es[i].Kind < es[j].Kind
			}
			return other(es[i], id) < other(es[j], id)
		})
	}
	var b strings.Builder
	b.WriteString(label(g.Root) + "\n")
	seen := map[string]bool{g.Root.ID: true}
	used := map[[3]string]bool{}
	var walk func(id, indent string)
	walk = func(id, indent string) {
		for _, e := range adj[id] {
			k := [3]string{e.From, e.To, e.Kind}
			if used[k] {
				continue
			}
			used[k] = true
			to := other(e, id)
			arrow := "->"
			if e.To == id {
				arrow = "<-"
			}
			n, ok := byID[to]
			if !ok {
				n = metastore.KnowledgeNode{ID: to}
			}
			line := fmt.Sprintf("%s%s %-11s %s", indent, arrow, e.Kind, label(n))
			if seen[to] {
				b.WriteString(line + " (above)\n")
				continue
			}
			seen[to] = true
			b.WriteString(line + "\n")
			walk(to, indent+"    ")
		}
	}
	walk(g.Root.ID, "  ")
	_, err := io.WriteString(w, b.String())
	return err
}

// other is the end of e that is not id.
func other(e metastore.KnowledgeEdge, id string) string {
	if e.From == id {
		return e.To
	}
	return e.From
}

// label is a node's ID and, when it says more, its title.
func label(n metastore.KnowledgeNode) string {
	if n.Title == "" || n.Title == n.Key {
		return n.ID
	}
	return n.ID + "  " + fmt.Sprintf("%q", n.Title)
}
