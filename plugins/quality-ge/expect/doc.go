// Package expect validates columnar record batches against a Great
// Expectations suite, streaming: New compiles the suite for a schema, Add
// folds in any number of sdk.RecordBatch values, Result returns the GX 1.x
// validation result.
//
//	v, err := expect.New(suite, schema, expect.Options{ResultFormat: "SUMMARY"})
//	for _, b := range batches {
//		if err := v.Add(b); err != nil { … }
//	}
//	res := v.Result() // json.Marshal(res) is GX 1.x result JSON
//
// Semantics follow GX 1.x (pandas execution engine): column map
// expectations judge non-missing values only (nulls, and NaN in float
// columns, are counted as missing_count) except
// expect_column_values_to_(not_)be_null; success is
// (judged − unexpected) / judged ≥ mostly and vacuously true when nothing
// was judged (expect_column_values_to_not_be_null fails on an empty table);
// result_format BOOLEAN_ONLY, BASIC, SUMMARY and COMPLETE report the keys
// GX's _format_map_output reports; partial_unexpected_list holds the first
// 20 (partial_unexpected_count) unexpected values in row order, and
// partial_unexpected_counts counts them (over all unexpected values with
// COMPLETE), sorted by count then value.
//
// Memory: column map expectations keep counts and at most
// partial_unexpected_count unexpected values (all of them only with
// COMPLETE). Uniqueness expectations (values_to_be_unique,
// compound_columns_to_be_unique, unique_value_count,
// proportion_of_unique_values) keep a compact table of 64-bit value hashes
// (see unique.go). Median and quantiles are exact up to MaxExactValues
// (10,000,000) values per column. The distinct-value expectations count
// every distinct value and suit low-cardinality columns.
//
// The data quality score (Result.DataQualityScore, written as
// meta.data_quality_score) is the mean over all expectations of each one's
// quality: for a map expectation the share of judged values that met it
// (so a 2% duplicate rate scores 0.98 even when mostly lets it pass); for a
// table or aggregate expectation 1 when it passed and 0 when it failed; 0
// for an expectation that raised an exception. An empty suite scores 1.
//
// Speed: expectations work on the column arrays directly, one closure per
// batch and column, no allocation per row.
//
// Known differences from GX (Python):
//   - regular expressions are Go's RE2: look-arounds and back-references
//     are rejected when the suite is parsed, with a clear error;
//   - expect_column_values_to_be_dateutil_parseable emulates
//     python-dateutil for the common formats, not every one;
//   - timestamps are reported as ISO strings without an offset, and
//     be_of_type calls them datetime64;
//   - NaN in a float column counts as missing, as in pandas;
//   - row_condition is rejected rather than ignored, and
//     unexpected_index_query / include_unexpected_rows are not produced;
//   - unknown kwargs are an error (typos must not pass silently);
//   - exception_traceback holds the error message, not a Python traceback.
package expect
