// Package knowledge is the lake's knowledge base and graph. Entries are
// Markdown files with YAML front matter under knowledge/ in the lake — the
// source of truth, which people may edit by hand:
//
//	knowledge/decisions/<slug>.md                 decisions
//	knowledge/patterns/<slug>.md                  patterns
//	knowledge/agents/<agent>.md                   an agent's own entry
//	knowledge/agents/<agent>/findings/<slug>.md   findings, under the agent that found them
//
// The metastore holds the graph built from them and from agent sessions:
// nodes for agents, sessions, datasets (keyed by the BEDROT dataset name,
// the names lineage uses), decisions, patterns and findings, and edges
//
//	entry   -informs->     dataset
//	agent   -contributed-> entry, session
//	session -produced->    entry, dataset
//	session -consumed->    dataset
//	entry   -supersedes->  older entry
//
// Gather is the "Informs → Next Agent" step: before a task starts, what
// the graph knows about its datasets and task type goes into the agent's
// context. Reindex rebuilds the entry nodes from the files after hand
// edits.
package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
)

// Root is the lake prefix of the knowledge base.
const Root = "knowledge/"

// DefaultGatherLimit is how many entries Gather returns when limit is 0.
const DefaultGatherLimit = 10

// Base is the knowledge base of one lake.
type Base struct {
	// Store holds the Markdown entries.
	Store storage.Store
	// Meta holds the graph.
	Meta metastore.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (b *Base) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

// entryMeta is what a node's Meta holds of an entry's front matter.
type entryMeta struct {
	Datasets   []string `json:"datasets,omitempty"`
	Agent      string   `json:"agent,omitempty"`
	Session    string   `json:"session,omitempty"`
	Supersedes []string `json:"supersedes,omitempty"`
}

// Add stores an entry: it writes the Markdown file, then records the node
// and its edges. Kind and Title are required (an agent entry needs Agent or
// Slug, a finding its Agent). With an empty Slug one is made from the
// title, unique among entries of the kind; an entry with the Slug of an
// existing one replaces it. Supersedes may name entries by ID or slug;
// they must exist. It returns the entry as stored.
func (b *Base) Add(ctx context.Context, e Entry) (Entry, error) {
	e.Kind = strings.TrimSpace(e.Kind)
	e.Title = strings.TrimSpace(e.Title)
	e.Agent = strings.TrimSpace(e.Agent)
	e.Session = strings.TrimSpace(e.Session)
	e.Tags, e.Datasets = normTags(e.Tags), normList(e.Datasets)
	e.Body = strings.TrimSpace(e.Body)
	if !slices.Contains(EntryKinds, e.Kind) {
		return e, fmt.Errorf("failed to add knowledge entry: kind %q is not one of %s", e.Kind, strings.Join(EntryKinds, ", "))
	}
	if e.Title == "" {
		return e, fmt.Errorf("failed to add %s: it needs a title", e.Kind)
	}
	if e.Kind == KindAgent {
		if e.Slug == "" {
			e.Slug = e.Agent
		}
		if e.Agent == "" {
			e.Agent = e.Slug
		}
		if e.Slug == "" || e.Slug != e.Agent {
			return e, fmt.Errorf("failed to add agent entry %q: its slug is the agent's id; set Agent", e.Title)
		}
	}
	if e.Agent != "" {
		if err := ValidSlug(e.Agent); err != nil {
			return e, fmt.Errorf("failed to add %s %q: agent: %w", e.Kind, e.Title, err)
		}
	}
	if e.Slug == "" {
		slug, err := b.freeSlug(ctx, e.Kind, Slugify(e.Title))
		if err != nil {
			return e, fmt.Errorf("failed to add %s %q: %w", e.Kind, e.Title, err)
		}
		e.Slug = slug
	}
	p, err := EntryPath(e.Kind, e.Slug, e.Agent)
	if err != nil {
		return e, fmt.Errorf("failed to add %s %q: %w", e.Kind, e.Title, err)
	}
	e.Path = p
	e.ID = e.Kind + ":" + e.Slug
	if e.Created.IsZero() {
		e.Created = b.now()
	}
	e.Created = e.Created.UTC()
	var sup []string
	for _, ref := range normList(e.Supersedes) {
		n, err := b.findEntry(ctx, ref)
		if err != nil {
			return e, fmt.Errorf("failed to add %s %q: it supersedes %q: %w", e.Kind, e.Title, ref, err)
		}
		if n.ID == e.ID {
			return e, fmt.Errorf("failed to add %s %q: an entry cannot supersede itself", e.Kind, e.Title)
		}
		sup = append(sup, n.ID)
	}
	e.Supersedes = sup

	data, err := Render(e)
	if err != nil {
		return e, err
	}
	if _, err := b.Store.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
		return e, fmt.Errorf("failed to write %s: %w", e.Path, err)
	}
	if err := b.index(ctx, e); err != nil {
		return e, fmt.Errorf("wrote %s but failed to record it in the graph (run `bedrot knowledge reindex`): %w", e.Path, err)
	}
	if err := b.link(ctx, e); err != nil {
		return e, fmt.Errorf("wrote %s but failed to link it in the graph (run `bedrot knowledge reindex`): %w", e.Path, err)
	}
	return e, nil
}

