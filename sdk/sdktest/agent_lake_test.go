package sdktest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
)

var lakeSchema = sdk.Schema{Fields: []sdk.Field{{Name: "track", Type: sdk.TypeString}, {Name: "plays", Type: sdk.TypeInt64, Nullable: true}}}

func testLake() *MemoryLake {
	b := sdk.NewBatchBuilder("plays", lakeSchema)
	for i, track := range []string{"a", "b", "c"} {
		b.AppendString(0, []byte(track))
		if i == 1 {
			b.AppendNull(1)
		} else {
			b.AppendInt64(1, int64(i*10))
		}
		b.EndRow()
	}
	return NewMemoryLake().AddDataset("staging.plays", lakeSchema, b.Batch()).AddDataset("curated.mart", lakeSchema)
}

func readAllRows(t *testing.T, r sdk.TableReader) []string {
	t.Helper()
	var out []string
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		for i := range b.NumRows {
			out = append(out, b.Columns[0].String(i))
		}
	}
}

func TestMemoryLakeZones(t *testing.T) {
	t.Parallel()
	lake := testLake()
	ctx := sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{AgentID: "a", SessionID: "s", Task: "t",
		Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneStaging}}, Limits: sdk.Limits{MaxWriteBytes: 10}})

	ds, err := lake.ListDatasets(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []sdk.DatasetInfo{{Name: "staging.plays", Zone: "staging", Rows: 3, Files: 1}}, ds, "curated is not readable")

	_, err = lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "curated.mart"})
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	_, err = lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "staging.nope"})
	require.ErrorIs(t, err, sdk.ErrNotFound)

	info, err := lake.PutObject(ctx, sdk.ZoneSandbox, "r.md", "text/markdown", strings.NewReader("hello"))
	require.NoError(t, err)
	require.Equal(t, "sandbox/a/s/r.md", info.Key)
	require.Equal(t, int64(5), info.Size)
	_, err = lake.PutObject(ctx, sdk.ZoneSandbox, "r2.md", "text/markdown", strings.NewReader("hello!"))
	require.ErrorIs(t, err, sdk.ErrBudgetExceeded)
	_, err = lake.PutObject(ctx, sdk.ZoneCurated, "m.parquet", "", strings.NewReader("x"))
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "may write zones [sandbox], not curated")
	_, err = lake.PutObject(ctx, sdk.ZoneSandbox, "../escape", "", strings.NewReader("x"))
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Len(t, lake.Denials(), 2)
	require.Len(t, lake.Objects(), 1)
}

func TestMemoryLakeReadAndQuery(t *testing.T) {
	t.Parallel()
	lake := testLake()
	ctx := sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{Zones: sdk.ZoneAccess{Read: []string{sdk.ZoneStaging}}})

	r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "staging.plays", Columns: []string{"plays", "track"}, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"plays", "track"}, []string{r.Schema().Fields[0].Name, r.Schema().Fields[1].Name})
	b, err := r.Next()
	require.NoError(t, err)
	require.NoError(t, b.Validate(r.Schema()))
	require.Equal(t, 2, b.NumRows)
	require.True(t, b.Columns[0].IsNull(1))
	require.Equal(t, "b", b.Columns[1].String(1))

	q, err := lake.Query(ctx, "select track from staging.plays limit 2", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, readAllRows(t, q))
	q, err = lake.Query(ctx, "SELECT * FROM staging.plays", 1)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, readAllRows(t, q))

	_, err = lake.Query(ctx, "DELETE FROM staging.plays", 0)
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	_, err = lake.Query(ctx, "SELECT count(*) FROM staging.plays GROUP BY track", 0)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	_, err = lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "staging.plays", Columns: []string{"nope"}})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
}

func TestMemoryLakeKnowledge(t *testing.T) {
	t.Parallel()
	lake := NewMemoryLake().SeedKnowledge(sdk.KnowledgeEntry{Kind: sdk.KnowledgeDecision, Title: "Use ISRC as the track key", Tags: []string{"schema"}})
	id, err := lake.AddKnowledge(context.Background(), sdk.KnowledgeEntry{Kind: sdk.KnowledgeFinding, Title: "Views dip on Sundays", Datasets: []string{"staging.plays"}})
	require.NoError(t, err)
	require.Equal(t, "k-2", id)
	found, err := lake.SearchKnowledge(context.Background(), "isrc", 10)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, "k-1", found[0].ID)
	found, err = lake.SearchKnowledge(context.Background(), "staging.plays", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"k-2"}, []string{found[0].ID})
	_, err = lake.AddKnowledge(context.Background(), sdk.KnowledgeEntry{Kind: "gossip", Title: "x"})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
}
