package parquetfile

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestExpEncodings(t *testing.T) {
	batches := benchBatches()
	for _, date := range []encoding.Encoding{nil, &parquet.RLEDictionary} {
		for _, dec := range []encoding.Encoding{nil, &parquet.DeltaBinaryPacked} {
			for _, comp := range []Compression{CompressionZstd, CompressionZstdFastest, CompressionSnappy, CompressionNone} {
				expEncoding = map[sdk.Type]encoding.Encoding{sdk.TypeDate: date, sdk.TypeDecimal: dec, sdk.TypeInt64: dec}
				best := time.Hour
				var size int64
				bestCPU := time.Hour
				for range 5 {
					cw := &countWriter{}
					start := time.Now()
					c0 := cpuTime()
					w, err := NewWriter(cw, distroKidSchema, Options{Compression: comp})
					if err != nil {
						t.Fatal(err)
					}
					for _, b := range batches {
						if err := w.Write(b); err != nil {
							t.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					best = min(best, time.Since(start))
					bestCPU = min(bestCPU, cpuTime()-c0)
					size = cw.n
				}
				name := func(e encoding.Encoding) string {
					if e == nil {
						return "PLAIN"
					}
					return e.String()
				}
				fmt.Printf("date=%-22s int=%-22s comp=%d  %6.1f ms wall %6.1f ms cpu %6.2f MB\n", name(date), name(dec), comp, float64(best.Microseconds())/1000, float64(bestCPU.Microseconds())/1000, float64(size)/1e6)
			}
		}
	}
	expEncoding = map[sdk.Type]encoding.Encoding{}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