// freeSlug returns base, or base-2, base-3, ... : the first slug no entry
// of kind uses.
func (b *Base) freeSlug(ctx context.Context, kind, base string) (string, error) {
	if base == "" {
		base = kind
	}
	for i := 1; i < 1000; i++ {
		slug := base
		if i > 1 {
			slug = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := b.Meta.FindKnowledgeNode(ctx, kind, slug)
		if errors.Is(err, metastore.ErrNotFound) {
			if kind == KindFinding {
				return slug, nil // findings live in per-agent folders; the node is the record
			}
			p, _ := EntryPath(kind, slug, "")
			if _, err := b.Store.Stat(ctx, p); errors.Is(err, storage.ErrNotFound) {
				return slug, nil
			} else if err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no free slug for %q: choose one", base)
}

// index upserts the entry's node.
func (b *Base) index(ctx context.Context, e Entry) error {
	meta, err := json.Marshal(entryMeta{Datasets: e.Datasets, Agent: e.Agent, Session: e.Session, Supersedes: e.Supersedes})
	if err != nil {
		return err
	}
	_, err = b.Meta.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{
		ID: e.ID, Kind: e.Kind, Key: e.Slug, Title: e.Title, Body: e.Body, Tags: e.Tags,
		Path: e.Path, Meta: meta, CreatedAt: e.Created,
	})
	return err
}

// link makes the entry's edges match its front matter: informs to its
// datasets, contributed from its agent, produced from its session,
// supersedes to the entries it replaces. Edges it no longer has go.
func (b *Base) link(ctx context.Context, e Entry) error {
	want := map[[3]string]bool{} // from, to, kind
	add := func(from, to, kind string) { want[[3]string{from, to, kind}] = true }
	for _, d := range e.Datasets {
		n, err := b.ensure(ctx, metastore.NodeDataset, d)
		if err != nil {
			return err
		}
		add(e.ID, n.ID, metastore.EdgeInforms)
	}
	if e.Agent != "" && e.Kind != KindAgent {
		n, err := b.ensure(ctx, metastore.NodeAgent, e.Agent)
		if err != nil {
			return err
		}
		add(n.ID, e.ID, metastore.EdgeContributed)
	}
	if e.Session != "" {
		n, err := b.ensure(ctx, metastore.NodeSession, e.Session)
		if err != nil {
			return err
		}
		add(n.ID, e.ID, metastore.EdgeProduced)
	}
	for _, id := range e.Supersedes {
		if _, err := b.Meta.GetKnowledgeNode(ctx, id); err != nil {
			return fmt.Errorf("superseded entry: %w", err)
		}
		add(e.ID, id, metastore.EdgeSupersedes)
	}

	// The entry's own edges: informs and supersedes out of it; produced
	// into it; contributed into it unless it is an agent entry (an agent's
	// contributed edges belong to what it contributed).
	_, out, err := b.Meta.KnowledgeNeighbors(ctx, e.ID, []string{metastore.EdgeInforms, metastore.EdgeSupersedes}, metastore.DirectionOut, 1)
	if err != nil {
		return err
	}
	inKinds := []string{metastore.EdgeProduced, metastore.EdgeContributed}
	if e.Kind == KindAgent {
		inKinds = []string{metastore.EdgeProduced}
	}
	_, in, err := b.Meta.KnowledgeNeighbors(ctx, e.ID, inKinds, metastore.DirectionIn, 1)
	if err != nil {
		return err
	}
	for _, have := range append(out, in...) {
		k := [3]string{have.From, have.To, have.Kind}
		if want[k] {
			delete(want, k)
			continue
		}
		if _, err := b.Meta.RemoveKnowledgeEdge(ctx, have); err != nil {
			return err
		}
	}
	for k := range want {
		if err := b.Meta.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: k[0], To: k[1], Kind: k[2]}); err != nil {
			return err
		}
	}
	return nil
}

