package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bedrot-label/bedrot/host/metrics"
	"github.com/bedrot-label/bedrot/host/pgtest"
)

// Paths of the files under test, relative to this folder.
const (
	datasourcesDir  = "grafana/provisioning/datasources"
	dashboardsYAML  = "grafana/provisioning/dashboards/bedrot.yaml"
	dashboardsDir   = "grafana/dashboards"
	prometheusYAML  = "prometheus/prometheus.yml"
	rulesFile       = "prometheus/rules/bedrot.rules.yml"
	rulesTestFile   = "prometheus/rules/bedrot.rules.test.yml"
	weeklyTestFile  = "prometheus/rules/bedrot.rules.weekly.test.yml"
	readmeFile      = "README.md"
	analyticsSchema = "analytics"
)

// ---------------------------------------------------------------------------
// The files' shapes (only the fields the tests read).

type datasourceFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name           string            `yaml:"name"`
		UID            string            `yaml:"uid"`
		Type           string            `yaml:"type"`
		URL            string            `yaml:"url"`
		User           string            `yaml:"user"`
		JSONData       map[string]any    `yaml:"jsonData"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	} `yaml:"datasources"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	Expr       string `json:"expr"`
	RawSQL     string `json:"rawSql"`
	Format     string `json:"format"`
}

type panel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Datasource  *dsRef                   `json:"datasource"`
	Targets     []target                 `json:"targets"`
	GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *dsRef          `json:"datasource"`
	Query      json.RawMessage `json:"query"`
}

// query is the variable's query: a string (SQL) or {"query": "..."}
// (Prometheus).
func (v variable) query(t *testing.T) string {
	t.Helper()
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	require.NoError(t, json.Unmarshal(v.Query, &o), "variable %s: query", v.Name)
	return o.Query
}

type dashboard struct {
	file          string
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

// panels returns every panel, those nested in rows included, rows left out.
func (d dashboard) panels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

func loadYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

// datasources returns the provisioned data sources' types by uid.
func datasources(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(datasourcesDir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string]string{}
	for _, f := range files {
		var df datasourceFile
		loadYAML(t, f, &df)
		require.Equal(t, 1, df.APIVersion, f)
		for _, ds := range df.Datasources {
			require.NotEmpty(t, ds.UID, "%s: data source %q has no fixed uid", f, ds.Name)
			require.NotContains(t, out, ds.UID, "%s: uid %s provisioned twice", f, ds.UID)
			out[ds.UID] = ds.Type
		}
	}
	return out
}

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	require.NoError(t, err)
	var out []dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var d dashboard
		dec := json.NewDecoder(bytes.NewReader(b))
		require.NoError(t, dec.Decode(&d), "%s is not valid dashboard JSON", f)
		require.False(t, dec.More(), "%s: trailing data after the dashboard", f)
		d.file = f
		out = append(out, d)
	}
	return out
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var rf ruleFile
	loadYAML(t, rulesFile, &rf)
	var out []rule
	for _, g := range rf.Groups {
		out = append(out, g.Rules...)
	}
	require.NotEmpty(t, out)
	return out
}

// promtool finds promtool, failing (never skipping) when it is missing.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool (from Debian's prometheus package) is not installed: run `make promtool`, or `apt-get install -y prometheus` as root")
	return p
}

