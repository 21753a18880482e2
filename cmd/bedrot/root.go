package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/sdk"
)

// Exit codes, documented in `bedrot --help`.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitQuarantined = 3
	exitNotFound    = 4
	exitInvalid     = 5
	exitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0    success
  1    runtime failure (plugin crash, storage or metastore error, run failed)
  2    usage or configuration error (bad flag, bad argument, invalid config)
  3    completed, but some input was quarantined (see the run's problems)
  4    not found (lake, plugin, run)
  5    checked, and the data is not as it should be (an expectation suite failed,
       or bedrot scrub found missing or damaged files)
  130  interrupted`

// apiVersion is stamped on every JSON document the CLI prints.
const apiVersion = "bedrot/v1"

type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func exitUsageOrFailure(err error) int {
	switch {
	case errors.Is(err, config.ErrBadConfiguration), sdk.KindOf(err) == sdk.KindConfig, errors.Is(err, quality.ErrNoSuite):
		return exitUsage
	case errors.Is(err, lake.ErrNotInitialised), errors.Is(err, pluginhost.ErrNotInstalled), errors.Is(err, metastore.ErrNotFound):
		return exitNotFound
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"),
		strings.HasPrefix(err.Error(), "unknown shorthand flag"), strings.Contains(err.Error(), "accepts "),
		strings.Contains(err.Error(), "requires at least"), strings.Contains(err.Error(), "flag needs an argument"),
		strings.HasPrefix(err.Error(), "invalid argument"):
		return exitUsage
	}
	return exitFailure
}

// globals are the persistent flags.
type globals struct {
	lake, configFile, output, logLevel, databaseURL string
	cpuProfile                                      string
	execTrace                                       string
	timeout                                         time.Duration
	cfg                                             config.Config
	stdout, stderr                                  io.Writer
	// then lists the steps to run after a successful ingest: build, publish.
	then []string
}

func newRootCmd() *cobra.Command {
	g := &globals{stdout: os.Stdout, stderr: os.Stderr}
	root := &cobra.Command{
		Use:   "bedrot",
		Short: "BEDROT data lake: pull the label's sources into a lake through connector plugins",
		Long: `bedrot pulls BEDROT's DistroKid earnings exports, Spotify (Web API and Spotify
for Artists exports) and TikTok data into a data lake through connector
plugins. Every original payload is kept byte for byte in landing/, typed
immutable Parquet goes to raw/ once it meets its data contract and expectation
suite, and bad input is quarantined with the file, line and field (or the
validation result) that broke it — never dropped.

The embedded default is a lake folder with a SQLite metastore inside it. In
production point it at MinIO/S3 (storage.backend: s3) and PostgreSQL
(database.url, or BEDROT_DATABASE_URL).