// ensure returns the node of kind and key, creating a bare one (titled by
// its key) if there is none; an existing node is left as it is.
func (b *Base) ensure(ctx context.Context, kind, key string) (metastore.KnowledgeNode, error) {
	n, err := b.Meta.FindKnowledgeNode(ctx, kind, key)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, metastore.ErrNotFound) {
		return n, err
	}
	return b.Meta.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: kind, Key: key, Title: key})
}

// RecordSession records an agent session in the graph: the agent, the
// session and the datasets (by BEDROT name, as lineage names them), with
// agent -contributed-> session, session -consumed-> each consumed dataset
// and session -produced-> each produced one. Recording a session again
// adds what is new.
func (b *Base) RecordSession(ctx context.Context, agentID, sessionID string, consumed, produced []string) error {
	agentID, sessionID = strings.TrimSpace(agentID), strings.TrimSpace(sessionID)
	if agentID == "" || sessionID == "" {
		return errors.New("failed to record session: an agent id and a session id are required")
	}
	agent, err := b.ensure(ctx, metastore.NodeAgent, agentID)
	if err != nil {
		return fmt.Errorf("failed to record session %s: %w", sessionID, err)
	}
	session, err := b.ensure(ctx, metastore.NodeSession, sessionID)
	if err != nil {
		return fmt.Errorf("failed to record session %s: %w", sessionID, err)
	}
	if err := b.Meta.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: agent.ID, To: session.ID, Kind: metastore.EdgeContributed}); err != nil {
		return fmt.Errorf("failed to record session %s: %w", sessionID, err)
	}
	for _, l := range []struct {
		names []string
		kind  string
	}{{consumed, metastore.EdgeConsumed}, {produced, metastore.EdgeProduced}} {
		for _, d := range normList(l.names) {
			ds, err := b.ensure(ctx, metastore.NodeDataset, d)
			if err != nil {
				return fmt.Errorf("failed to record session %s: %w", sessionID, err)
			}
			if err := b.Meta.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: session.ID, To: ds.ID, Kind: l.kind}); err != nil {
				return fmt.Errorf("failed to record session %s: %w", sessionID, err)
			}
		}
	}
	return nil
}