// runPromtool runs promtool with args and stdin, returning its combined
// output; a non-zero exit fails the test with that output.
func runPromtool(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// ---------------------------------------------------------------------------
// What host/metrics exports.

// exercise calls every method of m that creates series, so that every
// metric family and every histogram's buckets are exported. exercisedMethods
// must name them all (TestExerciseCallsEveryMethod keeps it honest).
func exercise(m *metrics.Metrics) {
	m.RunFinished("spotify", metrics.StatusSucceeded, 42*time.Second)
	m.RunFinished("spotify", metrics.StatusFailed, 3*time.Second)
	m.LastSuccess("distrokid", time.Now().Add(-time.Hour))
	m.StepFinished("spotify", "read", time.Second)
	m.Records("spotify", "streams", 10, 1000)
	m.Retry("spotify")
	m.PluginLaunched("bedrot-source-spotify")
	m.PluginCrashed("bedrot-agent-analyst")
	m.QualityScore("raw/spotify/streams", 0.75)
	m.SetOpenAlerts(metrics.SeverityHigh, 1)
	m.SetQueueDepth(2)
	m.SetFreshnessFunc(func() map[string]time.Time {
		return map[string]time.Time{"raw/spotify/streams": time.Now().Add(-time.Hour)}
	})
	m.AlertRaised(metrics.SeverityMedium)
	m.Validated("raw/spotify/streams", metrics.ValidationFailed)
	m.SetSLOSuccessRatio("spotify", 0.998)
	m.SetSLOFreshness("spotify", time.Hour)
	m.SetSLOMTTD(time.Minute)
	m.SetSLOMTTR(10 * time.Minute)
	m.SetSLOSuccessRatio("removed", 1)
	m.ClearSLO("removed")
	m.AgentTaskFinished("analyst", metrics.AgentTaskSucceeded, 30*time.Second)
	m.AgentKnowledgeContributed("analyst", 2)
}

var exercisedMethods = []string{
	"RunFinished", "LastSuccess", "StepFinished", "Records", "Retry", "PluginLaunched", "PluginCrashed",
	"QualityScore", "SetOpenAlerts", "SetQueueDepth", "SetFreshnessFunc", "AlertRaised", "Validated",
	"SetSLOSuccessRatio", "SetSLOFreshness", "SetSLOMTTD", "SetSLOMTTR", "ClearSLO",
	"AgentTaskFinished", "AgentKnowledgeContributed",
}

// accessorMethods create no series.
var accessorMethods = []string{"Registry", "Register", "Handler"}

// exportedNames returns every series name a scrape of an exercised
// metrics.New() can hold: counters and gauges by name, histograms and
// summaries with their _bucket, _sum and _count series.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	exercise(m)
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range fams {
		n := f.GetName()
		names[n] = true
		switch f.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		case "SUMMARY":
			names[n+"_sum"], names[n+"_count"] = true, true
		}
	}
	return names
}

func TestExerciseCallsEveryMethod(t *testing.T) {
	t.Parallel()
	var methods []string
	typ := reflect.TypeFor[*metrics.Metrics]()
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !slices.Contains(accessorMethods, name) {
			methods = append(methods, name)
		}
	}
	require.ElementsMatch(t, methods, exercisedMethods,
		"a method was added to metrics.Metrics: call it in exercise() and list it in exercisedMethods so the dashboards are checked against its series")
}

// ---------------------------------------------------------------------------
// PromQL helpers.

var (
	reString      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	reMatchers    = regexp.MustCompile(`\{[^}]*\}`)
	reRange       = regexp.MustCompile(`\[[^\]]*\]`)
	reGrouping    = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	reIdentifier  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	reVariable    = regexp.MustCompile(`\$\{?(\w+)\}?`)
	reAlertName   = regexp.MustCompile(`alertname=~?"([^"]*)"`)
	reLabelValues = regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	promKeywords  = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
		"on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true, "atan2": true,
	}
)

// metricNames returns the metric (or recorded series) names an expression
// selects: identifiers outside strings, label matchers, ranges and grouping
// clauses that are not functions or keywords.
func metricNames(expr string) []string {
	s := reString.ReplaceAllString(expr, `""`)
	s = reMatchers.ReplaceAllString(s, " ")
	s = reRange.ReplaceAllString(s, " ")
	s = reGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range reIdentifier.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 && (s[loc[0]-1] == '$' || (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9') || s[loc[0]-1] == '.') {
			continue // a variable, or a number's exponent or unit
		}
		if promKeywords[strings.ToLower(name)] || strings.HasPrefix(strings.TrimLeft(s[loc[1]:], " "), "(") {
			continue // a keyword or a function
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNamesExtraction(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"bedrot_runs_total", "source:x:y"},
		metricNames(`sum by (source, status) (increase(bedrot_runs_total{source=~"$source", x="a or b"}[1h])) / on (source) group_left source:x:y * 1e3 > bool 0.5`))
	require.Equal(t, []string{"bedrot_run_duration_seconds_bucket"},
		metricNames(`histogram_quantile(0.95, sum by (le) (rate(bedrot_run_duration_seconds_bucket[$__rate_interval])))`))
	require.Equal(t, []string{"up", "up"}, metricNames(`up{job="bedrot"} == 0 or absent(up{job="bedrot"})`))
}

// promExpressions returns every PromQL expression of the dashboards (panel
// targets and query variables), keyed by where it is.
func promExpressions(t *testing.T, dashboards []dashboard, dsTypes map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range dashboards {
		for _, p := range d.panels() {
			for _, tg := range p.Targets {
				ds := tg.Datasource
				if ds == nil {
					ds = p.Datasource
				}
				if dsTypes[ds.UID] == "prometheus" {
					require.NotEmpty(t, tg.Expr, "%s: panel %q target %s has no expr", d.file, p.Title, tg.RefID)
					out[fmt.Sprintf("%s: panel %q target %s", d.file, p.Title, tg.RefID)] = tg.Expr
				}
			}
		}
		for _, v := range d.Templating.List {
			if v.Datasource != nil && dsTypes[v.Datasource.UID] == "prometheus" {
				q := v.query(t)
				// label_values(metric, label) selects metric.
				if m := reLabelValues.FindStringSubmatch(q); m != nil {
					q = m[1]
				}
				out[fmt.Sprintf("%s: variable %s", d.file, v.Name)] = q
			}
		}
	}
	return out
}

// substitute replaces Grafana's variables in a PromQL expression by values
// Prometheus accepts.
func substitute(expr string) string {
	return reVariable.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "__rate_interval":
			return "5m"
		case "__interval":
			return "1m"
		case "__range":
			return "1d"
		}
		return ".*"
	})
}

