package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
)

func newBuildCmd(g *globals) *cobra.Command {
	var stagingOnly bool
	var domains []string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Bring staging and the curated marts up to date with raw",
		Long: `build rebuilds the staging datasets (staging/domain=<domain>/year=YYYY/) from raw, then
the marts of <curated.marts_dir> (config/marts/*.sql) into curated/mart=<mart>/version=vX.Y/.
Only what changed is rebuilt: on unchanged inputs build writes nothing. A mart whose
declared version changed is published beside the old one, which stays readable
(curated.<mart> reads the newest; curated.<mart>_v1_0 an older one).`,
		Example: "  bedrot build\n  bedrot build --staging-only --domain royalties",
		Args:    exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			return g.build(ctx, l, domains, stagingOnly)
		}),
	}
	cmd.Flags().BoolVar(&stagingOnly, "staging-only", false, "build staging, not the marts")
	cmd.Flags().StringSliceVar(&domains, "domain", nil, "staging domains to build (default all)")
	return cmd
}

func newPublishCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Load the newest version of every mart into PostgreSQL for BI tools",
		Long: `publish copies the newest version of every mart of <curated.marts_dir> into the
<curated.analytics_schema> schema (analytics) of <curated.analytics_url> (default: the
metastore's database.url) as fact_<mart> tables with their keys, a dim_date date dimension
and stable v_<mart> views, swapped in atomically: BI readers never see a half-loaded table.
The role bedrot_bi may read the views; give your BI login it: GRANT bedrot_bi TO metabase;`,
		Example: "  bedrot publish\n  BEDROT_CURATED_ANALYTICS_URL=postgres://bi@db/analytics bedrot publish",
		Args:    exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			return g.publish(ctx, l)
		}),
	}
	return cmd
}

// build brings staging and the marts up to date and reports.
func (g *globals) build(ctx context.Context, l *lake.Lake, domains []string, stagingOnly bool) error {
	st, built, err := l.Build(ctx, domains, stagingOnly)
	if errors.Is(err, lake.ErrMarts) {
		return usageError("%v", err)
	}
	if err != nil {
		return err
	}
	var out []map[string]any
	for _, p := range st.Partitions {
		out = append(out, map[string]any{"dataset": p.Dataset, "partition": p.Partition, "action": string(p.Action), "rows": p.Rows})
	}
	if g.json() {
		ms := []map[string]any{}
		for _, b := range built {
			ms = append(ms, map[string]any{"mart": b.Mart, "version": b.Version, "dataset": b.Dataset, "built": b.Built, "rows": b.Rows, "key": b.Key})
		}
		return g.printJSON("Build", map[string]any{"staging": out, "marts": ms})
	}
	fmt.Fprintf(g.stdout, "Staging: %d partition(s) rebuilt, %d up to date\n", st.Rebuilt, st.Skipped)
	if st.Held > 0 {
		fmt.Fprintf(g.stdout, "  %d partition(s) HELD: they broke their expectation suite and are in quarantine (bedrot quality results)\n", st.Held)
	}
	for _, p := range st.Partitions {
		fmt.Fprintf(g.stdout, "  %-10s %s %s (%d rows)\n", p.Action, p.Dataset, p.Partition, p.Rows)
	}
	if !stagingOnly {
		fmt.Fprintf(g.stdout, "Marts:\n")
		for _, b := range built {
			what := "up to date"
			if b.Built {
				what = "built " + b.Key
			}
			fmt.Fprintf(g.stdout, "  %s v%s: %d rows, %s\n", b.Mart, b.Version, b.Rows, what)
		}
	}
	return nil
}

// publish loads the newest marts into PostgreSQL and reports.
func (g *globals) publish(ctx context.Context, l *lake.Lake) error {
	res, err := l.Publish(ctx)
	if errors.Is(err, lake.ErrNoAnalytics) || errors.Is(err, lake.ErrMarts) {
		return usageError("%v", err)
	}
	if err != nil {
		return err
	}
	for _, r := range res {
		fmt.Fprintf(g.stdout, "published %s.%s (%d rows from %d file(s)) as %s.%s\n", g.cfg.Curated.AnalyticsSchema, r.Name, r.Rows, r.Files,
			g.cfg.Curated.AnalyticsSchema, r.View)
		for _, s := range r.Skipped {
			fmt.Fprintf(g.stdout, "  foreign key left out: %s\n", s)
		}
	}
	return nil
}
