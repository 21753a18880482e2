package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/miniotest"
	s3store "github.com/bedrot-label/bedrot/host/storage/s3"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
)

func TestMain(m *testing.M) {
	defer plugintest.Cleanup()
	miniotest.Main(m)
}

// cli runs the real bedrot binary against one lake.
type cli struct {
	t    *testing.T
	bin  string
	env  []string
	lake string
}

func newCLI(t *testing.T, extraEnv ...string) *cli {
	t.Helper()
	bedrot := plugintest.Build(t, "cmd/bedrot")
	lake := filepath.Join(t.TempDir(), "lake")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BEDROT_LAKE=" + lake}
	return &cli{t: t, bin: bedrot, env: append(env, extraEnv...), lake: lake}
}

// without returns a cli on the same lake whose environment lacks the
// variable name.
func (c *cli) without(name string) *cli {
	env := slices.DeleteFunc(slices.Clone(c.env), func(e string) bool { return strings.HasPrefix(e, name+"=") })
	return &cli{t: c.t, bin: c.bin, env: env, lake: c.lake}
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("bedrot %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	require.Equal(c.t, 0, r.code, "bedrot %v\nstdout:\n%s\nstderr:\n%s", args, r.stdout, r.stderr)
	return r.stdout
}

func (c *cli) json(args ...string) map[string]any {
	c.t.Helper()
	out := c.ok(append(args, "-o", "json")...)
	var doc map[string]any
	require.NoError(c.t, json.Unmarshal([]byte(out), &doc), out)
	require.Equal(c.t, "bedrot/v1", doc["apiVersion"])
	return doc
}

// setupLake initialises the lake and installs the DistroKid plugin.
func (c *cli) setupLake() {
	c.t.Helper()
	plugin := plugintest.Build(c.t, "plugins/distrokid/cmd/bedrot-source-distrokid")
	c.ok("init")
	c.ok("plugin", "install", plugin)
}

// export writes a generated export and returns its path and summary.
func export(t *testing.T, dir string, name string, opts exportgen.Options) (string, exportgen.Summary) {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	require.NoError(t, err)
	sum, err := exportgen.Write(f, opts)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return path, sum
}

// addE12 adds exact decimal strings with 12 decimals.
func addE12(t *testing.T, vals ...string) string {
	t.Helper()
	total := new(big.Rat)
	for _, v := range vals {
		r, ok := new(big.Rat).SetString(v)
		require.True(t, ok, v)
		total.Add(total, r)
	}
	return total.FloatString(12)
}

// duck reads raw/source=distrokid with DuckDB exactly as a user would.
func duck(t *testing.T, lakeDir string) (rows int64, earnings string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	glob := filepath.Join(lakeDir, "raw", "source=distrokid", "**", "*.parquet")
	matches, _ := filepath.Glob(filepath.Join(lakeDir, "raw", "source=distrokid", "*", "*.parquet"))
	if len(matches) == 0 {
		return 0, "0.000000000000"
	}
	var sum sql.NullString
	err = db.QueryRow(fmt.Sprintf(`SELECT count(*), CAST(sum(earnings_usd) AS VARCHAR) FROM read_parquet('%s', hive_partitioning = true)`, glob)).Scan(&rows, &sum)
	require.NoError(t, err)
	if !sum.Valid {
		return rows, "0.000000000000"
	}
	return rows, sum.String
}

func TestInitCreatesLayoutExactly(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	var dirs []string
	require.NoError(t, filepath.WalkDir(c.lake, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(c.lake, p)
		if d.IsDir() && rel != "." && !strings.HasPrefix(rel, ".bedrot") && rel != filepath.Join(".tmp") {
			dirs = append(dirs, filepath.ToSlash(rel))
		}
		return nil
	}))
	want := []string{".agent", ".agent/cache", ".agent/context", ".agent/logs", "archive", "curated", "curated/models",
		"knowledge", "knowledge/agents", "knowledge/decisions", "knowledge/patterns", "landing", "raw", "sandbox", "staging"}
	sort.Strings(dirs)
	require.Equal(t, want, dirs)
	c.ok("init") // again: harmless
}

