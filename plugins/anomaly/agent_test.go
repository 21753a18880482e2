package anomaly_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/plugins/anomaly"
	"github.com/bedrot-label/bedrot/plugins/anomaly/detect"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

const mart = "curated.track_performance"

// martSchema is the part of curated.track_performance the agent reads,
// plus a column it does not.
var martSchema = sdk.Schema{Fields: []sdk.Field{
	{Name: "isrc", Type: sdk.TypeString},
	{Name: "title", Type: sdk.TypeString},
	{Name: "artist", Type: sdk.TypeString},
	{Name: "platform", Type: sdk.TypeString},
	{Name: "date", Type: sdk.TypeDate},
	{Name: "streams", Type: sdk.TypeInt64, Nullable: true},
	{Name: "views", Type: sdk.TypeInt64, Nullable: true},
	{Name: "likes", Type: sdk.TypeInt64, Nullable: true},
}}

// track is one track of a test lake: a Spotify and a TikTok synthetic
// series with their injected anomalies.
type track struct {
	isrc, title, artist string
	spotify, tiktok     detect.SynthOptions
}

// synthLake is a MemoryLake holding curated.track_performance built from
// detect.Synthetic series (365 days, anomalies injected per series), with
// the truth per series key (isrc/platform/metric). A missing Spotify day
// has no row (the mart has none); a missing TikTok day has a null views
// value (no comparable snapshot), as in the mart.
type synthLake struct {
	lake   *sdktest.MemoryLake
	series map[string]detect.Series
	truth  map[string][]detect.Anomaly
	points int64 // non-null metric values
}

func newSynthLake(tracks []track, anomalies int) *synthLake {
	sl := &synthLake{series: map[string]detect.Series{}, truth: map[string][]detect.Anomaly{}}
	b := sdk.NewBatchBuilder("track_performance", martSchema)
	var batches []*sdk.RecordBatch
	for i, tr := range tracks {
		for _, pl := range []struct {
			platform, metric string
			opts             detect.SynthOptions
		}{{"spotify", "streams", tr.spotify}, {"tiktok", "views", tr.tiktok}} {
			opts := pl.opts
			opts.Key = tr.isrc + "/" + pl.platform + "/" + pl.metric
			s, truth := detect.Synthetic(int64(100+2*i+len(pl.platform)%2), 365, anomalies, opts)
			sl.series[s.Key], sl.truth[s.Key] = s, truth
			for _, p := range s.Points {
				if p.Missing && pl.platform == "spotify" {
					continue
				}
				b.AppendString(0, []byte(tr.isrc))
				b.AppendString(1, []byte(tr.title))
				b.AppendString(2, []byte(tr.artist))
				b.AppendString(3, []byte(pl.platform))
				b.AppendInt32(4, sdk.DaysSinceEpoch(p.Date))
				value := func(col int) {
					if p.Missing {
						b.AppendNull(col)
					} else {
						b.AppendInt64(col, int64(p.Value))
						sl.points++
					}
				}
				if pl.platform == "spotify" {
					value(5)
					b.AppendNull(6)
					b.AppendNull(7)
				} else {
					b.AppendNull(5)
					value(6)
					b.AppendInt64(7, 3)
				}
				b.EndRow()
				if b.Len() == 2000 {
					batches = append(batches, cloneBatch(b.Batch()))
					b.Reset("track_performance", "")
				}
			}
		}
	}
	if b.Len() > 0 {
		batches = append(batches, b.Batch())
	}
	sl.lake = sdktest.NewMemoryLake().AddDataset(mart, martSchema, batches...)
	return sl
}

// cloneBatch keeps a batch a builder will reuse (AddDataset copies too, but
// only when the lake is built).
func cloneBatch(b *sdk.RecordBatch) *sdk.RecordBatch {
	c := *b
	c.Columns = make([]sdk.Column, len(b.Columns))
	for i, col := range b.Columns {
		c.Columns[i] = sdk.Column{Int64s: slices.Clone(col.Int64s), Int32s: slices.Clone(col.Int32s), Float64s: slices.Clone(col.Float64s),
			Bools: slices.Clone(col.Bools), Bytes: slices.Clone(col.Bytes), Offsets: slices.Clone(col.Offsets), Null: slices.Clone(col.Null)}
	}
	return &c
}

