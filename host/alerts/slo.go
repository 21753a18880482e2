package alerts

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metrics"
)

// The service level objectives (DESIGN.md, issue 6): the same numbers as
// the exported SLO gauges and the Prometheus rules are judged against.
const (
	// FreshnessGoal: every source's newest successful run finished less
	// than a week ago.
	FreshnessGoal = metrics.SLOFreshnessGoal
	// SuccessRateGoal: more than 99.9% of final runs succeed.
	SuccessRateGoal = metrics.SLOSuccessRatioGoal
	// MTTDGoal: conditions are alerted less than 5 minutes after they
	// begin, on average.
	MTTDGoal = metrics.SLOMTTDGoal
	// MTTRGoal: alerts are resolved less than 30 minutes after they are
	// raised, on average.
	MTTRGoal = metrics.SLOMTTRGoal
	// DefaultSLOWindow is the window success rate, MTTD and MTTR are
	// measured over.
	DefaultSLOWindow = 30 * 24 * time.Hour
)

// Indicator names.
const (
	IndicatorFreshness   = "freshness"
	IndicatorSuccessRate = "success_rate"
	IndicatorMTTD        = "mttd"
	IndicatorMTTR        = "mttr"
)

// Status is an indicator's verdict against its goal.
type Status string

// Verdicts.
const (
	StatusMet    Status = "met"
	StatusMissed Status = "not met"
	// StatusNoData: nothing was measured (no final run, no alert), so the
	// goal is neither met nor missed.
	StatusNoData Status = "no data"
)

// Indicator is one service level indicator with its goal.
type Indicator struct {
	Name string `json:"name"`
	// Value is in seconds for durations, a ratio from 0 to 1 for the
	// success rate. It means nothing when Samples is 0.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"` // "seconds" or "ratio"
	// Samples is how many observations Value stands on: final runs for the
	// success rate, alerts for MTTD and MTTR, 1 for freshness when a
	// successful run exists.
	Samples int `json:"samples"`
	// Goal is the objective, in Unit; Value must stay below it, except for
	// the success rate, which must stay above it.
	Goal   float64 `json:"goal"`
	Status Status  `json:"status"`
	// Text is Value for people ("2d3h", "99.50% (199 of 200 runs)").
	Text string `json:"text"`
}

// SourceSLO is the indicators of one source, or of the whole lake (Source
// empty).
type SourceSLO struct {
	Source      string    `json:"source"`
	Freshness   Indicator `json:"freshness"`
	SuccessRate Indicator `json:"success_rate"`
	MTTD        Indicator `json:"mttd"`
	MTTR        Indicator `json:"mttr"`
}

// Indicators lists the four indicators in display order.
func (s SourceSLO) Indicators() []Indicator {
	return []Indicator{s.Freshness, s.SuccessRate, s.MTTD, s.MTTR}
}

// SLOReport is the SLO of every source and of the lake as a whole.
type SLOReport struct {
	Now    time.Time `json:"now"`
	Window Duration  `json:"window"`
	// Sources are sorted by name.
	Sources []SourceSLO `json:"sources"`
	// Overall: freshness of the stalest source, success rate over every
	// source's runs, MTTD and MTTR over every alert (those naming no source
	// included).
	Overall SourceSLO `json:"overall"`
}

// Duration marshals as Go duration text ("720h0m0s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// SLOOptions tune ComputeSLO.
type SLOOptions struct {
	// Now is the end of the window (default time.Now()).
	Now time.Time
	// Window is how far back success rate, MTTD and MTTR look (default
	// DefaultSLOWindow).
	Window time.Duration
}

func (o SLOOptions) withDefaults() SLOOptions {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Window <= 0 {
		o.Window = DefaultSLOWindow
	}
	return o
}

// successful reports whether a final run delivered data.
func successful(status string) bool {
	return status == metastore.RunSucceeded || status == metastore.RunPartial
}

// finalStatus reports whether status is final.
func finalStatus(status string) bool {
	return successful(status) || failedRunStatuses[status]
}

