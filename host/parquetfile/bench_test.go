package parquetfile

import (
	"io"
	"sync"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
)

const (
	benchRows       = 1 << 20
	benchBatchRows  = 4096
	csvBytesPerRow  = 130 // size of an equivalent DistroKid TSV line
	benchRowGroupSz = DefaultRowGroupRows
)

var benchData = sync.OnceValues(func() ([]distroKidRow, [][]distroKidRow) {
	rows := distroKidRows(benchRows, 1)
	var chunks [][]distroKidRow
	for lo := 0; lo < len(rows); lo += benchBatchRows {
		chunks = append(chunks, rows[lo:min(lo+benchBatchRows, len(rows))])
	}
	return rows, chunks
})

var benchBatches = sync.OnceValue(func() []*sdk.RecordBatch {
	rows, _ := benchData()
	return batchesOf(rows, benchBatchRows)
})

// BenchmarkWriter writes ~1M DistroKid-like rows from pre-built 4096-row
// batches to io.Discard.
func BenchmarkWriter(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    Compression
	}{{"zstd", CompressionZstd}, {"zstd-fastest", CompressionZstdFastest}, {"snappy", CompressionSnappy}, {"none", CompressionNone}} {
		b.Run(bc.name, func(b *testing.B) {
			batches := benchBatches()
			b.SetBytes(benchRows * csvBytesPerRow)
			b.ReportAllocs()
			for b.Loop() {
				w, err := NewWriter(io.Discard, distroKidSchema, Options{Compression: bc.c})
				require.NoError(b, err)
				for _, batch := range batches {
					require.NoError(b, w.Write(batch))
				}
				require.NoError(b, w.Close())
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkGenericWriter is the baseline: parquet-go's idiomatic
// GenericWriter[struct] writing the same rows in the same 4096-row chunks.
func BenchmarkGenericWriter(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    Compression
	}{{"zstd", CompressionZstd}, {"zstd-fastest", CompressionZstdFastest}, {"snappy", CompressionSnappy}, {"none", CompressionNone}} {
		b.Run(bc.name, func(b *testing.B) {
			_, chunks := benchData()
			codec, err := bc.c.codec()
			require.NoError(b, err)
			b.SetBytes(benchRows * csvBytesPerRow)
			b.ReportAllocs()
			for b.Loop() {
				w := parquet.NewGenericWriter[distroKidRow](io.Discard,
					parquet.Compression(codec),
					parquet.MaxRowsPerRowGroup(benchRowGroupSz),
				)
				for _, c := range chunks {
					_, err := w.Write(c)
					require.NoError(b, err)
				}
				require.NoError(b, w.Close())
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
