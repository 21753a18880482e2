// Package anomaly is the reference anomaly-detection agent of BEDROT, served
// as the plugin binary bedrot-agent-anomaly. Its task "detect" reads daily
// streams and views per track and platform (by default the mart
// curated.track_performance), judges every (track, platform, metric) series
// with the robust, weekday-aware detector of package detect, and for every
// spike or drop it has not reported before:
//
//   - contributes a knowledge entry of kind "finding" (tags anomaly,
//     spike|drop and the platform) that says what happened, by how much,
//     and what to do about it (S4A playlist sources, DistroKid, the
//     distributor); the host raises a medium alert from findings;
//   - lists it in a Markdown report written to the sandbox
//     (anomaly/<session>/report.md) and emitted as an output;
//   - proposes next steps: notify:data_quality_team and
//     validate_schema:<dataset>, and run_agent:trends after a spike.
//
// A finding already in the knowledge the host hands the task (or that the
// agent finds in the knowledge base) is not reported again, so scheduled
// runs over a growing history report each anomaly once.
package anomaly

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/anomaly/detect"
	"github.com/bedrot-label/bedrot/sdk"
)

// Agent identity and the task it accepts.
const (
	// AgentType is the agent's registry type; other agents hand off to it
	// with run_agent:anomaly.
	AgentType = "anomaly"
	// Version is the agent's version.
	Version = "0.1.0"
	// TaskDetect is the one task: find spikes and drops in a dataset.
	TaskDetect = "detect"
	// DefaultDataset is the dataset read when the task names none.
	DefaultDataset = "curated.track_performance"
	// DefaultMetrics are the measures judged when the task names none.
	DefaultMetrics = "streams,views"
	// Tag marks every knowledge entry the agent contributes.
	Tag = "anomaly"
)

// Task parameters of TaskDetect.
const (
	ParamDataset   = "dataset"
	ParamMetrics   = "metrics"
	ParamSince     = "since"
	ParamThreshold = "threshold"
)

// Spec returns the plugin's spec (the binary is bedrot-agent-anomaly).
func Spec() sdk.Spec {
	return sdk.Spec{
		Name:        AgentType,
		Version:     Version,
		Description: "Flags spikes and drops in daily streams and views per track and platform (robust median/MAD over a weekly pattern), to spot artificial streaming, takedowns and outages.",
		Author:      "BEDROT",
	}
}

// New returns the agent; it is the sdk.Plugin NewAgent constructor.
func New() sdk.Agent { return Agent{} }

// Agent is the anomaly agent. It keeps no state between runs: what it has
// reported lives in the knowledge base.
type Agent struct{ sdk.UnimplementedAgent }

// Describe says what the agent does and which zones and task it needs.
func (Agent) Describe(context.Context) (sdk.AgentInfo, error) {
	return sdk.AgentInfo{
		Type:        AgentType,
		Version:     Version,
		Description: Spec().Description,
		Capabilities: []string{"spike_detection", "drop_detection", "artificial_streaming", "seasonality_aware",
			"read_dataset", "write_report", "add_knowledge"},
		Zones: sdk.ZoneAccess{
			Read:  []string{sdk.ZoneCurated, sdk.ZoneStaging, sdk.ZoneKnowledge},
			Write: []string{sdk.ZoneSandbox, sdk.ZoneKnowledge},
		},
		Tasks: []sdk.TaskSpec{{
			Name: TaskDetect,
			Description: "Judge every track's daily series per platform and metric against its own recent history " +
				"(trend, weekday pattern, robust noise scale) and report each new spike or drop.",
			Params: []sdk.Param{
				{Name: ParamDataset, Default: DefaultDataset,
					Description: "dataset to read; it needs the columns isrc, title, artist, platform, date and the metrics (the shape of curated.track_performance)"},
				{Name: ParamMetrics, Default: DefaultMetrics,
					Description: "comma-separated daily count columns to judge, e.g. streams,views; a null value is a day without data"},
				{Name: ParamSince,
					Description: "report only findings on or after this day (YYYY-MM-DD); earlier days still form the baseline"},
				{Name: ParamThreshold,
					Description: "robust deviations a day must sit from its expected value to be flagged (default 4.5; lower finds more, with more false alarms)"},
			},
		}},
	}, nil
}

