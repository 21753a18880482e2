package parquetfile

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
)

// wideSchema is distroKidSchema plus five columns of the types it lacks (a
// timestamp, a nullable double, a bool, a nullable int64 and one more
// string): 20 columns, the width of a typical raw-zone table.
var wideSchema = sdk.Schema{Fields: append(slices.Clone(distroKidSchema.Fields),
	sdk.Field{Name: "ingested_at", Type: sdk.TypeTimestamp},
	sdk.Field{Name: "exchange_rate", Type: sdk.TypeFloat64, Nullable: true},
	sdk.Field{Name: "is_album", Type: sdk.TypeBool},
	sdk.Field{Name: "streams", Type: sdk.TypeInt64, Nullable: true},
	sdk.Field{Name: "currency", Type: sdk.TypeString},
)}

// wideBatches extends the benchmark's DistroKid batches to wideSchema.
func wideBatches() []*sdk.RecordBatch {
	currencies := []string{"USD", "EUR", "GBP", "JPY", "BRL"}
	var out []*sdk.RecordBatch
	row := 0
	for _, b := range benchBatches() {
		bb := sdk.NewBatchBuilder("earnings", sdk.Schema{Fields: wideSchema.Fields[len(distroKidSchema.Fields):]})
		for range b.NumRows {
			bb.AppendInt64(0, 1_795_651_200_000_000+int64(row)*1_000_003)
			if row%10 == 0 {
				bb.AppendNull(1)
			} else {
				bb.AppendFloat64(1, 0.8+float64(row%1000)/10_000)
			}
			bb.AppendBool(2, row%17 == 0)
			if row%4 == 0 {
				bb.AppendNull(3)
			} else {
				bb.AppendInt64(3, int64(row%100_000))
			}
			bb.AppendString(4, []byte(currencies[row%len(currencies)]))
			bb.EndRow()
			row++
		}
		wide := *b
		wide.Columns = append(slices.Clone(b.Columns), bb.Batch().Columns...)
		out = append(out, &wide)
	}
	return out
}

var (
	benchFilesMu sync.Mutex
	benchFiles   = map[string][]byte{}
)

// benchFile writes the benchmark rows once per layout and compression.
func benchFile(b *testing.B, wide bool, c Compression) []byte {
	benchFilesMu.Lock()
	defer benchFilesMu.Unlock()
	key := fmt.Sprint(wide, c)
	if data, ok := benchFiles[key]; ok {
		return data
	}
	s, batches := distroKidSchema, benchBatches()
	if wide {
		s, batches = wideSchema, wideBatches()
	}
	data := writeFile(b, s, Options{Compression: c}, batches...)
	benchFiles[key] = data
	return data
}

// BenchmarkReader reads ~1M rows (four 256k-row groups) from an in-memory
// file into 8192-row batches: the 15-column DistroKid layout, the 20-column
// wide layout, and a 3-column projection.
func BenchmarkReader(b *testing.B) {
	for _, bc := range benchCompressions {
		b.Run("distrokid-15col/"+bc.name, func(b *testing.B) {
			benchRead(b, benchFile(b, false, bc.c), ReadOptions{})
		})
		b.Run("wide-20col/"+bc.name, func(b *testing.B) {
			benchRead(b, benchFile(b, true, bc.c), ReadOptions{})
		})
	}
	b.Run("projection-3col/zstd", func(b *testing.B) {
		benchRead(b, benchFile(b, false, CompressionZstd), ReadOptions{Columns: []string{"isrc", "country_of_sale", "earnings"}})
	})
}

func benchRead(b *testing.B, data []byte, opts ReadOptions) {
	b.SetBytes(benchRows * csvBytesPerRow)
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), opts)
		require.NoError(b, err)
		rows := 0
		for {
			batch, err := r.Next()
			if err == io.EOF {
				break
			}
			require.NoError(b, err)
			rows += batch.NumRows
		}
		require.NoError(b, r.Close())
		require.Equal(b, benchRows, rows)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGenericReader is the baseline: parquet-go's idiomatic
// GenericReader[struct] reading the same DistroKid file in 4096-row chunks.
func BenchmarkGenericReader(b *testing.B) {
	for _, bc := range benchCompressions {
		b.Run(bc.name, func(b *testing.B) {
			data := benchFile(b, false, bc.c)
			b.SetBytes(benchRows * csvBytesPerRow)
			b.ReportAllocs()
			buf := make([]distroKidRow, benchBatchRows)
			for b.Loop() {
				r := parquet.NewGenericReader[distroKidRow](bytes.NewReader(data))
				rows := 0
				for {
					n, err := r.Read(buf)
					rows += n
					if err == io.EOF {
						break
					}
					require.NoError(b, err)
				}
				require.NoError(b, r.Close())
				require.Equal(b, benchRows, rows)
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
