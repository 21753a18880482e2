package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/zone"
)

func newQualityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quality",
		Short: "Validate datasets and files against Great Expectations suites",
		Long: `quality validates data against expectation suites through the validator plugin
(bedrot-validator-quality-ge). Suites are Great Expectations JSON (0.x or 1.x) or the
shorthand [{"expect_column_values_to_not_be_null": {"column": "isrc"}}, …]; each dataset's
suite is <quality.suites_dir>/<dataset>.json (config/suites by default).`,
	}
	cmd.AddCommand(newQualityRunCmd(g), newQualityResultsCmd(g))
	return cmd
}

func newQualityRunCmd(g *globals) *cobra.Command {
	var opts quality.Options
	cmd := &cobra.Command{
		Use:   "run DATASET | --suite FILE PATH",
		Short: "Validate a dataset of the lake, or a Parquet or CSV file before ingesting it",
		Long: `run validates DATASET (e.g. raw.distrokid.earnings: every file its manifest lists) against
its suite, or --suite FILE, and records the result (see 'bedrot quality results').
With a PATH to a .parquet or .csv file instead, it validates that file against --suite
and records nothing. -o json prints the GX 1.x validation result on stdout.
Exit code 5 means the data does not meet the suite.`,
		Example: `  bedrot quality run raw.tiktok.videos
  bedrot quality run raw.distrokid.earnings --suite my-suite.json --result-format COMPLETE -o json
  bedrot quality run --suite config/suites/raw.spotify.s4a_songs.json ~/Downloads/songs.csv`,
		Args: exactArgs(1, "a DATASET or a file PATH"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			var (
				out quality.Outcome
				err error
			)
			if isFilePath(args[0]) {
				out, err = l.Quality.ValidateFile(ctx, args[0], opts)
			} else {
				out, err = l.Quality.ValidateDataset(ctx, args[0], opts)
			}
			if err != nil {
				return err
			}
			if g.json() {
				_, err := g.stdout.Write(append(indentJSON(out.Result), '\n'))
				if err != nil {
					return err
				}
			} else {
				docs := ""
				if out.Docs != "" {
					docs = docsLocation(l, out.Docs)
				}
				printValidation(g, out, docs)
			}
			if !out.Success {
				return &exitError{code: exitInvalid}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&opts.Suite, "suite", "", "suite file (default <quality.suites_dir>/<DATASET>.json)")
	cmd.Flags().StringVar(&opts.ResultFormat, "result-format", "SUMMARY", "BOOLEAN_ONLY, BASIC, SUMMARY or COMPLETE")
	return cmd
}

// isFilePath tells a file argument from a dataset name.
func isFilePath(arg string) bool {
	if strings.HasSuffix(arg, ".parquet") || strings.HasSuffix(arg, ".csv") || strings.ContainsRune(arg, os.PathSeparator) {
		return true
	}
	_, err := os.Stat(arg)
	return err == nil
}

// indentJSON indents a JSON document, keeping its keys in their order.
func indentJSON(raw []byte) []byte {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return raw
	}
	return buf.Bytes()
}

// gxResult is the part of a GX validation result the text output shows.
type gxResult struct {
	Statistics struct {
		Evaluated  int `json:"evaluated_expectations"`
		Successful int `json:"successful_expectations"`
	} `json:"statistics"`
	Results []struct {
		Success bool `json:"success"`
		Config  struct {
			Type   string         `json:"type"`
			Kwargs map[string]any `json:"kwargs"`
		} `json:"expectation_config"`
		Result struct {
			ElementCount      *int64   `json:"element_count"`
			UnexpectedCount   *int64   `json:"unexpected_count"`
			UnexpectedPercent *float64 `json:"unexpected_percent"`
			ObservedValue     any      `json:"observed_value"`
			Partial           []any    `json:"partial_unexpected_list"`
		} `json:"result"`
		Exception struct {
			Raised  bool    `json:"raised_exception"`
			Message *string `json:"exception_message"`
		} `json:"exception_info"`
	} `json:"results"`
}

// docs is where the validation's data docs page opens, or "".
func printValidation(g *globals, out quality.Outcome, docs string) {
	w := g.stdout
	verdict := "PASSED"
	if !out.Success {
		verdict = "FAILED"
	}
	var res gxResult
	_ = json.Unmarshal(out.Result, &res)
	fmt.Fprintf(w, "%s: %s against suite %s (%s): %d of %d expectations met, %d rows, quality score %.3f\n",
		out.Dataset, verdict, out.Suite, out.SuiteFile, res.Statistics.Successful, res.Statistics.Evaluated, out.Rows, out.Score)
	for _, r := range res.Results {
		mark := "ok  "
		if !r.Success {
			mark = "FAIL"
		}
		target := ""
		if c, ok := r.Config.Kwargs["column"].(string); ok {
			target = " " + c
		} else if cl, ok := r.Config.Kwargs["column_list"].([]any); ok {
			target = fmt.Sprintf(" %v", cl)
		}
		detail := ""
		switch {
		case r.Exception.Raised && r.Exception.Message != nil:
			detail = "error: " + *r.Exception.Message
		case r.Result.UnexpectedCount != nil && r.Result.ElementCount != nil:
			detail = fmt.Sprintf("%d of %d unexpected", *r.Result.UnexpectedCount, *r.Result.ElementCount)
			if r.Result.UnexpectedPercent != nil && *r.Result.UnexpectedCount > 0 {
				detail += fmt.Sprintf(" (%.2f%%)", *r.Result.UnexpectedPercent)
			}
			if len(r.Result.Partial) > 0 && !r.Success {
				sample := r.Result.Partial
				if len(sample) > 5 {
					sample = sample[:5]
				}
				ex, _ := json.Marshal(sample)
				detail += ", e.g. " + string(ex)
			}
		case r.Result.ObservedValue != nil:
			ov, _ := json.Marshal(r.Result.ObservedValue)
			detail = "observed " + string(ov)
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", mark, r.Config.Type, target, detail)
	}
	if out.PluginPeakRSS > 0 {
		fmt.Fprintf(w, "Validated in %s; validator peak memory %d MiB\n", out.FinishedAt.Sub(out.StartedAt).Round(time.Millisecond), out.PluginPeakRSS>>20)
	}
	if out.ID != "" {
		fmt.Fprintf(w, "Recorded as %s (bedrot quality results %s)\n", out.ID, out.ID)
	}
	if docs != "" {
		fmt.Fprintf(w, "Data docs: %s\n", docs)
	}
}

func newQualityResultsCmd(g *globals) *cobra.Command {
	var f metastore.ValidationFilter
	cmd := &cobra.Command{
		Use:   "results [VALIDATION-ID]",
		Short: "List recorded validations, or print one validation's GX result",
		Example: `  bedrot quality results
  bedrot quality results --dataset raw.tiktok.videos
  bedrot quality results val-20261126T110000Z-1a2b3c -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			if len(args) == 1 {
				v, err := l.Meta.GetValidation(ctx, args[0])
				if err != nil {
					return err
				}
				if g.json() {
					_, err := g.stdout.Write(append(indentJSON(v.Result), '\n'))
					return err
				}
				docs := ""
				if key := zone.DataDocsDir(v.Dataset) + "/" + v.ID + ".html"; statOK(ctx, l, key) {
					docs = docsLocation(l, key)
				}
				printValidation(g, quality.Outcome{Validation: v}, docs)
				return nil
			}
			vs, err := l.Meta.ListValidations(ctx, f)
			if err != nil {
				return err
			}
			if g.json() {
				items := []map[string]any{}
				for _, v := range vs {
					items = append(items, map[string]any{"id": v.ID, "dataset": v.Dataset, "suite": v.Suite, "run_id": v.RunID,
						"started_at": v.StartedAt.UTC().Format(time.RFC3339), "rows": v.Rows, "success": v.Success, "data_quality_score": v.Score})
				}
				return g.printJSON("ValidationList", map[string]any{"items": items})
			}
			tw := g.table()
			fmt.Fprintln(tw, "VALIDATION\tDATASET\tSUITE\tSTARTED\tROWS\tRESULT\tSCORE")
			for _, v := range vs {
				res := "passed"
				if !v.Success {
					res = "FAILED"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%.3f\n", v.ID, v.Dataset, v.Suite, v.StartedAt.UTC().Format("2006-01-02 15:04:05"), v.Rows, res, v.Score)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if f.Dataset != "" {
				if key := zone.DataDocsDir(f.Dataset) + "/index.html"; statOK(ctx, l, key) {
					fmt.Fprintf(g.stdout, "\nData docs: %s\n", docsLocation(l, key))
				}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&f.Dataset, "dataset", "", "only validations of this dataset")
	cmd.Flags().IntVarP(&f.Limit, "limit", "n", 20, "how many")
	return cmd
}

func statOK(ctx context.Context, l *lake.Lake, key string) bool {
	_, err := l.Store.Stat(ctx, key)
	return err == nil
}

// docsLocation is where a user opens a data docs page: a file:// URL on a
// folder lake, the object's address on S3.
func docsLocation(l *lake.Lake, key string) string {
	if lf, ok := l.Store.(storage.LocalFiles); ok {
		if p := lf.LocalPath(key); p != "" {
			return "file://" + p
		}
	}
	return l.Store.Location() + "/" + key
}