func TestIngestExportsEndToEnd(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	dir := t.TempDir()
	var paths, sums []string
	var rows int64
	fileRows := map[string]int64{}
	for i, o := range []exportgen.Options{
		{Rows: 3000, Layout: exportgen.Current15, Quoted: true, Seed: 1},
		{Rows: 2000, Layout: exportgen.Legacy13, Encoding: exportgen.Latin1, LineEnd: exportgen.CR, Seed: 2},
		{Rows: 1000, Layout: exportgen.Hybrid15, Delimiter: ',', Encoding: exportgen.UTF8BOM, LineEnd: exportgen.CRLF, Seed: 3},
		{Rows: 500, Layout: exportgen.Current15, Delimiter: ';', Encoding: exportgen.UTF16LE, Seed: 4},
	} {
		p, s := export(t, dir, fmt.Sprintf("DistroKid_%d.tsv", i), o)
		paths, sums, rows = append(paths, p), append(sums, s.Earnings), rows+s.Rows
		fileRows[filepath.Base(p)] = s.Rows
	}
	doc := c.json(append([]string{"ingest", "distrokid"}, paths...)...)
	require.Equal(t, "succeeded", doc["status"])
	require.EqualValues(t, rows, doc["rows"])
	require.Positive(t, doc["plugin_peak_rss_bytes"])

	gotRows, gotSum := duck(t, c.lake)
	require.Equal(t, rows, gotRows)
	require.Equal(t, addE12(t, sums...), gotSum, "DuckDB's exact sum of earnings_usd must equal the input's")

	// Types as analysts see them, with the Hive partition columns.
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	var tEarn, tSale, tUPC, tQty, tSrc, tDate, upc string
	err = db.QueryRow(fmt.Sprintf(`SELECT typeof(earnings_usd), typeof(sale_month), typeof(upc), typeof(quantity), typeof(source), typeof(date), upc
		FROM read_parquet('%s/raw/source=distrokid/**/*.parquet', hive_partitioning = true) WHERE upc LIKE '0%%' LIMIT 1`, c.lake)).
		Scan(&tEarn, &tSale, &tUPC, &tQty, &tSrc, &tDate, &upc)
	require.NoError(t, err)
	require.Equal(t, []string{"DECIMAL(18,12)", "DATE", "VARCHAR", "BIGINT", "VARCHAR", "DATE"}, []string{tEarn, tSale, tUPC, tQty, tSrc, tDate})
	require.True(t, strings.HasPrefix(upc, "0"), "UPC leading zeros are kept: %s", upc)

	// Every row names its file and line (the file name crosses the plugin
	// boundary once per batch, as a constant column).
	q, err := db.Query(fmt.Sprintf(`SELECT source_file, count(*), min(source_line), count(DISTINCT source_line)
		FROM read_parquet('%s/raw/source=distrokid/**/*.parquet', hive_partitioning = true) GROUP BY ALL`, c.lake))
	require.NoError(t, err)
	gotFiles := map[string]int64{}
	for q.Next() {
		var name string
		var n, minLine, lines int64
		require.NoError(t, q.Scan(&name, &n, &minLine, &lines))
		gotFiles[name] = n
		require.Equal(t, n, lines, "%s: one row per line", name)
		require.Equal(t, int64(2), minLine, "%s: the first data line follows the header", name)
	}
	require.NoError(t, q.Err())
	require.Equal(t, fileRows, gotFiles)

	// Landing keeps the exact bytes.
	landing := doc["landing"].(string)
	for _, p := range paths {
		want, err := os.ReadFile(p)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(c.lake, landing, filepath.Base(p)))
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "landing copy of %s differs", p)
	}

	// Again: nothing is added.
	out := c.ok(append([]string{"ingest", "distrokid"}, paths...)...)
	require.Contains(t, out, "Total: 0 rows")
	gotRows, gotSum = duck(t, c.lake)
	require.Equal(t, rows, gotRows)
	require.Equal(t, addE12(t, sums...), gotSum)

	// Replay rebuilds raw from landing with the same rows.
	rep := c.json("replay", "distrokid")
	require.Equal(t, "succeeded", rep["status"])
	gotRows, gotSum = duck(t, c.lake)
	require.Equal(t, rows, gotRows)
	require.Equal(t, addE12(t, sums...), gotSum)

	runs := c.json("runs")
	items := runs["items"].([]any)
	require.Len(t, items, 3)
	status := c.json("status")
	require.NotEmpty(t, status["datasets"])
}

