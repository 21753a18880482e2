// Command distrokid benchmarks the whole DistroKid path — plugin → landing →
// raw Parquet through the real bedrot binary — on a generated export, and
// measures two references on the same file and machine: DuckDB's own
// CSV-to-Parquet conversion, and an in-process parse + parquet-go write of
// the same rows with no plugin boundary, landing copy or commit. It prints
// rows/s, input MB/s, peak RSS of host and plugin, and the ratios the
// foundation issue sets bars on.
//
//	go run ./bench/distrokid -rows 5000000 -bin bin
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/plugins/distrokid"
	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

func main() {
	rows := flag.Int("rows", 5_000_000, "rows in the generated export")
	bin := flag.String("bin", "bin", "folder with bedrot and bedrot-source-distrokid")
	dir := flag.String("dir", "bench/out", "work folder (the export is cached here)")
	repeat := flag.Int("repeat", 5, "rounds, each running every path once: a path's fastest wall time counts (its median is shown too), and the highest peak RSS")
	flag.Parse()
	if err := run(*rows, *bin, *dir, max(*repeat, 1)); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type measure struct {
	name string
	wall time.Duration
	cpu  time.Duration // user + system, every process and thread of the path
	// switches are the context switches of those processes and threads:
	// handing work between two processes costs more of them than between
	// threads of one, and on some hypervisors each is dear.
	switches int64
	median   time.Duration // of the wall times, over the rounds
	rss      int64
	plugin   int64
}

// usage is the CPU time (user + system) and the context switches
// (voluntary and not) of a process and the children it waited for.
type usage struct {
	cpu      time.Duration
	switches int64
}

func (u usage) sub(v usage) usage { return usage{u.cpu - v.cpu, u.switches - v.switches} }

// selfUsage is what this process (all its threads, DuckDB's included) has
// used so far.
func selfUsage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return rusageOf(&ru)
}

// rusageOf is the usage a resource usage reports.
func rusageOf(ru *syscall.Rusage) usage {
	if ru == nil {
		return usage{}
	}
	return usage{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw}
}

// path is one way of turning the export into Parquet, timed by run.
type path struct {
	clean string // its output, removed before each run
	run   func() (measure, error)
}

// interleave runs each path once per round, rounds times, in turn: a noisy
// neighbour on a shared machine then slows every path alike rather than
// whichever ran while it was busy. For each path it keeps the fastest wall
// time (and that run's CPU), the median wall time, and the highest peak RSS
// of host and plugin. Before each run the previous output is removed and
// writeback settles. Every run's wall time is printed as it ends, so a
// noisy machine shows.
func interleave(rounds int, settle func(), paths []path) ([]measure, error) {
	out := make([]measure, len(paths))
	walls := make([][]time.Duration, len(paths))
	for r := range rounds {
		fmt.Printf("  round %d/%d:", r+1, rounds)
		for i, p := range paths {
			_ = os.RemoveAll(p.clean)
			settle()
			m, err := p.run()
			if err != nil {
				return nil, err
			}
			fmt.Printf(" %s %.2fs", shortName(m.name), m.wall.Seconds())
			b := &out[i]
			if r == 0 || m.wall < b.wall {
				b.wall, b.cpu, b.switches = m.wall, m.cpu, m.switches
			}
			b.name = m.name
			b.rss = max(b.rss, m.rss)
			b.plugin = max(b.plugin, m.plugin)
			walls[i] = append(walls[i], m.wall)
		}
		fmt.Println()
	}
	for i := range out {
		slices.Sort(walls[i])
		out[i].median = walls[i][len(walls[i])/2]
	}
	return out, nil
}

// shortName is the first word of a path's name, for the per-run lines.
func shortName(name string) string {
	if i := strings.IndexByte(name, ' '); i > 0 {
		return name[:i]
	}
	return name
}

