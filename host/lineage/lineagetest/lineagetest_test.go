package lineagetest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage/lineagetest"
)

// TestForkMatchesUpstream checks the README's claim: the 2-0-2 core copied
// from a fork defines everything the official upstream file defines, the
// same way, so run events are checked against the official definitions.
func TestForkMatchesUpstream(t *testing.T) {
	t.Parallel()
	fork, err := lineagetest.VendoredDefs("spec/2-0-2/OpenLineage.json")
	require.NoError(t, err)
	upstream, err := lineagetest.VendoredDefs("upstream/spec/OpenLineage.json")
	require.NoError(t, err)
	require.Contains(t, upstream, "RunEvent")
	for name, def := range upstream {
		require.Equal(t, def, fork[name], "definition %s differs from upstream", name)
	}
	extra := []string{}
	for name := range fork {
		if _, ok := upstream[name]; !ok {
			extra = append(extra, name)
		}
	}
	require.ElementsMatch(t, []string{"QueryEvent", "Query", "QueryFacet"}, extra, "the fork adds only the query event")
}

func TestValidateRejectsNonEvents(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, lineagetest.Validate([]byte(`not json`)), "not JSON")
	require.ErrorContains(t, lineagetest.Validate([]byte(`[]`)), "not a JSON object")
	require.ErrorContains(t, lineagetest.Validate([]byte(`{}`)), "does not match the OpenLineage spec")
}

// TestValidateAcceptsSpecExample validates a hand-written minimal event, so
// the validator is not only ever fed this package's own output.
func TestValidateAcceptsSpecExample(t *testing.T) {
	t.Parallel()
	ev := `{
  "eventType": "COMPLETE",
  "eventTime": "2025-06-02T03:04:51.372Z",
  "producer": "https://github.com/example-label/labellake/tree/v0.3.0",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
  "run": {"runId": "01972f4e-8c5a-7a1e-9d2f-3b1f5c0e4a11"},
  "job": {"namespace": "labellake-prod", "name": "ingest.spotify.streams_daily"},
  "inputs": [{"namespace": "s3://label-lake-landing", "name": "spotify/streams"}],
  "outputs": [{
    "namespace": "s3://label-lake", "name": "raw/dsp_streams_daily",
    "facets": {"schema": {
      "_producer": "https://github.com/example-label/labellake/tree/v0.3.0",
      "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
      "fields": [{"name": "isrc", "type": "STRING"}]
    }},
    "outputFacets": {"outputStatistics": {
      "_producer": "https://github.com/example-label/labellake/tree/v0.3.0",
      "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
      "rowCount": 120000, "size": 3481922
    }}
  }]
}`
	require.NoError(t, lineagetest.Validate([]byte(ev)))
}
