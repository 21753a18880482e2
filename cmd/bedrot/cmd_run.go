package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

func newIngestCmd(g *globals) *cobra.Command {
	return withThen(g, &cobra.Command{
		Use:   "ingest SOURCE FILE...",
		Short: "Ingest the given export files through a source plugin, once",
		Long: `ingest hands the files to the source's plugin (as its "files" setting) and runs
the pipeline: the exact bytes land in landing/<source>/YYYY-MM-DD-HHMM/ with a
_metadata.json, typed rows go to raw/source=<source>/date=YYYY-MM-DD/ as zstd
Parquet, and everything becomes visible in one commit. A file already in the
lake (same content) is skipped; a malformed file is quarantined with every bad
line named, and nothing of it reaches raw (exit code 3).`,
		Example: "  bedrot ingest distrokid ~/Downloads/DistroKid_1732000000.tsv",
		Args:    minArgs(2, "a source name and at least one file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			source := args[0]
			var paths []string
			for _, p := range args[1:] {
				abs, err := filepath.Abs(p)
				if err != nil {
					return err
				}
				fi, err := os.Stat(abs)
				if err != nil {
					return usageError("cannot read %s: %v", p, err)
				}
				if fi.IsDir() {
					return usageError("%s is a folder: name the files (%s/*.tsv), or set it as the source's inbox and use `bedrot run %s`", p, p, source)
				}
				paths = append(paths, abs)
			}
			cfg := copyConfig(g.cfg.Source(source).Config)
			delete(cfg, "inbox")
			cfg[pipeline.FilesParam] = strings.Join(paths, string(os.PathListSeparator))
			return g.runPipeline(cmd.Context(), source, func(ctx context.Context, l *lake.Lake) (pipeline.Result, error) {
				return l.Pipeline.Ingest(ctx, pipeline.Request{Source: source, Config: cfg})
			})
		},
	})
}

func newRunCmd(g *globals) *cobra.Command {
	return withThen(g, &cobra.Command{
		Use:   "run SOURCE",
		Short: "Run a configured source once (e.g. ingest what its inbox folder holds)",
		Long: `run starts the source's plugin with its configuration from bedrot.yaml
(sources.<name>.config) and the environment, e.g. for DistroKid:

  sources:
    distrokid:
      config:
        inbox: /srv/exports/distrokid

Files already ingested are skipped (the source keeps their checksum in its state).`,
		Args: exactArgs(1, "one source name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			source := args[0]
			sc := g.cfg.Source(source)
			if len(sc.Config) == 0 {
				return usageError("source %q has no configuration: set sources.%s.config in bedrot.yaml or BEDROT_SOURCES__%s__CONFIG__<KEY>; for a one-off, use `bedrot ingest %s FILE...`",
					source, source, strings.ToUpper(source), source)
			}
			return g.runPipeline(cmd.Context(), source, func(ctx context.Context, l *lake.Lake) (pipeline.Result, error) {
				return l.Pipeline.Ingest(ctx, pipeline.Request{Source: source, Plugin: sc.Plugin, Config: copyConfig(sc.Config)})
			})
		},
	})
}

func newReplayCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "replay SOURCE",
		Short: "Rebuild a source's raw files from the payloads kept in landing",
		Long: `replay hands every payload that landing holds for the source back to the
plugin and replaces the source's raw Parquet in one commit, without calling the
source. Use it after a plugin upgrade or to repair raw. Row counts stay the same.`,
		Args: exactArgs(1, "one source name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			source := args[0]
			sc := g.cfg.Source(source)
			return g.runPipeline(cmd.Context(), source, func(ctx context.Context, l *lake.Lake) (pipeline.Result, error) {
				return l.Pipeline.Replay(ctx, pipeline.Request{Source: source, Plugin: sc.Plugin, Config: copyConfig(sc.Config)})
			})
		},
	}
}

func copyConfig(c map[string]string) sdk.Config {
	out := sdk.Config{}
	for k, v := range c {
		out[k] = v
	}
	return out
}