// barTracks are five tracks, ten series, from 60 to 50,000 a day, flat,
// growing and decaying.
var barTracks = []track{
	{"QZSYN2600001", "Night Drive", "Zed Bedrot", detect.SynthOptions{Base: 500}, detect.SynthOptions{Base: 3000, Trend: 1}},
	{"QZSYN2600002", "Glass | Water", "Ana Lys", detect.SynthOptions{Base: 5000, Trend: 1}, detect.SynthOptions{Base: 200}},
	{"QZSYN2600003", "Low Tide", "Zed Bedrot", detect.SynthOptions{Base: 50000, Trend: -0.5}, detect.SynthOptions{Base: 12000, Trend: -0.5}},
	{"QZSYN2600004", "Paper Moons", "Kiko", detect.SynthOptions{Base: 1200, Trend: 0.3}, detect.SynthOptions{Base: 60}},
	{"QZSYN2600005", "Static", "Ana Lys", detect.SynthOptions{Base: 20000}, detect.SynthOptions{Base: 800, Trend: 0.5}},
}

var titlePattern = regexp.MustCompile(`^(Spike|Drop) in (Spotify|TikTok) (streams|views) of (.+) \(([A-Z0-9]+)\) on (\d{4}-\d{2}-\d{2})$`)

// parsed is a finding as a user reads it from its knowledge entry's title.
type parsed struct {
	key       string // isrc/platform/metric
	direction detect.Direction
	date      time.Time
	title     string
}

func parseTitle(t *testing.T, title string) parsed {
	t.Helper()
	m := titlePattern.FindStringSubmatch(title)
	require.NotNil(t, m, "finding title %q is not `<Spike|Drop> in <Platform> <metric> of <title> (<isrc>) on <date>`", title)
	d, err := time.Parse(time.DateOnly, m[6])
	require.NoError(t, err)
	return parsed{key: m[5] + "/" + strings.ToLower(m[2]) + "/" + m[3], direction: detect.Direction(strings.ToLower(m[1])), date: d, title: m[4]}
}

// agent builds bedrot-agent-anomaly (once per test process) and launches it.
func agent(t *testing.T) *sdk.AgentClient {
	t.Helper()
	a, info := sdktest.LaunchAgent(t, plugintest.Build(t, "plugins/anomaly/cmd/bedrot-agent-anomaly"))
	require.Equal(t, "anomaly", info.Spec.Name)
	return a
}

// defaultZones are the zones the agent's Describe asks for.
var defaultZones = sdk.ZoneAccess{Read: []string{sdk.ZoneCurated, sdk.ZoneStaging, sdk.ZoneKnowledge}, Write: []string{sdk.ZoneSandbox, sdk.ZoneKnowledge}}

func run(t *testing.T, a *sdk.AgentClient, lake *sdktest.MemoryLake, task sdk.Task) (*sdktest.AgentRun, error) {
	t.Helper()
	if task.AgentID == "" {
		task.AgentID = "anomaly-1"
	}
	if task.Name == "" {
		task.Name = anomaly.TaskDetect
	}
	if task.Zones.Read == nil && task.Zones.Write == nil {
		task.Zones = defaultZones
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return sdktest.RunAgent(ctx, a, task, lake)
}

// TestAcceptance runs the SDK's acceptance test on the built binary.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	sl := newSynthLake(barTracks[:2], 10)
	sdktest.AgentAcceptanceTest(t, sdktest.AgentDriver{
		Binary: plugintest.Build(t, "plugins/anomaly/cmd/bedrot-agent-anomaly"),
		Cases: []sdktest.AgentCase{{
			Task: sdk.Task{Name: anomaly.TaskDetect, Params: map[string]string{},
				Context: &sdk.AgentContext{AgentID: "trends-1", SessionID: "s-0", Outputs: []string{"sandbox/trends-1/s-0/trends/curated.track_performance.md"}}},
			Lake: sl.lake,
			Check: func(t *testing.T, run *sdktest.AgentRun) {
				require.Len(t, run.Outputs, 1)
				require.Equal(t, "sandbox/acceptance-agent/acceptance-detect/anomaly/acceptance-detect/report.md", run.Outputs[0].Key)
				require.NotEmpty(t, run.Knowledge)
				c := run.Final.Context
				require.Equal(t, []string{"sandbox/trends-1/s-0/trends/curated.track_performance.md", mart}, c.Dependencies)
				require.Equal(t, sl.points, c.Metrics.RecordsProcessed)
				require.Equal(t, []string{run.Outputs[0].Key}, c.Outputs)
			},
		}},
	})
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	info, err := agent(t).Describe(context.Background())
	require.NoError(t, err)
	require.Equal(t, "anomaly", info.Type)
	require.Equal(t, "0.1.0", info.Version)
	require.Equal(t, defaultZones, info.Zones)
	require.Subset(t, info.Capabilities, []string{"spike_detection", "drop_detection", "artificial_streaming"})
	task, ok := info.Task("detect")
	require.True(t, ok)
	params := map[string]sdk.Param{}
	for _, p := range task.Params {
		params[p.Name] = p
		require.False(t, p.Required, "%s has a default or is optional", p.Name)
	}
	require.Equal(t, mart, params["dataset"].Default)
	require.Equal(t, "streams,views", params["metrics"].Default)
	require.Contains(t, params, "since")
	require.Contains(t, params, "threshold")
}

