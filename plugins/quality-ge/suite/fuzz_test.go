package suite

import "testing"

// FuzzParse checks that no input makes the parser panic.
func FuzzParse(f *testing.F) {
	f.Add(`{"expect_column_values_to_be_between": {"column": "x", "min_value": 0}}`)
	f.Add(`[{"expect_column_to_exist": {"column": "a"}}]`)
	f.Add(`{"name": "s", "expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a", "value_set": [1, "b", null]}}]}`)
	f.Add(`{"expectation_suite_name": "s", "expectations": [{"expectation_type": "expect_table_row_count_to_equal", "kwargs": {"value": 1e3}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := Parse("fuzz", []byte(doc))
		if err == nil {
			if _, err := Marshal(s); err != nil {
				t.Fatalf("a parsed suite does not marshal: %v", err)
			}
		}
	})
}
