package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
)

// newAlertsCmd is `bedrot alerts ls|ack|resolve`.
func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, acknowledge and resolve alerts",
		Long: `alerts shows what the daemon found wrong and lets you work through it. An alert
is firing until someone acknowledges it, and resolved when someone resolves it or
its condition clears ("auto"). Seeing the same condition again while an alert is
open updates that alert (its count and last seen time) instead of opening another.

  severity  condition                            notification     automatic action
  critical  data loss (file missing or damaged)  PagerDuty + SMS  pause the pipeline
  high      a run failed after its retries       email + Slack    retry 3x
  medium    data quality warning                 email            log for review
  low       performance degradation              dashboard only   none

Notifiers are configured under alerts: in bedrot.yaml; ack and resolve notify them
too, so that PagerDuty's incident follows.`,
	}
	cmd.AddCommand(newAlertsLsCmd(g), newAlertsAckCmd(g), newAlertsResolveCmd(g))
	return cmd
}

func newAlertsLsCmd(g *globals) *cobra.Command {
	var (
		f     metastore.AlertFilter
		state string
	)
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List alerts, open ones by default",
		Example: `  bedrot alerts ls
  bedrot alerts ls --severity critical
  bedrot alerts ls --state all --source spotify -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch state {
			case "open":
				f.State = metastore.AlertOpen
			case "all":
				f.State = ""
			case metastore.AlertFiring, metastore.AlertAcknowledged, metastore.AlertResolved:
				f.State = state
			default:
				return usageError("--state %q: use open, firing, acknowledged, resolved or all", state)
			}
			if f.Severity != "" && !metastore.ValidAlertSeverity(f.Severity) {
				return usageError("--severity %q: use critical, high, medium or low", f.Severity)
			}
			return g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
				list, err := l.Meta.ListAlerts(ctx, f)
				if err != nil {
					return err
				}
				if g.json() {
					items := []map[string]any{}
					for _, a := range list {
						items = append(items, alertItem(a))
					}
					return g.printJSON("AlertList", map[string]any{"items": items})
				}
				if len(list) == 0 {
					which := strings.TrimSpace(strings.TrimPrefix(state, "all") + " " + f.Severity)
					fmt.Fprintln(g.stdout, strings.Join(strings.Fields("No "+which+" alerts."), " "))
					return nil
				}
				tw := g.table()
				fmt.Fprintln(tw, "ID\tSEVERITY\tSTATE\tKEY\tCOUNT\tFIRST SEEN\tLAST SEEN\tTITLE")
				for _, a := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.ID, a.Severity, a.State, a.Key, a.Count,
						a.FirstSeen.UTC().Format("2006-01-02 15:04:05"), a.LastSeen.UTC().Format("2006-01-02 15:04:05"), oneLineText(a.Title))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if f.State == metastore.AlertOpen {
					counts, err := l.Meta.OpenAlertCounts(ctx)
					if err != nil {
						return err
					}
					var parts []string
					total := 0
					for _, sev := range notify.Severities() {
						if n := counts[string(sev)]; n > 0 {
							parts = append(parts, fmt.Sprintf("%d %s", n, sev))
							total += n
						}
					}
					fmt.Fprintf(g.stdout, "\n%d open: %s. Acknowledge with 'bedrot alerts ack ID', resolve with 'bedrot alerts resolve ID'.\n",
						total, strings.Join(parts, ", "))
				}
				return nil
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&state, "state", "open", "open (firing or acknowledged), firing, acknowledged, resolved or all")
	cmd.Flags().StringVar(&f.Severity, "severity", "", "only alerts of this severity: critical, high, medium, low")
	cmd.Flags().StringVar(&f.Source, "source", "", "only alerts about this source")
	cmd.Flags().IntVarP(&f.Limit, "limit", "n", 50, "how many alerts")
	return cmd
}

func newAlertsAckCmd(g *globals) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "ack ID",
		Short: "Acknowledge an alert: someone is on it",
		Long: `ack moves a firing alert to acknowledged and notifies its notifiers (PagerDuty
acknowledges the incident). ID is the alert's ID or the key of an open alert
(e.g. run_failed:spotify). The alert stays open until it is resolved.`,
		Example: `  bedrot alerts ack alert-20261126T090000Z-1a2b3c4d
  bedrot alerts ack run_failed:spotify --by ana`,
		Args: exactArgs(1, "an alert ID or key"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			a, changed, err := alertManager(g, l).Ack(ctx, args[0], whoAmI(by))
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("Alert", alertItem(a))
			}
			if !changed {
				fmt.Fprintf(g.stdout, "Alert %s (%s) was already acknowledged by %s at %s.\n", a.ID, a.Key, a.AckedBy, fmtTime(a.AckedAt))
				return nil
			}
			fmt.Fprintf(g.stdout, "Acknowledged alert %s (%s) as %s.%s\n", a.ID, a.Key, a.AckedBy, notifyNote(a))
			return nil
		}),
	}
	cmd.Flags().StringVar(&by, "by", "", "who acknowledges (default: the current user)")
	return cmd
}

func newAlertsResolveCmd(g *globals) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "resolve ID",
		Short: "Resolve an alert",
		Long: `resolve closes an alert and notifies its notifiers (PagerDuty resolves the
incident). ID is the alert's ID or the key of an open alert. If the condition
is seen again afterwards, a new alert opens. Alerts whose condition clears are
resolved by the daemon on its own ("auto").`,
		Example: `  bedrot alerts resolve alert-20261126T090000Z-1a2b3c4d
  bedrot alerts resolve quality:raw.tiktok.videos --by ana`,
		Args: exactArgs(1, "an alert ID or key"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			a, changed, err := alertManager(g, l).Resolve(ctx, args[0], whoAmI(by))
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("Alert", alertItem(a))
			}
			if !changed {
				fmt.Fprintf(g.stdout, "Alert %s (%s) was already resolved by %s at %s.\n", a.ID, a.Key, a.ResolvedBy, fmtTime(a.ResolvedAt))
				return nil
			}
			fmt.Fprintf(g.stdout, "Resolved alert %s (%s) as %s.%s\n", a.ID, a.Key, a.ResolvedBy, notifyNote(a))
			return nil
		}),
	}
	cmd.Flags().StringVar(&by, "by", "", "who resolves (default: the current user)")
	return cmd
}

// newSLOCmd is `bedrot slo`.
func newSLOCmd(g *globals) *cobra.Command {
	var window string
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Show the service level objectives: freshness, success rate, time to detect and to resolve",
		Long: `slo computes, per source and for the whole lake, from the runs and alerts in the
metastore:

  freshness             now minus the finish of the newest successful (or partial) run   goal < 7d
  success rate          final runs in the window that succeeded or were partial,
                        divided by all final runs in the window                           goal > 99.9%
  mean time to detect   alert first seen minus the start of its condition (the failing
                        run's finish), over alerts raised in the window                  goal < 5m
  mean time to resolve  alert resolved minus first seen, over alerts resolved in the
                        window (by people or automatically)                              goal < 30m

An indicator with nothing to measure in the window shows "no data".`,
		Example: `  bedrot slo
  bedrot slo --window 7d -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := parseWindow(window)
			if err != nil {
				return usageError("--window %q: %v", window, err)
			}
			return g.withLake(false, func(ctx context.Context, l *lake.Lake, _ []string) error {
				rep, err := alerts.LoadSLO(ctx, l.Meta, alerts.SLOOptions{Window: w})
				if err != nil {
					return err
				}
				if g.json() {
					return g.printJSON("SLOReport", map[string]any{"now": rep.Now.Format(time.RFC3339), "window": rep.Window,
						"sources": orEmpty(rep.Sources), "overall": rep.Overall})
				}
				return rep.WriteTable(g.stdout)
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&window, "window", "30d", "how far back success rate and the mean times look, e.g. 30d, 7d, 12h")
	return cmd
}

// parseWindow parses a Go duration, or a whole number of days ("30d").
func parseWindow(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, errors.New("use a positive number of days (30d) or a duration (12h)")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("use a positive number of days (30d) or a duration (12h)")
	}
	return d, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// alertManager is a Manager on the lake's metastore that notifies the
// configured notifiers. A broken alerting configuration is reported and
// leaves notifications out rather than stopping an acknowledgement.
func alertManager(g *globals, l *lake.Lake) *alerts.Manager {
	opts := alerts.Options{Logger: l.Logger}
	if len(g.cfg.Alerts.Notifiers) > 0 {
		r, err := notify.NewRouter(g.cfg.Alerts, notify.WithLogger(l.Logger))
		if err != nil {
			fmt.Fprintf(g.stderr, "warning: not notifying: %v\n", err)
		} else {
			opts.Notifier = r
		}
	}
	return alerts.NewManager(l.Meta, opts)
}

// whoAmI is by, or the current user's name.
func whoAmI(by string) string {
	if by != "" {
		return by
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// notifyNote says when notifying an alert's change failed.
func notifyNote(a metastore.Alert) string {
	if a.NotifyError == "" {
		return ""
	}
	return "\nwarning: notifying failed: " + a.NotifyError
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

// oneLineText folds a text onto one line.
func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }

// alertItem is an alert in -o json output: its JSON form, the API's too.
func alertItem(a metastore.Alert) map[string]any {
	b, _ := json.Marshal(a)
	var item map[string]any
	_ = json.Unmarshal(b, &item)
	return item
}
