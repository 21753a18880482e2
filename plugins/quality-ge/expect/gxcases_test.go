package expect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
	"github.com/bedrot-label/bedrot/sdk"
)

// This file runs expectation test cases written in GX's own test-definition
// format (great_expectations/tests/test_definitions): a file per expectation
// type, datasets of columns, and tests {title, in, out}. It reads every
// *.json under ../testdata/gx, and the directory named by
// BEDROT_GX_TEST_DEFINITIONS too when set (e.g. a checkout of GX's own
// definitions), and checks results the way GX's check_json_test_result
// does: success, observed_value (np.allclose, rtol 1e-7, atol 5e-2),
// unexpected_list (order-insensitive), unexpected_index_list,
// partial_unexpected_list, details, value_counts, traceback_substring.
//
// Each test runs twice, once in one batch and once split into batches of
// two rows, and both runs must agree: streaming must not change a result.

type gxFile struct {
	ExpectationType string      `json:"expectation_type"`
	Datasets        []gxDataset `json:"datasets"`
}

type gxDataset struct {
	Data    json.RawMessage              `json:"data"`
	Schemas map[string]map[string]string `json:"schemas"`
	Tests   []gxTest                     `json:"tests"`
	OnlyFor []string                     `json:"only_for"`
	// SuppressTestFor skips the whole dataset for the listed backends.
	SuppressTestFor []string `json:"suppress_test_for"`
}

type gxTest struct {
	Title           string          `json:"title"`
	ExactMatchOut   bool            `json:"exact_match_out"`
	In              json.RawMessage `json:"in"`
	Out             json.RawMessage `json:"out"`
	Error           map[string]any  `json:"error"`
	SuppressTestFor []string        `json:"suppress_test_for"`
	OnlyFor         []string        `json:"only_for"`
	Tolerance       *float64        `json:"tolerance"`
}

func TestGXTestDefinitions(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "gx", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	if dir := os.Getenv("BEDROT_GX_TEST_DEFINITIONS"); dir != "" {
		require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return err
		}))
	}
	covered := map[string]bool{}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		var f gxFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&f), path)
		if _, ok := suite.Lookup(f.ExpectationType); !ok {
			require.Empty(t, os.Getenv("BEDROT_GX_STRICT"), "%s: unsupported type %s", path, f.ExpectationType)
			continue
		}
		covered[f.ExpectationType] = true
		for di, ds := range f.Datasets {
			if slices.Contains(ds.SuppressTestFor, "pandas") || (len(ds.OnlyFor) > 0 && !slices.Contains(ds.OnlyFor, "pandas")) {
				continue
			}
			schema, cols, skipCols := gxData(t, path, ds)
			for _, tc := range ds.Tests {
				if slices.Contains(tc.SuppressTestFor, "pandas") || (len(tc.OnlyFor) > 0 && !slices.Contains(tc.OnlyFor, "pandas")) {
					continue
				}
				name := fmt.Sprintf("%s/%d/%s", filepath.Base(path), di, tc.Title)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					runGXTest(t, f.ExpectationType, schema, cols, skipCols, tc)
				})
			}
		}
	}
	// Every supported type has shipped test cases.
	if os.Getenv("BEDROT_GX_TEST_DEFINITIONS") == "" {
		for _, typ := range suite.Types() {
			require.True(t, covered[typ], "no test cases in testdata/gx for %s", typ)
		}
	}
}

// gxData turns a GX dataset into a schema and its column values. Column
// types come from schemas.pandas when given, else from the values. Columns
// our types cannot hold (mixed types) are reported in skip.
func gxData(t *testing.T, path string, ds gxDataset) (sdk.Schema, [][]any, map[string]bool) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(ds.Data))
	dec.UseNumber()
	tok, err := dec.Token()
	require.NoError(t, err, path)
	require.Equal(t, json.Delim('{'), tok, path)
	var schema sdk.Schema
	var cols [][]any
	skip := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		require.NoError(t, err)
		name := kt.(string)
		var vals []any
		require.NoError(t, dec.Decode(&vals))
		hint := ds.Schemas["pandas"][name]
		typ, ok := gxColumnType(hint, vals)
		if !ok {
			skip[name] = true
			typ = sdk.TypeString
			vals = make([]any, len(vals))
		}
		schema.Fields = append(schema.Fields, sdk.Field{Name: name, Type: typ, Nullable: true, Precision: 18, Scale: 2})
		cols = append(cols, vals)
	}
	return schema, cols, skip
}

