package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

var spec = sdk.Spec{
	Name:        "trends",
	Version:     "0.1.0",
	Description: "Summarizes a dataset: per-column statistics and week-over-week change, as a Markdown report.",
	Author:      "BEDROT examples",
}

// trends is the agent.
type trends struct{ sdk.UnimplementedAgent }

func newAgent() sdk.Agent { return trends{} }

func (trends) Describe(context.Context) (sdk.AgentInfo, error) {
	return sdk.AgentInfo{
		Type:         "trends",
		Version:      spec.Version,
		Description:  spec.Description,
		Capabilities: []string{"read_dataset", "write_report", "add_knowledge"},
		Zones:        sdk.ZoneAccess{Read: []string{sdk.ZoneStaging, sdk.ZoneCurated}, Write: []string{sdk.ZoneSandbox}},
		Tasks: []sdk.TaskSpec{{
			Name:        "summarize",
			Description: "Per-column statistics and week-over-week change of one dataset.",
			Params: []sdk.Param{
				{Name: "dataset", Description: "dataset to summarize, e.g. staging.tiktok_daily_metrics", Required: true},
				{Name: "threshold", Description: "week-over-week change, in percent, that asks the anomaly agent to look", Default: "25"},
			},
		}},
	}, nil
}

// columnStats accumulates one numeric column.
type columnStats struct {
	name            string
	count, nulls    int64
	sum, min, max   float64
	weekly          map[time.Time]float64 // sum per ISO week (Monday, UTC)
	lastWeek, prior time.Time
}

func (c *columnStats) add(v float64, week time.Time, hasWeek bool) {
	if c.count == 0 || v < c.min {
		c.min = v
	}
	if c.count == 0 || v > c.max {
		c.max = v
	}
	c.count++
	c.sum += v
	if hasWeek {
		c.weekly[week] += v
	}
}

// change returns the last full week's change over the week before, in
// percent, and whether two weeks were seen.
func (c *columnStats) change() (last, prior, pct float64, ok bool) {
	weeks := make([]time.Time, 0, len(c.weekly))
	for w := range c.weekly {
		weeks = append(weeks, w)
	}
	if len(weeks) < 2 {
		return 0, 0, 0, false
	}
	slices.SortFunc(weeks, func(a, b time.Time) int { return a.Compare(b) })
	c.lastWeek, c.prior = weeks[len(weeks)-1], weeks[len(weeks)-2]
	last, prior = c.weekly[c.lastWeek], c.weekly[c.prior]
	if prior == 0 {
		return last, prior, math.Inf(1), true
	}
	return last, prior, (last - prior) / math.Abs(prior) * 100, true
}