func TestMalformedExportIsQuarantined(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	good, s := export(t, t.TempDir(), "DistroKid_good.tsv", exportgen.Options{Rows: 100, Seed: 9})
	bad, err := filepath.Abs("../../plugins/distrokid/testdata/malformed.tsv")
	require.NoError(t, err)
	r := c.run("ingest", "distrokid", good, bad)
	require.Equal(t, 3, r.code, "exit code 3 means input was quarantined\n%s%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "QUARANTINED  malformed.tsv")
	require.Regexp(t, `malformed\.tsv:\d+: field "`, r.stdout, "problems name file, line and field")

	rows, sum := duck(t, c.lake)
	require.EqualValues(t, s.Rows, rows, "only the good file reaches raw")
	require.Equal(t, addE12(t, s.Earnings), sum)
	matches, _ := filepath.Glob(filepath.Join(c.lake, "landing", "distrokid", "*", zone.QuarantineDir, "malformed.tsv*"))
	require.Len(t, matches, 2, "the file and its reason are kept in quarantine")
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	require.Equal(t, 4, c.run("status").code, "no lake yet")
	require.Equal(t, 2, c.run("status", "--no-such-flag").code)
	require.Equal(t, 2, c.run("ingest", "distrokid").code)
	c.ok("init")
	r := c.run("ingest", "distrokid", "../../examples/distrokid/DistroKid_current15_quoted_utf8.tsv")
	require.Equal(t, 4, r.code)
	require.Contains(t, r.stderr, "bedrot plugin install")
	require.Equal(t, 2, c.run("status", "-o", "yaml").code)
	r = c.run("ingest", "distrokid", "../../examples/distrokid")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "is a folder")
	bad := newCLI(t, "BEDROT_STORAGE_BACKEND=tape")
	r = bad.run("status")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "storage.backend")
	help := c.ok("--help")
	require.Contains(t, help, "Exit codes:")
}

func TestTamperedPluginFailsTheRun(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	list := c.json("plugin", "list")
	path := list["items"].([]any)[0].(map[string]any)["path"].(string)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.Write([]byte{0})
	require.NoError(t, f.Close())
	r := c.run("ingest", "distrokid", "../../examples/distrokid/DistroKid_current15_quoted_utf8.tsv")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "does not match the SHA-256 recorded at install")
	require.Equal(t, 1, c.run("plugin", "verify").code)
}

// downloadLake copies a bucket's objects into a folder so DuckDB can read them.
func downloadLake(t *testing.T, st storage.Store) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	require.NoError(t, st.List(ctx, "raw/", func(oi storage.ObjectInfo) error {
		obj, err := st.Open(ctx, oi.Key)
		require.NoError(t, err)
		defer obj.Close()
		p := filepath.Join(dir, filepath.FromSlash(oi.Key))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		require.NoError(t, err)
		_, err = io.Copy(f, obj)
		require.NoError(t, err)
		return f.Close()
	}))
	return dir
}