// findEntry resolves an entry's ID ("decision:slug") or slug.
func (b *Base) findEntry(ctx context.Context, ref string) (metastore.KnowledgeNode, error) {
	if strings.Contains(ref, ":") {
		n, err := b.Meta.GetKnowledgeNode(ctx, ref)
		if err != nil {
			return n, err
		}
		if !slices.Contains(EntryKinds, n.Kind) {
			return n, fmt.Errorf("%s is a %s, not a knowledge entry", ref, n.Kind)
		}
		return n, nil
	}
	var found []metastore.KnowledgeNode
	for _, kind := range EntryKinds {
		n, err := b.Meta.FindKnowledgeNode(ctx, kind, ref)
		if errors.Is(err, metastore.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		found = append(found, n)
	}
	switch len(found) {
	case 0:
		return metastore.KnowledgeNode{}, fmt.Errorf("no knowledge entry %q: %w (try `bedrot knowledge search`)", ref, metastore.ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, n := range found {
		ids[i] = n.ID
	}
	return metastore.KnowledgeNode{}, fmt.Errorf("%q names several entries (%s): use the ID", ref, strings.Join(ids, ", "))
}

// Show returns an entry, by ID ("decision:tiktok-backoff") or slug, read
// from its file (so hand edits show before a reindex).
func (b *Base) Show(ctx context.Context, idOrSlug string) (Entry, error) {
	n, err := b.findEntry(ctx, strings.TrimSpace(idOrSlug))
	if err != nil {
		return Entry{}, fmt.Errorf("failed to show %q: %w", idOrSlug, err)
	}
	if n.Path == "" {
		return entryFromNode(n), nil
	}
	e, err := b.readEntry(ctx, n.Path)
	if errors.Is(err, storage.ErrNotFound) {
		return Entry{}, fmt.Errorf("failed to show %s: its file %s is gone (run `bedrot knowledge reindex`): %w", n.ID, n.Path, err)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("failed to show %s: %w", n.ID, err)
	}
	return e, nil
}

// readEntry reads and parses the entry file at key; its kind, slug and ID
// come from the key.
func (b *Base) readEntry(ctx context.Context, key string) (Entry, error) {
	kind, slug, agent, ok := ParsePath(key)
	if !ok {
		return Entry{}, fmt.Errorf("%s is not a knowledge entry path", key)
	}
	obj, err := b.Store.Open(ctx, key)
	if err != nil {
		return Entry{}, err
	}
	defer func() { _ = obj.Close() }()
	data, err := io.ReadAll(obj)
	if err != nil {
		return Entry{}, fmt.Errorf("failed to read %s: %w", key, err)
	}
	e, err := Parse(data)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", key, err)
	}
	if e.Kind != "" && e.Kind != kind {
		return Entry{}, fmt.Errorf("%s: front matter says kind %q but the file is in the %s folder: move the file or fix the kind", key, e.Kind, kind)
	}
	if e.Title == "" {
		return Entry{}, fmt.Errorf("%s: front matter has no title", key)
	}
	e.Kind, e.Slug, e.Path, e.ID = kind, slug, key, kind+":"+slug
	switch kind {
	case KindFinding:
		if e.Agent != "" && e.Agent != agent {
			return Entry{}, fmt.Errorf("%s: front matter says agent %q but the file is in agent %s's folder", key, e.Agent, agent)
		}
		e.Agent = agent
	case KindAgent:
		e.Agent = slug
	}
	return e, nil
}

// entryFromNode rebuilds an entry from its node.
func entryFromNode(n metastore.KnowledgeNode) Entry {
	var m entryMeta
	_ = json.Unmarshal(n.Meta, &m) // meta this package wrote; anything else leaves fields empty
	return Entry{ID: n.ID, Kind: n.Kind, Slug: n.Key, Title: n.Title, Tags: n.Tags, Datasets: m.Datasets,
		Agent: m.Agent, Session: m.Session, Supersedes: m.Supersedes, Created: n.CreatedAt, Body: n.Body, Path: n.Path}
}

// Search runs a full-text search over the graph (entries, datasets, agents
// and sessions), most relevant first; limit 0 means 20.
func (b *Base) Search(ctx context.Context, q string, limit int) ([]metastore.KnowledgeHit, error) {
	return b.Meta.SearchKnowledge(ctx, q, metastore.KnowledgeFilter{Limit: limit})
}

// Gather returns what the graph knows for a task on datasets of type
// taskType — the "Informs → Next Agent" input: entries that inform any of
// the datasets, and entries tagged with the task type, leaving out entries
// another entry supersedes; newest first, at most limit (0 means
// DefaultGatherLimit). Unknown datasets and an empty task type add
// nothing.
func (b *Base) Gather(ctx context.Context, datasets []string, taskType string, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = DefaultGatherLimit
	}
	found := map[string]metastore.KnowledgeNode{}
	for _, d := range normList(datasets) {
		ds, err := b.Meta.FindKnowledgeNode(ctx, metastore.NodeDataset, d)
		if errors.Is(err, metastore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to gather knowledge on %s: %w", d, err)
		}
		nodes, _, err := b.Meta.KnowledgeNeighbors(ctx, ds.ID, []string{metastore.EdgeInforms}, metastore.DirectionIn, 1)
		if err != nil {
			return nil, fmt.Errorf("failed to gather knowledge on %s: %w", d, err)
		}
		for _, n := range nodes {
			found[n.ID] = n
		}
	}
	if tag := strings.ToLower(strings.TrimSpace(taskType)); tag != "" {
		hits, err := b.Meta.SearchKnowledge(ctx, "", metastore.KnowledgeFilter{Kinds: EntryKinds, Tag: tag, Limit: -1})
		if err != nil {
			return nil, fmt.Errorf("failed to gather knowledge on task type %s: %w", taskType, err)
		}
		for _, h := range hits {
			found[h.Node.ID] = h.Node
		}
	}
	nodes := make([]metastore.KnowledgeNode, 0, len(found))
	for _, n := range found {
		if !slices.Contains(EntryKinds, n.Kind) {
			continue
		}
		by, _, err := b.Meta.KnowledgeNeighbors(ctx, n.ID, []string{metastore.EdgeSupersedes}, metastore.DirectionIn, 1)
		if err != nil {
			return nil, fmt.Errorf("failed to gather knowledge: %w", err)
		}
		if len(by) > 0 {
			continue
		}
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool {
		if !nodes[i].CreatedAt.Equal(nodes[j].CreatedAt) {
			return nodes[i].CreatedAt.After(nodes[j].CreatedAt)
		}
		return nodes[i].ID < nodes[j].ID
	})
	if len(nodes) > limit {
		nodes = nodes[:limit]
	}
	out := make([]Entry, len(nodes))
	for i, n := range nodes {
		out[i] = entryFromNode(n)
	}
	return out, nil
}