func (trends) Run(ctx context.Context, task sdk.Task, lake sdk.Lake, out sdk.AgentEmitter) error {
	dataset := task.Params["dataset"]
	threshold, err := strconv.ParseFloat(task.Params["threshold"], 64)
	if err != nil {
		return sdk.ConfigError(fmt.Errorf("threshold %q must be a number of percent, e.g. 25", task.Params["threshold"]))
	}
	r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: dataset})
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", dataset, err)
	}
	defer r.Close()
	schema := r.Schema()
	dateCol := slices.IndexFunc(schema.Fields, func(f sdk.Field) bool { return f.Type == sdk.TypeDate })
	stats := map[int]*columnStats{}
	for i, f := range schema.Fields {
		switch f.Type {
		case sdk.TypeInt64, sdk.TypeFloat64, sdk.TypeDecimal:
			stats[i] = &columnStats{name: f.Name, weekly: map[time.Time]float64{}}
		}
	}
	var rows, cells, nulls int64
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", dataset, err)
		}
		for row := range b.NumRows {
			var week time.Time
			hasWeek := dateCol >= 0 && !b.Columns[dateCol].IsNull(row)
			if hasWeek {
				week = weekOf(b.Columns[dateCol].Int32s[row])
			}
			for i := range b.Columns {
				cells++
				if b.Columns[i].IsNull(row) {
					nulls++
					if s := stats[i]; s != nil {
						s.nulls++
					}
					continue
				}
				if s := stats[i]; s != nil {
					s.add(value(schema.Fields[i], &b.Columns[i], row), week, hasWeek)
				}
			}
		}
		rows += int64(b.NumRows)
		out.Progress(rows, 0, "rows")
	}
	out.Log(sdk.LevelInfo, "read dataset", "dataset", dataset, "rows", rows)

	// The report, and the biggest week-over-week move.
	var report bytes.Buffer
	fmt.Fprintf(&report, "# Trends: %s\n\nSession `%s`, %d rows.\n\n", dataset, task.SessionID, rows)
	report.WriteString("| column | values | nulls | min | max | mean | last week | week before | change |\n|---|---|---|---|---|---|---|---|---|\n")
	var biggest *columnStats
	var biggestPct float64
	for i := range schema.Fields {
		s := stats[i]
		if s == nil {
			continue
		}
		mean := 0.0
		if s.count > 0 {
			mean = s.sum / float64(s.count)
		}
		last, prior, pct, ok := s.change()
		wow := "n/a"
		if ok {
			wow = fmt.Sprintf("%+.1f%%", pct)
			if biggest == nil || math.Abs(pct) > math.Abs(biggestPct) {
				biggest, biggestPct = s, pct
			}
		}
		fmt.Fprintf(&report, "| %s | %d | %d | %g | %g | %.2f | %g | %g | %s |\n", s.name, s.count, s.nulls, s.min, s.max, mean, last, prior, wow)
	}
	quality := 1.0
	if cells > 0 {
		quality = 1 - float64(nulls)/float64(cells)
	}
	fmt.Fprintf(&report, "\nNull cells: %d of %d (data quality score %.3f).\n", nulls, cells, quality)

	obj, err := lake.PutObject(ctx, sdk.ZoneSandbox, "trends/"+dataset+".md", "text/markdown", bytes.NewReader(report.Bytes()))
	if err != nil {
		return fmt.Errorf("failed to write the report: %w", err)
	}
	if err := out.Output(sdk.AgentOutput{Zone: obj.Zone, Key: obj.Key, Description: "trends report for " + dataset, Rows: rows, Bytes: obj.Size}); err != nil {
		return err
	}

	finding := sdk.KnowledgeEntry{Kind: sdk.KnowledgeFinding, Title: "No week-over-week change measurable in " + dataset,
		Body: fmt.Sprintf("%s has fewer than two weeks of dated rows; see `%s`.", dataset, obj.Key), Tags: []string{"trends"},
		Datasets: []string{dataset}, Confidence: 0.5}
	if biggest != nil {
		finding.Title = fmt.Sprintf("%s %s %+.1f%% week over week", dataset, biggest.name, biggestPct)
		finding.Body = fmt.Sprintf("In `%s`, **%s** summed %g in the week of %s against %g the week before (%+.1f%%). Report: `%s`.",
			dataset, biggest.name, biggest.weekly[biggest.lastWeek], biggest.lastWeek.Format(time.DateOnly), biggest.weekly[biggest.prior], biggestPct, obj.Key)
		finding.Tags = append(finding.Tags, "week_over_week")
		finding.Confidence = 0.8
	}
	if err := out.Knowledge(finding); err != nil {
		return err
	}

	if biggest != nil && math.Abs(biggestPct) >= threshold {
		if err := out.NextStep(sdk.NextStep{Action: sdk.ActionRunAgent, Target: "anomaly",
			Reason: fmt.Sprintf("%s moved %+.1f%% week over week (threshold %g%%)", biggest.name, biggestPct, threshold)}); err != nil {
			return err
		}
	}
	if nulls > 0 {
		if err := out.NextStep(sdk.NextStep{Action: sdk.ActionNotify, Target: "data_quality_team",
			Reason: fmt.Sprintf("%d null cells in %s", nulls, dataset)}); err != nil {
			return err
		}
	}

	c := task.NewContext()
	c.Dependencies = append(c.Dependencies, dataset)
	c.Metrics.RecordsProcessed = rows
	c.Metrics.DataQualityScore = quality
	c.ContextNotes = strings.TrimSpace(finding.Title)
	return out.Final(c)
}

// weekOf returns the Monday (UTC) of the ISO week of a DATE value.
func weekOf(days int32) time.Time {
	d := time.Unix(int64(days)*86400, 0).UTC()
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// value returns a numeric column's value as a float64 (decimals scaled).
func value(f sdk.Field, c *sdk.Column, row int) float64 {
	switch f.Type {
	case sdk.TypeFloat64:
		return c.Float64s[row]
	case sdk.TypeDecimal:
		return float64(c.Int64s[row]) / math.Pow10(int(f.Scale))
	}
	return float64(c.Int64s[row])
}
