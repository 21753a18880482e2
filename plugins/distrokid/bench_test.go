package distrokid

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
	"github.com/stretchr/testify/require"
)

// benchFile generates an export once per benchmark.
func benchFile(b *testing.B, opts exportgen.Options) ([]byte, exportgen.Summary) {
	b.Helper()
	var buf bytes.Buffer
	sum, err := exportgen.Write(&buf, opts)
	require.NoError(b, err)
	return buf.Bytes(), sum
}

// BenchmarkParse measures the parser alone (no payload, no transport) on
// 200k generated rows, on one goroutine and with two workers; MB/s is over
// the file's bytes.
func BenchmarkParse(b *testing.B) {
	cases := []struct {
		name string
		opts exportgen.Options
	}{
		{"current15-tsv", exportgen.Options{Layout: exportgen.Current15}},
		{"current15-quoted-tsv", exportgen.Options{Layout: exportgen.Current15, Quoted: true}},
		{"legacy13-latin1-cr", exportgen.Options{Layout: exportgen.Legacy13, Encoding: exportgen.Latin1, LineEnd: exportgen.CR}},
		{"hybrid15-csv-bom-crlf", exportgen.Options{Layout: exportgen.Hybrid15, Delimiter: ',', Encoding: exportgen.UTF8BOM, LineEnd: exportgen.CRLF}},
	}
	for _, c := range cases {
		c.opts.Rows, c.opts.Seed = 200_000, 1
		var data []byte
		var sum exportgen.Summary
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", c.name, workers), func(b *testing.B) {
				if data == nil {
					data, sum = benchFile(b, c.opts)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var total int64
					res, err := Parse(context.Background(), bytes.NewReader(data), ParseOptions{FileName: "bench.tsv", Workers: workers}, func(rb *sdk.RecordBatch) error {
						for _, v := range rb.Columns[ColEarningsUSD].Int64s {
							total += v
						}
						return nil
					})
					if err != nil || len(res.Problems) > 0 || res.Rows != sum.Rows || total != sum.EarningsE12 {
						b.Fatalf("parse: err=%v problems=%v rows=%d/%d total=%d/%d", err, res.Problems, res.Rows, sum.Rows, total, sum.EarningsE12)
					}
				}
				b.StopTimer()
				reportCPU(b, cpu0, int64(len(data)))
			})
		}
	}
}

// cpuTime returns the process's user+system CPU time. Benchmarks report
// MB per CPU-second besides MB/s, which stays meaningful on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu0 time.Duration, bytesPerOp int64) {
	d := cpuTime() - cpu0
	if d > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/d.Seconds()/1e6, "cpuMB/s")
	}
}

// discardEmitter drops everything, tracking the peak heap in use.
type discardEmitter struct {
	h        *digest.Hash
	batches  int
	peakHeap uint64
	bytes    int64
}

type discardPayload struct{ e *discardEmitter }

func (e *discardEmitter) BeginPayload(string, string) (sdk.Payload, error) {
	return discardPayload{e}, nil
}

func (e *discardEmitter) Batch(*sdk.RecordBatch) error {
	e.batches++
	if e.batches%64 == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		e.peakHeap = max(e.peakHeap, ms.HeapInuse)
	}
	return nil
}

func (e *discardEmitter) Checkpoint(string, []byte) error      { return nil }
func (e *discardEmitter) Log(sdk.LogLevel, string, ...any)     {}
func (e *discardEmitter) Progress(int64, int64, string)        {}
func (e *discardEmitter) UpdateConfig(map[string]string) error { return nil }
func (p discardPayload) Write(b []byte) (int, error) {
	p.e.h.Write(b)
	p.e.bytes += int64(len(b))
	return len(b), nil
}
func (p discardPayload) Digest() string                 { return p.e.h.String() }
func (p discardPayload) Close() error                   { return nil }
func (p discardPayload) ID() string                     { return "p" }
func (p discardPayload) End(int64, []sdk.Problem) error { return nil }

// BenchmarkSourceRead measures Read end to end on a 1M-row file on disk
// (~133 MB): file read, digest, payload tee, parse, batches. It reports
// the peak Go heap in use while reading.
func BenchmarkSourceRead(b *testing.B) {
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.tsv"))
	require.NoError(b, err)
	sum, err := exportgen.Write(f, exportgen.Options{Rows: 1_000_000, Seed: 1})
	require.NoError(b, err)
	require.NoError(b, f.Close())
	b.SetBytes(sum.Bytes)
	runtime.GC()
	var peak uint64
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := &discardEmitter{h: digest.New()}
		require.NoError(b, NewSource().Read(context.Background(), sdk.ReadRequest{Config: sdk.Config{ParamFiles: f.Name()}}, e))
		require.Equal(b, sum.Bytes, e.bytes)
		peak = max(peak, e.peakHeap)
	}
	b.StopTimer()
	reportCPU(b, cpu0, sum.Bytes)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