// config is a detect task's parameters, checked.
type config struct {
	dataset string
	metrics []string
	since   time.Time // zero: no cut
	opts    detect.Options
}

var metricPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseConfig checks the task's parameters.
func parseConfig(p map[string]string) (config, error) {
	c := config{dataset: strings.TrimSpace(p[ParamDataset])}
	if c.dataset == "" {
		c.dataset = DefaultDataset
	}
	metrics := p[ParamMetrics]
	if strings.TrimSpace(metrics) == "" {
		metrics = DefaultMetrics
	}
	for _, m := range strings.Split(metrics, ",") {
		m = strings.TrimSpace(m)
		if !metricPattern.MatchString(m) {
			return c, sdk.ConfigError(fmt.Errorf("metrics %q: %q is not a column name; give comma-separated count columns such as %s", metrics, m, DefaultMetrics))
		}
		if !slices.Contains(c.metrics, m) {
			c.metrics = append(c.metrics, m)
		}
	}
	if s := strings.TrimSpace(p[ParamSince]); s != "" {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return c, sdk.ConfigError(fmt.Errorf("since %q must be a day written YYYY-MM-DD, e.g. 2026-01-01", s))
		}
		c.since = d
	}
	if s := strings.TrimSpace(p[ParamThreshold]); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return c, sdk.ConfigError(fmt.Errorf("threshold %q must be a positive number of robust deviations, e.g. 4.5", s))
		}
		c.opts.Threshold = v
	}
	return c, nil
}

// series is one (track, platform, metric) daily series as read.
type series struct {
	isrc, title, artist, platform, metric string
	days                                  map[int32]*day
}

// day is one series' readings for one UTC day (rows summed).
type day struct {
	sum     float64
	values  int // non-null values read
	rows    int
	invalid int // negative or non-finite values, treated as missing
}

func (s *series) key() string { return s.isrc + "/" + s.platform + "/" + s.metric }

// toDetect returns the series for the detector: present days with their
// sum, the rest missing.
func (s *series) toDetect() detect.Series {
	out := detect.Series{Key: s.key(), Points: make([]detect.Point, 0, len(s.days))}
	for _, n := range slices.Sorted(maps.Keys(s.days)) {
		d := s.days[n]
		p := detect.Point{Date: dateOf(n)}
		if d.values == 0 || d.invalid > 0 {
			p.Missing = true
		} else {
			p.Value = d.sum
		}
		out.Points = append(out.Points, p)
	}
	return out
}

func dateOf(days int32) time.Time { return time.Unix(int64(days)*86400, 0).UTC() }

// readStats counts what was read.
type readStats struct {
	rows, points, duplicates, invalid, badRows int64
}

