package knowledge_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/storage/folder"
)

// lake is a knowledge base on a folder lake with a SQLite metastore.
type lake struct {
	*knowledge.Base
	root  string
	clock time.Time
}

func newLake(t *testing.T) *lake {
	t.Helper()
	root := t.TempDir()
	st, err := folder.New(root)
	require.NoError(t, err)
	meta, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, meta.Close()) })
	l := &lake{root: root, clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	// Each entry is a minute newer than the last.
	l.Base = &knowledge.Base{Store: st, Meta: meta, Now: func() time.Time {
		l.clock = l.clock.Add(time.Minute)
		return l.clock
	}}
	return l
}

func (l *lake) add(t *testing.T, e knowledge.Entry) knowledge.Entry {
	t.Helper()
	got, err := l.Add(t.Context(), e)
	require.NoError(t, err)
	return got
}

func (l *lake) file(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.root, filepath.FromSlash(key)))
	require.NoError(t, err)
	return string(b)
}

func (l *lake) writeFile(t *testing.T, key, content string) {
	t.Helper()
	p := filepath.Join(l.root, filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func (l *lake) searchKeys(t *testing.T, q string) []string {
	t.Helper()
	hits, err := l.Search(t.Context(), q, 0)
	require.NoError(t, err)
	out := []string{}
	for _, h := range hits {
		out = append(out, h.Node.ID)
	}
	return out
}

func entryIDs(es []knowledge.Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestAddWritesFileAndGraph(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()

	e := l.add(t, knowledge.Entry{Kind: knowledge.KindDecision, Title: "Back off on TikTok 429",
		Body: "Wait for the window to reset, then retry.", Tags: []string{"Ingest", "tiktok"},
		Datasets: []string{"raw.tiktok.videos"}, Agent: "ingest-bot", Session: "sess-1"})
	require.Equal(t, "decision:back-off-on-tiktok-429", e.ID)
	require.Equal(t, "knowledge/decisions/back-off-on-tiktok-429.md", e.Path)
	require.Equal(t, []string{"ingest", "tiktok"}, e.Tags)

	// The file is the entry, readable by people and by Parse.
	text := l.file(t, e.Path)
	require.True(t, strings.HasPrefix(text, "---\nid: decision:back-off-on-tiktok-429\nkind: decision\n"), text)
	require.Contains(t, text, "datasets: [raw.tiktok.videos]\n")
	require.Contains(t, text, "\n---\n\nWait for the window to reset, then retry.\n")

	shown, err := l.Show(ctx, "back-off-on-tiktok-429")
	require.NoError(t, err)
	require.Equal(t, e, shown)
	shown, err = l.Show(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e, shown)

	// The graph: entry -informs-> dataset, agent -contributed-> entry,
	// session -produced-> entry.
	g, err := l.Graph(ctx, "raw.tiktok.videos", 1)
	require.NoError(t, err)
	require.Equal(t, "dataset:raw.tiktok.videos", g.Root.ID)
	require.Len(t, g.Edges, 1)
	require.Equal(t, [3]string{e.ID, "dataset:raw.tiktok.videos", metastore.EdgeInforms},
		[3]string{g.Edges[0].From, g.Edges[0].To, g.Edges[0].Kind})
	g, err = l.Graph(ctx, e.ID, 1)
	require.NoError(t, err)
	var kinds []string
	for _, ed := range g.Edges {
		kinds = append(kinds, ed.From+" "+ed.Kind+" "+ed.To)
	}
	require.ElementsMatch(t, []string{
		e.ID + " informs dataset:raw.tiktok.videos",
		"agent:ingest-bot contributed " + e.ID,
		"session:sess-1 produced " + e.ID,
	}, kinds)

	// The same title again gets its own slug.
	again := l.add(t, knowledge.Entry{Kind: knowledge.KindDecision, Title: "Back off on TikTok 429", Body: "Second thoughts."})
	require.Equal(t, "decision:back-off-on-tiktok-429-2", again.ID)

	require.Equal(t, []string{e.ID}, l.searchKeys(t, "window reset"))
}

func TestAddValidates(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()
	for name, tc := range map[string]struct {
		e    knowledge.Entry
		want string
	}{
		"kind":               {knowledge.Entry{Kind: "opinion", Title: "x"}, "not one of"},
		"title":              {knowledge.Entry{Kind: knowledge.KindPattern, Title: "  "}, "needs a title"},
		"finding agent":      {knowledge.Entry{Kind: knowledge.KindFinding, Title: "x"}, "belongs to the agent"},
		"bad agent":          {knowledge.Entry{Kind: knowledge.KindFinding, Title: "x", Agent: "../x"}, "invalid slug"},
		"bad slug":           {knowledge.Entry{Kind: knowledge.KindPattern, Title: "x", Slug: "Has Space"}, "invalid slug"},
		"unknown supersedes": {knowledge.Entry{Kind: knowledge.KindPattern, Title: "x", Supersedes: []string{"nope"}}, "not found"},
	} {
		_, err := l.Add(ctx, tc.e)
		require.ErrorContains(t, err, tc.want, name)
	}
	hits, err := l.Search(ctx, "", -1)
	require.NoError(t, err)
	require.Empty(t, hits, "nothing was recorded")
}

func TestFindingsAndAgents(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()
	f := l.add(t, knowledge.Entry{Kind: knowledge.KindFinding, Title: "Spotify CSV columns moved", Agent: "qa-bot",
		Datasets: []string{"raw.spotify.streams"}})
	require.Equal(t, "knowledge/agents/qa-bot/findings/spotify-csv-columns-moved.md", f.Path)
	a := l.add(t, knowledge.Entry{Kind: knowledge.KindAgent, Title: "QA bot", Agent: "qa-bot", Body: "Checks exports."})
	require.Equal(t, "agent:qa-bot", a.ID)
	require.Equal(t, "knowledge/agents/qa-bot.md", a.Path)

	// The agent's entry and the agent that contributed the finding are one
	// node; adding the entry kept the contributed edge.
	g, err := l.Graph(ctx, "qa-bot", 1)
	require.NoError(t, err)
	require.Equal(t, "QA bot", g.Root.Title)
	require.Len(t, g.Nodes, 1)
	require.Equal(t, f.ID, g.Nodes[0].ID)

	// A slug shared by two kinds is ambiguous; the ID is not.
	l.add(t, knowledge.Entry{Kind: knowledge.KindPattern, Title: "Spotify CSV columns moved"})
	_, err = l.Show(ctx, "spotify-csv-columns-moved")
	require.ErrorContains(t, err, "several entries")
	shown, err := l.Show(ctx, f.ID)
	require.NoError(t, err)
	require.Equal(t, "qa-bot", shown.Agent)
	_, err = l.Show(ctx, "nothing-like-it")
	require.ErrorIs(t, err, metastore.ErrNotFound)
	_, err = l.Show(ctx, "dataset:raw.spotify.streams")
	require.ErrorContains(t, err, "not a knowledge entry")
}

func TestGather(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()

	old := l.add(t, knowledge.Entry{Kind: knowledge.KindDecision, Title: "Retry TikTok three times",
		Datasets: []string{"raw.tiktok.videos"}})
	newer := l.add(t, knowledge.Entry{Kind: knowledge.KindDecision, Title: "Retry TikTok until the reset",
		Datasets: []string{"raw.tiktok.videos"}, Supersedes: []string{"retry-tiktok-three-times"}})
	require.Equal(t, []string{old.ID}, newer.Supersedes, "supersedes is stored by ID")
	pattern := l.add(t, knowledge.Entry{Kind: knowledge.KindPattern, Title: "Short pages are normal",
		Datasets: []string{"raw.tiktok.videos", "raw.tiktok.users"}})
	tagged := l.add(t, knowledge.Entry{Kind: knowledge.KindPattern, Title: "Validate before staging", Tags: []string{"quality"}})
	other := l.add(t, knowledge.Entry{Kind: knowledge.KindFinding, Title: "Spotify columns moved", Agent: "qa",
		Datasets: []string{"raw.spotify.streams"}, Tags: []string{"ingest"}})
	require.NoError(t, l.RecordSession(ctx, "ingest-bot", "sess-9", []string{"raw.tiktok.videos"}, []string{"staging.tiktok"}))

	got, err := l.Gather(ctx, []string{"raw.tiktok.videos", "raw.never.seen"}, "", 0)
	require.NoError(t, err)
	require.Equal(t, []string{pattern.ID, newer.ID}, entryIDs(got),
		"entries informing the dataset, newest first, without the superseded one, the session or other datasets' entries")
	require.Equal(t, []string{"raw.tiktok.videos", "raw.tiktok.users"}, got[0].Datasets, "entries come whole")

	got, err = l.Gather(ctx, []string{"raw.tiktok.videos"}, "Quality", 0)
	require.NoError(t, err)
	require.Equal(t, []string{tagged.ID, pattern.ID, newer.ID}, entryIDs(got), "the task type brings its tagged entries")

	got, err = l.Gather(ctx, nil, "ingest", 0)
	require.NoError(t, err)
	require.Equal(t, []string{other.ID}, entryIDs(got))

	got, err = l.Gather(ctx, []string{"raw.tiktok.videos"}, "quality", 1)
	require.NoError(t, err)
	require.Equal(t, []string{tagged.ID}, entryIDs(got))

	got, err = l.Gather(ctx, []string{"raw.never.seen"}, "", 0)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestRecordSession(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()
	require.NoError(t, l.RecordSession(ctx, "ingest-bot", "sess-1",
		[]string{"raw.tiktok.videos", "raw.tiktok.videos"}, []string{"staging.tiktok.videos"}))
	require.NoError(t, l.RecordSession(ctx, "ingest-bot", "sess-1", []string{"raw.tiktok.videos"}, nil), "recording again is harmless")
	require.ErrorContains(t, l.RecordSession(ctx, "", "s", nil, nil), "required")

	g, err := l.Graph(ctx, "sess-1", 1)
	require.NoError(t, err)
	var lines []string
	for _, e := range g.Edges {
		lines = append(lines, e.From+" "+e.Kind+" "+e.To)
	}
	require.ElementsMatch(t, []string{
		"agent:ingest-bot contributed session:sess-1",
		"session:sess-1 consumed dataset:raw.tiktok.videos",
		"session:sess-1 produced dataset:staging.tiktok.videos",
	}, lines)

	// A session does not overwrite what an entry says about its agent.
	l.add(t, knowledge.Entry{Kind: knowledge.KindAgent, Agent: "ingest-bot", Title: "Ingest bot", Body: "Pulls sources."})
	require.NoError(t, l.RecordSession(ctx, "ingest-bot", "sess-2", nil, nil))
	n, err := l.Meta.FindKnowledgeNode(ctx, metastore.NodeAgent, "ingest-bot")
	require.NoError(t, err)
	require.Equal(t, "Ingest bot", n.Title)
}

func TestGraphRender(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()
	l.add(t, knowledge.Entry{Kind: knowledge.KindDecision, Title: "Use ISRC as the track key",
		Datasets: []string{"raw.spotify.streams"}, Agent: "modeler"})
	require.NoError(t, l.RecordSession(ctx, "ingest-bot", "sess-1", []string{"raw.spotify.streams"}, nil))

	g, err := l.Graph(ctx, "raw.spotify.streams", 2)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, g.Render(&b))
	require.Equal(t, `dataset:raw.spotify.streams
  <- consumed    session:sess-1
      <- contributed agent:ingest-bot
  <- informs     decision:use-isrc-as-the-track-key  "Use ISRC as the track key"
      <- contributed agent:modeler
`, b.String())

	_, err = l.Graph(ctx, "no-such-thing", 1)
	require.ErrorIs(t, err, metastore.ErrNotFound)
}

func TestReindexFollowsFiles(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()
	e := l.add(t, knowledge.Entry{Kind: knowledge.KindDecision, Title: "Dedupe Spotify rows",
		Body: "Use the ISRC and the date.", Datasets: []string{"raw.spotify.streams"}})
	gone := l.add(t, knowledge.Entry{Kind: knowledge.KindPattern, Title: "Temporary note", Body: "ephemeral"})

	// A person edits the entry: new words, another dataset.
	l.writeFile(t, e.Path, strings.Replace(strings.Replace(l.file(t, e.Path),
		"Use the ISRC and the date.", "Deduplicate on ISRC, territory and the reporting month.", 1),
		"datasets: [raw.spotify.streams]", "datasets: [staging.spotify.streams]", 1))
	// ... removes one, writes a new one by hand, and breaks another.
	require.NoError(t, os.Remove(filepath.Join(l.root, filepath.FromSlash(gone.Path))))
	l.writeFile(t, "knowledge/patterns/hand-made.md", "---\ntitle: Hand made\ntags: [Quality]\n---\nWritten in an editor about royalties.\n")
	l.writeFile(t, "knowledge/patterns/broken.md", "no front matter here")
	l.writeFile(t, "knowledge/decisions/README.md", "# Decisions\n")

	require.Empty(t, l.searchKeys(t, "territory"), "not before the reindex")

	res, err := l.Reindex(ctx)
	require.ErrorContains(t, err, "knowledge/patterns/broken.md")
	require.ErrorContains(t, err, "no front matter")
	require.Equal(t, 2, res.Entries)
	require.Equal(t, 1, res.Removed)
	require.Len(t, res.Failed, 1)

	require.Equal(t, []string{e.ID}, l.searchKeys(t, "territory reporting month"))
	require.Empty(t, l.searchKeys(t, "date"), "the old words are gone")
	require.Empty(t, l.searchKeys(t, "ephemeral"), "the removed file's entry is gone")
	require.Equal(t, []string{"pattern:hand-made"}, l.searchKeys(t, "royalties"))

	got, err := l.Gather(ctx, []string{"staging.spotify.streams"}, "", 0)
	require.NoError(t, err)
	require.Equal(t, []string{e.ID}, entryIDs(got), "the edited datasets are linked")
	got, err = l.Gather(ctx, []string{"raw.spotify.streams"}, "", 0)
	require.NoError(t, err)
	require.Empty(t, got, "and the old link is gone")
	got, err = l.Gather(ctx, nil, "quality", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"pattern:hand-made"}, entryIDs(got))
	require.False(t, got[0].Created.IsZero(), "a file without created gets its modification time")

	// Reindexing a fresh metastore from the same files rebuilds the same
	// entries.
	meta, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	require.NoError(t, err)
	defer func() { require.NoError(t, meta.Close()) }()
	fresh := &knowledge.Base{Store: l.Store, Meta: meta}
	res, err = fresh.Reindex(ctx)
	require.Error(t, err, "the broken file is still broken")
	require.Equal(t, 2, res.Entries)
	shown, err := fresh.Show(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e.Created, shown.Created)
	require.Equal(t, "Deduplicate on ISRC, territory and the reporting month.", shown.Body)
}

func TestReindexSupersedesInAnyOrder(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := t.Context()
	// "a-new" sorts before "z-old", which it supersedes.
	l.writeFile(t, "knowledge/decisions/a-new.md", "---\ntitle: New\nsupersedes: ['decision:z-old']\ndatasets: [raw.x]\n---\n")
	l.writeFile(t, "knowledge/decisions/z-old.md", "---\ntitle: Old\ndatasets: [raw.x]\n---\n")
	res, err := l.Reindex(ctx)
	require.NoError(t, err)
	require.Equal(t, knowledge.ReindexResult{Entries: 2}, res)
	got, err := l.Gather(ctx, []string{"raw.x"}, "", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"decision:a-new"}, entryIDs(got))
}

func TestAddReplacesBySlug(t *testing.T) {
	t.Parallel()
	l := newLake(t)
	ctx := context.Background()
	e := l.add(t, knowledge.Entry{Kind: knowledge.KindPattern, Title: "Pages", Datasets: []string{"raw.a"}})
	e2 := l.add(t, knowledge.Entry{Kind: knowledge.KindPattern, Slug: e.Slug, Title: "Pages, revised", Datasets: []string{"raw.b"}})
	require.Equal(t, e.ID, e2.ID)
	got, err := l.Gather(ctx, []string{"raw.a"}, "", 0)
	require.NoError(t, err)
	require.Empty(t, got, "the replaced entry's old link is gone")
	got, err = l.Gather(ctx, []string{"raw.b"}, "", 0)
	require.NoError(t, err)
	require.Equal(t, []string{e.ID}, entryIDs(got))
	require.Equal(t, "Pages, revised", got[0].Title)
}
