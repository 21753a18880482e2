package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
)

// newKnowledgeCmd is `bedrot knowledge`: the knowledge base and graph.
func newKnowledgeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "knowledge",
		Short: "Search, read and add to the lake's knowledge base, and walk its graph",
		Long: `knowledge is what people and agents learned about the lake, kept as Markdown with YAML
front matter in the lake, and the graph linking it to agents, their sessions and the
datasets they read and wrote:

  knowledge/decisions/<slug>.md                 decisions
  knowledge/patterns/<slug>.md                  patterns
  knowledge/agents/<agent>.md                   an agent's own entry
  knowledge/agents/<agent>/findings/<slug>.md   findings, under the agent that found them

An entry looks like this (every field but title is optional):

  ---
  title: Back off on TikTok 429 until the window resets
  tags: [ingest, tiktok]
  datasets: [raw.tiktok.videos]
  supersedes: [decision:retry-tiktok-three-times]
  ---
  Why, and what to do.

The files are the source of truth: edit them with any editor, then run
'bedrot knowledge reindex'. Before an agent's task starts, the entries that inform its
datasets or carry its task type as a tag go into its context.`,
		Example: `  bedrot knowledge search "rate limit" -n 5
  bedrot knowledge add --kind decision --title "Use ISRC as the track key" --dataset raw.spotify.streams --file why.md
  bedrot knowledge show use-isrc-as-the-track-key
  bedrot knowledge graph raw.tiktok.videos --depth 2
  bedrot knowledge reindex`,
	}
	cmd.AddCommand(newKnowledgeSearchCmd(g), newKnowledgeShowCmd(g), newKnowledgeAddCmd(g),
		newKnowledgeGraphCmd(g), newKnowledgeReindexCmd(g))
	return cmd
}

// knowledgeBase is the lake's knowledge base.
func knowledgeBase(l *lake.Lake) *knowledge.Base {
	return &knowledge.Base{Store: l.Store, Meta: l.Meta}
}

func newKnowledgeSearchCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Full-text search of entries, datasets, agents and sessions",
		Long: `search finds knowledge whose title, tags or text match QUERY, best first. Words are
stemmed (limits finds limiting) and all must match; "quoted words" match as a phrase,
OR matches either side, and -word leaves out what contains the word.`,
		Example: `  bedrot knowledge search tiktok rate limit
  bedrot knowledge search '"track key" OR isrc' -n 5
  bedrot knowledge search 'spotify -export' -o json`,
		Args: minArgs(1, "a QUERY"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			query := strings.Join(args, " ")
			hits, err := knowledgeBase(l).Search(ctx, query, limit)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("KnowledgeSearch", map[string]any{"query": query, "items": hits})
			}
			if len(hits) == 0 {
				fmt.Fprintf(g.stdout, "Nothing matches %q. Try fewer or other words; 'bedrot knowledge add' records new knowledge.\n", query)
				return nil
			}
			tw := g.table()
			fmt.Fprintln(tw, "ID\tTITLE\tTAGS\tMATCH")
			for _, h := range hits {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Node.ID, oneLine(h.Node.Title, 50), strings.Join(h.Node.Tags, ","), oneLine(h.Snippet, 70))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "\nRead one with 'bedrot knowledge show ID', its links with 'bedrot knowledge graph ID'.")
			return nil
		}),
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many results")
	return cmd
}

func newKnowledgeShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID|SLUG",
		Short: "Print a knowledge entry",
		Long: `show prints an entry as its file holds it (hand edits show at once). Name it by ID
(decision:use-isrc-as-the-track-key) or by slug when only one entry has that slug.`,
		Example: `  bedrot knowledge show use-isrc-as-the-track-key
  bedrot knowledge show finding:spotify-csv-columns-moved -o json`,
		Args: exactArgs(1, "an entry ID or SLUG"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			e, err := knowledgeBase(l).Show(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("KnowledgeEntry", map[string]any{"entry": entryJSON(e)})
			}
			data, err := knowledge.Render(e)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "# %s (%s)\n", e.ID, e.Path)
			_, err = g.stdout.Write(data)
			return err
		}),
	}
}

// entryJSON is an entry's JSON form.
func entryJSON(e knowledge.Entry) map[string]any {
	return map[string]any{"id": e.ID, "kind": e.Kind, "slug": e.Slug, "title": e.Title, "tags": e.Tags,
		"datasets": e.Datasets, "agent": e.Agent, "session": e.Session, "supersedes": e.Supersedes,
		"created": e.Created.UTC().Format(time.RFC3339), "path": e.Path, "body": e.Body}
}

