package expect

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
)

// benchSchema is shaped like the DistroKid earnings stream.
var benchSchema = sdk.Schema{Fields: []sdk.Field{
	{Name: "reporting_date", Type: sdk.TypeDate},
	{Name: "store", Type: sdk.TypeString},
	{Name: "isrc", Type: sdk.TypeString, Nullable: true},
	{Name: "quantity", Type: sdk.TypeInt64},
	{Name: "country_of_sale", Type: sdk.TypeString},
	{Name: "earnings_usd", Type: sdk.TypeDecimal, Precision: 18, Scale: 12},
	{Name: "source_file", Type: sdk.TypeString},
	{Name: "source_line", Type: sdk.TypeInt64},
}}

const benchSuite = `{"name": "distrokid_earnings", "expectations": [
	{"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
	{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "reporting_date"}},
	{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "isrc", "mostly": 0.9}},
	{"type": "expect_column_values_to_match_regex", "kwargs": {"column": "isrc", "regex": "^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$", "mostly": 0.99}},
	{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "store", "value_set": ["Spotify", "Apple Music", "Amazon", "YouTube", "Deezer", "TikTok"]}},
	{"type": "expect_column_values_to_be_between", "kwargs": {"column": "quantity", "min_value": 0, "mostly": 0.99}},
	{"type": "expect_column_values_to_be_between", "kwargs": {"column": "earnings_usd", "min_value": -1000, "max_value": 1000}},
	{"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "country_of_sale", "value": 2}},
	{"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["source_file", "source_line"]}},
	{"type": "expect_column_sum_to_be_between", "kwargs": {"column": "earnings_usd", "min_value": 0}}
]}`

// benchBatches builds rows of DistroKid-like data in 4096-row batches.
func benchBatches(rows int) []*sdk.RecordBatch {
	stores := []string{"Spotify", "Apple Music", "Amazon", "YouTube", "Deezer", "TikTok", "Tidal"}
	countries := []string{"US", "GB", "DE", "FR", "OU", "BR", "JPN"}
	var out []*sdk.RecordBatch
	for start := 0; start < rows; start += 4096 {
		bb := sdk.NewBatchBuilder("earnings", benchSchema)
		for i := start; i < min(start+4096, rows); i++ {
			bb.AppendInt32(0, int32(19000+i%365))
			bb.AppendString(1, []byte(stores[i%len(stores)]))
			if i%50 == 0 {
				bb.AppendNull(2)
			} else {
				bb.AppendString(2, fmt.Appendf(nil, "US%s%07d", []string{"ABC", "XY1", "QM4"}[i%3], i%10_000_000))
			}
			bb.AppendInt64(3, int64(i%1000)-int64(i%997/990))
			bb.AppendString(4, []byte(countries[i%len(countries)]))
			bb.AppendInt64(5, int64(i%100_000)*1_000_000_000)
			bb.AppendString(6, fmt.Appendf(nil, "DistroKid_%d.tsv", i/1_000_000))
			bb.AppendInt64(7, int64(i%1_000_000+2))
			bb.EndRow()
		}
		b := *bb.Batch()
		out = append(out, &b)
	}
	return out
}

// BenchmarkValidate validates 1M DistroKid-like rows against a
// 10-expectation suite and reports rows/s.
func BenchmarkValidate(b *testing.B) {
	const rows = 1_000_000
	batches := benchBatches(rows)
	s := mustSuite(b, benchSuite)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v, err := New(s, benchSchema, Options{})
		require.NoError(b, err)
		for _, batch := range batches {
			require.NoError(b, v.Add(batch))
		}
		res := v.Result()
		require.Equal(b, 10, res.Statistics.EvaluatedExpectations)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestBenchSuiteResult checks the benchmark's suite finds what the data holds.
func TestBenchSuiteResult(t *testing.T) {
	t.Parallel()
	batches := benchBatches(20_000)
	res := validate(t, mustSuite(t, benchSuite), benchSchema, batches, Options{})
	for i, r := range res.Results {
		require.False(t, r.ExceptionInfo.RaisedException, "expectation %d: %v", i, r.ExceptionInfo.ExceptionMessage)
	}
	ok := func(i int) bool { return res.Results[i].Success }
	require.True(t, ok(0))
	require.True(t, ok(1))
	require.True(t, ok(2))  // 2% null isrc, mostly 0.9
	require.True(t, ok(3))  // every ISRC matches
	require.False(t, ok(4)) // Tidal is not in the set
	require.True(t, ok(5))
	require.True(t, ok(6))
	require.False(t, ok(7)) // "JPN" is three letters
	require.True(t, ok(8))
	require.True(t, ok(9))
	m := resultJSON(t, res.Results[4])
	require.InDelta(t, float64(20_000/7), m["unexpected_count"], 1)
	require.Equal(t, "Tidal", m["partial_unexpected_list"].([]any)[0])
}
