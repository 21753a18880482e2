package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/lineage"
)

func newLineageCmd(g *globals) *cobra.Command {
	var depth int
	var downstream, both bool
	cmd := &cobra.Command{
		Use:   "lineage DATASET",
		Short: "Show where a dataset comes from (upstream) or what is made from it (downstream)",
		Long: `lineage reads the OpenLineage events every run leaves in the lake
(.bedrot/lineage/; also sent to lineage.url, e.g. Marquez, when set) and
prints the dataset's upstream tree: the jobs that wrote it and what they read,
back to the sources. --downstream prints what reads it instead.

DATASET is a BEDROT name (raw.spotify.tracks, landing.tiktok,
curated.royalties_monthly), a job (ingest.spotify) or a lake path.`,
		Example: `  bedrot lineage raw.tiktok.videos
  bedrot lineage landing.distrokid --downstream
  bedrot lineage raw.spotify.tracks --depth 1`,
		Args: exactArgs(1, "one dataset"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			graph, err := lineage.Graph(ctx, l.Store)
			if err != nil {
				return err
			}
			dirs := []lineage.Direction{lineage.Upstream}
			switch {
			case both:
				dirs = append(dirs, lineage.Downstream)
			case downstream:
				dirs = []lineage.Direction{lineage.Downstream}
			}
			out := map[string]any{}
			for _, dir := range dirs {
				var tree *lineage.Tree
				var err error
				name := "upstream"
				if dir == lineage.Upstream {
					tree, err = graph.Upstream(args[0], depth)
				} else {
					name = "downstream"
					tree, err = graph.Downstream(args[0], depth)
				}
				if err != nil {
					return &exitError{code: exitNotFound, err: err}
				}
				if g.json() {
					out[name] = tree
					continue
				}
				fmt.Fprintf(g.stdout, "%s of %s:\n", name, args[0])
				if err := lineage.Render(g.stdout, tree, dir); err != nil {
					return err
				}
			}
			if len(graph.Skipped) > 0 {
				fmt.Fprintf(g.stderr, "warning: %d lineage event file(s) could not be read, e.g. %s\n", len(graph.Skipped), graph.Skipped[0])
			}
			if g.json() {
				out["dataset"] = args[0]
				return g.printJSON("Lineage", out)
			}
			return nil
		}),
	}
	cmd.Flags().IntVar(&depth, "depth", 0, "how many jobs deep (0: all the way)")
	cmd.Flags().BoolVar(&downstream, "downstream", false, "show what is made from the dataset instead")
	cmd.Flags().BoolVar(&both, "both", false, "show upstream and downstream")
	return cmd
}
