// Package qualityge is BEDROT's validator plugin for Great Expectations
// suites: it parses suites in GX's 0.x and 1.x dialects and the label's
// shorthand (package suite), validates datasets the host streams to it as
// columnar batches (package expect), and answers with a GX 1.x validation
// result and a data quality score.
package qualityge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/bedrot-label/bedrot/plugins/quality-ge/expect"
	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
	"github.com/bedrot-label/bedrot/sdk"
)

// Version is the plugin's version.
const Version = "0.1.0"

// ParamIndexColumns names columns (comma-separated) that identify rows in
// unexpected-index lists, such as a primary key.
const ParamIndexColumns = "unexpected_index_columns"

// Spec describes the plugin.
func Spec() sdk.Spec {
	return sdk.Spec{
		Name:    "quality-ge",
		Version: Version,
		Description: "Validates datasets against Great Expectations suites (GX 0.x and 1.x JSON, or the shorthand " +
			`{"expect_…": {kwargs}}) and reports GX 1.x validation results with a data quality score.`,
		Author: "BEDROT",
		Params: []sdk.Param{
			{Name: ParamIndexColumns, Description: "Comma-separated columns that identify a row (e.g. the primary key) in unexpected_index_list; row numbers when empty."},
		},
	}
}

// Validator is the quality-ge validator.
type Validator struct{ sdk.UnimplementedValidator }

// New returns the validator.
func New() sdk.Validator { return Validator{} }

func parse(req sdk.SuiteRequest) (*suite.Suite, error) {
	name := strings.TrimSuffix(filepath.Base(req.SuiteFile), filepath.Ext(req.SuiteFile))
	s, err := suite.Parse(name, req.Suite)
	if err != nil {
		return nil, sdk.ConfigError(fmt.Errorf("suite file %s: %w", req.SuiteFile, err))
	}
	return s, nil
}

// CheckSuite parses and checks a suite.
func (Validator) CheckSuite(_ context.Context, req sdk.SuiteRequest) (sdk.SuiteInfo, error) {
	s, err := parse(req)
	if err != nil {
		return sdk.SuiteInfo{}, err
	}
	return sdk.SuiteInfo{Name: s.Name, Expectations: len(s.Expectations)}, nil
}

// Validate streams the dataset through the suite's expectations.
func (Validator) Validate(ctx context.Context, req sdk.ValidateRequest, batches sdk.BatchReader) (sdk.Validation, error) {
	s, err := parse(req.SuiteRequest)
	if err != nil {
		return sdk.Validation{}, err
	}
	opts := expect.Options{ResultFormat: req.ResultFormat, Meta: map[string]any{"active_batch_definition": map[string]any{"data_asset_name": req.Dataset}}}
	for c := range strings.SplitSeq(req.Config[ParamIndexColumns], ",") {
		if c = strings.TrimSpace(c); c != "" {
			opts.UnexpectedIndexColumnNames = append(opts.UnexpectedIndexColumnNames, c)
		}
	}
	v, err := expect.New(s, req.Schema, opts)
	if err != nil {
		return sdk.Validation{}, sdk.ConfigError(fmt.Errorf("suite %s on %s: %w", s.Name, req.Dataset, err))
	}
	for {
		if err := ctx.Err(); err != nil {
			return sdk.Validation{}, err
		}
		b, err := batches.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sdk.Validation{}, err
		}
		if err := v.Add(b); err != nil {
			return sdk.Validation{}, fmt.Errorf("validating %s: %w", req.Dataset, err)
		}
	}
	res := v.Result()
	doc, err := json.Marshal(res)
	if err != nil {
		return sdk.Validation{}, fmt.Errorf("failed to encode the validation result: %w", err)
	}
	return sdk.Validation{Result: doc, Success: res.Success, Score: res.DataQualityScore, Rows: v.Rows()}, nil
}