// ComputeSLO computes, per source and overall, the service level
// indicators, measured this way:
//
//   - freshness: Now minus the finish of the source's newest successful
//     (succeeded or partial) run, over all runs given; goal < FreshnessGoal.
//     A source without a successful run misses it.
//   - success rate: final runs (succeeded, partial, failed, abandoned)
//     finished within the window that succeeded or partially succeeded,
//     divided by all of them; goal > SuccessRateGoal.
//   - mean time to detect: over alerts first seen within the window, the
//     mean of FirstSeen minus the condition's start — the alert's
//     ConditionAt, or else the finish of the run it names; alerts with no
//     known start (e.g. data loss found by a scrub) are left out; goal
//     < MTTDGoal.
//   - mean time to resolve: over alerts resolved within the window, the
//     mean of ResolvedAt minus FirstSeen, whoever resolved them; goal
//     < MTTRGoal.
//
// An alert counts for its Source (alerts naming none only overall). An
// indicator with nothing to measure has StatusNoData.
func ComputeSLO(runs []metastore.Run, alerts []metastore.Alert, opts SLOOptions) SLOReport {
	opts = opts.withDefaults()
	now, start := opts.Now, opts.Now.Add(-opts.Window)
	rep := SLOReport{Now: now.UTC(), Window: Duration(opts.Window)}

	finishOf := map[string]time.Time{}
	sourceSet := map[string]bool{}
	for _, r := range runs {
		sourceSet[r.Source] = true
		if r.FinishedAt != nil {
			finishOf[r.ID] = *r.FinishedAt
		}
	}
	for _, a := range alerts {
		if a.Source != "" {
			sourceSet[a.Source] = true
		}
	}
	sources := make([]string, 0, len(sourceSet))
	for s := range sourceSet {
		sources = append(sources, s)
	}
	slices.Sort(sources)

	inWindow := func(t time.Time) bool { return !t.Before(start) && !t.After(now) }
	type tally struct {
		newestOK       *time.Time
		hasRuns        bool
		good, final    int
		detect, repair []time.Duration
	}
	tallies := map[string]*tally{}
	all := &tally{}
	get := func(src string) *tally {
		if tallies[src] == nil {
			tallies[src] = &tally{}
		}
		return tallies[src]
	}
	for _, r := range runs {
		t := get(r.Source)
		t.hasRuns = true
		if r.FinishedAt == nil || !finalStatus(r.Status) {
			continue
		}
		if successful(r.Status) && (t.newestOK == nil || r.FinishedAt.After(*t.newestOK)) {
			f := *r.FinishedAt
			t.newestOK = &f
		}
		if inWindow(*r.FinishedAt) {
			for _, tt := range []*tally{t, all} {
				tt.final++
				if successful(r.Status) {
					tt.good++
				}
			}
		}
	}
	for _, a := range alerts {
		targets := []*tally{all}
		if a.Source != "" {
			targets = append(targets, get(a.Source))
		}
		if inWindow(a.FirstSeen) {
			var began time.Time
			if a.ConditionAt != nil {
				began = *a.ConditionAt
			} else if f, ok := finishOf[a.RunID]; ok && a.RunID != "" {
				began = f
			}
			if !began.IsZero() {
				for _, t := range targets {
					t.detect = append(t.detect, max(a.FirstSeen.Sub(began), 0))
				}
			}
		}
		if a.ResolvedAt != nil && inWindow(*a.ResolvedAt) {
			for _, t := range targets {
				t.repair = append(t.repair, max(a.ResolvedAt.Sub(a.FirstSeen), 0))
			}
		}
	}

	build := func(src string, t *tally) SourceSLO {
		return SourceSLO{Source: src, Freshness: freshness(now, t.newestOK, t.hasRuns),
			SuccessRate: successRate(t.good, t.final),
			MTTD:        meanIndicator(IndicatorMTTD, t.detect, MTTDGoal),
			MTTR:        meanIndicator(IndicatorMTTR, t.repair, MTTRGoal)}
	}
	var stalest *SourceSLO
	for _, src := range sources {
		s := build(src, get(src))
		rep.Sources = append(rep.Sources, s)
		if !tallies[src].hasRuns {
			continue
		}
		if stalest == nil || staler(s.Freshness, stalest.Freshness) {
			stalest = &s
		}
	}
	rep.Overall = build("", all)
	rep.Overall.Freshness = Indicator{Name: IndicatorFreshness, Unit: "seconds", Goal: FreshnessGoal.Seconds(), Status: StatusNoData, Text: "-"}
	if stalest != nil {
		rep.Overall.Freshness = stalest.Freshness
		rep.Overall.Freshness.Text += " (" + stalest.Source + ")"
	}
	return rep
}

// staler reports whether freshness a is worse than b.
func staler(a, b Indicator) bool {
	if a.Samples == 0 || b.Samples == 0 {
		return a.Samples == 0 && b.Samples != 0
	}
	return a.Value > b.Value
}