// TestBar holds the agent, end to end through the plugin protocol, to the
// issue's bar: on synthetic 365-day series with 30 injected anomalies each
// (five tracks on Spotify and TikTok, ten series), the findings it emits
// cover at least 95% of the anomalies with at most 5% of them false (as
// detect.Evaluate scores them). It then checks the rest of a run: the
// report in the sandbox, the entries' shape, the next steps and context;
// and that a second run handed the first run's knowledge reports nothing.
func TestBar(t *testing.T) {
	t.Parallel()
	sl := newSynthLake(barTracks, 30)
	a := agent(t)
	first, err := run(t, a, sl.lake, sdk.Task{SessionID: "s-1", Params: map[string]string{}})
	require.NoError(t, err, "lake refused: %v", sl.lake.Denials())
	require.Empty(t, sl.lake.Denials())

	// Score what a user sees: the findings' titles.
	found := map[string][]detect.Finding{}
	directions := map[string]map[time.Time]detect.Direction{}
	for _, k := range first.Knowledge {
		p := parseTitle(t, k.Title)
		require.Contains(t, sl.series, p.key, "a finding for a series that does not exist (views on Spotify?)")
		found[p.key] = append(found[p.key], detect.Finding{Key: p.key, Date: p.date, Direction: p.direction})
		if directions[p.key] == nil {
			directions[p.key] = map[time.Time]detect.Direction{}
		}
		directions[p.key][p.date] = p.direction
		// The entry's shape.
		require.Equal(t, sdk.KnowledgeFinding, k.Kind)
		platform := strings.Split(p.key, "/")[1]
		require.Equal(t, []string{"anomaly", string(p.direction), platform}, k.Tags)
		require.Equal(t, []string{mart}, k.Datasets)
		require.GreaterOrEqual(t, k.Confidence, 0.5)
		require.LessOrEqual(t, k.Confidence, 0.99)
		require.Contains(t, k.Body, "robust deviations")
		require.Contains(t, k.Body, "What to do:")
		if platform == "spotify" && p.direction == detect.Spike {
			require.Contains(t, k.Body, "Spotify for Artists (S4A)")
			require.Contains(t, k.Body, "DistroKid")
			require.Contains(t, k.Body, "contact the distributor")
		}
	}
	var total detect.Evaluation
	for _, key := range slicesSorted(sl.series) {
		e := detect.Evaluate(sl.series[key], sl.truth[key], found[key])
		t.Logf("%-30s %v", key, e)
		total = total.Plus(e)
		for _, an := range sl.truth[key] {
			for day, dir := range directions[key] {
				if an.Contains(day) {
					require.Equal(t, an.Direction, dir, "%s on %s: direction", key, day.Format(time.DateOnly))
				}
			}
		}
	}
	t.Logf("through the agent, 10 series: %v", total)
	require.Equal(t, 300, total.Anomalies)
	require.GreaterOrEqual(t, total.Recall(), 0.95, "recall")
	require.LessOrEqual(t, total.FalseAlarmRate(), 0.05, "false findings / all findings")

	// The report lands in the sandbox and lists every finding.
	require.Len(t, first.Outputs, 1)
	out := first.Outputs[0]
	require.Equal(t, sdk.ZoneSandbox, out.Zone)
	require.Equal(t, "sandbox/anomaly-1/s-1/anomaly/s-1/report.md", out.Key)
	report, ok := sl.lake.Object(out.Key)
	require.True(t, ok)
	require.Equal(t, int64(len(report)), out.Bytes)
	doc := string(report)
	require.Contains(t, doc, "# Anomalies in curated.track_performance")
	require.Contains(t, doc, fmt.Sprintf("**%d new findings**", len(first.Knowledge)))
	require.Contains(t, doc, "in 10 series")
	require.Contains(t, doc, "medium alert")
	require.Contains(t, doc, `Glass \| Water`, "a title with a pipe is escaped in the table")
	for _, k := range first.Knowledge {
		require.Contains(t, doc, "### "+k.Title)
		require.Contains(t, k.Body, "report `"+out.Key+"`", "the finding points to the report")
	}

	// Next steps and the context hand-off.
	steps := make([]string, len(first.NextSteps))
	for i, s := range first.NextSteps {
		steps[i] = s.String()
	}
	require.Equal(t, []string{"notify:data_quality_team", "validate_schema:curated.track_performance", "run_agent:trends"}, steps)
	c := first.Final.Context
	require.Equal(t, steps, c.NextSteps)
	require.Equal(t, []string{out.Key}, c.Outputs)
	require.Equal(t, sl.points, c.Metrics.RecordsProcessed)
	// data_quality_score is 1 - anomalous days / present days; the
	// injected anomalies cover about one day in eight.
	var anomalousDays int
	for _, truth := range sl.truth {
		for _, an := range truth {
			anomalousDays += an.Days
		}
	}
	require.InDelta(t, 1-float64(anomalousDays)/float64(sl.points), c.Metrics.DataQualityScore, 0.01)
	require.Contains(t, c.ContextNotes, fmt.Sprintf("%d new findings", len(first.Knowledge)))

	t.Run("a second run with the first run's knowledge re-reports nothing", func(t *testing.T) {
		t.Parallel()
		second, err := run(t, a, sl.lake, sdk.Task{SessionID: "s-2", Params: map[string]string{}, Knowledge: first.Knowledge,
			Context: &c})
		require.NoError(t, err)
		require.Empty(t, second.Knowledge)
		require.Empty(t, second.NextSteps)
		c2 := second.Final.Context
		require.Contains(t, c2.ContextNotes, fmt.Sprintf("%d findings already in knowledge were not re-reported", len(first.Knowledge)))
		require.Equal(t, []string{out.Key, mart}, c2.Dependencies)
		report, ok := sl.lake.Object("sandbox/anomaly-1/s-2/anomaly/s-2/report.md")
		require.True(t, ok)
		require.Contains(t, string(report), "**0 new findings**")
		require.Contains(t, string(report), "## Already reported")
	})
	t.Run("findings already in the knowledge base are not re-reported either", func(t *testing.T) {
		t.Parallel()
		lake := newSynthLake(barTracks, 30).lake
		// As the host stores them: with ids and an author.
		for i, k := range first.Knowledge {
			k.ID, k.Author = fmt.Sprintf("k-%d", i+1), "anomaly-1"
			lake.SeedKnowledge(k)
		}
		third, err := run(t, a, lake, sdk.Task{SessionID: "s-3", Params: map[string]string{}})
		require.NoError(t, err)
		require.Empty(t, third.Knowledge)
	})
}