// runPipeline opens the lake, shows progress on a terminal, and reports.
func (g *globals) runPipeline(ctx context.Context, source string, fn func(context.Context, *lake.Lake) (pipeline.Result, error)) error {
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, g.timeout, fmt.Errorf("the run took longer than --timeout %s", g.timeout))
		defer cancel()
	}
	l, err := g.open(ctx, false)
	if err != nil {
		return err
	}
	defer l.Close()
	var bar *progressbar.ProgressBar
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !g.json() {
		l.Pipeline.OnProgress = func(p pipeline.Progress) {
			if bar == nil {
				bar = progressbar.NewOptions64(p.Total, progressbar.OptionSetWriter(f), progressbar.OptionShowBytes(p.Unit == "bytes"),
					progressbar.OptionSetDescription(source), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set64(p.Done)
		}
	}
	res, runErr := fn(ctx, l)
	if bar != nil {
		_ = bar.Finish()
	}
	if res.RunID == "" {
		return runErr
	}
	if g.json() {
		var body map[string]any
		b, _ := json.Marshal(res)
		_ = json.Unmarshal(b, &body)
		if err := g.printJSON("Run", body); err != nil {
			return err
		}
	} else {
		printResult(g, res)
	}
	if runErr != nil {
		return &exitError{code: exitUsageOrFailure(runErr), err: runErr}
	}
	// The later steps of the pipeline, when asked: staging and marts, then
	// the BI schema. A quarantined payload does not stop them: what
	// reached raw is valid.
	for _, step := range g.then {
		var err error
		switch step {
		case "build":
			err = g.build(ctx, l, nil, false)
		case "publish":
			err = g.publish(ctx, l)
		default:
			err = usageError("--then %q: the steps are build and publish", step)
		}
		if err != nil {
			return err
		}
	}
	if res.Status == metastore.RunPartial {
		return &exitError{code: exitQuarantined}
	}
	return nil
}

func printResult(g *globals, res pipeline.Result) {
	w := g.stdout
	fmt.Fprintf(w, "Run %s (%s %s): %s in %s\n", res.RunID, res.Kind, res.Source, res.Status, res.Finished.Sub(res.Started).Round(time.Millisecond))
	if res.Landing != "" {
		fmt.Fprintf(w, "Landing batch: %s/\n", res.Landing)
	}
	for _, p := range res.Payloads {
		switch p.Status {
		case pipeline.StatusIngested:
			fmt.Fprintf(w, "  ingested     %s: %d rows\n", p.Name, p.Records)
			for _, k := range p.RawFiles {
				fmt.Fprintf(w, "                 -> %s\n", k)
			}
		case pipeline.StatusDuplicate:
			fmt.Fprintf(w, "  skipped      %s: already in the lake (%s)\n", p.Name, shortDigest(p.Digest))
		case pipeline.StatusQuarantined:
			fmt.Fprintf(w, "  QUARANTINED  %s: %d problem(s); kept in %s (reasons in %s.reason.json)\n", p.Name, len(p.Problems), p.Key, p.Key)
			for i, pr := range p.Problems {
				if i == 20 {
					fmt.Fprintf(w, "                 … %d more in %s.reason.json\n", len(p.Problems)-20, p.Key)
					break
				}
				fmt.Fprintf(w, "                 %s\n", formatProblem(pr))
			}
		}
	}
	if len(res.Payloads) == 0 && res.Error == "" {
		fmt.Fprintln(w, "  nothing new to ingest")
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	if res.Advice != "" {
		fmt.Fprintf(w, "What to do: %s\n", res.Advice)
	}
	fmt.Fprintf(w, "Total: %d rows from %s\n", res.Rows, humanBytes(res.Bytes))
}

func formatProblem(p sdk.Problem) string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, p.Line)
	}
	if p.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", loc, p.Field, p.Message)
	}
	return fmt.Sprintf("%s: %s", loc, p.Message)
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// shortDigest is a digest cut to its algorithm and first 12 hex digits.
func shortDigest(d string) string {
	algo, err := digest.Algorithm(d)
	if err != nil {
		return short(d)
	}
	return algo + " " + short(digest.Hex(d))
}