func freshness(now time.Time, newestOK *time.Time, hasRuns bool) Indicator {
	ind := Indicator{Name: IndicatorFreshness, Unit: "seconds", Goal: FreshnessGoal.Seconds()}
	switch {
	case newestOK != nil:
		age := max(now.Sub(*newestOK), 0)
		ind.Value, ind.Samples, ind.Text = age.Seconds(), 1, fmtDuration(age)+" old"
		ind.Status = verdict(age < FreshnessGoal)
	case hasRuns:
		ind.Status, ind.Text = StatusMissed, "never succeeded"
	default:
		ind.Status, ind.Text = StatusNoData, "-"
	}
	return ind
}

func successRate(good, final int) Indicator {
	ind := Indicator{Name: IndicatorSuccessRate, Unit: "ratio", Goal: SuccessRateGoal, Samples: final}
	if final == 0 {
		ind.Status, ind.Text = StatusNoData, "no final runs"
		return ind
	}
	ind.Value = float64(good) / float64(final)
	ind.Status = verdict(ind.Value > SuccessRateGoal)
	ind.Text = fmt.Sprintf("%.2f%% (%d of %d runs)", 100*ind.Value, good, final)
	return ind
}

func meanIndicator(name string, ds []time.Duration, goal time.Duration) Indicator {
	ind := Indicator{Name: name, Unit: "seconds", Goal: goal.Seconds(), Samples: len(ds)}
	if len(ds) == 0 {
		ind.Status, ind.Text = StatusNoData, "no alerts"
		return ind
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	mean := sum / time.Duration(len(ds))
	ind.Value = mean.Seconds()
	ind.Status = verdict(mean < goal)
	noun := "alerts"
	if len(ds) == 1 {
		noun = "alert"
	}
	ind.Text = fmt.Sprintf("%s (%d %s)", fmtDuration(mean), len(ds), noun)
	return ind
}

func verdict(met bool) Status {
	if met {
		return StatusMet
	}
	return StatusMissed
}

// LoadSLO computes the SLO from the metastore: up to 10000 of the newest
// runs, and the alerts last seen within the window.
func LoadSLO(ctx context.Context, meta metastore.Store, opts SLOOptions) (SLOReport, error) {
	opts = opts.withDefaults()
	runs, err := meta.ListRuns(ctx, metastore.RunFilter{Limit: 10000})
	if err != nil {
		return SLOReport{}, fmt.Errorf("failed to compute the SLO: %w", err)
	}
	alerts, err := meta.ListAlerts(ctx, metastore.AlertFilter{Since: opts.Now.Add(-opts.Window), Limit: -1})
	if err != nil {
		return SLOReport{}, fmt.Errorf("failed to compute the SLO: %w", err)
	}
	return ComputeSLO(runs, alerts, opts), nil
}

// indicatorLabels are the indicators' names in tables.
var indicatorLabels = map[string]string{
	IndicatorFreshness: "freshness", IndicatorSuccessRate: "success rate",
	IndicatorMTTD: "mean time to detect", IndicatorMTTR: "mean time to resolve",
}

// goalText is an indicator's goal for people.
func goalText(ind Indicator) string {
	if ind.Unit == "ratio" {
		return fmt.Sprintf("> %.1f%%", 100*ind.Goal)
	}
	return "< " + fmtDuration(time.Duration(ind.Goal*float64(time.Second)))
}

// WriteTable writes the report as a text table, one row per source and
// indicator, the whole lake last.
func (r SLOReport) WriteTable(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "Service level objectives over the last %s (until %s)\n\n",
		fmtDuration(time.Duration(r.Window)), r.Now.UTC().Format("2006-01-02 15:04 MST")); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tINDICATOR\tVALUE\tGOAL\tSTATUS")
	rows := append(slices.Clone(r.Sources), r.Overall)
	for _, s := range rows {
		name := s.Source
		if name == "" {
			name = "(all)"
		}
		for _, ind := range s.Indicators() {
			status := string(ind.Status)
			if ind.Status == StatusMissed {
				status = strings.ToUpper(status)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, indicatorLabels[ind.Name], ind.Text, goalText(ind), status)
		}
	}
	return tw.Flush()
}

// fmtDuration writes a duration for people: "3d4h", "2h5m", "4m30s", "12s".
func fmtDuration(d time.Duration) string {
	two := func(big, small int64, a, b string) string {
		if small == 0 {
			return fmt.Sprintf("%d%s", big, a)
		}
		return fmt.Sprintf("%d%s%d%s", big, a, small, b)
	}
	switch {
	case d >= 48*time.Hour:
		d = d.Round(time.Hour)
		return two(int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour), "d", "h")
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return two(int64(d/time.Hour), int64(d%time.Hour/time.Minute), "h", "m")
	case d >= time.Minute:
		d = d.Round(time.Second)
		return two(int64(d/time.Minute), int64(d%time.Minute/time.Second), "m", "s")
	default:
		return d.Round(time.Second).String()
	}
}
