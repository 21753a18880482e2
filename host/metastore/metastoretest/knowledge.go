package metastoretest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// testKnowledge checks the knowledge graph. The parts share one store and
// run in turn, search first: it lists every node.
func testKnowledge(t *testing.T, s metastore.Store) {
	t.Run("Search", func(t *testing.T) { testKnowledgeSearch(t, s) })
	t.Run("Nodes", func(t *testing.T) { testKnowledgeNodes(t, s) })
	t.Run("Edges", func(t *testing.T) { testKnowledgeEdges(t, s) })
}

func testKnowledgeNodes(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	_, err := s.GetKnowledgeNode(ctx, "decision:nodes-rate-limits")
	require.ErrorIs(t, err, metastore.ErrNotFound)
	_, err = s.FindKnowledgeNode(ctx, metastore.NodeDecision, "nodes-rate-limits")
	require.ErrorIs(t, err, metastore.ErrNotFound)

	created := stamp().Add(-time.Hour)
	before := stamp()
	n, err := s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{
		Kind: metastore.NodeDecision, Key: "nodes-rate-limits", Title: "Back off on TikTok 429",
		Body: "Wait for the reset.", Tags: []string{"tiktok", " ingest ", "tiktok", ""},
		Path: "knowledge/decisions/nodes-rate-limits.md", Meta: json.RawMessage(`{"b": 1, "a": [2]}`),
		CreatedAt: created,
	})
	require.NoError(t, err)
	require.Equal(t, "decision:nodes-rate-limits", n.ID, "an empty ID becomes kind:key")
	require.Equal(t, []string{"tiktok", "ingest"}, n.Tags, "tags are trimmed, de-duplicated, in order")
	require.True(t, created.Equal(n.CreatedAt), "created %s, read %s", created, n.CreatedAt)
	requireBetween(t, before, n.UpdatedAt)
	require.JSONEq(t, `{"a": [2], "b": 1}`, string(n.Meta))

	got, err := s.GetKnowledgeNode(ctx, n.ID)
	require.NoError(t, err)
	requireNodeEqual(t, n, got)
	got, err = s.FindKnowledgeNode(ctx, metastore.NodeDecision, "nodes-rate-limits")
	require.NoError(t, err)
	requireNodeEqual(t, n, got)
	_, err = s.FindKnowledgeNode(ctx, metastore.NodePattern, "nodes-rate-limits")
	require.ErrorIs(t, err, metastore.ErrNotFound, "kind is part of the identity")

	// Upserting the same kind and key updates in place: the ID and the
	// creation time stay (a zero CreatedAt does not reset it).
	up, err := s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{
		ID: "ignored-for-existing", Kind: metastore.NodeDecision, Key: "nodes-rate-limits",
		Title: "Back off on TikTok 429 and code 40100", Body: "Wait.",
	})
	require.NoError(t, err)
	require.Equal(t, n.ID, up.ID)
	require.True(t, created.Equal(up.CreatedAt))
	require.False(t, up.UpdatedAt.Before(n.UpdatedAt))
	require.Equal(t, "Back off on TikTok 429 and code 40100", up.Title)
	require.Nil(t, up.Tags, "tags are replaced")
	require.Empty(t, up.Meta)
	require.Empty(t, up.Path)

	// A CreatedAt given on update replaces the stored one (reindexing
	// files restores their dates).
	older := created.Add(-24 * time.Hour)
	up, err = s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: metastore.NodeDecision, Key: "nodes-rate-limits", CreatedAt: older})
	require.NoError(t, err)
	require.True(t, older.Equal(up.CreatedAt))

	// Explicit IDs are kept; an ID of another node is refused.
	ds, err := s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{ID: "ds-1", Kind: metastore.NodeDataset, Key: "raw.nodes.videos"})
	require.NoError(t, err)
	require.Equal(t, "ds-1", ds.ID)
	_, err = s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{ID: "ds-1", Kind: metastore.NodeDataset, Key: "raw.nodes.other"})
	require.ErrorContains(t, err, "belongs to another node")

	_, err = s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: "opinion", Key: "x"})
	require.ErrorContains(t, err, "not one of")
	_, err = s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: metastore.NodeAgent, Key: "  "})
	require.ErrorContains(t, err, "key is empty")
	_, err = s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: metastore.NodeAgent, Key: "a", Meta: json.RawMessage(`{`)})
	require.ErrorContains(t, err, "invalid JSON")

	require.NoError(t, s.DeleteKnowledgeNode(ctx, ds.ID))
	_, err = s.GetKnowledgeNode(ctx, ds.ID)
	require.ErrorIs(t, err, metastore.ErrNotFound)
	require.ErrorIs(t, s.DeleteKnowledgeNode(ctx, ds.ID), metastore.ErrNotFound)
}