// ---------------------------------------------------------------------------
// Dashboards.

func TestDashboardsAreWellFormed(t *testing.T) {
	t.Parallel()
	dsTypes := datasources(t)
	require.Equal(t, "prometheus", dsTypes["bedrot-prometheus"])
	require.Equal(t, "postgres", dsTypes["bedrot-analytics"])

	dashboards := loadDashboards(t)
	var titles []string
	uids, seenTitles := map[string]string{}, map[string]string{}
	for _, d := range dashboards {
		require.NotEmpty(t, d.UID, d.file)
		require.NotEmpty(t, d.Title, d.file)
		require.LessOrEqual(t, len(d.UID), 40, "%s: Grafana uids are at most 40 characters", d.file)
		require.NotContains(t, uids, d.UID, "%s and %s share uid %s", d.file, uids[d.UID], d.UID)
		require.NotContains(t, seenTitles, d.Title, "%s and %s share title %q", d.file, seenTitles[d.Title], d.Title)
		uids[d.UID], seenTitles[d.Title] = d.file, d.file
		titles = append(titles, d.Title)
		require.GreaterOrEqual(t, d.SchemaVersion, 39, d.file)

		defined := map[string]bool{}
		for _, v := range d.Templating.List {
			defined[v.Name] = true
			require.NotNil(t, v.Datasource, "%s: variable %s has no data source", d.file, v.Name)
			require.Contains(t, dsTypes, v.Datasource.UID, "%s: variable %s uses a data source that is not provisioned", d.file, v.Name)
			require.Equal(t, dsTypes[v.Datasource.UID], v.Datasource.Type, "%s: variable %s data source type", d.file, v.Name)
			require.NotEmpty(t, v.query(t), "%s: variable %s has no query", d.file, v.Name)
		}
		used := map[string]bool{}
		ids := map[int]bool{}
		for _, p := range d.Panels {
			require.NotContains(t, ids, p.ID, "%s: panel id %d twice", d.file, p.ID)
			ids[p.ID] = true
			for _, c := range p.Panels {
				require.NotContains(t, ids, c.ID, "%s: panel id %d twice", d.file, c.ID)
				ids[c.ID] = true
			}
		}
		panels := d.panels()
		require.NotEmpty(t, panels, d.file)
		for _, p := range panels {
			where := fmt.Sprintf("%s: panel %q", d.file, p.Title)
			require.NotEmpty(t, p.Title, "%s: panel %d has no title", d.file, p.ID)
			require.NotNil(t, p.Datasource, "%s has no data source", where)
			require.Contains(t, dsTypes, p.Datasource.UID, "%s uses data source %s, which is not provisioned", where, p.Datasource.UID)
			require.Equal(t, dsTypes[p.Datasource.UID], p.Datasource.Type, "%s data source type", where)
			require.NotEmpty(t, p.Targets, "%s has no query", where)
			require.NotEmpty(t, p.FieldConfig.Defaults.Unit, "%s has no unit", where)
			require.Positive(t, p.GridPos.W, where)
			require.Positive(t, p.GridPos.H, where)
			require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "%s is wider than the 24-column grid", where)
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				require.NotContains(t, refs, tg.RefID, "%s: refId %s twice", where, tg.RefID)
				refs[tg.RefID] = true
				if tg.Datasource != nil {
					require.Equal(t, *p.Datasource, *tg.Datasource, "%s target %s uses another data source than its panel", where, tg.RefID)
				}
				q := tg.Expr + tg.RawSQL
				require.NotEmpty(t, q, "%s target %s has no query", where, tg.RefID)
				for _, m := range reVariable.FindAllStringSubmatch(q, -1) {
					if !strings.HasPrefix(m[1], "__") {
						require.True(t, defined[m[1]], "%s uses variable $%s, which the dashboard does not define", where, m[1])
						used[m[1]] = true
					}
				}
			}
		}
		for name := range defined {
			require.True(t, used[name], "%s: variable %s is defined but no panel uses it", d.file, name)
		}
	}
	sort.Strings(titles)
	require.Equal(t, []string{"bedrot / Agent Performance", "bedrot / Business Metrics", "bedrot / Data Quality", "bedrot / System Health"}, titles)
}