func runItems(rs []metastore.Run) []map[string]any {
	out := []map[string]any{}
	for _, r := range rs {
		item := map[string]any{"run_id": r.ID, "source": r.Source, "kind": r.Kind, "status": r.Status,
			"started_at": r.StartedAt.UTC().Format(time.RFC3339), "error": r.Error}
		if r.FinishedAt != nil {
			item["finished_at"] = r.FinishedAt.UTC().Format(time.RFC3339)
		}
		if len(r.Stats) > 0 {
			item["stats"] = json.RawMessage(r.Stats)
		}
		out = append(out, item)
	}
	return out
}

func printRuns(g *globals, rs []metastore.Run) {
	tw := g.table()
	fmt.Fprintln(tw, "RUN\tSOURCE\tKIND\tSTATUS\tSTARTED\tDURATION\tROWS\tERROR")
	for _, r := range rs {
		dur := "-"
		if r.FinishedAt != nil {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		var st struct {
			Rows int64 `json:"rows"`
		}
		_ = json.Unmarshal(r.Stats, &st)
		errText := r.Error
		if i := strings.IndexByte(errText, '\n'); i >= 0 {
			errText = errText[:i] + " …"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.Source, r.Kind, r.Status, r.StartedAt.UTC().Format("2006-01-02 15:04:05"), dur, st.Rows, errText)
	}
	tw.Flush()
}

func newRunsCmd(g *globals) *cobra.Command {
	var f metastore.RunFilter
	cmd := &cobra.Command{
		Use:   "runs [RUN-ID]",
		Short: "Show run history, or one run with its steps",
		Example: `  bedrot runs
  bedrot runs --source distrokid --status failed
  bedrot runs 20261126T060012Z-9f3a1c -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			if len(args) == 1 {
				r, err := l.Meta.GetRun(ctx, args[0])
				if err != nil {
					return fmt.Errorf("run %s: %w", args[0], err)
				}
				steps, err := l.Meta.ListSteps(ctx, r.ID)
				if err != nil {
					return err
				}
				if g.json() {
					item := runItems([]metastore.Run{r})[0]
					var ss []map[string]any
					for _, s := range steps {
						ss = append(ss, map[string]any{"name": s.Name, "status": s.Status, "started_at": s.StartedAt, "finished_at": s.FinishedAt, "detail": json.RawMessage(orNull(s.Detail))})
					}
					item["steps"] = ss
					return g.printJSON("Run", item)
				}
				printRuns(g, []metastore.Run{r})
				if r.Error != "" {
					fmt.Fprintf(g.stdout, "\nError:\n%s\n", r.Error)
					var st struct {
						Advice string `json:"advice"`
					}
					if json.Unmarshal(r.Stats, &st) == nil && st.Advice != "" {
						fmt.Fprintf(g.stdout, "\nWhat to do: %s\n", st.Advice)
					}
				}
				fmt.Fprintln(g.stdout, "\nSteps:")
				for _, s := range steps {
					fmt.Fprintf(g.stdout, "  %-10s %s\n", s.Name, s.Status)
				}
				if len(r.Stats) > 0 {
					fmt.Fprintf(g.stdout, "\nStats: %s\n", r.Stats)
				}
				return nil
			}
			rs, err := l.Meta.ListRuns(ctx, f)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("RunList", map[string]any{"items": runItems(rs)})
			}
			printRuns(g, rs)
			return nil
		}),
	}
	cmd.Flags().StringVar(&f.Source, "source", "", "only runs of this source")
	cmd.Flags().StringVar(&f.Status, "status", "", "only runs with this status (running, succeeded, partial, failed, abandoned)")
	cmd.Flags().IntVarP(&f.Limit, "limit", "n", 20, "how many runs")
	return cmd
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// withThen adds --then to a command that runs a source.
func withThen(g *globals, cmd *cobra.Command) *cobra.Command {
	cmd.Flags().StringSliceVar(&g.then, "then", nil, "after a successful run, also: build (staging and marts), publish (the BI schema); e.g. --then build,publish")
	return cmd
}