func newKnowledgeAddCmd(g *globals) *cobra.Command {
	var (
		e    knowledge.Entry
		file string
	)
	cmd := &cobra.Command{
		Use:   "add --kind decision|pattern|finding --title TITLE [flags]",
		Short: "Record a decision, pattern or finding",
		Long: `add writes a new entry to knowledge/ in the lake and links it in the graph: to the
datasets it informs (--dataset, by name as in 'bedrot ls'), the agent that contributed it
and the entries it supersedes. The body (Markdown) comes from --file, or from stdin.
A finding belongs to an agent (--agent). With --slug naming an existing entry, add
replaces it.`,
		Example: `  bedrot knowledge add --kind decision --title "Use ISRC as the track key" \
      --dataset raw.spotify.streams --dataset raw.distrokid.earnings --tag modeling --file why.md
  echo "TikTok returns short pages near the rate limit; keep the cursor." | \
      bedrot knowledge add --kind pattern --title "Short pages are normal" --tag ingest
  bedrot knowledge add --kind finding --agent qa-bot --title "Spotify CSV columns moved" --file finding.md`,
		Args: cobra.NoArgs,
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			if e.Kind != knowledge.KindDecision && e.Kind != knowledge.KindPattern && e.Kind != knowledge.KindFinding {
				return usageError("--kind %q: use decision, pattern or finding", e.Kind)
			}
			if strings.TrimSpace(e.Title) == "" {
				return usageError("--title is required: a one-line summary of the entry")
			}
			if e.Kind == knowledge.KindFinding && e.Agent == "" {
				return usageError("a finding belongs to the agent that found it: pass --agent ID")
			}
			body, err := readBody(file)
			if err != nil {
				return err
			}
			e.Body = body
			added, err := knowledgeBase(l).Add(ctx, e)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("KnowledgeEntry", map[string]any{"entry": entryJSON(added)})
			}
			fmt.Fprintf(g.stdout, "Added %s at %s\n", added.ID, added.Path)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&e.Kind, "kind", "", "decision, pattern or finding (required)")
	f.StringVar(&e.Title, "title", "", "one-line summary (required)")
	f.StringVar(&e.Slug, "slug", "", "file name without .md (default: made from the title)")
	f.StringArrayVar(&e.Tags, "tag", nil, "a tag, e.g. a task type such as ingest or quality (repeatable)")
	f.StringArrayVar(&e.Datasets, "dataset", nil, "a dataset the entry informs, e.g. raw.tiktok.videos (repeatable)")
	f.StringVar(&e.Agent, "agent", "", "the agent that contributed it (required for a finding)")
	f.StringVar(&e.Session, "session", "", "the agent session that produced it")
	f.StringArrayVar(&e.Supersedes, "supersedes", nil, "ID or slug of an entry this one replaces (repeatable)")
	f.StringVar(&file, "file", "", "Markdown file holding the body (default: read stdin)")
	return cmd
}

// readBody reads an entry's body from file, or from stdin when file is
// empty (nothing when stdin is a terminal).
func readBody(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageError("--file: %v", err)
		}
		return string(b), nil
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return "", nil
	}
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		return "", fmt.Errorf("failed to read the body from stdin: %w", err)
	}
	return string(b), nil
}

func newKnowledgeGraphCmd(g *globals) *cobra.Command {
	var depth int
	cmd := &cobra.Command{
		Use:   "graph ID|DATASET",
		Short: "Show what is linked to an entry, dataset, agent or session",
		Long: `graph prints the knowledge graph around a node as a tree: "->" is an edge leaving the
node above, "<-" one entering it. Edges: an entry informs datasets; an agent contributed
entries and sessions; a session consumed and produced datasets and produced entries; a
newer entry supersedes an older one.`,
		Example: `  bedrot knowledge graph raw.tiktok.videos
  bedrot knowledge graph decision:use-isrc-as-the-track-key --depth 3 -o json`,
		Args: exactArgs(1, "an entry ID or SLUG, a DATASET, an agent or a session"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			if depth < 1 || depth > metastore.MaxKnowledgeDepth {
				return usageError("--depth %d: use 1 to %d", depth, metastore.MaxKnowledgeDepth)
			}
			gr, err := knowledgeBase(l).Graph(ctx, args[0], depth)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("KnowledgeGraph", map[string]any{"root": gr.Root, "nodes": gr.Nodes, "edges": gr.Edges})
			}
			return gr.Render(g.stdout)
		}),
	}
	cmd.Flags().IntVar(&depth, "depth", knowledge.DefaultGraphDepth, "how many steps to follow")
	return cmd
}

func newKnowledgeReindexCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the knowledge graph's entries from the Markdown files",
		Long: `reindex reads every entry under knowledge/ in the lake and brings the graph and the
search index in line with them: after you edit, add or delete entry files by hand. Files
that cannot be read are listed with the reason and left out; fix them and run it again.`,
		Example: `  bedrot knowledge reindex`,
		Args:    cobra.NoArgs,
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			res, err := knowledgeBase(l).Reindex(ctx)
			if g.json() {
				if jerr := g.printJSON("KnowledgeReindex", map[string]any{"entries": res.Entries, "removed": res.Removed, "failed": res.Failed}); jerr != nil {
					return jerr
				}
			} else {
				fmt.Fprintf(g.stdout, "Indexed %d entries; removed %d whose file is gone.\n", res.Entries, res.Removed)
				for _, f := range res.Failed {
					fmt.Fprintf(g.stdout, "  FAILED %s\n", f)
				}
			}
			return err
		}),
	}
}