// readSeries reads the dataset and groups it into series, sorted by key.
func readSeries(ctx context.Context, lake sdk.Lake, c config, out sdk.AgentEmitter) ([]*series, readStats, error) {
	var st readStats
	cols := append([]string{"isrc", "title", "artist", "platform", "date"}, c.metrics...)
	r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: c.dataset, Columns: cols})
	if err != nil {
		return nil, st, readError(c, err)
	}
	defer r.Close()
	schema := r.Schema()
	idx := make([]int, len(cols))
	for i, name := range cols {
		if idx[i] = schema.Index(name); idx[i] < 0 {
			return nil, st, sdk.ConfigError(fmt.Errorf("dataset %s has no column %q; the anomaly agent needs %s", c.dataset, name, strings.Join(cols, ", ")))
		}
	}
	for i, name := range cols {
		f := schema.Fields[idx[i]]
		switch {
		case i < 4 && f.Type != sdk.TypeString:
			return nil, st, sdk.ConfigError(fmt.Errorf("dataset %s: column %s is %s; the anomaly agent needs a string", c.dataset, name, f.Type))
		case i == 4 && f.Type != sdk.TypeDate && f.Type != sdk.TypeTimestamp && f.Type != sdk.TypeString:
			return nil, st, sdk.ConfigError(fmt.Errorf("dataset %s: column date is %s; the anomaly agent needs a date", c.dataset, f.Type))
		case i >= 5 && f.Type != sdk.TypeInt64 && f.Type != sdk.TypeFloat64 && f.Type != sdk.TypeDecimal:
			return nil, st, sdk.ConfigError(fmt.Errorf("dataset %s: metric %s is %s; judge only daily count columns (int64, float64 or decimal)", c.dataset, name, f.Type))
		}
	}
	byKey := map[string]*series{}
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, st, readError(c, err)
		}
		col := func(i int) *sdk.Column { return &b.Columns[idx[i]] }
		for row := range b.NumRows {
			st.rows++
			if col(0).IsNull(row) || col(3).IsNull(row) || col(4).IsNull(row) {
				st.badRows++
				continue
			}
			dayNo, ok := dayOf(schema.Fields[idx[4]], col(4), row)
			if !ok {
				st.badRows++
				continue
			}
			isrc := strings.TrimSpace(col(0).String(row))
			platform := strings.ToLower(strings.TrimSpace(col(3).String(row)))
			for m, metric := range c.metrics {
				k := isrc + "/" + platform + "/" + metric
				s := byKey[k]
				if s == nil {
					s = &series{isrc: isrc, platform: platform, metric: metric, days: map[int32]*day{}}
					byKey[k] = s
				}
				if s.title == "" && !col(1).IsNull(row) {
					s.title = col(1).String(row)
				}
				if s.artist == "" && !col(2).IsNull(row) {
					s.artist = col(2).String(row)
				}
				d := s.days[dayNo]
				if d == nil {
					d = &day{}
					s.days[dayNo] = d
				}
				d.rows++
				if d.rows == 2 {
					st.duplicates++
				}
				c := col(5 + m)
				if c.IsNull(row) {
					continue
				}
				v := numeric(schema.Fields[idx[5+m]], c, row)
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					d.invalid++
					st.invalid++
					continue
				}
				d.sum += v
				d.values++
				st.points++
			}
		}
		out.Progress(st.rows, 0, "rows")
	}
	var all []*series
	for _, s := range byKey {
		for d := range maps.Values(s.days) {
			if d.values > 0 {
				all = append(all, s) // a series with no value at all (views on Spotify) is not one
				break
			}
		}
	}
	slices.SortFunc(all, func(a, b *series) int { return strings.Compare(a.key(), b.key()) })
	return all, st, nil
}

// readError says what to do about a failed read.
func readError(c config, err error) error {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return fmt.Errorf("failed to read %s: %w; set the task's dataset parameter to an existing dataset (default %s)", c.dataset, err, DefaultDataset)
	case errors.Is(err, sdk.ErrPermissionDenied):
		return fmt.Errorf("failed to read %s: %w; assign the agent the %s zone for reading", c.dataset, err, zoneOf(c.dataset))
	}
	return fmt.Errorf("failed to read %s: %w", c.dataset, err)
}

func zoneOf(dataset string) string {
	z, _, _ := strings.Cut(dataset, ".")
	return z
}

// dayOf reads a date cell as days since 1970-01-01.
func dayOf(f sdk.Field, c *sdk.Column, row int) (int32, bool) {
	switch f.Type {
	case sdk.TypeDate:
		return c.Int32s[row], true
	case sdk.TypeTimestamp:
		return int32(math.Floor(float64(c.Int64s[row]) / 86400e6)), true
	default:
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(c.String(row)))
		if err != nil {
			return 0, false
		}
		return sdk.DaysSinceEpoch(t), true
	}
}

// numeric reads a count cell.
func numeric(f sdk.Field, c *sdk.Column, row int) float64 {
	switch f.Type {
	case sdk.TypeFloat64:
		return c.Float64s[row]
	case sdk.TypeDecimal:
		return float64(c.Int64s[row]) / math.Pow10(int(f.Scale))
	}
	return float64(c.Int64s[row])
}

// report is one finding of the run, with its series.
type report struct {
	s     *series
	f     detect.Finding
	title string
	known bool // already in knowledge: not reported again
}

