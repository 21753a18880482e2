package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
)

func newScrubCmd(g *globals) *cobra.Command {
	var quick bool
	cmd := &cobra.Command{
		Use:   "scrub [DATASET...]",
		Short: "Check that storage holds every file the manifests list, byte for byte",
		Long: `scrub reads every file the manifests list (of every dataset, or of the named ones)
and checks that storage holds it with the size and checksum its manifest recorded: it
finds files deleted or truncated behind bedrot's back, replaced objects and bit rot.
It reads the whole lake (on MinIO it downloads every object), so run it rarely: a
nightly or weekly cron job; a daemon does it every daemon.scrub_interval (24h) and alerts
on damaged files. --quick checks existence and size only, as the daemon does every ten
alert checks.

A checksum is BLAKE3, written blake3:<hex> (b3sum prints the same hex), or, for files
recorded before BLAKE3, a bare SHA-256 (as sha256sum prints it).

Each dataset's line is printed as it is checked, then every damaged file. A damaged
dataset is restored from a backup, or rebuilt from landing with bedrot replay.`,
		Example: "  bedrot scrub\n  bedrot scrub raw.distrokid.earnings landing.distrokid\n  bedrot scrub --quick -o json",
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			return g.scrub(ctx, l, args, !quick)
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "check existence and size only, without reading the files")
	return cmd
}

// scrub checks the datasets and reports; damage exits with exitInvalid.
func (g *globals) scrub(ctx context.Context, l *lake.Lake, datasets []string, deep bool) error {
	if len(datasets) == 0 {
		var err error
		if datasets, err = l.Meta.ListDatasets(ctx); err != nil {
			return err
		}
	}
	checks := []alerts.DatasetCheck{}
	var files, damaged int
	var bytes int64
	for _, ds := range datasets {
		c, err := alerts.CheckDataset(ctx, l.Meta, l.Store, ds, deep)
		if errors.Is(err, metastore.ErrNotFound) {
			return &exitError{code: exitNotFound, err: fmt.Errorf("no dataset %q in this lake: bedrot status lists them", ds)}
		}
		if err != nil {
			return err
		}
		checks = append(checks, c)
		files, bytes, damaged = files+c.Files, bytes+c.Bytes, damaged+len(c.Problems)
		if g.json() {
			continue
		}
		state := "ok"
		if len(c.Problems) > 0 {
			state = fmt.Sprintf("DAMAGED: %d of %d file(s)", len(c.Problems), c.Files)
		}
		fmt.Fprintf(g.stdout, "%-40s %6d file(s) %10s  %s\n", ds, c.Files, humanBytes(c.Bytes), state)
		for _, p := range c.Problems {
			fmt.Fprintf(g.stdout, "  %s: %s\n", p.Key, p.Problem)
		}
	}
	checked := alerts.Checked(deep)
	if g.json() {
		if err := g.printJSON("Scrub", map[string]any{"checked": checked, "datasets": checks, "files": files, "bytes": bytes, "damaged": damaged}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "Checked %s of %d file(s) (%s) in %d dataset(s): %d missing or damaged\n", checked, files, humanBytes(bytes), len(datasets), damaged)
	}
	if damaged > 0 {
		return &exitError{code: exitInvalid, err: fmt.Errorf("%d file(s) missing or damaged: restore them from a backup, or rebuild their datasets with bedrot replay", damaged)}
	}
	return nil
}
