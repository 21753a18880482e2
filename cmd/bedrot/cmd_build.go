package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/marts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/publish"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/sdk"
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

// fileSchema reads a lake Parquet file's schema.
func fileSchema(ctx context.Context, l *lake.Lake, key string) (sdk.Schema, error) {
	obj, err := l.Store.Open(ctx, key)
	if err != nil {
		return sdk.Schema{}, err
	}
	defer obj.Close()
	r, err := parquetfile.NewReader(obj, obj.Size(), parquetfile.ReadOptions{})
	if err != nil {
		return sdk.Schema{}, fmt.Errorf("%s: %w", key, err)
	}
	defer r.Close()
	return r.Schema(), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
	url := g.cfg.Curated.AnalyticsURL
	if url == "" {
		url = g.cfg.Database.URL
	}
	if url == "" {
		return usageError("publish needs PostgreSQL: set curated.analytics_url (BEDROT_CURATED_ANALYTICS_URL) or database.url")
	}
	defs, err := marts.LoadDir(g.cfg.Curated.MartsDir)
	if err != nil {
		return usageError("%v", err)
	}
	eng, err := sqlengine.New(sqlengine.Options{Store: l.Store, Meta: l.Meta})
	if err != nil {
		return err
	}
	datasets, err := eng.Datasets(ctx)
	if err != nil {
		return err
	}
	var tables []publish.Table
	var dates []string
	hasColumn := map[string]map[string]bool{}
	// Dimensions (marts named dim_*) first: the facts reference them.
	slices.SortStableFunc(defs, func(a, b marts.Mart) int {
		return cmp.Compare(boolInt(!strings.HasPrefix(a.Name, "dim_")), boolInt(!strings.HasPrefix(b.Name, "dim_")))
	})
	for _, m := range defs {
		name := "fact_" + m.Name
		view := "v_" + m.Name
		if strings.HasPrefix(m.Name, "dim_") {
			name, view = m.Name, "v_"+strings.TrimPrefix(m.Name, "dim_")
		}
		var files []metastore.File
		for _, d := range datasets {
			if d.Name == m.Current() {
				files = d.Files
			}
		}
		if files == nil {
			return fmt.Errorf("mart %s has not been built: run `bedrot build` first", m.Name)
		}
		t := publish.Table{Name: name, Dataset: m.Current(), Files: files, PrimaryKey: m.PrimaryKey, View: view}
		schema, err := fileSchema(ctx, l, files[0].Key)
		if err != nil {
			return err
		}
		hasColumn[name] = map[string]bool{}
		for _, f := range schema.Fields {
			hasColumn[name][f.Name] = true
		}
		if !strings.HasPrefix(name, "dim_") {
			// Its date column (sale_month or date) spans dim_date and
			// references it; its isrc references dim_track.
			for _, f := range schema.Fields {
				if f.Type == sdk.TypeDate && (f.Name == "sale_month" || f.Name == "date") {
					dates = append(dates, name+"."+f.Name)
					t.ForeignKeys = append(t.ForeignKeys, publish.ForeignKey{Columns: []string{f.Name}, RefTable: "dim_date", RefColumns: []string{"date"}})
					break
				}
			}
			if hasColumn[name]["isrc"] && hasColumn["dim_track"] != nil {
				t.ForeignKeys = append(t.ForeignKeys, publish.ForeignKey{Columns: []string{"isrc"}, RefTable: "dim_track", RefColumns: []string{"isrc"}})
			}
		}
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return usageError("no marts in %s", g.cfg.Curated.MartsDir)
	}
	res, err := publish.Publish(ctx, l.Store, l.Meta, tables, publish.Options{URL: url, Schema: g.cfg.Curated.AnalyticsSchema,
		DateDimension: dates})
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