Getting started:
  make build                                   # bin/bedrot and the plugins bin/bedrot-<kind>-<name>
  bedrot init --lake ./lake                    # create the lake layout
  bedrot plugin install ./bin                  # install every plugin binary
  bedrot ingest distrokid examples/distrokid/*.tsv
  bedrot run tiktok                            # a configured source (sources.tiktok.config)
  bedrot ls raw/                               # see the Parquet
  bedrot runs                                  # run history; bedrot runs RUN-ID says what to do on failure
  bedrot quality results                       # validations, with their data docs

Configuration is layered: defaults < bedrot.yaml (or --config, BEDROT_CONFIG)
< BEDROT_* environment variables < flags. Keys map to variables by upper-casing
and replacing "." with "_" (database.url -> BEDROT_DATABASE_URL); nested source
settings use "__" (BEDROT_SOURCES__DISTROKID__CONFIG__INBOX). A key ending in
_file reads its value from that file (for secrets).

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Name() == "version" || cmd.Name() == "help" || cmd.Name() == "completion" {
				return nil
			}
			if g.cpuProfile != "" {
				f, err := os.Create(g.cpuProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			if g.execTrace != "" {
				f, err := os.Create(g.execTrace)
				if err != nil {
					return err
				}
				if err := trace.Start(f); err != nil {
					return err
				}
			}
			lake.Version = version
			return g.load(cmd)
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if g.cpuProfile != "" {
				pprof.StopCPUProfile()
			}
			if g.execTrace != "" {
				trace.Stop()
			}
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.lake, "lake", "", "lake folder (env BEDROT_LAKE; default ./lake)")
	pf.StringVar(&g.configFile, "config", "", "config file (env BEDROT_CONFIG; default ./bedrot.yaml if present)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json (yaml for 'contracts show')")
	pf.StringVar(&g.logLevel, "log-level", "", "host log level: debug, info, warn, error (env BEDROT_LOG_LEVEL)")
	pf.StringVar(&g.databaseURL, "database-url", "", "PostgreSQL URL for the metastore (env BEDROT_DATABASE_URL; default SQLite in the lake)")
	pf.DurationVar(&g.timeout, "timeout", 0, "stop a run (and its plugin) that takes longer than this, e.g. 30m (default: no limit)")
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile of this command to the file, and of its plugins to FILE.plugin (for performance reports)")
	_ = pf.MarkHidden("cpuprofile")
	pf.StringVar(&g.execTrace, "exectrace", "", "write a Go execution trace of this command to the file, and of its plugins to FILE.plugin (go tool trace; for performance reports)")
	_ = pf.MarkHidden("exectrace")
	root.AddCommand(newInitCmd(g), newPluginCmd(g), newIngestCmd(g), newRunCmd(g), newReplayCmd(g),
		newRunsCmd(g), newLsCmd(g), newStatusCmd(g), newSweepCmd(g), newScrubCmd(g), newConfigCmd(g), newVersionCmd(g), newQualityCmd(g), newContractsCmd(g), newQueryCmd(g), newBuildCmd(g), newPublishCmd(g),
		newServeCmd(g), newTriggerCmd(g), newBackfillCmd(g), newPauseCmd(g), newResumeCmd(g), newJobsCmd(g), newAlertsCmd(g), newSLOCmd(g), newLineageCmd(g), newKnowledgeCmd(g), newAgentsCmd(g), newMCPCmd(g))
	return root
}

func (g *globals) load(cmd *cobra.Command) error {
	if g.output != "table" && g.output != "json" && (g.output != "yaml" || cmd.CommandPath() != "bedrot contracts show") {
		return usageError("--output %q: use table or json", g.output)
	}
	flags := map[string]any{}
	if cmd.Flags().Changed("lake") {
		flags["lake"] = g.lake
	}
	if cmd.Flags().Changed("log-level") {
		flags["log.level"] = g.logLevel
	}
	if cmd.Flags().Changed("database-url") {
		flags["database.url"] = g.databaseURL
	}
	cfg, _, err := config.Load(config.LoadOptions{File: g.configFile, Flags: flags})
	if err != nil {
		return err
	}
	g.cfg = cfg
	return nil
}

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.cfg.Log.Level)); err != nil {
		lvl = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if g.cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

func (g *globals) open(ctx context.Context, create bool) (*lake.Lake, error) {
	opts := lake.Options{Create: create, Logger: g.logger()}
	if g.cpuProfile != "" {
		opts.PluginEnv = append(opts.PluginEnv, sdk.EnvCPUProfile+"="+g.cpuProfile+".plugin")
	}
	if g.execTrace != "" {
		opts.PluginEnv = append(opts.PluginEnv, sdk.EnvExecTrace+"="+g.execTrace+".plugin")
	}
	return lake.Open(ctx, g.cfg, opts)
}

func (g *globals) json() bool { return g.output == "json" }

// printJSON prints a JSON document with the CLI's envelope.
func (g *globals) printJSON(kind string, body map[string]any) error {
	doc := map[string]any{"apiVersion": apiVersion, "kind": kind}
	for k, v := range body {
		doc[k] = v
	}
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func (g *globals) table() *tabwriter.Writer {
	return tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s takes %s (got %d arguments)\nRun '%s --help' for usage.", cmd.CommandPath(), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func minArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError("%s needs %s\nRun '%s --help' for usage.", cmd.CommandPath(), names, cmd.CommandPath())
		}
		return nil
	}
}

// withLake adapts a command body that works on the open lake.
func (g *globals) withLake(create bool, fn func(ctx context.Context, l *lake.Lake, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		l, err := g.open(cmd.Context(), create)
		if err != nil {
			return err
		}
		defer l.Close()
		return fn(cmd.Context(), l, args)
	}
}
