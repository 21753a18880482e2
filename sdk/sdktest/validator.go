package sdktest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
)

// ValidatorDriver describes a validator plugin under test.
type ValidatorDriver struct {
	// Binary is the plugin executable, named bedrot-validator-<name>.
	Binary string
	// Suite is a working suite and SuiteFile its file name.
	Suite     []byte
	SuiteFile string
	// BadSuite, if set, must be rejected with a configuration error.
	BadSuite []byte
	// Dataset, Schema and Batches are the data to validate.
	Dataset string
	Schema  sdk.Schema
	Batches []*sdk.RecordBatch
	// WantSuccess is the expected outcome of validating Batches.
	WantSuccess bool
}

// ValidatorAcceptanceTest launches a validator binary as the host does and
// checks that it honours protocol v1: it describes itself as a validator,
// parses a good suite and rejects a bad one with a configuration error, and
// validates streamed batches into a GX 1.x validation result (success,
// statistics, results) with the right row count and a score in [0, 1].
func ValidatorAcceptanceTest(t *testing.T, d ValidatorDriver) {
	t.Helper()
	v, info := LaunchValidator(t, d.Binary)
	ctx := context.Background()
	t.Run("Info", func(t *testing.T) {
		if info.Spec.Name == "" || info.Spec.Version == "" {
			t.Fatalf("spec must have a name and a version, got %+v", info.Spec)
		}
		if !contains(info.Kinds, sdk.KindValidator) {
			t.Fatalf("kinds %v must include %q", info.Kinds, sdk.KindValidator)
		}
		if want := "bedrot-validator-" + info.Spec.Name; filepath.Base(d.Binary) != want {
			t.Errorf("binary is named %q; the host installs it only as %q", filepath.Base(d.Binary), want)
		}
	})
	t.Run("CheckSuite", func(t *testing.T) {
		si, err := v.CheckSuite(ctx, sdk.SuiteRequest{Suite: d.Suite, SuiteFile: d.SuiteFile})
		if err != nil {
			t.Fatalf("CheckSuite rejected the working suite: %v", err)
		}
		if si.Name == "" || si.Expectations == 0 {
			t.Errorf("CheckSuite must name the suite and count its expectations, got %+v", si)
		}
		if d.BadSuite != nil {
			_, err := v.CheckSuite(ctx, sdk.SuiteRequest{Suite: d.BadSuite, SuiteFile: "bad-" + d.SuiteFile})
			if sdk.KindOf(err) != sdk.KindConfig {
				t.Fatalf("CheckSuite on the bad suite must fail with a configuration error, got %v", err)
			}
		}
	})
	t.Run("Validate", func(t *testing.T) {
		st, err := v.Validate(ctx, sdk.ValidateRequest{SuiteRequest: sdk.SuiteRequest{Suite: d.Suite, SuiteFile: d.SuiteFile},
			Dataset: d.Dataset, Schema: d.Schema})
		if err != nil {
			t.Fatalf("Validate failed to start: %v", err)
		}
		var rows int64
		for _, b := range d.Batches {
			if err := st.Send(b); err != nil {
				t.Fatalf("sending a batch failed: %v", err)
			}
			rows += int64(b.NumRows)
		}
		out, err := st.Close()
		if err != nil {
			t.Fatalf("Validate failed: %v", err)
		}
		if out.Rows != rows {
			t.Errorf("validated %d rows, sent %d", out.Rows, rows)
		}
		if out.Success != d.WantSuccess {
			t.Errorf("success = %v, want %v", out.Success, d.WantSuccess)
		}
		if out.Score < 0 || out.Score > 1 {
			t.Errorf("data quality score %v is outside [0, 1]", out.Score)
		}
		var doc struct {
			Success    *bool            `json:"success"`
			Statistics map[string]any   `json:"statistics"`
			Results    []map[string]any `json:"results"`
		}
		if err := json.Unmarshal(out.Result, &doc); err != nil {
			t.Fatalf("the result is not JSON: %v", err)
		}
		if doc.Success == nil || *doc.Success != out.Success || doc.Statistics == nil || len(doc.Results) == 0 {
			t.Errorf("the result is not a GX 1.x validation result (success, statistics, results): %s", out.Result)
		}
	})
}