func TestDashboardsProvisioning(t *testing.T) {
	t.Parallel()
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string         `yaml:"name"`
			Type    string         `yaml:"type"`
			Options map[string]any `yaml:"options"`
		} `yaml:"providers"`
	}
	loadYAML(t, dashboardsYAML, &prov)
	require.Equal(t, 1, prov.APIVersion)
	require.Len(t, prov.Providers, 1)
	require.Equal(t, "file", prov.Providers[0].Type)
	require.NotEmpty(t, prov.Providers[0].Options["path"])

	// Credentials come from the environment, never from the file.
	var df datasourceFile
	loadYAML(t, filepath.Join(datasourcesDir, "bedrot.yaml"), &df)
	for _, ds := range df.Datasources {
		require.True(t, strings.HasPrefix(ds.URL, "${"), "data source %s: url must come from an environment variable", ds.Name)
		for k, v := range ds.SecureJSONData {
			require.True(t, strings.HasPrefix(v, "${"), "data source %s: %s must come from an environment variable", ds.Name, k)
		}
		if ds.Type == "postgres" {
			require.Contains(t, ds.SecureJSONData, "password")
			require.Contains(t, ds.JSONData, "database", "Grafana 12 reads the database from jsonData only")
		}
	}
}

func TestDashboardQueriesUseExportedMetricsAndRules(t *testing.T) {
	t.Parallel()
	exported := exportedNames(t)
	rules := loadRules(t)
	recorded, alerts := map[string]bool{}, map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			recorded[r.Record] = true
		}
		if r.Alert != "" {
			alerts[r.Alert] = true
		}
	}
	check := func(where, expr string) {
		names := metricNames(expr)
		require.NotEmpty(t, names, "%s selects no metric: %s", where, expr)
		for _, n := range names {
			switch {
			case n == "up" || n == "ALERTS":
				// Made by Prometheus itself.
			case strings.Contains(n, ":"):
				require.True(t, recorded[n], "%s uses %s, which no recording rule of %s defines", where, n, rulesFile)
			default:
				require.True(t, exported[n], "%s uses %s, which host/metrics does not export", where, n)
			}
		}
		for _, m := range reAlertName.FindAllStringSubmatch(expr, -1) {
			for _, a := range strings.Split(m[1], "|") {
				require.True(t, alerts[a], "%s refers to alert %s, which %s does not define", where, a, rulesFile)
			}
		}
	}
	exprs := promExpressions(t, loadDashboards(t), datasources(t))
	require.Greater(t, len(exprs), 40)
	for where, expr := range exprs {
		check(where, expr)
	}
	for _, r := range rules {
		check(rulesFile+": "+r.Record+r.Alert, r.Expr)
	}
	// The bedrot metrics the design asks the dashboards to show are there.
	var all strings.Builder
	for _, e := range exprs {
		all.WriteString(e + "\n")
	}
	for _, n := range []string{
		"bedrot_runs_total", "bedrot_run_duration_seconds_bucket", "bedrot_retries_total", "bedrot_plugin_launches_total",
		"bedrot_plugin_crashes_total", "bedrot_queued_runs", "bedrot_alerts_open", "bedrot_data_freshness_seconds",
		"bedrot_quality_score_ratio", "bedrot_validations_total", "bedrot_alerts_raised_total", "bedrot_slo_success_ratio",
		"bedrot_slo_mttd_seconds", "bedrot_slo_mttr_seconds", "bedrot_agent_tasks_total", "bedrot_agent_task_duration_seconds_bucket",
		"bedrot_agent_knowledge_contributions_total", "process_resident_memory_bytes", "process_cpu_seconds_total",
		"source:bedrot_last_success:age_seconds",
	} {
		require.Contains(t, all.String(), n, "no dashboard shows %s", n)
	}
}

