package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
)

func newContractsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contracts",
		Short: "Show the datasets' data contracts and their history",
		Long: `Every dataset has a versioned data contract: its columns (type, nullability), primary
key, expectation suite and schema evolution policy (evolve, freeze, discard_row,
discard_value). Edit one as <quality.contracts_dir>/<dataset>.yaml (config/contracts by
default); the next run takes the edit in as a new version. A dataset without a file gets a
contract from its source's schema when first seen, and evolve adds a version for every new
column. 'contracts show DATASET -o yaml' prints a file to start from.`,
	}
	cmd.AddCommand(newContractsLsCmd(g), newContractsShowCmd(g), newContractsDiffCmd(g))
	return cmd
}

func newContractsLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the datasets' current contracts",
		Args:  exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
			vs, err := l.Meta.LatestContracts(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				items := []map[string]any{}
				for _, v := range vs {
					c, _ := decodeContract(v)
					items = append(items, map[string]any{"dataset": v.Dataset, "version": v.Version, "origin": v.Origin, "policy": c.Policy,
						"columns": len(c.Columns), "updated_at": v.CreatedAt.UTC().Format(time.RFC3339), "reason": v.Reason})
				}
				return g.printJSON("ContractList", map[string]any{"items": items})
			}
			tw := g.table()
			fmt.Fprintln(tw, "DATASET\tVERSION\tPOLICY\tCOLUMNS\tORIGIN\tUPDATED\tWHY")
			for _, v := range vs {
				c, _ := decodeContract(v)
				fmt.Fprintf(tw, "%s\tv%d\t%s\t%d\t%s\t%s\t%s\n", v.Dataset, v.Version, c.Policy, len(c.Columns), v.Origin,
					v.CreatedAt.UTC().Format("2006-01-02 15:04"), v.Reason)
			}
			return tw.Flush()
		}),
	}
}

func decodeContract(v metastore.ContractVersion) (contract.Contract, error) {
	var c contract.Contract
	err := json.Unmarshal(v.Spec, &c)
	return c, err
}

// contractVersion finds version n (0: the newest) of a dataset's contract.
func contractVersion(ctx context.Context, l *lake.Lake, dataset string, n int) (metastore.ContractVersion, []metastore.ContractVersion, error) {
	vs, err := l.Meta.ContractVersions(ctx, dataset)
	if err != nil {
		return metastore.ContractVersion{}, nil, err
	}
	if len(vs) == 0 {
		return metastore.ContractVersion{}, nil, fmt.Errorf("dataset %s has no contract yet (it gets one on its first run, or write %s.yaml): %w",
			dataset, dataset, metastore.ErrNotFound)
	}
	if n == 0 {
		return vs[len(vs)-1], vs, nil
	}
	for _, v := range vs {
		if v.Version == n {
			return v, vs, nil
		}
	}
	return metastore.ContractVersion{}, nil, fmt.Errorf("contract %s has no version %d (it has 1 to %d): %w", dataset, n, len(vs), metastore.ErrNotFound)
}

func newContractsShowCmd(g *globals) *cobra.Command {
	var version int
	cmd := &cobra.Command{
		Use:     "show DATASET",
		Short:   "Show a dataset's contract (the newest version, or --version N) and its history",
		Example: "  bedrot contracts show raw.tiktok.videos\n  bedrot contracts show raw.tiktok.videos -o yaml > config/contracts/raw.tiktok.videos.yaml",
		Args:    exactArgs(1, "a DATASET"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			v, all, err := contractVersion(ctx, l, args[0], version)
			if err != nil {
				return err
			}
			c, err := decodeContract(v)
			if err != nil {
				return err
			}
			switch g.output {
			case "yaml":
				b, err := contract.Marshal(c)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(b)
				return err
			case "json":
				return g.printJSON("Contract", map[string]any{"version": v.Version, "origin": v.Origin, "reason": v.Reason,
					"created_at": v.CreatedAt.UTC().Format(time.RFC3339), "contract": c})
			}
			fmt.Fprintf(g.stdout, "%s v%d (%s, %s): policy %s, primary key %v\n", c.Dataset, v.Version, v.Origin,
				v.CreatedAt.UTC().Format("2006-01-02 15:04"), c.Policy, c.PrimaryKey)
			tw := g.table()
			fmt.Fprintln(tw, "  COLUMN\tTYPE\tNULLABLE")
			for _, col := range c.Columns {
				fmt.Fprintf(tw, "  %s\t%s\t%v\n", col.Name, col.Type, col.Nullable)
			}
			tw.Flush()
			fmt.Fprintln(g.stdout, "\nHistory:")
			for _, h := range all {
				fmt.Fprintf(g.stdout, "  v%-3d %s  %-10s %s\n", h.Version, h.CreatedAt.UTC().Format("2006-01-02 15:04"), h.Origin, h.Reason)
			}
			return nil
		}),
	}
	cmd.Flags().IntVar(&version, "version", 0, "the version to show (default: the newest)")
	return cmd
}

func newContractsDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "diff DATASET [FROM [TO]]",
		Short:   "Show how a contract changed between two versions (default: the last two)",
		Example: "  bedrot contracts diff raw.tiktok.videos\n  bedrot contracts diff raw.tiktok.videos 1 3",
		Args:    cobra.RangeArgs(1, 3),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			nums := []int{0, 0}
			for i, a := range args[1:] {
				n, err := strconv.Atoi(a)
				if err != nil || n < 1 {
					return usageError("version %q is not a number from 1", a)
				}
				nums[i] = n
			}
			to, _, err := contractVersion(ctx, l, args[0], nums[1])
			if err != nil {
				return err
			}
			from := nums[0]
			if from == 0 {
				from = max(to.Version-1, 1)
			}
			fv, _, err := contractVersion(ctx, l, args[0], from)
			if err != nil {
				return err
			}
			a, err := decodeContract(fv)
			if err != nil {
				return err
			}
			b, err := decodeContract(to)
			if err != nil {
				return err
			}
			lines := contract.DiffLines(a, b)
			if g.json() {
				return g.printJSON("ContractDiff", map[string]any{"dataset": args[0], "from": fv.Version, "to": to.Version, "changes": lines, "reason": to.Reason})
			}
			fmt.Fprintf(g.stdout, "%s v%d -> v%d (%s)\n", args[0], fv.Version, to.Version, to.Reason)
			if len(lines) == 0 {
				fmt.Fprintln(g.stdout, "  no change")
			}
			for _, line := range lines {
				fmt.Fprintln(g.stdout, "  "+line)
			}
			return nil
		}),
	}
}
