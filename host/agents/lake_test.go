package agents_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/agents"
)

// A query's rows reach an agent batch by batch, made as the agent reads
// them; a reader that stops early stops the statement.
func TestLakeQueryStreamsBatches(t *testing.T) {
	t.Parallel()
	st, meta, _, eng := testLake(t)
	lake := agents.NewLakeServer(st, meta, eng, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	r, err := lake.Query(ctx, `SELECT range AS n FROM range(100000)`, 0)
	require.NoError(t, err)
	require.Equal(t, "n", r.Schema().Fields[0].Name)
	var rows, sum, batches int64
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		batches++
		require.LessOrEqual(t, b.NumRows, 4096, "a batch of at most 4096 rows")
		for _, v := range b.Columns[0].Int64s {
			sum += v
		}
		rows += int64(b.NumRows)
	}
	require.NoError(t, r.Close())
	require.EqualValues(t, 100000, rows)
	require.EqualValues(t, int64(99999)*100000/2, sum)
	require.EqualValues(t, 25, batches)

	// A reader that stops after the first batch closes the statement; the
	// engine is free for the next query.
	r, err = lake.Query(ctx, `SELECT range AS n, 'row ' || range AS label FROM range(2000000)`, 0)
	require.NoError(t, err)
	b, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, 4096, b.NumRows)
	require.Equal(t, "row 0", string(b.Columns[1].Bytes[:b.Columns[1].Offsets[1]]))
	require.NoError(t, r.Close())
	require.NoError(t, ctx.Err())

	// The limit, and a statement that fails before any row.
	r, err = lake.Query(ctx, `SELECT range AS n FROM range(100000)`, 10)
	require.NoError(t, err)
	b, err = r.Next()
	require.NoError(t, err)
	require.Equal(t, 10, b.NumRows)
	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, r.Close())
	_, err = lake.Query(ctx, `SELECT * FROM no_such_table`, 0)
	require.Error(t, err)
}