func minioPostgresEnv(t *testing.T) ([]string, storage.Store) {
	srv := miniotest.Require(t)
	bucket := srv.NewBucket(t)
	schema := newSchema(t)
	env := []string{"BEDROT_STORAGE_BACKEND=s3", "BEDROT_STORAGE_S3_ENDPOINT=" + srv.Endpoint, "BEDROT_STORAGE_S3_BUCKET=" + bucket,
		"BEDROT_STORAGE_S3_PREFIX=lake", "BEDROT_STORAGE_S3_ACCESS_KEY=" + srv.AccessKey, "BEDROT_STORAGE_S3_SECRET_KEY=" + srv.SecretKey,
		"BEDROT_DATABASE_URL=" + pgtest.URL(), "BEDROT_DATABASE_SCHEMA=" + schema}
	st, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket, Prefix: "lake"})
	require.NoError(t, err)
	return env, st
}

func TestIngestOnMinIOAndPostgres(t *testing.T) {
	t.Parallel()
	env, st := minioPostgresEnv(t)
	c := newCLI(t, env...)
	c.setupLake()
	p, s := export(t, t.TempDir(), "DistroKid_minio.tsv", exportgen.Options{Rows: 20000, Quoted: true, Seed: 11})
	doc := c.json("ingest", "distrokid", p)
	require.Equal(t, "succeeded", doc["status"])
	status := c.json("status")
	require.Equal(t, "postgres", status["metastore"])
	require.True(t, strings.HasPrefix(status["location"].(string), "s3://"))
	rows, sum := duck(t, downloadLake(t, st))
	require.Equal(t, s.Rows, rows)
	require.Equal(t, addE12(t, s.Earnings), sum)
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NotContains(t, string(out), minioSecret(env), "secrets never reach output")
}

func minioSecret(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "BEDROT_STORAGE_S3_SECRET_KEY="); ok {
			return v
		}
	}
	return "\x00"
}

func TestRunIngestsConfiguredInbox(t *testing.T) {
	t.Parallel()
	inbox := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "bedrot.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("sources:\n  distrokid:\n    config:\n      inbox: "+inbox+"\n"), 0o644))
	c := newCLI(t, "BEDROT_CONFIG="+cfgFile)
	c.setupLake()
	_, s1 := export(t, inbox, "DistroKid_a.tsv", exportgen.Options{Rows: 700, Seed: 21})
	r := c.run("run", "distrokid")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Empty(t, r.stderr, "nothing on stderr when all goes well and stderr is not a terminal")
	require.Contains(t, r.stdout, "ingested     DistroKid_a.tsv: 700 rows")

	// A new export arrives; the old one is skipped by the source's state.
	_, s2 := export(t, inbox, "DistroKid_b.tsv", exportgen.Options{Rows: 300, Seed: 22})
	doc := c.json("run", "distrokid")
	require.EqualValues(t, 300, doc["rows"])
	rows, sum := duck(t, c.lake)
	require.Equal(t, s1.Rows+s2.Rows, rows)
	require.Equal(t, addE12(t, s1.Earnings, s2.Earnings), sum)

	unconfigured := newCLI(t)
	unconfigured.setupLake()
	r = unconfigured.run("run", "distrokid")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "sources.distrokid.config")
}

func TestTimeoutStopsTheRun(t *testing.T) {
	t.Parallel()
	// The fixture plugin hangs in Read, so the deadline always falls there.
	c := newCLI(t, "BEDROT_SOURCES__FIXTURE__CONFIG__MODE=hang")
	c.ok("init")
	c.ok("plugin", "install", plugintest.Fixture(t, "bedrot-source-fixture"))
	input := filepath.Join(t.TempDir(), "input.txt")
	require.NoError(t, os.WriteFile(input, []byte("x"), 0o644))
	start := time.Now()
	r := c.run("ingest", "fixture", input, "--timeout", "3s")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Less(t, time.Since(start), 30*time.Second)
	require.Contains(t, r.stderr, "--timeout 3s")
	runs := c.json("runs")
	require.Equal(t, "failed", runs["items"].([]any)[0].(map[string]any)["status"])
	ls := c.json("ls", "--all")
	require.Empty(t, ls["items"], "a run stopped by its timeout leaves nothing behind")
}

