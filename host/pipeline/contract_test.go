package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/sdk"
)

// rawColumns returns the columns of the raw files a run wrote.
func rawColumns(t *testing.T, b *bundle, res pipeline.Result) [][]string {
	t.Helper()
	var out [][]string
	for _, pl := range res.Payloads {
		for _, k := range pl.RawFiles {
			files, err := b.meta.ListFiles(context.Background(), "raw.fixture.items")
			require.NoError(t, err)
			for _, f := range files {
				if f.Key == k {
					data := readObject(t, b.st, k)
					out = append(out, parquetColumns(t, data))
				}
			}
		}
	}
	return out
}

func writeContract(t *testing.T, dir, policy string) {
	t.Helper()
	body := fmt.Sprintf(`dataset: raw.fixture.items
policy: %s
primary_key: [id]
columns:
  - {name: id, type: int64}
  - {name: label, type: string}
  - {name: amount, type: "decimal(18,2)"}
`, policy)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "raw.fixture.items.yaml"), []byte(body), 0o644))
}

func TestContractsEvolveFreezeAndDiscard(t *testing.T) {
	t.Parallel()
	b := setup(t, backends[0])
	dir := t.TempDir()
	b.p.Contracts = &contract.Registry{Meta: b.meta, Dir: dir}
	ctx := context.Background()
	run := func(cfg sdk.Config) pipeline.Result {
		t.Helper()
		res, _ := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: cfg})
		return res
	}
	versions := func() []metastore.ContractVersion {
		vs, err := b.meta.ContractVersions(ctx, "raw.fixture.items")
		require.NoError(t, err)
		return vs
	}

	// First sight: the contract comes from the source's schema.
	res := run(sdk.Config{"rows": "10", "payload": "p1"})
	require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
	require.Contains(t, res.Notes, "contract raw.fixture.items v1 created from the source's schema")
	require.Len(t, versions(), 1)

	// evolve: a new column is kept and makes version 2.
	res = run(sdk.Config{"rows": "10", "payload": "p2", "extra_column": "genre"})
	require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
	require.Len(t, versions(), 2)
	require.Equal(t, "evolved", versions()[1].Origin)
	require.Contains(t, res.Notes[0], "contract raw.fixture.items evolved to v2: new column(s) genre seen in run")
	require.Equal(t, [][]string{{"id", "label", "amount", "genre"}}, rawColumns(t, b, res))

	// A type change breaks the contract under every policy.
	res = run(sdk.Config{"rows": "10", "payload": "p3", "retype_label": "yes"})
	require.Equal(t, metastore.RunPartial, res.Status, "the payload is quarantined, the run completes")
	require.Equal(t, pipeline.StatusQuarantined, res.Payloads[0].Status)
	require.Contains(t, res.Payloads[0].Problems[0].Message, `breaks contract raw.fixture.items v2: column "label" is int64 in the data, string in the contract`)
	require.Empty(t, res.Payloads[0].RawFiles)

	// The user's file freezes the contract: a new column fails the batch.
	writeContract(t, dir, "freeze")
	res = run(sdk.Config{"rows": "10", "payload": "p4", "extra_column": "mood"})
	require.Equal(t, metastore.RunPartial, res.Status)
	require.Equal(t, pipeline.StatusQuarantined, res.Payloads[0].Status)
	require.Contains(t, res.Payloads[0].Problems[0].Message, "new column(s) mood: the contract of raw.fixture.items is frozen")
	vs := versions()
	require.Equal(t, "file", vs[len(vs)-1].Origin)
	require.Contains(t, vs[len(vs)-1].Reason, "raw.fixture.items.yaml created")

	// discard_value: the new column is not kept; its values are counted.
	writeContract(t, dir, contract.DiscardValue)
	res = run(sdk.Config{"rows": "10", "payload": "p5", "extra_column": "mood"})
	require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
	require.EqualValues(t, 10, res.Rows)
	require.Equal(t, [][]string{{"id", "label", "amount"}}, rawColumns(t, b, res))
	require.Contains(t, res.Notes, "raw.fixture.items: 5 value(s) of column(s) mood dropped by the discard_value policy")
	require.Contains(t, versions()[len(versions())-1].Reason, "edited")

	// discard_row: rows with a value in the new column are dropped, and said.
	writeContract(t, dir, contract.DiscardRow)
	res = run(sdk.Config{"rows": "10", "payload": "p6", "extra_column": "mood"})
	require.Equal(t, metastore.RunSucceeded, res.Status, res.Error)
	require.Equal(t, [][]string{{"id", "label", "amount"}}, rawColumns(t, b, res))
	require.EqualValues(t, 5, rawRowsOf(t, b, res))
	require.Contains(t, res.Notes, "raw.fixture.items: 5 row(s) dropped by the discard_row policy: they had values in column(s) mood")

	// A broken contract file is a configuration error naming the problem.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "raw.fixture.items.yaml"), []byte("dataset: raw.fixture.items\npolicy: melt\ncolumns: []\n"), 0o644))
	res = run(sdk.Config{"rows": "10", "payload": "p7"})
	require.Equal(t, metastore.RunFailed, res.Status)
	require.Contains(t, res.Error, `policy: "melt" is not one of evolve, freeze, discard_row, discard_value`)
	require.Equal(t, "config", res.ErrorKind)
}

// rawRowsOf counts the rows of the raw files a run wrote.
func rawRowsOf(t *testing.T, b *bundle, res pipeline.Result) int64 {
	t.Helper()
	files, err := b.meta.ListFiles(context.Background(), "raw.fixture.items")
	require.NoError(t, err)
	var n int64
	for _, pl := range res.Payloads {
		for _, k := range pl.RawFiles {
			for _, f := range files {
				if f.Key == k {
					n += f.Rows
				}
			}
		}
	}
	return n
}
