// Command bedrot-validator-fixture is a test validator: its suite names a
// column that must hold no nulls; the suite "bad" is rejected.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bedrot-label/bedrot/sdk"
)

type validator struct{ sdk.UnimplementedValidator }

func (validator) CheckSuite(_ context.Context, req sdk.SuiteRequest) (sdk.SuiteInfo, error) {
	if string(req.Suite) == "bad" {
		return sdk.SuiteInfo{}, sdk.ConfigError(fmt.Errorf("suite %s: expectation 0: unknown type", req.SuiteFile))
	}
	return sdk.SuiteInfo{Name: req.SuiteFile, Expectations: 1}, nil
}

func (validator) Validate(_ context.Context, req sdk.ValidateRequest, batches sdk.BatchReader) (sdk.Validation, error) {
	col := -1
	for i, f := range req.Schema.Fields {
		if f.Name == string(req.Suite) {
			col = i
		}
	}
	if col < 0 {
		return sdk.Validation{}, sdk.ConfigError(fmt.Errorf("no column %q in %s", req.Suite, req.Dataset))
	}
	var rows, nulls int64
	for {
		b, err := batches.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sdk.Validation{}, err
		}
		for r := range b.NumRows {
			if b.Columns[col].IsNull(r) {
				nulls++
			}
		}
		rows += int64(b.NumRows)
	}
	res, _ := json.Marshal(map[string]any{"success": nulls == 0, "statistics": map[string]any{"evaluated_expectations": 1},
		"results": []any{map[string]any{"success": nulls == 0, "result": map[string]any{"element_count": rows, "unexpected_count": nulls}}}})
	return sdk.Validation{Result: res, Success: nulls == 0, Score: 1 - float64(nulls)/float64(max(rows, 1)), Rows: rows}, nil
}

func main() {
	sdk.Serve(sdk.Plugin{
		Spec:         sdk.Spec{Name: "fixture", Version: "1.0.0", Description: "test validator"},
		NewValidator: func() sdk.Validator { return validator{} },
	})
}