// Run runs the detect task.
func (Agent) Run(ctx context.Context, task sdk.Task, lake sdk.Lake, out sdk.AgentEmitter) error {
	c, err := parseConfig(task.Params)
	if err != nil {
		return err
	}
	if _, err := detect.NewDetector("check", c.opts); err != nil {
		return sdk.ConfigError(err)
	}
	all, st, err := readSeries(ctx, lake, c, out)
	if err != nil {
		return err
	}
	out.Log(sdk.LevelInfo, "read dataset", "dataset", c.dataset, "rows", st.rows, "points", st.points, "series", len(all))
	if st.duplicates > 0 {
		out.Log(sdk.LevelWarn, "several rows for one track, platform and day were summed", "dataset", c.dataset, "days", st.duplicates)
	}
	if st.invalid > 0 || st.badRows > 0 {
		out.Log(sdk.LevelWarn, "rows without isrc, platform or a readable date, and negative or non-finite counts, were skipped", "rows", st.badRows, "values", st.invalid)
	}

	known := knownFindings(ctx, task, lake, out)
	var found []report
	var presentDays, anomalousDays int64
	seriesWithFindings := 0
	for i, s := range all {
		ds := s.toDetect()
		opts := c.opts
		opts.Metric = s.metric
		fs, err := detect.Detect(ds, opts)
		if err != nil {
			return fmt.Errorf("failed to judge %s of %s: %w", s.metric, s.key(), err)
		}
		for _, p := range ds.Points {
			if !p.Missing && !p.Date.Before(c.since) {
				presentDays++
			}
		}
		flagged := false
		for _, f := range fs {
			if f.Date.Before(c.since) {
				continue
			}
			flagged = true
			anomalousDays += int64(f.Days)
			rep := report{s: s, f: f, title: findingTitle(s, f)}
			rep.known = known.has(s, f.Date)
			found = append(found, rep)
		}
		if flagged {
			seriesWithFindings++
		}
		out.Progress(int64(i+1), int64(len(all)), "series")
	}
	var fresh, skipped []report
	spikes := 0
	for _, r := range found {
		if r.known {
			skipped = append(skipped, r)
			continue
		}
		fresh = append(fresh, r)
		if r.f.Direction == detect.Spike {
			spikes++
		}
	}
	quality := 1.0
	if presentDays > 0 {
		quality = math.Max(0, 1-float64(anomalousDays)/float64(presentDays))
	}

	// The report, then the findings that point to it.
	key := "anomaly/" + safeSegment(task.SessionID) + "/report.md"
	canKnow := task.Zones.CanWrite(sdk.ZoneKnowledge)
	doc := renderReport(task, c, all, st, fresh, skipped, quality, canKnow)
	obj, err := lake.PutObject(ctx, sdk.ZoneSandbox, key, "text/markdown", bytes.NewReader(doc))
	if err != nil {
		if errors.Is(err, sdk.ErrPermissionDenied) {
			return fmt.Errorf("failed to write the anomaly report to %s/%s: %w; assign the agent the %s zone for writing (its Describe asks for it)",
				sdk.ZoneSandbox, key, err, sdk.ZoneSandbox)
		}
		return fmt.Errorf("failed to write the anomaly report to %s/%s: %w", sdk.ZoneSandbox, key, err)
	}
	if err := out.Output(sdk.AgentOutput{Zone: obj.Zone, Key: obj.Key, Bytes: obj.Size,
		Description: fmt.Sprintf("anomaly report for %s: %d new findings in %d series", c.dataset, len(fresh), len(all))}); err != nil {
		return err
	}

	if !canKnow && len(fresh) > 0 {
		out.Log(sdk.LevelWarn, "the task may not write the knowledge zone: findings are only in the report", "report", obj.Key, "findings", len(fresh))
	}
	for _, r := range fresh {
		out.Log(sdk.LevelInfo, "anomaly", "series", r.s.key(), "date", r.f.Date.Format(time.DateOnly),
			"direction", string(r.f.Direction), "score", math.Round(r.f.Score*10)/10, "severity", string(r.f.Severity))
		if !canKnow {
			continue
		}
		if err := out.Knowledge(knowledgeEntry(c, r, obj.Key)); err != nil {
			return err
		}
	}

	if len(fresh) > 0 {
		steps := []sdk.NextStep{
			{Action: sdk.ActionNotify, Target: "data_quality_team",
				Reason: fmt.Sprintf("%d new spikes or drops in %s (report %s)", len(fresh), c.dataset, obj.Key)},
			{Action: sdk.ActionValidateSchema, Target: c.dataset,
				Reason: "rule out a loading or join problem before treating the anomalies as real"},
		}
		if spikes > 0 {
			steps = append(steps, sdk.NextStep{Action: sdk.ActionRunAgent, Target: "trends",
				Reason: fmt.Sprintf("%d spikes: see whether they moved the week-over-week trend", spikes)})
		}
		for _, s := range steps {
			if err := out.NextStep(s); err != nil {
				return err
			}
		}
	}

	ctxOut := task.NewContext()
	ctxOut.Dependencies = append(ctxOut.Dependencies, c.dataset)
	ctxOut.Metrics.RecordsProcessed = st.points
	ctxOut.Metrics.DataQualityScore = quality
	ctxOut.ContextNotes = notes(c, all, st, fresh, skipped, spikes, seriesWithFindings, quality, obj.Key)
	return out.Final(ctxOut)
}

