package contract_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestParseNamesEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := contract.Parse("config/contracts/raw.x.y.yaml", []byte(`policy: melt
primary_key: [id, nope]
columns:
  - {name: id, type: int64}
  - {name: id, type: string}
  - {name: amount, type: "decimal(40,2)"}
`))
	require.ErrorIs(t, err, contract.ErrBadContract)
	for _, want := range []string{
		`raw.x.y: policy: "melt" is not one of evolve, freeze, discard_row, discard_value`,
		`columns[1]: "id" is declared twice`,
		`columns[2] (amount): type "decimal(40,2)" is not one of`,
		`primary_key: "nope" is not a column`,
	} {
		require.ErrorContains(t, err, want)
	}
	_, err = contract.Parse("x.yaml", []byte("dataset: a\ncolour: red\ncolumns: [{name: a, type: string}]\n"))
	require.ErrorContains(t, err, "field colour not found", "unknown keys are typos, not ignored")
}

var schema = sdk.Schema{Fields: []sdk.Field{
	{Name: "id", Type: sdk.TypeInt64},
	{Name: "label", Type: sdk.TypeString, Nullable: true},
	{Name: "mood", Type: sdk.TypeString, Nullable: true},
}}

func TestDecideAndApply(t *testing.T) {
	t.Parallel()
	base := contract.FromSchema("raw.x.y", sdk.Schema{Fields: schema.Fields[:2]}, []string{"id"})
	d := contract.Compare(base, schema)
	require.Equal(t, []contract.Column{{Name: "mood", Type: "string", Nullable: true}}, d.Added)

	evolved := contract.Decide(base, d)
	require.Empty(t, evolved.Violations)
	require.Len(t, evolved.Evolved.Columns, 3)
	require.Equal(t, []string{"+ column mood string (nullable)"}, contract.DiffLines(base, *evolved.Evolved))

	base.Policy = contract.Freeze
	require.Equal(t, []string{"new column(s) mood: the contract of raw.x.y is frozen"}, contract.Decide(base, d).Violations)

	// A column that becomes nullable, and a lost required column, break it.
	strict := base
	strict.Columns = append([]contract.Column(nil), base.Columns...)
	strict.Columns[1].Nullable = false
	strict.Columns = append(strict.Columns, contract.Column{Name: "isrc", Type: "string"})
	v := contract.Decide(strict, contract.Compare(strict, schema)).Violations
	require.Contains(t, v, `column "label" may be null in the data, but the contract says it never is`)
	require.Contains(t, v, `column "isrc" is required by the contract but missing from the data`)

	b := sdk.NewBatchBuilder("y", schema)
	for i, mood := range []string{"", "calm", "", "wild"} {
		b.AppendInt64(0, int64(i))
		b.AppendString(1, []byte("l"))
		if mood == "" {
			b.AppendNull(2)
		} else {
			b.AppendString(2, []byte(mood))
		}
		b.EndRow()
	}
	out, kept, rows, values := contract.Apply(b.Batch(), schema, []string{"mood"}, false)
	require.Equal(t, 4, out.NumRows)
	require.Len(t, kept.Fields, 2)
	require.Equal(t, [2]int{0, 2}, [2]int{rows, values}, "discard_value counts the values it drops")
	require.NoError(t, out.Validate(kept))

	out, kept, rows, values = contract.Apply(b.Batch(), schema, []string{"mood"}, true)
	require.Equal(t, [2]int{2, 0}, [2]int{rows, values}, "discard_row counts the rows it drops")
	require.NoError(t, out.Validate(kept))
	require.Equal(t, []int64{0, 2}, out.Columns[0].Int64s, "rows without a value in the new column stay")
}
