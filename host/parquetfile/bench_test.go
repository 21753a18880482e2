package parquetfile

import (
	"io"
	"sync"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/stretchr/testify/require"
)

const (
	benchRows      = 1 << 20
	benchBatchRows = 4096
	csvBytesPerRow = 130 // size of an equivalent DistroKid TSV line
)

var benchRowsData = sync.OnceValue(func() []distroKidRow { return distroKidRows(benchRows, 1) })

var benchBatches = sync.OnceValue(func() []*sdk.RecordBatch { return batchesOf(benchRowsData(), benchBatchRows) })

var benchCompressions = []struct {
	name string
	c    Compression
}{{"zstd", CompressionZstd}, {"zstd-fastest", CompressionZstdFastest}, {"snappy", CompressionSnappy}, {"none", CompressionNone}}

// BenchmarkWriter writes ~1M DistroKid-like rows from pre-built 4096-row
// batches to io.Discard (four 256k-row groups): sequentially with every
// codec, and with two row groups encoded at once ("concurrency-2/zstd").
func BenchmarkWriter(b *testing.B) {
	for _, bc := range benchCompressions {
		b.Run(bc.name, func(b *testing.B) {
			benchWriter(b, Options{Compression: bc.c})
		})
	}
	b.Run("concurrency-2/zstd", func(b *testing.B) {
		benchWriter(b, Options{Compression: CompressionZstd, Concurrency: 2})
	})
}

func benchWriter(b *testing.B, opts Options) {
	batches := benchBatches()
	b.SetBytes(benchRows * csvBytesPerRow)
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, distroKidSchema, opts)
		require.NoError(b, err)
		for _, batch := range batches {
			require.NoError(b, w.Write(batch))
		}
		require.NoError(b, w.Close())
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGenericWriter is the baseline: parquet-go's idiomatic
// GenericWriter[struct] writing the same rows in the same 4096-row chunks,
// once with the encodings SchemaFor picks ("same-enc") and once with
// parquet-go's defaults ("plain-enc").
func BenchmarkGenericWriter(b *testing.B) {
	for _, bc := range benchCompressions {
		b.Run("same-enc/"+bc.name, func(b *testing.B) {
			benchGeneric(b, benchRowsData(), bc.c)
		})
		b.Run("plain-enc/"+bc.name, func(b *testing.B) {
			benchGeneric(b, plainRows(), bc.c)
		})
	}
}

var plainRows = sync.OnceValue(func() []distroKidPlainRow {
	rows := benchRowsData()
	out := make([]distroKidPlainRow, len(rows))
	for i, r := range rows {
		out[i] = distroKidPlainRow(r)
	}
	return out
})

// parquetGoCodecs are parquet-go's own codecs, which the baseline uses.
var parquetGoCodecs = map[Compression]compress.Codec{
	CompressionZstd:        &parquet.Zstd,
	CompressionZstdFastest: &zstd.Codec{Level: zstd.SpeedFastest},
	CompressionSnappy:      &parquet.Snappy,
	CompressionNone:        &parquet.Uncompressed,
}

func benchGeneric[T any](b *testing.B, rows []T, c Compression) {
	codec := parquetGoCodecs[c]
	b.SetBytes(benchRows * csvBytesPerRow)
	b.ReportAllocs()
	for b.Loop() {
		w := parquet.NewGenericWriter[T](io.Discard,
			parquet.Compression(codec),
			parquet.MaxRowsPerRowGroup(DefaultRowGroupRows),
		)
		for lo := 0; lo < len(rows); lo += benchBatchRows {
			_, err := w.Write(rows[lo:min(lo+benchBatchRows, len(rows))])
			require.NoError(b, err)
		}
		require.NoError(b, w.Close())
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkValidate measures the batch checks Write runs before encoding
// (shapes, nulls, decimal precision, UTF-8), alone.
func BenchmarkValidate(b *testing.B) {
	batches := benchBatches()
	w, err := NewWriter(io.Discard, distroKidSchema, Options{})
	require.NoError(b, err)
	b.SetBytes(benchRows * csvBytesPerRow)
	for b.Loop() {
		for _, batch := range batches {
			require.NoError(b, w.validate(batch))
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