func testKnowledgeEdges(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	node := func(kind, key string) metastore.KnowledgeNode {
		t.Helper()
		n, err := s.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: kind, Key: key, Title: key})
		require.NoError(t, err)
		return n
	}
	agent := node(metastore.NodeAgent, "edges-agent")
	session := node(metastore.NodeSession, "edges-session")
	videos := node(metastore.NodeDataset, "raw.edges.videos")
	mart := node(metastore.NodeDataset, "curated.edges.mart")
	decision := node(metastore.NodeDecision, "edges-decision")
	old := node(metastore.NodeDecision, "edges-old")

	link := func(from, to metastore.KnowledgeNode, kind string) metastore.KnowledgeEdge {
		t.Helper()
		e := metastore.KnowledgeEdge{From: from.ID, To: to.ID, Kind: kind}
		require.NoError(t, s.AddKnowledgeEdge(ctx, e))
		return e
	}
	link(agent, session, metastore.EdgeContributed)
	link(session, videos, metastore.EdgeConsumed)
	link(session, mart, metastore.EdgeProduced)
	link(decision, videos, metastore.EdgeInforms)
	link(decision, old, metastore.EdgeSupersedes)
	link(session, decision, metastore.EdgeProduced)
	// Adding an edge again changes nothing.
	require.NoError(t, s.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: decision.ID, To: videos.ID, Kind: metastore.EdgeInforms}))

	err := s.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: decision.ID, To: "dataset:nope", Kind: metastore.EdgeInforms})
	require.ErrorIs(t, err, metastore.ErrNotFound)
	require.ErrorContains(t, s.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: decision.ID, To: videos.ID, Kind: "likes"}), "not one of")
	require.ErrorContains(t, s.AddKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: decision.ID, To: decision.ID, Kind: metastore.EdgeInforms}), "itself")

	ids := func(nodes []metastore.KnowledgeNode) []string {
		out := []string{}
		for _, n := range nodes {
			out = append(out, n.ID)
		}
		return out
	}

	// What informs the videos dataset: one step in along informs.
	nodes, edges, err := s.KnowledgeNeighbors(ctx, videos.ID, []string{metastore.EdgeInforms}, metastore.DirectionIn, 1)
	require.NoError(t, err)
	require.Equal(t, []string{decision.ID}, ids(nodes))
	require.Len(t, edges, 1, "the informs edge added twice is one edge")
	require.Equal(t, metastore.KnowledgeEdge{From: decision.ID, To: videos.ID, Kind: metastore.EdgeInforms, CreatedAt: edges[0].CreatedAt}, edges[0])
	require.False(t, edges[0].CreatedAt.IsZero())

	// Out of the session, all kinds.
	nodes, edges, err = s.KnowledgeNeighbors(ctx, session.ID, nil, metastore.DirectionOut, 1)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{videos.ID, mart.ID, decision.ID}, ids(nodes))
	require.Len(t, edges, 3)

	// Two steps out reach what the session's decision supersedes, after
	// the first step's nodes.
	nodes, _, err = s.KnowledgeNeighbors(ctx, session.ID, nil, metastore.DirectionOut, 2)
	require.NoError(t, err)
	require.Len(t, nodes, 4)
	require.Equal(t, old.ID, nodes[3].ID, "nearest first")

	// Both ways from the decision, two steps: everything but nothing twice.
	nodes, edges, err = s.KnowledgeNeighbors(ctx, decision.ID, nil, metastore.DirectionBoth, 2)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{videos.ID, old.ID, session.ID, agent.ID, mart.ID}, ids(nodes))
	require.Len(t, edges, 6)

	_, _, err = s.KnowledgeNeighbors(ctx, "agent:nobody", nil, metastore.DirectionOut, 1)
	require.ErrorIs(t, err, metastore.ErrNotFound)
	_, _, err = s.KnowledgeNeighbors(ctx, session.ID, nil, "sideways", 1)
	require.ErrorContains(t, err, "direction")
	_, _, err = s.KnowledgeNeighbors(ctx, session.ID, nil, metastore.DirectionOut, 0)
	require.ErrorContains(t, err, "depth")
	_, _, err = s.KnowledgeNeighbors(ctx, session.ID, []string{"likes"}, metastore.DirectionOut, 1)
	require.ErrorContains(t, err, "edge kind")

	removed, err := s.RemoveKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: decision.ID, To: videos.ID, Kind: metastore.EdgeInforms})
	require.NoError(t, err)
	require.True(t, removed)
	removed, err = s.RemoveKnowledgeEdge(ctx, metastore.KnowledgeEdge{From: decision.ID, To: videos.ID, Kind: metastore.EdgeInforms})
	require.NoError(t, err)
	require.False(t, removed)
	nodes, _, err = s.KnowledgeNeighbors(ctx, videos.ID, []string{metastore.EdgeInforms}, metastore.DirectionIn, 1)
	require.NoError(t, err)
	require.Empty(t, nodes)

	// Deleting a node deletes its edges.
	require.NoError(t, s.DeleteKnowledgeNode(ctx, decision.ID))
	nodes, edges, err = s.KnowledgeNeighbors(ctx, session.ID, nil, metastore.DirectionOut, 3)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{videos.ID, mart.ID}, ids(nodes))
	require.Len(t, edges, 2)
	nodes, _, err = s.KnowledgeNeighbors(ctx, old.ID, nil, metastore.DirectionBoth, 1)
	require.NoError(t, err)
	require.Empty(t, nodes)
}