// Every dashboard expression, with Grafana's variables replaced, is valid
// PromQL: promtool checks them as recording rules of a scratch file.
func TestDashboardPromQLParses(t *testing.T) {
	t.Parallel()
	exprs := promExpressions(t, loadDashboards(t), datasources(t))
	keys := make([]string, 0, len(exprs))
	for k := range exprs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type rec struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var recs []rec
	for i, k := range keys {
		recs = append(recs, rec{Record: fmt.Sprintf("dashboard:expr:%d", i), Expr: substitute(exprs[k])})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []map[string]any{{"name": "dashboards", "rules": recs}}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "dashboards.rules.yml")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	out := runPromtool(t, nil, "check", "rules", path)
	require.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(recs)))
}

// ---------------------------------------------------------------------------
// Prometheus.

func TestPromtoolChecksRulesAndConfig(t *testing.T) {
	t.Parallel()
	rules := loadRules(t)
	out := runPromtool(t, nil, "check", "rules", rulesFile)
	require.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(rules)))

	out = runPromtool(t, nil, "check", "config", prometheusYAML)
	require.Contains(t, out, "SUCCESS: 1 rule files found")

	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	loadYAML(t, prometheusYAML, &cfg)
	require.Equal(t, []string{"rules/bedrot.rules.yml"}, cfg.RuleFiles)
	require.Len(t, cfg.ScrapeConfigs, 1)
	sc := cfg.ScrapeConfigs[0]
	require.Equal(t, "bedrot", sc.JobName, "the rules and dashboards select job=\"bedrot\"")
	require.Equal(t, "/metrics", sc.MetricsPath)
	require.Equal(t, []string{"127.0.0.1:8080"}, sc.StaticConfigs[0].Targets)
}

