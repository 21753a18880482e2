package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/zone"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the bedrot version and plugin protocol version",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.output == "json" {
				return g.printJSON("Version", map[string]any{"version": version, "protocol_versions": []int{1}})
			}
			fmt.Fprintf(g.stdout, "bedrot %s (plugin protocol v1)\n", version)
			return nil
		},
	}
}

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the lake layout (landing, raw, staging, curated, archive, sandbox, knowledge, .agent)",
		Long: `init creates the lake's zones exactly as the design lays them out:

  .agent/{context,cache,logs}/   agent session context
  landing/<source>/YYYY-MM-DD-HHMM/   original payloads + _metadata.json
  raw/source=<src>/date=YYYY-MM-DD/   immutable Parquet (Hive partitions)
  staging/  curated/  curated/models/  archive/  sandbox/
  knowledge/{decisions,patterns,agents}/

and the metastore (SQLite in <lake>/.bedrot/ unless database.url is set).
Running it again is harmless.`,
		Args: exactArgs(0, "no arguments"),
		RunE: g.withLake(true, func(ctx context.Context, l *lake.Lake, args []string) error {
			if err := zone.Init(ctx, l.Store); err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("Lake", map[string]any{"location": l.Store.Location(), "metastore": l.Meta.Dialect(), "folders": zone.Folders})
			}
			fmt.Fprintf(g.stdout, "Initialised lake at %s (metastore: %s)\n", l.Store.Location(), l.Meta.Dialect())
			for _, f := range zone.Folders {
				fmt.Fprintf(g.stdout, "  %s/\n", f)
			}
			return nil
		}),
	}
}

func newLsCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "ls [ZONE-PATH]",
		Short: "List the lake's files under a path (e.g. raw/, landing/distrokid/)",
		Long: `ls lists the objects under a zone path with their size and time. Only files
that a manifest lists are part of the lake; with --all, files no manifest lists
(debris of a killed run, awaiting the sweeper) are shown too, marked "unlisted".`,
		Example: "  bedrot ls raw/\n  bedrot ls landing/distrokid/ -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			prefix := ""
			if len(args) == 1 {
				prefix = strings.TrimPrefix(args[0], "/")
			}
			l, err := g.open(ctx, false)
			if err != nil {
				return err
			}
			defer l.Close()
			type entry struct {
				Key     string    `json:"key"`
				Size    int64     `json:"size"`
				ModTime time.Time `json:"modified"`
				Listed  bool      `json:"listed"`
				// Managed files belong to datasets and must be in a
				// manifest; agents' context and logs, knowledge entries and
				// sandbox objects are not.
				Managed bool `json:"managed"`
			}
			var out []entry
			err = l.Store.List(ctx, prefix, func(oi storage.ObjectInfo) error {
				// Data docs are reports, not data: bedrot quality results shows them.
				if strings.HasSuffix(oi.Key, "/.keep") || strings.HasPrefix(oi.Key, ".bedrot/") || strings.Contains(oi.Key, "/_datadocs/") {
					return nil
				}
				listed, err := l.Meta.FileListed(ctx, oi.Key)
				if err != nil {
					return err
				}
				managed := managedKey(oi.Key)
				if listed || all || !managed {
					out = append(out, entry{Key: oi.Key, Size: oi.Size, ModTime: oi.ModTime, Listed: listed, Managed: managed})
				}
				return nil
			})
			if err != nil {
				return err
			}
			if g.json() {
				if out == nil {
					out = []entry{}
				}
				return g.printJSON("ObjectList", map[string]any{"prefix": prefix, "items": out})
			}
			tw := g.table()
			fmt.Fprintln(tw, "SIZE\tMODIFIED\tKEY")
			for _, e := range out {
				mark := ""
				if !e.Listed && e.Managed {
					mark = "  (unlisted)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s%s\n", humanBytes(e.Size), e.ModTime.UTC().Format("2006-01-02 15:04"), e.Key, mark)
			}
			tw.Flush()
			if len(out) == 0 {
				fmt.Fprintf(g.stderr, "no files under %q\n", prefix)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also show files no manifest lists")
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the lake: where it lives, plugins, datasets, recent runs",
		Args:  exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			plugins, err := l.Meta.ListPlugins(ctx)
			if err != nil {
				return err
			}
			datasets, err := datasetSummaries(ctx, l.Meta)
			if err != nil {
				return err
			}
			runs, err := l.Meta.ListRuns(ctx, metastore.RunFilter{Limit: 5})
			if err != nil {
				return err
			}
			pending, err := l.Meta.ListPending(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("Status", map[string]any{"location": l.Store.Location(), "metastore": l.Meta.Dialect(),
					"plugins": pluginItems(plugins), "datasets": datasets, "recent_runs": runItems(runs), "pending_files": len(pending)})
			}
			fmt.Fprintf(g.stdout, "Lake:       %s\nMetastore:  %s\nPlugins:    %d installed\n", l.Store.Location(), l.Meta.Dialect(), len(plugins))
			if len(pending) > 0 {
				fmt.Fprintf(g.stdout, "In flight:  %d file(s) pending (running runs, or debris the next run sweeps)\n", len(pending))
			}
			fmt.Fprintln(g.stdout, "\nDatasets:")
			tw := g.table()
			fmt.Fprintln(tw, "  DATASET\tFILES\tROWS\tSIZE")
			for _, d := range datasets {
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", d.Name, d.Files, d.Rows, humanBytes(d.Bytes))
			}
			tw.Flush()
			fmt.Fprintln(g.stdout, "\nRecent runs:")
			printRuns(g, runs)
			return nil
		}),
	}
}

type datasetSummary struct {
	Name  string `json:"name"`
	Files int    `json:"files"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

func datasetSummaries(ctx context.Context, meta metastore.Store) ([]datasetSummary, error) {
	names, err := meta.ListDatasets(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := []datasetSummary{}
	for _, n := range names {
		files, err := meta.ListFiles(ctx, n)
		if err != nil {
			return nil, err
		}
		d := datasetSummary{Name: n, Files: len(files)}
		for _, f := range files {
			d.Rows += f.Rows
			d.Bytes += f.Size
		}
		out = append(out, d)
	}
	return out, nil
}

func newSweepCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sweep",
		Short: "Delete debris: files of dead runs that no manifest lists",
		Long: `sweep deletes files that a run announced but never committed because its
process died (kill -9, power loss), once it can prove that process is gone.
Every run sweeps before it starts; this command does it on demand.`,
		Args: exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			n, err := l.Pipeline.Sweep(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("Sweep", map[string]any{"deleted": n})
			}
			fmt.Fprintf(g.stdout, "Deleted %d debris file(s)\n", n)
			return nil
		}),
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// managedKey reports whether a key belongs to a dataset zone, whose files
// are part of the lake only when a manifest lists them.
func managedKey(key string) bool {
	for _, z := range []string{".agent/", "knowledge/", "sandbox/"} {
		if strings.HasPrefix(key, z) {
			return false
		}
	}
	return true
}
