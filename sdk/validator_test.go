package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
)

// countingValidator expects column "plays" to hold no nulls; its suite is
// the column name, "bad" is a bad suite, and "fail" fails mid-stream.
type countingValidator struct{ sdk.UnimplementedValidator }

func (countingValidator) CheckSuite(_ context.Context, req sdk.SuiteRequest) (sdk.SuiteInfo, error) {
	if string(req.Suite) == "bad" {
		return sdk.SuiteInfo{}, sdk.ConfigError(fmt.Errorf("suite %s: expectation 0 (expect_nothing): unknown type", req.SuiteFile))
	}
	return sdk.SuiteInfo{Name: req.SuiteFile, Expectations: 1}, nil
}

func (countingValidator) Validate(_ context.Context, req sdk.ValidateRequest, batches sdk.BatchReader) (sdk.Validation, error) {
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
		if req.Config["mode"] == "fail" {
			return sdk.Validation{}, sdk.Transient(errors.New("validator ran out of memory"))
		}
		for r := range b.NumRows {
			if b.Columns[col].IsNull(r) {
				nulls++
			}
		}
		rows += int64(b.NumRows)
	}
	res, _ := json.Marshal(map[string]any{"success": nulls == 0, "statistics": map[string]any{"evaluated_expectations": 1},
		"results": []any{map[string]any{"result": map[string]any{"element_count": rows, "unexpected_count": nulls}}}})
	score := 1.0
	if rows > 0 {
		score = 1 - float64(nulls)/float64(rows)
	}
	return sdk.Validation{Result: res, Success: nulls == 0, Score: score, Rows: rows}, nil
}

func connectValidator(t *testing.T) (*sdk.ValidatorClient, *sdk.InfoClient) {
	t.Helper()
	p := sdk.Plugin{Spec: testSpec, NewValidator: func() sdk.Validator { return countingValidator{} }}
	client, server := plugin.TestPluginGRPCConn(t, false, sdk.PluginSets(p)[sdk.ProtocolVersion])
	t.Cleanup(func() {
		server.Stop()
		_ = client.Close()
	})
	_, err := client.Dispense(sdk.KindSource)
	require.Error(t, err, "a validator-only binary serves no source")
	raw, err := client.Dispense(sdk.KindValidator)
	require.NoError(t, err)
	info, err := client.Dispense(sdk.KindPlugin)
	require.NoError(t, err)
	return raw.(*sdk.ValidatorClient), info.(*sdk.InfoClient)
}

func TestGRPCValidator(t *testing.T) {
	t.Parallel()
	v, ic := connectValidator(t)
	ctx := context.Background()
	info, err := ic.GetInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{sdk.KindValidator}, info.Kinds)

	si, err := v.CheckSuite(ctx, sdk.SuiteRequest{Suite: []byte("plays"), SuiteFile: "plays.json"})
	require.NoError(t, err)
	require.Equal(t, sdk.SuiteInfo{Name: "plays.json", Expectations: 1}, si)
	_, err = v.CheckSuite(ctx, sdk.SuiteRequest{Suite: []byte("bad"), SuiteFile: "bad.json"})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, "suite bad.json: expectation 0 (expect_nothing): unknown type")

	st, err := v.Validate(ctx, sdk.ValidateRequest{SuiteRequest: sdk.SuiteRequest{Suite: []byte("plays")}, Dataset: "raw.x.plays", Schema: testStream.Schema})
	require.NoError(t, err)
	b := sdk.NewBatchBuilder("plays", testStream.Schema)
	for batch := range 3 {
		b.Reset("plays", "")
		for r := range 1000 {
			b.AppendString(0, []byte("t"))
			if batch == 1 && r%100 == 0 {
				b.AppendNull(1)
			} else {
				b.AppendInt64(1, int64(r))
			}
			b.AppendInt32(2, 1)
			b.AppendNull(3)
			b.EndRow()
		}
		require.NoError(t, st.Send(b.Batch()))
	}
	out, err := st.Close()
	require.NoError(t, err)
	require.EqualValues(t, 3000, out.Rows)
	require.False(t, out.Success)
	require.InDelta(t, 1-10.0/3000, out.Score, 1e-12)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out.Result, &doc))
	require.Equal(t, false, doc["success"])
}

func TestGRPCValidatorErrors(t *testing.T) {
	t.Parallel()
	v, _ := connectValidator(t)
	ctx := context.Background()
	// A configuration error found once the stream started reaches Close.
	st, err := v.Validate(ctx, sdk.ValidateRequest{SuiteRequest: sdk.SuiteRequest{Suite: []byte("nope")}, Dataset: "raw.x.plays", Schema: testStream.Schema})
	require.NoError(t, err)
	_, err = st.Close()
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, `no column "nope" in raw.x.plays`)

	// A failure mid-stream surfaces on the next Send or on Close.
	st, err = v.Validate(ctx, sdk.ValidateRequest{SuiteRequest: sdk.SuiteRequest{Suite: []byte("plays"), Config: sdk.Config{"mode": "fail"}},
		Schema: testStream.Schema})
	require.NoError(t, err)
	b := sdk.NewBatchBuilder("plays", testStream.Schema)
	b.AppendString(0, []byte("t"))
	b.AppendInt64(1, 1)
	b.AppendInt32(2, 1)
	b.AppendNull(3)
	b.EndRow()
	var sendErr error
	for range 100 {
		if sendErr = st.Send(b.Batch()); sendErr != nil {
			break
		}
	}
	if sendErr == nil {
		_, sendErr = st.Close()
	}
	require.Equal(t, sdk.KindTransient, sdk.KindOf(sendErr), "%v", sendErr)
	require.ErrorContains(t, sendErr, "validator ran out of memory")
}
