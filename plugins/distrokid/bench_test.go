package distrokid

import (
	"bytes"
	"context"
	"testing"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
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
// 200k generated rows; MB/s is over the file's bytes.
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
		b.Run(c.name, func(b *testing.B) {
			c.opts.Rows, c.opts.Seed = 200_000, 1
			data, sum := benchFile(b, c.opts)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var total int64
				res, err := Parse(context.Background(), bytes.NewReader(data), ParseOptions{FileName: "bench.tsv"}, func(rb *sdk.RecordBatch) error {
					for _, v := range rb.Columns[ColEarningsUSD].Int64s {
						total += v
					}
					return nil
				})
				if err != nil || len(res.Problems) > 0 || res.Rows != sum.Rows || total != sum.EarningsE12 {
					b.Fatalf("parse: err=%v problems=%v rows=%d/%d total=%d/%d", err, res.Problems, res.Rows, sum.Rows, total, sum.EarningsE12)
				}
			}
		})
	}
}
