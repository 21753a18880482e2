package distrokid

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, every
// batch must match the schema, the rows it reports must be the rows it sent,
// a file without problems must have sent every record, and parsing in
// parallel (with chunks and blocks shrunk to a few bytes, so that they split
// the input everywhere) must give exactly what parsing sequentially gives.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../../examples/distrokid/*", "testdata/*.tsv"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("Sale Month\tEarnings (USD)\n2026-01\t1.5\n"))
	f.Add([]byte("\"Reporting Date\",\"Sale Month\"\r\"a\"\"b\",\"\n"))
	f.Add([]byte("Sale Month,Earnings (USD)\r\n\"2026-01\",\"1\r\n.5\"\r\n2026-02,\"x\" y\r\n\"\r\n2026-03,2\r"))
	f.Fuzz(fuzzOne)
}

// fuzzOne checks Parse on one input; see FuzzParse.
func fuzzOne(t *testing.T, data []byte) {
	opts := ParseOptions{FileName: "fuzz.tsv", BatchRows: 7, MaxProblems: 50, Workers: 1}
	var sent int64
	res, err := Parse(context.Background(), bytes.NewReader(data), opts,
		func(b *sdk.RecordBatch) error {
			if err := b.Validate(EarningsSchema); err != nil {
				t.Fatalf("batch does not match the schema: %v", err)
			}
			sent += int64(b.NumRows)
			return nil
		})
	if err == nil {
		if res.Rows != sent {
			t.Fatalf("reported %d rows, sent %d", res.Rows, sent)
		}
		if len(res.Problems) == 0 && res.Rows != res.Records {
			t.Fatalf("no problems, yet %d of %d records were sent", res.Rows, res.Records)
		}
		if len(res.Problems) > 51 {
			t.Fatalf("%d problems listed past the cap of 50 (+1 summary)", len(res.Problems))
		}
	}
	// Sequential and parallel, whole and in small reads.
	k := len(data)
	for _, rk := range readerKinds[:2] {
		newReader := func() io.Reader { return rk.wrap(data) }
		want := run(t, newReader, opts, 0, false)
		for i, tu := range []tuning{
			{chunkBytes: 1 + k%17, blockBytes: 1 + k%29, carryBytes: -1, maxSpan: 1 + k%41, maxBlocks: 2},
			{chunkBytes: 1 + k%5, blockBytes: 64, carryBytes: 1 + k%31},
		} {
			par := opts
			par.Workers, par.tune = 2+i, tu
			requireSameOutcome(t, want, run(t, newReader, par, 0, false), fmt.Sprintf("reader %s, %d workers, %+v", rk.name, par.Workers, tu))
		}
	}
}

// FuzzParse's checks over inputs mutated at random from its seeds (the
// fuzzing engine is slow on this target; this runs in every go test).
func TestParseMutatedSeeds(t *testing.T) {
	t.Parallel()
	var seeds [][]byte
	for _, pattern := range []string{"../../examples/distrokid/*", "testdata/*.tsv"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				seeds = append(seeds, data)
			}
		}
	}
	require.NotEmpty(t, seeds)
	n := 400
	if testing.Short() {
		n = 60
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		d := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for k := rng.IntN(8); k >= 0 && len(d) > 0; k-- {
			j := rng.IntN(len(d))
			switch rng.IntN(5) {
			case 0:
				d[j] = "\"\r\n\t,;x\xe9"[rng.IntN(8)]
			case 1:
				d = append(d[:j], d[j+1:]...)
			case 2:
				d = append(d[:j], append([]byte{"\"\r\n\t,;"[rng.IntN(6)]}, d[j:]...)...)
			case 3:
				d = append(d[:j], d[min(len(d), j+rng.IntN(200)):]...)
			case 4:
				d = d[:j]
			}
		}
		fuzzOne(t, d)
	}
}
