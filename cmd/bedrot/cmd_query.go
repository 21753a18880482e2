package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/sqlengine"
)

func newQueryCmd(g *globals) *cobra.Command {
	var (
		format  string
		opts    sqlengine.Options
		explain bool
	)
	cmd := &cobra.Command{
		Use:   `query "SQL"`,
		Short: "Run read-only SQL over the lake's datasets (embedded DuckDB)",
		Long: `query runs one read-only SQL statement (SELECT, WITH, DESCRIBE, SUMMARIZE, …) over the
lake with an embedded DuckDB. Every dataset is a table, named either with quotes,
"raw.distrokid.earnings", or as zone.name with the rest of the name joined by "_":
raw.distrokid_earnings, curated.track_performance. A table reads exactly the files its
dataset's manifest lists. 'SELECT * FROM bedrot_datasets' lists them all.

On MinIO/S3 the files a query needs are copied into a local cache keyed by their
checksum (files never change), so repeated queries download nothing.`,
		Example: `  bedrot query 'SELECT store, sum(earnings_usd) FROM raw.distrokid_earnings GROUP BY ALL ORDER BY 2 DESC'
  bedrot query 'SELECT * FROM bedrot_datasets'
  bedrot query --format csv 'SELECT * FROM "raw.tiktok.videos"' > videos.csv`,
		Args: exactArgs(1, `one SQL statement (quote it)`),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			if g.json() && format == "table" {
				format = "json"
			}
			f, err := sqlengine.ParseFormat(format)
			if err != nil {
				return usageError("--format: %v", err)
			}
			opts.Store, opts.Meta = l.Store, l.Meta
			eng, err := sqlengine.New(opts)
			if err != nil {
				return err
			}
			st, err := eng.Query(ctx, args[0], func(rows *sqlengine.Rows) error {
				_, err := sqlengine.Write(g.stdout, f, rows)
				return err
			})
			if err != nil {
				if errors.Is(err, sqlengine.ErrReadOnly) || errors.Is(err, sqlengine.ErrMultipleStatements) || errors.Is(err, sqlengine.ErrEmptyQuery) {
					return usageError("%v", err)
				}
				return err
			}
			if explain {
				fmt.Fprintf(g.stderr, "datasets: %s\n", strings.Join(st.Datasets, ", "))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&format, "format", "table", "output: "+strings.Join(formatNames(), ", "))
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", "", "local cache of object-store files (default ~/.cache/bedrot/query)")
	cmd.Flags().Int64Var(&opts.CacheMaxBytes, "cache-max-bytes", 0, "bound on the cache (default 10 GiB)")
	cmd.Flags().StringVar(&opts.MemoryLimit, "memory-limit", "", `DuckDB's memory limit, e.g. "2GB" (default 80% of RAM)`)
	cmd.Flags().BoolVar(&explain, "show-datasets", false, "print the datasets the query read on stderr")
	return cmd
}

func formatNames() []string {
	var out []string
	for _, f := range sqlengine.Formats {
		out = append(out, string(f))
	}
	return out
}
