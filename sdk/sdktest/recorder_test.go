package sdktest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

var items = sdk.Stream{Name: "items", Schema: sdk.Schema{Fields: []sdk.Field{
	{Name: "id", Type: sdk.TypeInt64},
	{Name: "label", Type: sdk.TypeString, Nullable: true},
	{Name: "day", Type: sdk.TypeDate},
}}}

type tinySource struct{ sdk.UnimplementedSource }

func (tinySource) Read(_ context.Context, _ sdk.ReadRequest, out sdk.Emitter) error {
	p, err := out.BeginPayload("items.json", "application/json")
	if err != nil {
		return err
	}
	if _, err := p.Write([]byte(`[1,2]`)); err != nil {
		return err
	}
	b := sdk.NewBatchBuilder(items.Name, items.Schema)
	b.Reset(items.Name, p.ID())
	b.AppendInt64(0, 1)
	b.AppendString(1, []byte("one"))
	b.AppendInt32(2, 20418)
	b.EndRow()
	b.AppendInt64(0, 2)
	b.AppendNull(1)
	b.AppendInt32(2, -1)
	b.EndRow()
	if err := out.Batch(b.Batch()); err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	if err := p.End(2, nil); err != nil {
		return err
	}
	out.Log(sdk.LevelInfo, "done", "rows", 2)
	return out.Checkpoint(items.Name, []byte(`{"n":2}`))
}

func TestRecorderCollectsWhatASourceEmits(t *testing.T) {
	t.Parallel()
	rec := sdktest.NewRecorder(t, []sdk.Stream{items})
	require.NoError(t, tinySource{}.Read(context.Background(), sdk.ReadRequest{}, rec))
	require.Equal(t, []map[string]any{
		{"id": int64(1), "label": "one", "day": "2025-11-26"},
		{"id": int64(2), "label": nil, "day": "1969-12-31"},
	}, rec.Rows("items"))
	ps := rec.Payloads()
	require.Len(t, ps, 1)
	require.Equal(t, "[1,2]", string(ps[0].Data))
	require.True(t, ps[0].Ended)
	require.EqualValues(t, 2, ps[0].Records)
	require.Equal(t, [][]byte{[]byte(`{"n":2}`)}, rec.Checkpoints("items"))
	require.Equal(t, "done", rec.Logs()[0].Message)
	require.Equal(t, digest.Of([]byte("[1,2]")), ps[0].Digest())
}

// fakeT records failures instead of failing the real test.
type fakeT struct {
	testing.TB
	errors []string
}

func (f *fakeT) Errorf(format string, args ...any) { f.errors = append(f.errors, format) }

func TestRecorderCatchesProtocolViolations(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	rec := sdktest.NewRecorder(ft, []sdk.Stream{items})
	p, _ := rec.BeginPayload("x", "text/plain")
	require.NoError(t, p.End(0, nil)) // End before Close
	_, _ = p.Write([]byte("late"))
	b := sdk.NewBatchBuilder(items.Name, items.Schema)
	b.Reset(items.Name, p.ID())
	b.AppendInt64(0, 1)
	b.AppendNull(1)
	b.AppendInt32(2, 0)
	b.EndRow()
	require.NoError(t, rec.Batch(b.Batch())) // after End
	b.Batch().Columns = b.Batch().Columns[:1]
	require.NoError(t, rec.Batch(b.Batch())) // wrong shape
	require.NoError(t, rec.Checkpoint("nope", nil))
	require.Len(t, ft.errors, 4, "%q", ft.errors)
}