func TestAlertingRulesFollowTheMatrix(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(readmeFile)
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+\s+(.+)$`).FindAllStringSubmatch(string(readme), -1) {
		anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(m[1]), " ", "-"))] = true
	}
	severities := map[string][]string{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		sev := r.Labels["severity"]
		require.Contains(t, []string{"critical", "high", "medium", "low"}, sev, "alert %s: severity", r.Alert)
		severities[sev] = append(severities[sev], r.Alert)
		for _, a := range []string{"summary", "description", "runbook"} {
			require.NotEmpty(t, r.Annotations[a], "alert %s has no %s annotation", r.Alert, a)
		}
		file, anchor, ok := strings.Cut(r.Annotations["runbook"], "#")
		require.True(t, ok, "alert %s: runbook must be README.md#anchor", r.Alert)
		require.Equal(t, "deploy/"+readmeFile, file, "alert %s: runbook", r.Alert)
		require.True(t, anchors[anchor], "alert %s: runbook anchor #%s is no heading of %s", r.Alert, anchor, readmeFile)
	}
	// The alerting matrix: critical data loss, high failed runs, medium data
	// quality, low performance degradation; plus the daemon being down.
	require.Contains(t, severities["critical"], "BedrotDataLoss")
	require.Contains(t, severities["high"], "BedrotRunFailed")
	require.Contains(t, severities["high"], "BedrotDaemonDown")
	require.Contains(t, severities["medium"], "BedrotDataQualityLow")
	require.Contains(t, severities["medium"], "BedrotSuccessRateSLOBreached")
	require.Contains(t, severities["medium"], "BedrotFreshnessSLOBreached")
	require.Contains(t, severities["low"], "BedrotRunsSlower")

	// The SLO alerts use the goals host/metrics documents.
	goals := map[string]string{
		"BedrotSuccessRateSLOBreached": fmt.Sprintf("< %v", metrics.SLOSuccessRatioGoal),
		"BedrotFreshnessSLOBreached":   fmt.Sprintf("> %d * 24 * 3600", int(metrics.SLOFreshnessGoal.Hours()/24)),
		"BedrotDataStale":              fmt.Sprintf("> %d * 24 * 3600", int(metrics.SLOFreshnessGoal.Hours()/24)),
		"BedrotMTTDSLOBreached":        fmt.Sprintf("> %d * 60", int(metrics.SLOMTTDGoal.Minutes())),
		"BedrotMTTRSLOBreached":        fmt.Sprintf("> %d * 60", int(metrics.SLOMTTRGoal.Minutes())),
	}
	for _, r := range loadRules(t) {
		if g, ok := goals[r.Alert]; ok {
			require.Contains(t, r.Expr, g, "alert %s does not use the SLO goal of host/metrics", r.Alert)
			delete(goals, r.Alert)
		}
	}
	require.Empty(t, goals, "SLO alerts missing")
}

func TestPromtoolRuleUnitTests(t *testing.T) {
	t.Parallel()
	// The unit tests prove, at least, that the critical and high alerts
	// fire from their series and stay quiet otherwise.
	var tf struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	loadYAML(t, rulesTestFile, &tf)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, a := range []string{"BedrotDataLoss", "BedrotRunFailed", "BedrotDaemonDown"} {
		require.True(t, fires[a], "%s: no case where %s fires", rulesTestFile, a)
		require.True(t, quiet[a], "%s: no case where %s stays quiet", rulesTestFile, a)
	}

	out := runPromtool(t, nil, "test", "rules", rulesTestFile, weeklyTestFile)
	require.Equal(t, 2, strings.Count(out, "SUCCESS"), out)
}

// A real scrape of the daemon's handler passes promtool's metric lint.
func TestPromtoolChecksRealScrape(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	exercise(m)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/metrics", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, n := range []string{"bedrot_agent_task_duration_seconds_bucket", "bedrot_slo_mttr_seconds", "bedrot_validations_total"} {
		require.True(t, regexp.MustCompile(`(?m)^`+n+`[{ ]`).Match(body), "the scrape has no %s series", n)
	}

	out := runPromtool(t, bytes.NewReader(body), "check", "metrics")
	require.Empty(t, out, "promtool check metrics found problems")
}

// ---------------------------------------------------------------------------
// Business Metrics SQL on PostgreSQL.

// publishedDDL creates, in schema %[1]s, the tables `bedrot publish` makes
// from config/marts (column types as publish.pgType maps the marts'
// Parquet types) and their v_* views, with a few rows each.
const publishedDDL = `
CREATE TABLE %[1]s.dim_track (isrc text NOT NULL PRIMARY KEY, title text, artist text, upcs text,
	spotify_track_ids text, tiktok_videos bigint, links bigint, min_confidence double precision);
CREATE TABLE %[1]s.fact_royalties_monthly (isrc text, upc text, title text, artist text, store text,
	country_of_sale text, sale_month date NOT NULL, quantity bigint, earnings_usd numeric(18,12),
	reportings bigint, restated boolean, last_reported date);
CREATE TABLE %[1]s.fact_track_performance (isrc text, title text, artist text, platform text NOT NULL,
	date date NOT NULL, streams bigint, views bigint, likes bigint, comments bigint, shares bigint,
	listeners bigint, items bigint, min_confidence double precision, counter_reset boolean);
CREATE TABLE %[1]s.fact_artist_audience (platform text NOT NULL, artist_id text, artist text, date date NOT NULL,
	followers bigint, followers_gained bigint, listeners bigint, monthly_listeners bigint, streams bigint,
	video_views bigint, profile_views bigint);
CREATE TABLE %[1]s.fact_catalog_health (kind text NOT NULL, source text, item text, artist text, title text,
	reason text, detail text, candidates text, newest_data_date date, days_old bigint, date date);
CREATE VIEW %[1]s.v_track AS SELECT * FROM %[1]s.dim_track;
CREATE VIEW %[1]s.v_royalties_monthly AS SELECT * FROM %[1]s.fact_royalties_monthly;
CREATE VIEW %[1]s.v_track_performance AS SELECT * FROM %[1]s.fact_track_performance;
CREATE VIEW %[1]s.v_artist_audience AS SELECT * FROM %[1]s.fact_artist_audience;
CREATE VIEW %[1]s.v_catalog_health AS SELECT * FROM %[1]s.fact_catalog_health;

INSERT INTO %[1]s.dim_track VALUES
	('QZABC2500001', 'Rot Song', 'BEDROT', 'UPC1', 'sp1', 2, 3, 1),
	('QZABC2500002', 'Dream Loop', 'Nova Rot', 'UPC2', 'sp2', 1, 2, 0.9);
INSERT INTO %[1]s.fact_royalties_monthly VALUES
	('QZABC2500001', 'UPC1', 'Rot Song', 'BEDROT', 'Spotify', 'US', '2025-01-01', 1000, 3.250000000000, 1, false, '2025-03-05'),
	('QZABC2500001', 'UPC1', 'Rot Song', 'BEDROT', 'Apple Music', 'DE', '2025-01-01', 200, 1.500000000000, 2, true, '2025-04-05'),
	('QZABC2500002', 'UPC2', 'Dream Loop', 'Nova Rot', 'Spotify', 'GB', '2025-02-01', 400, 1.100000000000, 1, false, '2025-04-05'),
	(NULL, 'UPC3', 'No ISRC Yet', 'BEDROT', 'TikTok', 'US', '2025-03-01', 50, 0.020000000000, 1, false, '2025-05-05');
INSERT INTO %[1]s.fact_track_performance VALUES
	('QZABC2500001', 'Rot Song', 'BEDROT', 'spotify', '2025-01-10', 120, NULL, NULL, NULL, NULL, NULL, 1, 1, false),
	('QZABC2500001', 'Rot Song', 'BEDROT', 'spotify', '2025-01-11', 150, NULL, NULL, NULL, NULL, NULL, 1, 1, false),
	('QZABC2500002', 'Dream Loop', 'Nova Rot', 'spotify', '2025-01-11', 80, NULL, NULL, NULL, NULL, NULL, 1, 0.9, false),
	('QZABC2500001', 'Rot Song', 'BEDROT', 'tiktok', '2025-01-11', NULL, 5000, 300, 12, 40, NULL, 2, 1, false),
	('QZABC2500001', 'Rot Song', 'BEDROT', 'tiktok', '2025-01-12', NULL, NULL, NULL, NULL, NULL, NULL, 2, 1, true);
INSERT INTO %[1]s.fact_artist_audience VALUES
	('spotify', 'BEDROT', 'BEDROT', '2025-01-10', 1000, NULL, 300, 5000, 400, NULL, NULL),
	('spotify', 'BEDROT', 'BEDROT', '2025-01-11', 1010, 10, 310, 5100, 420, NULL, NULL),
	('tiktok', 'open-id-1', 'bedrot.label', '2025-01-11', 20000, 150, NULL, NULL, NULL, 90000, 800);
INSERT INTO %[1]s.fact_catalog_health VALUES
	('track_without_isrc', 'distrokid', 'song:No ISRC Yet', 'BEDROT', 'No ISRC Yet', 'no_isrc', 'DistroKid rows have no ISRC', '', NULL, NULL, '2025-05-06'),
	('stale_source', 'raw.tiktok.videos', 'raw.tiktok.videos', '', NULL, 'stale', 'newest data 2025-04-01', '', '2025-04-01', 35, '2025-05-06');
`

// publishedViews are the views `bedrot publish` makes from config/marts.
var publishedViews = []string{"v_track", "v_date", "v_royalties_monthly", "v_track_performance", "v_artist_audience", "v_catalog_health"}

var (
	reTimeFilter = regexp.MustCompile(`\$__timeFilter\(([^)]+)\)`)
	reAnalytics  = regexp.MustCompile(`\b` + analyticsSchema + `\.(\w+)`)
)

// expandSQL does what Grafana's PostgreSQL data source does to a query:
// $__timeFilter(col) becomes a BETWEEN on the dashboard's range, and a
// multi-value variable becomes its values, quoted and comma-separated. The
// analytics schema is replaced by the test's.
func expandSQL(q, schema string, from, to time.Time, vars map[string][]string) string {
	q = reTimeFilter.ReplaceAllString(q, fmt.Sprintf("$1 BETWEEN '%s' AND '%s'", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)))
	q = reVariable.ReplaceAllStringFunc(q, func(v string) string {
		vals, ok := vars[strings.Trim(v, "${}")]
		if !ok {
			return v
		}
		quoted := make([]string, len(vals))
		for i, s := range vals {
			quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
		}
		return strings.Join(quoted, ",")
	})
	return reAnalytics.ReplaceAllString(q, pgx.Identifier{schema}.Sanitize()+".$1")
}

func TestBusinessSQLRunsOnPublishedSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pgtest.URL())
	require.NoError(t, err, "PostgreSQL is not reachable at %s: run `make postgres` (or set BEDROT_TEST_DATABASE_URL)", pgtest.URL())
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bedrot_test_" + hex.EncodeToString(b)
	_, err = conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		require.NoError(t, err)
	})
	_, err = conn.Exec(ctx, fmt.Sprintf(publishedDDL, pgx.Identifier{schema}.Sanitize()))
	require.NoError(t, err)

	var business *dashboard
	for _, d := range loadDashboards(t) {
		if d.UID == "bedrot-business" {
			business = &d
		}
	}
	require.NotNil(t, business, "no dashboard with uid bedrot-business")

	// Dashboards read the stable views only, never the tables behind them.
	check := func(where, q string) {
		refs := reAnalytics.FindAllStringSubmatch(q, -1)
		require.NotEmpty(t, refs, "%s reads nothing of schema %s", where, analyticsSchema)
		for _, r := range refs {
			require.Contains(t, publishedViews, r[1], "%s reads %s.%s, which is not a view bedrot publish makes", where, analyticsSchema, r[1])
		}
	}

	// Variables first: their values feed the panels, as in Grafana.
	from, to := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	vars := map[string][]string{}
	for _, v := range business.Templating.List {
		q := v.query(t)
		check("variable "+v.Name, q)
		rows, err := conn.Query(ctx, expandSQL(q, schema, from, to, vars))
		require.NoError(t, err, "variable %s: %s", v.Name, q)
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err, "variable %s", v.Name)
		require.NotEmpty(t, vals, "variable %s has no values", v.Name)
		vars[v.Name] = vals
	}
	require.ElementsMatch(t, []string{"BEDROT", "Nova Rot"}, vars["artist"])
	require.ElementsMatch(t, []string{"spotify", "tiktok"}, vars["platform"])

	queries := 0
	for _, p := range business.panels() {
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)
			require.NotEmpty(t, tg.RawSQL, where)
			check(where, tg.RawSQL)
			q := expandSQL(tg.RawSQL, schema, from, to, vars)
			require.NotContains(t, q, "$", "%s: a macro or variable was left unexpanded: %s", where, q)
			rows, err := conn.Query(ctx, q)
			require.NoError(t, err, "%s:\n%s", where, q)
			fields := rows.FieldDescriptions()
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(t, rows.Err(), "%s:\n%s", where, q)
			require.Positive(t, n, "%s returns no rows from the seeded marts:\n%s", where, q)
			switch tg.Format {
			case "time_series":
				require.GreaterOrEqual(t, len(fields), 3, where)
				require.Equal(t, "time", fields[0].Name, "%s: a time series needs a time column first", where)
				require.Equal(t, uint32(1184), fields[0].DataTypeOID, "%s: time must be timestamptz", where)
				require.Equal(t, "metric", fields[1].Name, "%s: the series name column", where)
			case "table":
			default:
				require.Failf(t, "unknown format", "%s: format %q", where, tg.Format)
			}
			queries++
		}
	}
	require.GreaterOrEqual(t, queries, 15)

	// $__timeFilter really filters: January 2025 alone earns 3.25 + 1.50.
	for _, p := range business.panels() {
		if p.Title != "Earnings in range" {
			continue
		}
		q := expandSQL(p.Targets[0].RawSQL, schema, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC), vars)
		var got float64
		require.NoError(t, conn.QueryRow(ctx, q).Scan(&got))
		require.InDelta(t, 4.75, got, 1e-9)
		q = expandSQL(p.Targets[0].RawSQL, schema, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
			map[string][]string{"artist": {"Nova Rot"}})
		require.NoError(t, conn.QueryRow(ctx, q).Scan(&got))
		require.InDelta(t, 1.10, got, 1e-9, "the artist variable filters")
		return
	}
	require.Fail(t, `no panel "Earnings in range"`)
}
