package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

var metricsSchema = sdk.Schema{Fields: []sdk.Field{
	{Name: "date", Type: sdk.TypeDate},
	{Name: "video_id", Type: sdk.TypeString},
	{Name: "views", Type: sdk.TypeInt64},
	{Name: "likes", Type: sdk.TypeInt64, Nullable: true},
}}

// metricsLake holds two weeks of daily TikTok metrics: 100 views a day in
// the week of 2026-03-02, 150 a day in the week of 2026-03-09 (+50%), and
// one missing likes value.
func metricsLake() *sdktest.MemoryLake {
	b := sdk.NewBatchBuilder("tiktok_daily_metrics", metricsSchema)
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for day := 0; day < 14; day++ {
		views := int64(100)
		if day >= 7 {
			views = 150
		}
		b.AppendInt32(0, int32(start.AddDate(0, 0, day).Unix()/86400))
		b.AppendString(1, []byte("v1"))
		b.AppendInt64(2, views)
		if day == 3 {
			b.AppendNull(3)
		} else {
			b.AppendInt64(3, 10)
		}
		b.EndRow()
	}
	return sdktest.NewMemoryLake().AddDataset("staging.tiktok_daily_metrics", metricsSchema, b.Batch())
}

// TestAcceptance builds this plugin and runs the SDK's acceptance test on it,
// as a third-party author would.
func TestAcceptance(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bedrot-agent-trends")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	lake := metricsLake()
	sdktest.AgentAcceptanceTest(t, sdktest.AgentDriver{
		Binary: bin,
		Cases: []sdktest.AgentCase{{
			Task: sdk.Task{Name: "summarize", Params: map[string]string{"dataset": "staging.tiktok_daily_metrics"},
				Context: &sdk.AgentContext{AgentID: "ingest-tiktok", SessionID: "s-0", Outputs: []string{"raw.tiktok.daily"}}},
			Lake: lake,
			Check: func(t *testing.T, run *sdktest.AgentRun) {
				if len(run.Outputs) != 1 {
					t.Fatalf("want one report, got %+v", run.Outputs)
				}
				report, _ := lake.Object(run.Outputs[0].Key)
				for _, want := range []string{"# Trends: staging.tiktok_daily_metrics", "| views | 14 | 0 | 100 | 150 | 125.00 | 1050 | 700 | +50.0% |", "Null cells: 1 of 56"} {
					if !strings.Contains(string(report), want) {
						t.Errorf("report lacks %q:\n%s", want, report)
					}
				}
				if len(run.Knowledge) != 1 || run.Knowledge[0].Title != "staging.tiktok_daily_metrics views +50.0% week over week" {
					t.Errorf("want one finding about views, got %+v", run.Knowledge)
				}
				c := run.Final.Context
				if got := strings.Join(c.NextSteps, " "); got != "run_agent:anomaly notify:data_quality_team" {
					t.Errorf("next steps %q", got)
				}
				if strings.Join(c.Dependencies, " ") != "raw.tiktok.daily staging.tiktok_daily_metrics" || c.Metrics.RecordsProcessed != 14 {
					t.Errorf("context %+v", c)
				}
				if q := c.Metrics.DataQualityScore; q < 0.98 || q > 0.983 {
					t.Errorf("data quality score %v, want 55/56", q)
				}
			},
		}},
	})
}