func testKnowledgeSearch(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	put := func(n metastore.KnowledgeNode) metastore.KnowledgeNode {
		t.Helper()
		got, err := s.UpsertKnowledgeNode(ctx, n)
		require.NoError(t, err)
		return got
	}
	keys := func(hits []metastore.KnowledgeHit) []string {
		out := []string{}
		for _, h := range hits {
			out = append(out, h.Node.Key)
		}
		return out
	}
	search := func(q string, f metastore.KnowledgeFilter) []metastore.KnowledgeHit {
		t.Helper()
		hits, err := s.SearchKnowledge(ctx, q, f)
		require.NoError(t, err, "query %q", q)
		return hits
	}

	hits := search("anything", metastore.KnowledgeFilter{})
	require.Empty(t, hits)
	require.NotNil(t, hits)

	base := stamp().Add(-time.Hour)
	put(metastore.KnowledgeNode{Kind: metastore.NodeDecision, Key: "title-hit", Title: "TikTok rate limits",
		Body: "Back off until the window resets.", Tags: []string{"ingest"}, UpdatedAt: base})
	put(metastore.KnowledgeNode{Kind: metastore.NodePattern, Key: "body-hit", Title: "Paging through the Display API",
		Body: "Pages are short near the rate limits; keep the cursor.", Tags: []string{"paging"}, UpdatedAt: base.Add(time.Minute)})
	put(metastore.KnowledgeNode{Kind: metastore.NodeFinding, Key: "tag-hit", Title: "Spotify export columns",
		Body: "Columns moved in the March export.", Tags: []string{"quarantine", "spotify"}, UpdatedAt: base.Add(2 * time.Minute)})
	put(metastore.KnowledgeNode{Kind: metastore.NodeDecision, Key: "book", Title: "Reading list",
		Body: "Notes from O'Reilly on streaming systems.", UpdatedAt: base.Add(3 * time.Minute)})
	put(metastore.KnowledgeNode{Kind: metastore.NodeDataset, Key: "raw.tiktok.videos", Title: "raw.tiktok.videos",
		Body: "TikTok videos as the Display API lists them.", UpdatedAt: base.Add(4 * time.Minute)})

	// Words in the title, the body and the tags are found, stemmed.
	require.Equal(t, []string{"title-hit", "body-hit"}, keys(search("limiting rates", metastore.KnowledgeFilter{})),
		"the title match ranks above the body match")
	require.Equal(t, []string{"tag-hit"}, keys(search("quarantine", metastore.KnowledgeFilter{})))
	require.Equal(t, []string{"book"}, keys(search("streaming", metastore.KnowledgeFilter{})))
	hits = search("limits", metastore.KnowledgeFilter{})
	require.Len(t, hits, 2)
	require.Greater(t, hits[0].Rank, hits[1].Rank)
	for _, h := range hits {
		require.Contains(t, h.Snippet, "**", "the snippet marks the match")
	}
	require.Equal(t, "TikTok rate limits", hits[0].Node.Title, "hits carry the whole node")
	require.Equal(t, []string{"ingest"}, hits[0].Node.Tags)

	// All words must match; OR, phrases and exclusions work as on the web.
	require.Equal(t, []string{"body-hit"}, keys(search("rate cursor", metastore.KnowledgeFilter{})))
	require.ElementsMatch(t, []string{"tag-hit", "book"}, keys(search("spotify OR streaming", metastore.KnowledgeFilter{})))
	require.Equal(t, []string{"body-hit"}, keys(search(`"rate limits" -tiktok`, metastore.KnowledgeFilter{})))
	require.Empty(t, keys(search(`"limits rate"`, metastore.KnowledgeFilter{})), "a phrase keeps its order")

	// Filters.
	require.Equal(t, []string{"body-hit"}, keys(search("limits", metastore.KnowledgeFilter{Kinds: []string{metastore.NodePattern}})))
	require.Equal(t, []string{"title-hit"}, keys(search("limits", metastore.KnowledgeFilter{Tag: "ingest"})))
	require.Len(t, search("limits", metastore.KnowledgeFilter{Limit: 1}), 1)
	_, err := s.SearchKnowledge(ctx, "limits", metastore.KnowledgeFilter{Kinds: []string{"opinion"}})
	require.ErrorContains(t, err, "not one of")

	// User input with quotes and operators never breaks the query.
	require.Equal(t, []string{"book"}, keys(search(`"o'reilly" AND (`, metastore.KnowledgeFilter{})))
	for _, q := range []string{`"`, `(`, `)`, `*`, `-`, `OR`, `AND`, `NOT`, `NEAR(a b)`, `title:tiktok`, `^tiktok`,
		`tiktok*`, `a" OR "b`, `'; DROP TABLE knowledge_nodes; --`, `\`, `{title}: x`, `--`, `"unclosed phrase`,
		`-tiktok`, `OR OR OR`, `limits OR`, `!!!`, `the and of`, `ünïcödé ✓`, strings.Repeat("(", 50)} {
		_, err := s.SearchKnowledge(ctx, q, metastore.KnowledgeFilter{})
		require.NoError(t, err, "query %q", q)
	}
	require.Equal(t, []string{"title-hit"}, keys(search(`tiktok* limits:`, metastore.KnowledgeFilter{Kinds: []string{metastore.NodeDecision}})))
	require.Equal(t, []string{"raw.tiktok.videos"}, keys(search("raw.tiktok.videos", metastore.KnowledgeFilter{})),
		"a dataset name is searchable as written")

	// An empty query lists, most recently updated first.
	require.Equal(t, []string{"raw.tiktok.videos", "book", "tag-hit", "body-hit", "title-hit"}, keys(search("", metastore.KnowledgeFilter{})))
	require.Equal(t, []string{"book", "title-hit"}, keys(search(" ", metastore.KnowledgeFilter{Kinds: []string{metastore.NodeDecision}})))
	require.Equal(t, []string{"tag-hit"}, keys(search("", metastore.KnowledgeFilter{Tag: "spotify"})))
	require.Len(t, search("", metastore.KnowledgeFilter{Limit: -1}), 5)

	// The index follows updates and deletes.
	put(metastore.KnowledgeNode{Kind: metastore.NodeFinding, Key: "tag-hit", Title: "Spotify export columns",
		Body: "Royalties column renamed.", Tags: []string{"spotify"}})
	require.Empty(t, search("quarantine", metastore.KnowledgeFilter{}))
	require.Empty(t, search("march", metastore.KnowledgeFilter{}))
	require.Equal(t, []string{"tag-hit"}, keys(search("royalties renamed", metastore.KnowledgeFilter{})))
	require.NoError(t, s.DeleteKnowledgeNode(ctx, "finding:tag-hit"))
	require.Empty(t, search("royalties", metastore.KnowledgeFilter{}))
}

// requireNodeEqual compares nodes, their times by instant and meta as
// JSON.
func requireNodeEqual(t *testing.T, want, got metastore.KnowledgeNode) {
	t.Helper()
	require.True(t, want.CreatedAt.Equal(got.CreatedAt), "created %s, read %s", want.CreatedAt, got.CreatedAt)
	require.True(t, want.UpdatedAt.Equal(got.UpdatedAt), "updated %s, read %s", want.UpdatedAt, got.UpdatedAt)
	if len(want.Meta) > 0 || len(got.Meta) > 0 {
		require.JSONEq(t, string(want.Meta), string(got.Meta))
	}
	want.CreatedAt, want.UpdatedAt, want.Meta = got.CreatedAt, got.UpdatedAt, got.Meta
	require.Equal(t, want, got)
}