func gxColumnType(hint string, vals []any) (sdk.Type, bool) {
	switch h := strings.ToLower(hint); {
	case strings.HasPrefix(h, "datetime64"), h == "datetime", h == "timestamp":
		return sdk.TypeTimestamp, allOf(vals, func(v any) bool { s, ok := v.(string); _, ok2 := parseTemporal(s); return ok && ok2 })
	case h == "date":
		return sdk.TypeDate, allOf(vals, func(v any) bool { s, ok := v.(string); _, ok2 := parseTemporal(s); return ok && ok2 })
	case h == "bool" || h == "boolean":
		return sdk.TypeBool, allOf(vals, func(v any) bool { _, ok := v.(bool); return ok })
	case strings.HasPrefix(h, "float"):
		return sdk.TypeFloat64, allOf(vals, isNum)
	case strings.HasPrefix(h, "int"):
		return sdk.TypeInt64, allOf(vals, isWhole)
	case h == "str" || h == "string":
		return sdk.TypeString, allOf(vals, func(v any) bool { _, ok := v.(string); return ok })
	}
	switch {
	case allOf(vals, isWhole):
		return sdk.TypeInt64, true
	case allOf(vals, isNum):
		return sdk.TypeFloat64, true
	case allOf(vals, func(v any) bool { _, ok := v.(string); return ok }):
		return sdk.TypeString, true
	case allOf(vals, func(v any) bool { _, ok := v.(bool); return ok }):
		return sdk.TypeBool, true
	}
	return 0, false
}

func allOf(vals []any, ok func(any) bool) bool {
	for _, v := range vals {
		if v != nil && !ok(v) {
			return false
		}
	}
	return true
}

func isNum(v any) bool { _, ok := v.(json.Number); return ok }

func isWhole(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	_, err := n.Int64()
	return err == nil
}

// gxBatches builds record batches of at most size rows.
func gxBatches(t *testing.T, schema sdk.Schema, cols [][]any, size int) []*sdk.RecordBatch {
	t.Helper()
	rows := 0
	if len(cols) > 0 {
		rows = len(cols[0])
	}
	var out []*sdk.RecordBatch
	for start := 0; start < rows || (rows == 0 && out == nil); start += size {
		end := min(start+size, rows)
		bb := sdk.NewBatchBuilder("gx", schema)
		for r := start; r < end; r++ {
			for ci, f := range schema.Fields {
				v := cols[ci][r]
				if v == nil {
					bb.AppendNull(ci)
					continue
				}
				switch f.Type {
				case sdk.TypeString:
					bb.AppendString(ci, []byte(v.(string)))
				case sdk.TypeInt64:
					n, _ := v.(json.Number).Int64()
					bb.AppendInt64(ci, n)
				case sdk.TypeFloat64:
					x, _ := v.(json.Number).Float64()
					bb.AppendFloat64(ci, x)
				case sdk.TypeBool:
					bb.AppendBool(ci, v.(bool))
				case sdk.TypeTimestamp:
					us, _ := parseTemporal(v.(string))
					bb.AppendInt64(ci, us)
				case sdk.TypeDate:
					us, _ := parseTemporal(v.(string))
					bb.AppendInt32(ci, int32(us/microsPerDay))
				}
			}
			bb.EndRow()
		}
		b := *bb.Batch()
		out = append(out, &b)
		if rows == 0 {
			break
		}
	}
	return out
}

// runOnce validates the data with one expectation and returns the result
// as decoded JSON, the way GX's harness sees result.to_json_dict().
func runOnce(t *testing.T, typ string, kwargs map[string]any, schema sdk.Schema, batches []*sdk.RecordBatch) (map[string]any, error) {
	t.Helper()
	s := &suite.Suite{Name: "json_test_suite", Expectations: []suite.Expectation{{Type: typ, Kwargs: kwargs}}}
	v, err := New(s, schema, Options{ResultFormat: "COMPLETE"})
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		require.NoError(t, v.Add(b))
	}
	res := v.Result()
	raw, err := json.Marshal(res)
	require.NoError(t, err)
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&doc), string(raw))
	return doc["results"].([]any)[0].(map[string]any), nil
}

