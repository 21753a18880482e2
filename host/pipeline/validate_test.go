package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/sdk"
)

// A payload whose rows break their dataset's suite is quarantined whole,
// with the validation result attached, before anything reaches raw; the
// other payloads of the run move on, and every validation is recorded.
func TestPayloadsBreakingTheirSuiteAreQuarantinedWhole(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, err := b.p.Plugins.Install(ctx, plugintest.Build(t, "plugins/quality-ge/cmd/bedrot-validator-quality-ge"))
		require.NoError(t, err)
		suites := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(suites, "raw.fixture.items.json"), []byte(`[
			{"expect_column_values_to_be_between": {"column": "id", "min_value": 0, "max_value": 2999999}},
			{"expect_column_values_to_not_be_null": {"column": "label"}}]`), 0o644))
		b.p.Quality = &quality.Service{Store: b.st, Meta: b.meta, Plugins: b.p.Plugins, SuitesDir: suites}

		res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "pages", "pages": "4", "rows": "10"}})
		require.NoError(t, err)
		require.Equal(t, metastore.RunPartial, res.Status)
		require.EqualValues(t, 30, res.Rows, "pages 0 to 2 move on")
		require.Len(t, rawItems(t, b, "raw.fixture.items"), 30)
		bad := res.Payloads[3]
		require.Equal(t, pipeline.StatusQuarantined, bad.Status)
		require.Empty(t, bad.RawFiles)
		require.Len(t, bad.Validations, 1)
		require.Contains(t, bad.Problems[0].Message, "its 10 rows break the expectation suite raw.fixture.items of raw.fixture.items: 1 of 2 expectations unmet")
		require.True(t, strings.Contains(bad.Key, "/_quarantine/"), bad.Key)

		var reason struct {
			Reason     string `json:"reason"`
			Validation struct {
				Success bool `json:"success"`
				Results []struct {
					Result struct {
						UnexpectedCount int   `json:"unexpected_count"`
						Partial         []any `json:"partial_unexpected_list"`
					} `json:"result"`
				} `json:"results"`
			} `json:"validation"`
		}
		require.NoError(t, json.Unmarshal(readObject(t, b.st, bad.Key+".reason.json"), &reason))
		require.Equal(t, "its rows break their expectation suite; nothing of it reached raw", reason.Reason)
		require.False(t, reason.Validation.Success)
		require.Equal(t, 10, reason.Validation.Results[0].Result.UnexpectedCount)
		require.EqualValues(t, 3000000, reason.Validation.Results[0].Result.Partial[0])
		require.Equal(t, "page 3 of 4\n", string(readObject(t, b.st, bad.Key)), "the quarantine holds the payload whole")

		vals, err := b.meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: "raw.fixture.items"})
		require.NoError(t, err)
		require.Len(t, vals, 4, "every payload's rows were validated")
		for _, v := range vals {
			require.Equal(t, res.RunID, v.RunID)
		}
	})
}

// Without the validator plugin the run still lands its data and says it
// was not validated.
func TestSuitesWithoutValidatorAreANote(t *testing.T) {
	t.Parallel()
	b := setup(t, backends[0])
	suites := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(suites, "raw.fixture.items.json"), []byte(`[{"expect_column_values_to_not_be_null": {"column": "id"}}]`), 0o644))
	b.p.Quality = &quality.Service{Store: b.st, Meta: b.meta, Plugins: b.p.Plugins, SuitesDir: suites}
	res, err := b.p.Ingest(context.Background(), pipeline.Request{Source: "fixture", Config: sdk.Config{"rows": "5"}})
	require.NoError(t, err)
	require.Equal(t, metastore.RunSucceeded, res.Status)
	require.Contains(t, strings.Join(res.Notes, "\n"), "not validated: raw.fixture.items have suites, but the validator plugin is not installed")
}

// What a failed run keeps is validated like any other payload.
func TestKeptPayloadsOfAFailedRunAreValidated(t *testing.T) {
	t.Parallel()
	b := setup(t, backends[0])
	ctx := context.Background()
	_, err := b.p.Plugins.Install(ctx, plugintest.Build(t, "plugins/quality-ge/cmd/bedrot-validator-quality-ge"))
	require.NoError(t, err)
	suites := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(suites, "raw.fixture.items.json"), []byte(`[
		{"expect_column_values_to_be_between": {"column": "id", "max_value": 999999}}]`), 0o644))
	b.p.Quality = &quality.Service{Store: b.st, Meta: b.meta, Plugins: b.p.Plugins, SuitesDir: suites}
	res, err := b.p.Ingest(ctx, pipeline.Request{Source: "fixture", Config: sdk.Config{"mode": "pages", "pages": "5", "rows": "10",
		"fail_after": "3", "fail": "transient"}})
	require.ErrorContains(t, err, "kept 3 payload(s) with 10 rows")
	require.Equal(t, pipeline.StatusIngested, res.Payloads[0].Status)
	require.Equal(t, pipeline.StatusQuarantined, res.Payloads[1].Status, "page 1's ids break the suite")
	require.Equal(t, pipeline.StatusQuarantined, res.Payloads[2].Status)
	require.Len(t, rawItems(t, b, "raw.fixture.items"), 10)
}
