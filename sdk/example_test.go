package sdk_test

import (
	"fmt"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// A source fills a batch row by row with a BatchBuilder, appending one value
// (or a null) per column and ending each row, then hands the batch to the
// host with Emitter.Batch and resets the builder for the next one.
func ExampleBatchBuilder() {
	schema := sdk.Schema{Fields: []sdk.Field{
		{Name: "track", Type: sdk.TypeString},
		{Name: "day", Type: sdk.TypeDate},
		{Name: "streams", Type: sdk.TypeInt64, Nullable: true},
		{Name: "earnings_usd", Type: sdk.TypeDecimal, Precision: 18, Scale: 12, Nullable: true},
	}}
	bb := sdk.NewBatchBuilder("earnings", schema)
	bb.Reset("earnings", "p1") // rows parsed from payload p1

	day := sdk.DaysSinceEpoch(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	bb.AppendString(0, []byte("Midnight Drive"))
	bb.AppendInt32(1, day)
	bb.AppendInt64(2, 1200)
	bb.AppendInt64(3, 4_560_000_000_000) // 4.56 USD, scale 12
	bb.EndRow()

	bb.AppendString(0, []byte("Neon Rain"))
	bb.AppendInt32(1, day)
	bb.AppendNull(2) // not reported
	bb.AppendNull(3)
	bb.EndRow()

	b := bb.Batch()
	if err := b.Validate(schema); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stream:", b.Stream, "payload:", b.PayloadID, "rows:", b.NumRows)
	for r := 0; r < b.NumRows; r++ {
		streams := "null"
		if !b.Columns[2].IsNull(r) {
			streams = fmt.Sprint(b.Columns[2].Int64s[r])
		}
		fmt.Printf("%s day=%d streams=%s\n", b.Columns[0].String(r), b.Columns[1].Int32s[r], streams)
	}
	// Output:
	// stream: earnings payload: p1 rows: 2
	// Midnight Drive day=20758 streams=1200
	// Neon Rain day=20758 streams=null
}