func runGXTest(t *testing.T, typ string, schema sdk.Schema, cols [][]any, skipCols map[string]bool, tc gxTest) {
	var kwargs map[string]any
	dec := json.NewDecoder(bytes.NewReader(tc.In))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&kwargs), "positional 'in' lists are not supported")
	for _, k := range []string{"column", "column_A", "column_B"} {
		if name, ok := kwargs[k].(string); ok && skipCols[name] {
			t.Logf("column %q mixes value types, which typed columns cannot hold; case not applicable", name)
			return
		}
	}
	var out map[string]any
	dec = json.NewDecoder(bytes.NewReader(tc.Out))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&out))
	wantErr := tc.Error != nil
	if _, ok := out["traceback_substring"]; ok {
		wantErr = true
	}

	var results []map[string]any
	for _, size := range []int{1 << 20, 2} {
		kw := copyKwargs(kwargs)
		r, err := runOnce(t, typ, kw, schema, gxBatches(t, schema, cols, size))
		if wantErr {
			if err != nil {
				return // rejected when the suite was checked: GX raises too
			}
			ei := r["exception_info"].(map[string]any)
			require.Equal(t, true, ei["raised_exception"], "want an exception, got %v", r)
			continue
		}
		require.NoError(t, err)
		ei := r["exception_info"].(map[string]any)
		require.Equal(t, false, ei["raised_exception"], "unexpected exception: %v", ei["exception_message"])
		results = append(results, r)
	}
	if wantErr {
		return
	}
	require.Equal(t, results[0], results[1], "one batch and many batches disagree")
	r := results[0]
	res, _ := r["result"].(map[string]any)
	for key, want := range out {
		switch key {
		case "success":
			require.Equal(t, want, r["success"], "success; result: %v", res)
		case "observed_value":
			tol := 0.0
			if tc.Tolerance != nil {
				tol = *tc.Tolerance
			}
			requireClose(t, want, res["observed_value"], tol, "observed_value")
		case "unexpected_list", "partial_unexpected_list":
			requireSameValues(t, want, res[key], key)
		case "unexpected_index_list":
			requireIndexList(t, want, res["unexpected_index_list"])
		case "unexpected_count", "element_count", "missing_count":
			requireClose(t, want, res[key], 0, key)
		case "details":
			requireClose(t, want, res["details"], 0, "details")
		case "value_counts":
			got := res["details"].(map[string]any)["value_counts"].([]any)
			for _, w := range want.([]any) {
				require.True(t, slices.ContainsFunc(got, func(g any) bool { return closeEnough(w, g, 0) }), "value_counts: %v not in %v", w, got)
			}
		case "result":
			// exact_match_out: the whole result object.
			requireClose(t, want, res, 0, "result")
		case "exception_info":
			requireClose(t, want, r["exception_info"], 0, "exception_info")
		case "observed_value_list":
			require.True(t, slices.ContainsFunc(want.([]any), func(w any) bool { return closeEnough(w, res["observed_value"], 0) }))
		default:
			t.Fatalf("unknown out key %q", key)
		}
	}
}

func copyKwargs(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func requireClose(t *testing.T, want, got any, tol float64, what string) {
	t.Helper()
	require.True(t, closeEnough(want, got, tol), "%s: want %v, got %v", what, want, got)
}

// closeEnough compares decoded JSON; numbers compare as np.allclose does
// (rtol 1e-7 and atol 5e-2 unless a tolerance is given).
func closeEnough(want, got any, tol float64) bool {
	switch w := want.(type) {
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		a, _ := w.Float64()
		b, _ := g.Float64()
		if tol > 0 {
			return math.Abs(a-b) <= tol*math.Abs(a)
		}
		if strings.ContainsAny(w.String(), ".eE") {
			return math.Abs(a-b) <= 5e-2+1e-7*math.Abs(b)
		}
		return a == b
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !closeEnough(w[i], g[i], tol) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !closeEnough(v, g[k], tol) {
				return false
			}
		}
		return true
	}
	return want == got
}

// requireSameValues compares lists order-insensitively, as GX's harness
// does (it sorts both by str()).
func requireSameValues(t *testing.T, want, got any, what string) {
	t.Helper()
	w, _ := want.([]any)
	g, ok := got.([]any)
	require.True(t, ok, "%s missing from result", what)
	key := func(v any) string {
		if n, ok := v.(json.Number); ok {
			f, _ := n.Float64()
			return fmt.Sprintf("%g", f)
		}
		b, _ := json.Marshal(normalizeNumbers(v))
		return string(b)
	}
	ws, gs := make([]string, len(w)), make([]string, len(g))
	for i, v := range w {
		ws[i] = key(v)
	}
	for i, v := range g {
		gs[i] = key(v)
	}
	sort.Strings(ws)
	sort.Strings(gs)
	require.Equal(t, ws, gs, "%s", what)
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeNumbers(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalizeNumbers(e)
		}
		return out
	}
	return v
}

// requireIndexList checks unexpected_index_list. GX's definitions give
// {"<column>": value, "pk_index": row}; the row numbers are compared.
func requireIndexList(t *testing.T, want, got any) {
	t.Helper()
	var wantRows []int64
	for _, w := range want.([]any) {
		switch x := w.(type) {
		case json.Number:
			n, _ := x.Int64()
			wantRows = append(wantRows, n)
		case map[string]any:
			n, _ := x["pk_index"].(json.Number).Int64()
			wantRows = append(wantRows, n)
		}
	}
	var gotRows []int64
	for _, g := range got.([]any) {
		n, _ := g.(json.Number).Int64()
		gotRows = append(gotRows, n)
	}
	slices.Sort(wantRows)
	slices.Sort(gotRows)
	require.Equal(t, wantRows, gotRows, "unexpected_index_list")
}