func run(rows int, bin, dir string, repeat int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	input, sum, err := generate(dir, rows)
	if err != nil {
		return err
	}
	st, err := os.Stat(input)
	if err != nil {
		return err
	}
	mb := float64(st.Size()) / 1e6
	fmt.Printf("input: %s, %d rows, %.0f MB, earnings %s\n\n", input, sum.Rows, mb, sum.Earnings)

	// Each measurement starts with the previous one's writes on disk, so
	// that background writeback does not steal the next one's CPU.
	settle := func() { syscall.Sync(); time.Sleep(2 * time.Second) }
	fmt.Printf("%d rounds; each round runs every path once, in turn\n", repeat)
	ms, err := interleave(repeat, settle, []path{
		{clean: filepath.Join(dir, "duckdb.parquet"), run: func() (measure, error) { return duckdb(input, filepath.Join(dir, "duckdb.parquet")) }},
		{clean: filepath.Join(dir, "inprocess.parquet"), run: func() (measure, error) { return inProcess(input, filepath.Join(dir, "inprocess.parquet")) }},
		{clean: filepath.Join(dir, "lake"), run: func() (measure, error) { return bedrot(bin, input, filepath.Join(dir, "lake")) }},
	})
	if err != nil {
		return err
	}
	duck, inproc, ours := ms[0], ms[1], ms[2]
	fmt.Println()
	fmt.Printf("%-44s %10s %8s %9s %12s %9s %10s %12s %12s\n", "path", "best wall", "CPU", "switches", "rows/s", "MB/s", "median", "peak RSS", "plugin RSS")
	for _, m := range []measure{duck, inproc, ours} {
		plugin := "-"
		if m.plugin > 0 {
			plugin = fmt.Sprintf("%d MiB", m.plugin>>20)
		}
		rss := "-"
		if m.rss > 0 {
			rss = fmt.Sprintf("%d MiB", m.rss>>20)
		}
		fmt.Printf("%-44s %10s %7.2fs %9d %12.0f %9.1f %10s %12s %12s\n", m.name, m.wall.Round(time.Millisecond), m.cpu.Seconds(), m.switches,
			float64(sum.Rows)/m.wall.Seconds(), mb/m.wall.Seconds(), m.median.Round(time.Millisecond), rss, plugin)
	}
	fmt.Printf("\nbedrot throughput vs DuckDB CSV->Parquet:        %.0f%% (bar: >= 75%%; medians: %.0f%%)\n",
		100*duck.wall.Seconds()/ours.wall.Seconds(), 100*duck.median.Seconds()/ours.median.Seconds())
	fmt.Printf("bedrot wall time vs in-process parquet-go write:  %.2fx (bar: <= 1.35x; medians: %.2fx)\n",
		ours.wall.Seconds()/inproc.wall.Seconds(), ours.median.Seconds()/inproc.median.Seconds())
	fmt.Printf("host peak RSS %d MiB (bar: <= 256), plugin peak RSS %d MiB (bar: <= 64)\n", ours.rss>>20, ours.plugin>>20)
	b3, err1 := hashTime(input, digest.New())
	sha, err2 := hashTime(input, sha256.New())
	if err1 == nil && err2 == nil {
		fmt.Printf("for scale: the BLAKE3 of the export alone (bedrot's landing checksum and file identity; the in-process path has none) takes %.2fs here (SHA-256: %.2fs)\n",
			b3.Seconds(), sha.Seconds())
	}

	settle()
	val, err := validate(bin, filepath.Join(dir, "lake"))
	if err != nil {
		return fmt.Errorf("quality run: %w", err)
	}
	fmt.Printf("\nvalidation of raw.distrokid.earnings against a 10-expectation suite (bench/distrokid/suite10.json), through the quality-ge plugin:\n")
	fmt.Printf("  %s, %.0f rows/s (bar: >= 1,000,000), host peak RSS %d MiB, validator peak RSS %d MiB\n",
		val.wall.Round(time.Millisecond), float64(sum.Rows)/val.wall.Seconds(), val.rss>>20, val.plugin>>20)
	return nil
}

// validate times `bedrot quality run` on the lake the ingest built.
func validate(bin, lake string) (measure, error) {
	exe := filepath.Join(bin, "bedrot")
	env := append(os.Environ(), "BEDROT_LAKE="+lake)
	install := exec.Command(exe, "plugin", "install", filepath.Join(bin, "bedrot-validator-quality-ge"))
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		return measure{}, fmt.Errorf("install: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "quality", "run", "raw.distrokid.earnings", "--suite", filepath.Join("bench", "distrokid", "suite10.json"))
	cmd.Env = env
	cmd.Stderr = os.Stderr
	var stdout strings.Builder
	cmd.Stdout = &stdout
	start := time.Now()
	rss, err := watch(cmd)
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("%v\n%s", err, stdout.String())
	}
	m := measure{name: "bedrot quality run", wall: wall, rss: rss}
	if i := strings.Index(stdout.String(), "validator peak memory "); i >= 0 {
		var mib int64
		fmt.Sscanf(stdout.String()[i+len("validator peak memory "):], "%d", &mib)
		m.plugin = mib << 20
	}
	return m, nil
}

// watch runs cmd, sampling its own peak RSS, and returns it.
func watch(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var rss int64
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			return rss, err
		case <-time.After(20 * time.Millisecond):
			if hwm := pluginhost.HighWaterRSS(cmd.Process.Pid); hwm > 0 {
				rss = hwm
			}
		}
	}
}

func generate(dir string, rows int) (string, exportgen.Summary, error) {
	path := filepath.Join(dir, fmt.Sprintf("DistroKid_bench_%d.tsv", rows))
	sumPath := path + ".summary.json"
	var sum exportgen.Summary
	if b, err := os.ReadFile(sumPath); err == nil && json.Unmarshal(b, &sum) == nil {
		if st, err := os.Stat(path); err == nil && st.Size() == sum.Bytes {
			return path, sum, nil
		}
	}
	fmt.Printf("generating %d rows ...\n", rows)
	f, err := os.Create(path)
	if err != nil {
		return "", sum, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sum, err = exportgen.Write(w, exportgen.Options{Rows: rows, Seed: 42})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", sum, err
	}
	b, _ := json.Marshal(sum)
	return path, sum, os.WriteFile(sumPath, b, 0o644)
}