func slicesSorted(m map[string]detect.Series) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestSinceAndThreshold(t *testing.T) {
	t.Parallel()
	sl := newSynthLake(barTracks[:2], 30)
	a := agent(t)
	all, err := run(t, a, sl.lake, sdk.Task{SessionID: "all", Params: map[string]string{}})
	require.NoError(t, err)
	since := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	later, err := run(t, a, sl.lake, sdk.Task{SessionID: "since", Params: map[string]string{"since": "2025-07-01"}})
	require.NoError(t, err)
	var want []string
	for _, k := range all.Knowledge {
		if !parseTitle(t, k.Title).date.Before(since) {
			want = append(want, k.Title)
		}
	}
	var got []string
	for _, k := range later.Knowledge {
		got = append(got, k.Title)
	}
	require.NotEmpty(t, want)
	require.Less(t, len(want), len(all.Knowledge))
	require.Equal(t, want, got, "since cuts the findings, not the baseline: the later findings are the same")
	require.Equal(t, all.Final.Context.Metrics.RecordsProcessed, later.Final.Context.Metrics.RecordsProcessed)

	strict, err := run(t, a, sl.lake, sdk.Task{SessionID: "strict", Params: map[string]string{"threshold": "12"}})
	require.NoError(t, err)
	require.Less(t, len(strict.Knowledge), len(all.Knowledge), "a higher threshold flags fewer days")
	only, err := run(t, a, sl.lake, sdk.Task{SessionID: "streams", Params: map[string]string{"metrics": "streams"}})
	require.NoError(t, err)
	require.NotEmpty(t, only.Knowledge)
	for _, k := range only.Knowledge {
		require.True(t, strings.HasSuffix(parseTitle(t, k.Title).key, "/spotify/streams"), k.Title)
	}
}