// safeSegment makes a session id usable as one key segment.
func safeSegment(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
	if s == "" || s == "." || s == ".." {
		return "session"
	}
	return s
}

// knownSet holds findings already in knowledge.
type knownSet []sdk.KnowledgeEntry

// knownFindings gathers the anomaly findings the task was handed and, when
// the task may read knowledge, those in the knowledge base.
func knownFindings(ctx context.Context, task sdk.Task, lake sdk.Lake, out sdk.AgentEmitter) knownSet {
	var k knownSet
	for _, e := range task.Knowledge {
		if isAnomalyFinding(e) {
			k = append(k, e)
		}
	}
	if task.Zones.CanRead(sdk.ZoneKnowledge) {
		es, err := lake.SearchKnowledge(ctx, Tag, 10000)
		if err != nil {
			out.Log(sdk.LevelWarn, "could not search the knowledge base for earlier findings; only the task's knowledge is used", "error", err.Error())
		}
		for _, e := range es {
			if isAnomalyFinding(e) {
				k = append(k, e)
			}
		}
	}
	return k
}

func isAnomalyFinding(e sdk.KnowledgeEntry) bool {
	return e.Kind == sdk.KnowledgeFinding && slices.Contains(e.Tags, Tag)
}

// has reports whether a finding for the series on day is already known:
// an anomaly finding whose title names the platform and metric, the ISRC
// and the day, as findingTitle writes them.
func (k knownSet) has(s *series, d time.Time) bool {
	what := strings.ToLower(platformName(s.platform) + " " + s.metric + " of ")
	where := strings.ToLower("(" + s.isrc + ") on " + d.Format(time.DateOnly))
	for _, e := range k {
		t := strings.ToLower(e.Title)
		if strings.Contains(t, what) && strings.HasSuffix(t, where) {
			return true
		}
	}
	return false
}

// platformName is a platform as people write it.
func platformName(p string) string {
	switch p {
	case "spotify":
		return "Spotify"
	case "tiktok":
		return "TikTok"
	case "youtube":
		return "YouTube"
	case "apple_music", "apple":
		return "Apple Music"
	}
	return p
}

// findingTitle is "Spike in Spotify streams of <title> (<isrc>) on <date>".
func findingTitle(s *series, f detect.Finding) string {
	dir := "Spike"
	if f.Direction == detect.Drop {
		dir = "Drop"
	}
	name := strings.TrimSpace(s.title)
	if name == "" {
		name = "an untitled track"
	}
	return fmt.Sprintf("%s in %s %s of %s (%s) on %s", dir, platformName(s.platform), s.metric, name, s.isrc, f.Date.Format(time.DateOnly))
}

// confidence maps a finding's score to 0.5 (at the threshold) up towards 1.
func confidence(f detect.Finding, threshold float64) float64 {
	if threshold == 0 {
		threshold = detect.DefaultOptions().Threshold
	}
	z := math.Abs(f.Score)
	if z < threshold {
		return 0.5
	}
	return math.Round(100*math.Min(0.99, 0.5+0.5*(1-threshold/z))) / 100
}

// knowledgeEntry builds the finding for the knowledge base.
func knowledgeEntry(c config, r report, reportKey string) sdk.KnowledgeEntry {
	return sdk.KnowledgeEntry{
		Kind:       sdk.KnowledgeFinding,
		Title:      r.title,
		Body:       findingBody(c, r, reportKey),
		Tags:       []string{Tag, string(r.f.Direction), r.s.platform},
		Datasets:   []string{c.dataset},
		Confidence: confidence(r.f, c.opts.Threshold),
	}
}