func duckdb(input, out string) (measure, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return measure{}, err
	}
	defer db.Close()
	start, u0 := time.Now(), selfUsage()
	_, err = db.Exec(fmt.Sprintf(`COPY (SELECT * FROM read_csv('%s', delim='\t', header=true)) TO '%s' (FORMAT parquet, COMPRESSION zstd)`, input, out))
	u := selfUsage().sub(u0)
	return measure{name: "DuckDB COPY read_csv -> parquet (zstd)", wall: time.Since(start), cpu: u.cpu, switches: u.switches}, err
}

// hashTime is how long this process takes to hash the file with h.
func hashTime(input string, h io.Writer) (time.Duration, error) {
	f, err := os.Open(input)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	_, err = io.CopyBuffer(h, f, make([]byte, 1<<20))
	return time.Since(start), err
}

// inProcess parses and writes in this process: the same parser and Parquet
// writer bedrot uses, without plugin boundary, landing copy or commit.
func inProcess(input, out string) (measure, error) {
	in, err := os.Open(input)
	if err != nil {
		return measure{}, err
	}
	defer in.Close()
	f, err := os.Create(out)
	if err != nil {
		return measure{}, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	start, u0 := time.Now(), selfUsage()
	// The same parallelism as the host and plugin: the parser's workers
	// (one per core) and two row groups encoded at once. The parser reuses
	// its batch, and a concurrent writer keeps it, so each is cloned.
	w, err := parquetfile.NewWriter(bw, distrokid.EarningsSchema, parquetfile.Options{Concurrency: 2})
	if err != nil {
		return measure{}, err
	}
	_, err = distrokid.Parse(context.Background(), bufio.NewReaderSize(in, 1<<20), distrokid.ParseOptions{FileName: filepath.Base(input)},
		func(b *sdk.RecordBatch) error { return w.Write(cloneBatch(b)) })
	if err != nil {
		return measure{}, err
	}
	if err := w.Close(); err != nil {
		return measure{}, err
	}
	if err := bw.Flush(); err != nil {
		return measure{}, err
	}
	u := selfUsage().sub(u0)
	return measure{name: "in-process parse + parquet-go write", wall: time.Since(start), cpu: u.cpu, switches: u.switches}, nil
}

// cloneBatch returns a copy of b that shares no memory with it.
func cloneBatch(b *sdk.RecordBatch) *sdk.RecordBatch {
	c := *b
	c.Columns = make([]sdk.Column, len(b.Columns))
	for i, col := range b.Columns {
		c.Columns[i] = sdk.Column{
			Int64s: slices.Clone(col.Int64s), Int32s: slices.Clone(col.Int32s), Float64s: slices.Clone(col.Float64s),
			Bools: slices.Clone(col.Bools), Bytes: slices.Clone(col.Bytes), Offsets: slices.Clone(col.Offsets), Null: slices.Clone(col.Null),
		}
	}
	return &c
}

func bedrot(bin, input, lake string) (measure, error) {
	exe := filepath.Join(bin, "bedrot")
	env := append(os.Environ(), "BEDROT_LAKE="+lake)
	for _, args := range [][]string{{"init"}, {"plugin", "install", filepath.Join(bin, "bedrot-source-distrokid")}} {
		cmd := exec.Command(exe, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return measure{}, fmt.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(exe, "ingest", "distrokid", input, "-o", "json")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	var stdout strings.Builder
	cmd.Stdout = &stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measure{}, err
	}
	// The kernel's exit accounting would also count the pages bedrot shared
	// with this process (and its DuckDB) when forked, so read the live
	// process's own high-water mark instead.
	var rss int64
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-time.After(20 * time.Millisecond):
			if hwm := pluginhost.HighWaterRSS(cmd.Process.Pid); hwm > 0 {
				rss = hwm
			}
		}
	}
	wall := time.Since(start)
	out := []byte(stdout.String())
	if err != nil {
		return measure{}, fmt.Errorf("ingest: %v\n%s", err, out)
	}
	var res struct {
		Status string `json:"status"`
		Rows   int64  `json:"rows"`
		Plugin int64  `json:"plugin_peak_rss_bytes"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return measure{}, err
	}
	if res.Status != "succeeded" {
		return measure{}, fmt.Errorf("run %s:\n%s", res.Status, out)
	}
	// The host's usage includes its plugin's: the host waits for it.
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	u := rusageOf(ru)
	return measure{name: "bedrot ingest (plugin -> landing -> raw)", wall: wall, cpu: u.cpu, switches: u.switches, rss: rss, plugin: res.Plugin}, nil
}