func TestQuietDataRaisesNothing(t *testing.T) {
	t.Parallel()
	sl := newSynthLake([]track{{"QZSYN2600009", "Calm", "Kiko",
		detect.SynthOptions{Base: 2000, WeekendLift: -1, Noise: 0.05}, detect.SynthOptions{Base: 2000, Noise: 0.05}}}, 0)
	r, err := run(t, agent(t), sl.lake, sdk.Task{SessionID: "quiet", Params: map[string]string{}})
	require.NoError(t, err)
	require.Empty(t, r.Knowledge)
	require.Empty(t, r.NextSteps)
	require.Equal(t, 1.0, r.Final.Context.Metrics.DataQualityScore)
	require.Contains(t, r.Final.Context.ContextNotes, "No new spikes or drops")
	report, ok := sl.lake.Object(r.Outputs[0].Key)
	require.True(t, ok)
	require.Contains(t, string(report), "Nothing new to report")
}

func TestRefusedAndBadTasks(t *testing.T) {
	t.Parallel()
	a := agent(t)
	t.Run("a denied report write fails with a clear error", func(t *testing.T) {
		t.Parallel()
		sl := newSynthLake(barTracks[:1], 10)
		_, err := run(t, a, sl.lake, sdk.Task{SessionID: "denied", Params: map[string]string{},
			Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneCurated}, Write: []string{sdk.ZoneKnowledge}}})
		require.Error(t, err)
		require.True(t, errors.Is(err, sdk.ErrPermissionDenied), "%v", err)
		require.ErrorContains(t, err, "failed to write the anomaly report to sandbox/anomaly/denied/report.md")
		require.ErrorContains(t, err, "assign the agent the sandbox zone for writing")
		require.Len(t, sl.lake.Denials(), 1)
		require.Contains(t, sl.lake.Denials()[0], "may write zones [knowledge], not sandbox")
		require.Empty(t, sl.lake.Objects())
	})
	t.Run("without the knowledge zone the findings are only in the report", func(t *testing.T) {
		t.Parallel()
		sl := newSynthLake(barTracks[:1], 10)
		r, err := run(t, a, sl.lake, sdk.Task{SessionID: "noknow", Params: map[string]string{},
			Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneCurated}, Write: []string{sdk.ZoneSandbox}}})
		require.NoError(t, err)
		require.Empty(t, sl.lake.Denials())
		require.Empty(t, r.Knowledge)
		require.NotEmpty(t, r.NextSteps)
		require.True(t, slices.ContainsFunc(r.Logs, func(l sdk.LogMessage) bool {
			return strings.Contains(l.Message, "may not write the knowledge zone")
		}), "a warning says where the findings went")
		report, ok := sl.lake.Object(r.Outputs[0].Key)
		require.True(t, ok)
		require.Contains(t, string(report), "## New findings")
		require.Contains(t, string(report), "only in this report")
	})
	t.Run("a denied read fails with a clear error", func(t *testing.T) {
		t.Parallel()
		sl := newSynthLake(barTracks[:1], 10)
		_, err := run(t, a, sl.lake, sdk.Task{SessionID: "noread", Params: map[string]string{},
			Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneStaging}, Write: []string{sdk.ZoneSandbox}}})
		require.True(t, errors.Is(err, sdk.ErrPermissionDenied), "%v", err)
		require.ErrorContains(t, err, "failed to read curated.track_performance")
		require.ErrorContains(t, err, "assign the agent the curated zone for reading")
	})
	t.Run("an unknown dataset", func(t *testing.T) {
		t.Parallel()
		_, err := run(t, a, sdktest.NewMemoryLake(), sdk.Task{SessionID: "nodata", Params: map[string]string{}})
		require.True(t, errors.Is(err, sdk.ErrNotFound), "%v", err)
		require.ErrorContains(t, err, "set the task's dataset parameter to an existing dataset")
	})
	cases := map[string]struct {
		params map[string]string
		want   string
	}{
		"bad since":         {map[string]string{"since": "last week"}, `since "last week" must be a day written YYYY-MM-DD`},
		"bad threshold":     {map[string]string{"threshold": "-2"}, `threshold "-2" must be a positive number`},
		"bad metric name":   {map[string]string{"metrics": "streams;drop table"}, `is not a column name`},
		"no such metric":    {map[string]string{"metrics": "plays"}, `no column "plays"`},
		"metric not counts": {map[string]string{"metrics": "title"}, `metric title is string`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sl := newSynthLake(barTracks[:1], 10)
			_, err := run(t, a, sl.lake, sdk.Task{SessionID: "bad", Params: tc.params})
			require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "%v", err)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestMartQuirks feeds rows the mart should not have but a hand-made
// dataset may: dates as text, a day split over two rows (summed), a
// negative count (treated as missing) and a row without a date (skipped).
func TestMartQuirks(t *testing.T) {
	t.Parallel()
	schema := sdk.Schema{Fields: []sdk.Field{
		{Name: "isrc", Type: sdk.TypeString}, {Name: "title", Type: sdk.TypeString}, {Name: "artist", Type: sdk.TypeString},
		{Name: "platform", Type: sdk.TypeString}, {Name: "date", Type: sdk.TypeString}, {Name: "streams", Type: sdk.TypeFloat64, Nullable: true},
	}}
	s, truth := detect.Synthetic(7, 150, 3, detect.SynthOptions{Base: 3000, MissingRate: -1})
	b := sdk.NewBatchBuilder("quirks", schema)
	row := func(date string, v float64) {
		for i, x := range []string{"QZSYN2600007", "Split", "Kiko", "Spotify", date} {
			b.AppendString(i, []byte(x))
		}
		b.AppendFloat64(5, v)
		b.EndRow()
	}
	split := s.Points[100]
	require.False(t, truth[0].Contains(split.Date) || truth[1].Contains(split.Date) || truth[2].Contains(split.Date))
	for i, p := range s.Points {
		d := p.Date.Format(time.DateOnly)
		switch i {
		case 100:
			row(d, p.Value/2)
			row(d, p.Value-p.Value/2)
		case 110:
			row(d, -5)
		default:
			row(d, p.Value)
		}
	}
	row("not a date", 1e9)
	lake := sdktest.NewMemoryLake().AddDataset("staging.quirks", schema, b.Batch())
	r, err := run(t, agent(t), lake, sdk.Task{SessionID: "quirks", Params: map[string]string{"dataset": "staging.quirks", "metrics": "streams"}})
	require.NoError(t, err)
	var fs []detect.Finding
	for _, k := range r.Knowledge {
		p := parseTitle(t, k.Title)
		require.Equal(t, "QZSYN2600007/spotify/streams", p.key, "the platform is matched case-insensitively")
		fs = append(fs, detect.Finding{Date: p.date})
	}
	e := detect.Evaluate(s, truth, fs)
	require.Equal(t, 3, e.Hits, "%v", e)
	require.Zero(t, e.FalseFindings, "%v", e)
	require.Equal(t, int64(150-1+1), r.Final.Context.Metrics.RecordsProcessed, "values read: not the negative one, both of the split day's")
	report, _ := lake.Object(r.Outputs[0].Key)
	require.Contains(t, string(report), "1 series-days had several rows (summed), 1 rows lacked an isrc, platform or readable date, 1 values were negative or not finite")
}