func TestInterruptMarksTheRunFailed(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	p, _ := export(t, t.TempDir(), "DistroKid_big.tsv", exportgen.Options{Rows: 1500000, Seed: 6})
	cmd := exec.Command(c.bin, "ingest", "distrokid", p)
	cmd.Env = c.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { // interrupt once the run is under way
		items := c.json("runs")["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["status"] == "running"
	}, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 130, ee.ExitCode(), errb.String())
	runs := c.json("runs")
	require.Equal(t, "failed", runs["items"].([]any)[0].(map[string]any)["status"])
	rows, _ := duck(t, c.lake)
	require.Zero(t, rows)
	ls := c.json("ls", "--all")
	require.Empty(t, ls["items"], "an interrupted run cleans up after itself")
}

func TestThirdPartyPluginInstallsAndRuns(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "bedrot-source-releases")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = "../../examples/source-releases"
	build.Env = append(os.Environ(), "GOWORK=off")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	golist := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	golist.Dir, golist.Env = build.Dir, build.Env
	list, err := golist.Output()
	require.NoError(t, err)
	require.Contains(t, string(list), "github.com/bedrot-label/bedrot/sdk")
	for _, dep := range strings.Fields(string(list)) {
		require.False(t, strings.HasPrefix(dep, "github.com/bedrot-label/bedrot/") && !strings.HasPrefix(dep, "github.com/bedrot-label/bedrot/sdk"),
			"the example must import only the SDK, not %s", dep)
	}

	c := newCLI(t)
	c.ok("init")
	c.ok("plugin", "install", bin)
	calendar, err := filepath.Abs("../../examples/source-releases/testdata/releases.json")
	require.NoError(t, err)
	doc := c.json("ingest", "releases", calendar)
	require.Equal(t, "succeeded", doc["status"])
	require.EqualValues(t, 3, doc["rows"])

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	var n int
	var first string
	require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT count(*), min(upc) FROM read_parquet('%s/raw/source=releases/**/*.parquet', hive_partitioning = true)`, c.lake)).Scan(&n, &first))
	require.Equal(t, 3, n)
	require.Equal(t, "0190295000000", first)
}

func TestConfigShowsLayersAndHidesSecrets(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "BEDROT_STORAGE_S3_SECRET_KEY=SENTINEL-s3", "BEDROT_DATABASE_URL=postgres://bedrot:SENTINEL-pw@db/bedrot",
		"BEDROT_SOURCES__SPOTIFY__CONFIG__CLIENT_SECRET=SENTINEL-spotify", "BEDROT_SOURCES__SPOTIFY__CONFIG__MARKET=NL")
	r := c.run("config", "--log-level", "debug")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stdout, "SENTINEL")
	require.Contains(t, r.stdout, "REDACTED")
	require.Contains(t, r.stdout, `"NL"`)
	require.Contains(t, r.stdout, `"debug"`, "flags are the top layer")
}

func TestRelativeLakeWorksFromAnotherDirectory(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	plugin := plugintest.Build(t, "plugins/distrokid/cmd/bedrot-source-distrokid")
	home := t.TempDir()
	run := func(dir string, args ...string) string {
		cmd := exec.Command(c.bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	work := t.TempDir()
	run(work, "init", "--lake", "lake")
	run(work, "plugin", "install", "--lake", "lake", plugin)
	example, err := filepath.Abs("../../examples/distrokid/DistroKid_current15_quoted_utf8.tsv")
	require.NoError(t, err)
	out := run(t.TempDir(), "ingest", "--lake", filepath.Join(work, "lake"), "distrokid", example)
	require.Contains(t, out, "Total: 60 rows")
}
