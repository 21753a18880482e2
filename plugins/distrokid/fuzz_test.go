package distrokid

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, every
// batch must match the schema, the rows it reports must be the rows it sent,
// and a file without problems must have sent every record.
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
	f.Fuzz(func(t *testing.T, data []byte) {
		var sent int64
		res, err := Parse(context.Background(), bytes.NewReader(data), ParseOptions{FileName: "fuzz.tsv", BatchRows: 7, MaxProblems: 50},
			func(b *sdk.RecordBatch) error {
				if err := b.Validate(EarningsSchema); err != nil {
					t.Fatalf("batch does not match the schema: %v", err)
				}
				sent += int64(b.NumRows)
				return nil
			})
		if err != nil {
			return // an I/O-level error is a valid answer; a panic is not
		}
		if res.Rows != sent {
			t.Fatalf("reported %d rows, sent %d", res.Rows, sent)
		}
		if len(res.Problems) == 0 && res.Rows != res.Records {
			t.Fatalf("no problems, yet %d of %d records were sent", res.Rows, res.Records)
		}
		if len(res.Problems) > 51 {
			t.Fatalf("%d problems listed past the cap of 50 (+1 summary)", len(res.Problems))
		}
	})
}