// findingBody says what happened and what to do, in Markdown; reportKey,
// when set, points to the run's report.
func findingBody(c config, r report, reportKey string) string {
	f, s := r.f, r.s
	var b strings.Builder
	track := s.title
	if s.artist != "" {
		track += " by " + s.artist
	}
	fmt.Fprintf(&b, "**%s** in %s %s of *%s* (`%s`) on %s.\n\n", directionWord(f), platformName(s.platform), s.metric, track, s.isrc, f.Date.Format(time.DateOnly))
	fmt.Fprintf(&b, "- %s: **%s** against an expected %s (normal range %s to %s), %s\n",
		s.metric, count(f.Value), count(f.Expected), count(f.Lower), count(f.Upper), fold(f))
	fmt.Fprintf(&b, "- score %.1f robust deviations (threshold %g), severity %s, %s\n", f.Score, threshold(c), f.Severity, duration(f))
	fmt.Fprintf(&b, "- detector: %s\n", f.Reason)
	fmt.Fprintf(&b, "- series `%s` in `%s`", s.key(), c.dataset)
	if reportKey != "" {
		fmt.Fprintf(&b, "; report `%s`", reportKey)
	}
	b.WriteString("\n\n")
	b.WriteString("What to do:\n\n")
	for i, step := range advice(s, f) {
		fmt.Fprintf(&b, "%d. %s\n", i+1, step)
	}
	return b.String()
}

func directionWord(f detect.Finding) string {
	switch {
	case f.LevelShift && f.Direction == detect.Spike:
		return "Spike that became a new, higher level"
	case f.LevelShift:
		return "Drop that became a new, lower level"
	case f.Direction == detect.Spike:
		return "Spike"
	}
	return "Drop"
}

func threshold(c config) float64 {
	if c.opts.Threshold == 0 {
		return detect.DefaultOptions().Threshold
	}
	return c.opts.Threshold
}

func duration(f detect.Finding) string {
	switch {
	case f.LevelShift:
		return fmt.Sprintf("held %d days and is now taken as the new level", f.Days)
	case f.Days == 1:
		return "one day"
	}
	return fmt.Sprintf("lasted %d days", f.Days)
}

// fold says the departure as a factor.
func fold(f detect.Finding) string {
	if f.Direction == detect.Spike {
		return fmt.Sprintf("%.1f× the expected", (f.Value+1)/(f.Expected+1))
	}
	return fmt.Sprintf("%.0f%% below the expected", 100*(1-f.Value/math.Max(f.Expected, 1)))
}

// advice is what a label should do about a finding.
func advice(s *series, f detect.Finding) []string {
	day := f.Date.Format(time.DateOnly)
	switch {
	case s.platform == "spotify" && f.Direction == detect.Spike:
		return []string{
			fmt.Sprintf("Check the track's playlist and source-of-streams breakdown in Spotify for Artists (S4A) for %s: one unknown playlist, one country or city, or streams without saves and followers point to artificial streaming.", day),
			"Compare with the DistroKid earnings export for the same period: a real lift shows in several stores and countries.",
			"If the streams look artificial, contact the distributor (DistroKid) before it flags the release, and note what you found here.",
		}
	case s.platform == "spotify":
		return []string{
			fmt.Sprintf("Check in Spotify for Artists (S4A) whether the track was removed from a playlist, taken down or is unavailable since %s.", day),
			"Compare with the DistroKid earnings export and the release's store status in DistroKid.",
			"Check that the Spotify ingestion ran that day (a missing or partial export reads as a drop), then contact the distributor if the track is down.",
		}
	case f.Direction == detect.Spike:
		return []string{
			fmt.Sprintf("Check the TikTok videos using the track on %s: their traffic sources and audience; bought views come from few accounts and regions with little engagement.", day),
			"Compare the track's Spotify streams and its DistroKid earnings for the same days: a genuine viral moment lifts them too.",
			"If the views look artificial, report it to the distributor (DistroKid) before it reaches the stores' fraud checks.",
		}
	}
	return []string{
		fmt.Sprintf("Check whether TikTok removed views or videos using the track around %s (a counter reset removes fake views).", day),
		"Check that the TikTok ingestion ran that day and every video of the track is still linked in the catalog.",
		"Compare with the Spotify streams of the track and contact the distributor if the sound was taken down.",
	}
}

// count formats a count with thousands separators.
func count(v float64) string {
	v = math.Round(v)
	neg := v < 0
	s := strconv.FormatFloat(math.Abs(v), 'f', 0, 64)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// renderReport writes the Markdown report.
func renderReport(task sdk.Task, c config, all []*series, st readStats, fresh, skipped []report, quality float64, canKnow bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Anomalies in %s\n\n", c.dataset)
	fmt.Fprintf(&b, "Session `%s`, task `%s`. Metrics %s", task.SessionID, task.Name, strings.Join(c.metrics, ", "))
	if !c.since.IsZero() {
		fmt.Fprintf(&b, ", findings since %s", c.since.Format(time.DateOnly))
	}
	fmt.Fprintf(&b, "; threshold %g robust deviations.\n\n", threshold(c))
	fmt.Fprintf(&b, "Read %d rows, %d daily values in %d series (track × platform × metric). ", st.rows, st.points, len(all))
	fmt.Fprintf(&b, "**%d new findings**; %d already recorded in knowledge are not reported again. ", len(fresh), len(skipped))
	fmt.Fprintf(&b, "Data quality score %.3f (share of present days outside an anomaly).\n\n", quality)
	switch {
	case len(fresh) > 0 && canKnow:
		b.WriteString("The findings are in the knowledge base (kind `finding`, tag `anomaly`); the host raises a **medium alert** from them, and the next steps notify the data quality team.\n\n")
	case len(fresh) > 0:
		b.WriteString("The task may not write the knowledge zone, so the findings are **only in this report** and no alert is raised from them; the next steps notify the data quality team.\n\n")
	default:
		b.WriteString("Nothing new to report: no alert is needed.\n\n")
	}
	if st.duplicates > 0 || st.badRows > 0 || st.invalid > 0 {
		fmt.Fprintf(&b, "Data notes: %d series-days had several rows (summed), %d rows lacked an isrc, platform or readable date, %d values were negative or not finite (treated as missing).\n\n",
			st.duplicates, st.badRows, st.invalid)
	}
	if len(fresh) > 0 {
		b.WriteString("## New findings\n\n| date | track | isrc | platform | metric | direction | value | expected | normal range | score | severity | days |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range fresh {
			dir := string(r.f.Direction)
			if r.f.LevelShift {
				dir += " (new level)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s–%s | %.1f | %s | %d |\n",
				r.f.Date.Format(time.DateOnly), cell(r.s.title), r.s.isrc, platformName(r.s.platform), r.s.metric, dir,
				count(r.f.Value), count(r.f.Expected), count(r.f.Lower), count(r.f.Upper), r.f.Score, r.f.Severity, r.f.Days)
		}
		b.WriteString("\n## Details\n\n")
		for _, r := range fresh {
			fmt.Fprintf(&b, "### %s\n\n%s\n", r.title, findingBody(c, r, ""))
		}
	}
	if len(skipped) > 0 {
		b.WriteString("## Already reported\n\n")
		for _, r := range skipped {
			fmt.Fprintf(&b, "- %s\n", r.title)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Method\n\nEach day is compared with the track's own last eight weeks on that platform, on a log scale: a Theil–Sen trend, the median of each weekday (Saturdays against Saturdays) and a robust noise scale (1.4826 × the median absolute deviation of recent forecast misses). A day more than the threshold of such deviations away, and at least 20 in plain counts, starts a finding; a burst of days is one finding, and a change that holds for a week is reported once as a new level. The first four weeks of a series only build its baseline.\n")
	return b.Bytes()
}

// cell escapes a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// notes summarises the run for the context hand-off.
func notes(c config, all []*series, st readStats, fresh, skipped []report, spikes, withFindings int, quality float64, reportKey string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Judged %d series (%d daily values) of %s for %s.", len(all), st.points, c.dataset, strings.Join(c.metrics, ", "))
	if len(fresh) > 0 {
		fmt.Fprintf(&b, " %d new findings (%d spikes, %d drops) in %d series; the host raises a medium alert from them.", len(fresh), spikes, len(fresh)-spikes, withFindings)
	} else {
		b.WriteString(" No new spikes or drops.")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, " %d findings already in knowledge were not re-reported.", len(skipped))
	}
	fmt.Fprintf(&b, " data_quality_score %.3f = 1 - anomalous days / present days. Report: %s.", quality, reportKey)
	return b.String()
}
