package lineage_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/lineage/lineagetest"
	"github.com/bedrot-label/bedrot/host/metastore"
)

var (
	t0 = time.Date(2026, 11, 26, 5, 50, 12, 345_000_000, time.UTC)
	t1 = t0.Add(3 * time.Minute)
)

// runs returns an ingest, a validation, a build and a publish as the
// pipeline would describe them.
func runs(t *testing.T) map[string]lineage.RunInfo {
	pg, err := lineage.PostgresTableFromDSN("postgres://bi:s3cret@db.example:5433/analytics?sslmode=disable", "marts", "royalties_monthly")
	require.NoError(t, err)
	tracks := []lineage.SchemaField{{Name: "isrc", Type: "STRING"}, {Name: "streams", Type: "INT64"}}
	return map[string]lineage.RunInfo{
		"ingest": {
			RunID: "20261126T055012Z-9f3a1c", Kind: lineage.JobIngest, Name: "spotify",
			StartedAt: t0, FinishedAt: t1, Status: metastore.RunPartial,
			Inputs: []lineage.Dataset{{ID: lineage.SourceDataset("spotify")}},
			Outputs: []lineage.Dataset{
				{Name: "landing.spotify", Stats: &lineage.Stats{Rows: -1, Bytes: 81234, Files: 3}},
				{Name: "raw.spotify.tracks", Fields: tracks, Stats: &lineage.Stats{Rows: 120, Bytes: 3481, Files: 1}},
				{Name: "quarantine.spotify", Stats: &lineage.Stats{Rows: 2, Bytes: -1, Files: 1}},
			},
		},
		"validate": {
			RunID: "20261126T055012Z-9f3a1c", Kind: lineage.JobValidate, Name: "raw.spotify.tracks",
			StartedAt: t1, FinishedAt: t1.Add(time.Second), Status: metastore.RunSucceeded,
			Inputs: []lineage.Dataset{{
				Name: "raw.spotify.tracks", Fields: tracks,
				Stats: &lineage.Stats{Rows: 120, Bytes: 3481, Files: 1},
				Assertions: []lineage.AssertionResult{
					{Assertion: "expect_column_values_to_not_be_null", Success: true, Column: "isrc"},
					{Assertion: "expect_table_row_count_to_be_between", Success: false},
				},
			}},
		},
		"build": {
			RunID: "20261126T060000Z-aa01bb", Kind: lineage.JobBuildMart, Name: "royalties_monthly",
			StartedAt: t0, FinishedAt: t1, Status: metastore.RunSucceeded,
			Inputs: []lineage.Dataset{
				{Name: "staging.royalties.earnings", Stats: &lineage.Stats{Rows: 5000, Bytes: 99000, Files: 2}},
				{Name: "staging.catalog.tracks"},
			},
			Outputs: []lineage.Dataset{{
				Name:   "curated.royalties_monthly.v1_0",
				Fields: []lineage.SchemaField{{Name: "month", Type: "DATE"}, {Name: "earnings_usd", Type: "DECIMAL(18,6)", Description: "exact sum"}},
				Stats:  &lineage.Stats{Rows: 48, Bytes: 2048, Files: 1},
			}},
		},
		"publish": {
			RunID: "20261126T061500Z-cc02dd", Kind: lineage.JobPublish, Name: "royalties_monthly",
			StartedAt: t0, FinishedAt: t1, Status: metastore.RunFailed, Error: "connection refused: is PostgreSQL up?",
			Inputs:  []lineage.Dataset{{Name: "curated.royalties_monthly.v1_0"}},
			Outputs: []lineage.Dataset{{ID: pg, Stats: &lineage.Stats{Rows: 48, Bytes: -1, Files: -1}}},
		},
	}
}

// TestEventsValidate is the bar: every event BEDROT emits validates
// against the OpenLineage JSON schema, and each facet against its own.
func TestEventsValidate(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{"/srv/lake", "s3://label-lake/prod"} {
		namer, err := lineage.NewNamer(loc)
		require.NoError(t, err)
		b := lineage.NewBuilder(lineage.Config{Namer: namer, Producer: lineage.ProducerURI("v0.4.0")})
		for name, r := range runs(t) {
			for _, phase := range []string{"start", "finish"} {
				t.Run(fmt.Sprintf("%s/%s/%s", loc, name, phase), func(t *testing.T) {
					ev, err := b.Start(r)
					if phase == "finish" {
						ev, err = b.Finish(r)
					}
					require.NoError(t, err)
					body, err := json.Marshal(ev)
					require.NoError(t, err)
					require.NoError(t, lineagetest.Validate(body), "%s", body)
				})
			}
		}
	}
}

// TestEventContent checks what a consumer reads from the events: names,
// namespaces, facets where the spec puts them.
func TestEventContent(t *testing.T) {
	t.Parallel()
	rs := runs(t)
	s3, err := lineage.NewNamer("s3://label-lake/prod")
	require.NoError(t, err)
	b := lineage.NewBuilder(lineage.Config{Namer: s3, Producer: lineage.ProducerURI("v0.4.0")})

	start, err := b.Start(rs["ingest"])
	require.NoError(t, err)
	done, err := b.Finish(rs["ingest"])
	require.NoError(t, err)
	require.Equal(t, lineage.EventStart, start.EventType)
	require.Equal(t, lineage.EventComplete, done.EventType, "a partial run completed")
	require.Equal(t, "2026-11-26T05:50:12.345Z", start.EventTime)
	require.Equal(t, "2026-11-26T05:53:12.345Z", done.EventTime)
	require.Equal(t, start.Run.RunID, done.Run.RunID, "START and COMPLETE share the runId")
	require.Equal(t, "bedrot", done.Job.Namespace)
	require.Equal(t, "ingest.spotify", done.Job.Name)
	require.Equal(t, "https://github.com/bedrot-label/bedrot/tree/v0.4.0", done.Producer)
	require.Equal(t, "INGEST", done.Job.Facets.JobType.JobType)
	require.Equal(t, "BATCH", done.Job.Facets.JobType.ProcessingType)
	require.Equal(t, "BEDROT", done.Job.Facets.JobType.Integration)
	require.Equal(t, "20261126T055012Z-9f3a1c", done.Run.Facets.Bedrot.RunID)
	require.Equal(t, metastore.RunPartial, done.Run.Facets.Bedrot.Status)
	require.Nil(t, done.Run.Facets.ErrorMessage)

	require.Equal(t, "bedrot-source", done.Inputs[0].Namespace)
	require.Equal(t, "spotify", done.Inputs[0].Name)
	require.Equal(t, "s3://label-lake", done.Outputs[0].Namespace)
	require.Equal(t, "prod/landing/spotify", done.Outputs[0].Name)
	require.Equal(t, "prod/raw/source=spotify/*/tracks-*.parquet", done.Outputs[1].Name)
	require.Equal(t, "raw.spotify.tracks", done.Outputs[1].Facets.Bedrot.Name)
	require.Equal(t, []lineage.SchemaField{{Name: "isrc", Type: "STRING"}, {Name: "streams", Type: "INT64"}}, done.Outputs[1].Facets.Schema.Fields)
	stats := done.Outputs[1].OutputFacets.OutputStatistics
	require.Equal(t, int64(120), stats.RowCount)
	require.Equal(t, int64(3481), *stats.Size)
	require.Equal(t, int64(1), *stats.FileCount)
	require.Nil(t, done.Outputs[0].OutputFacets.OutputStatistics, "unknown row count: no statistics")
	require.Equal(t, "prod/landing/spotify/*/_quarantine", done.Outputs[2].Name)
	require.Nil(t, done.Outputs[2].OutputFacets.OutputStatistics.Size, "unknown bytes left out")

	v, err := b.Finish(rs["validate"])
	require.NoError(t, err)
	require.Equal(t, "validate.raw.spotify.tracks", v.Job.Name)
	require.NotEqual(t, done.Run.RunID, v.Run.RunID, "two jobs of one BEDROT run have distinct runIds")
	in := v.Inputs[0]
	require.Len(t, in.InputFacets.DataQualityAssertions.Assertions, 2)
	require.Equal(t, "isrc", in.InputFacets.DataQualityAssertions.Assertions[0].Column)
	require.False(t, in.InputFacets.DataQualityAssertions.Assertions[1].Success)
	require.Equal(t, int64(120), *in.InputFacets.DataQualityMetrics.RowCount)
	require.Empty(t, in.InputFacets.DataQualityMetrics.ColumnMetrics)
	raw, err := json.Marshal(in.InputFacets.DataQualityMetrics)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"columnMetrics":{}`)

	p, err := b.Finish(rs["publish"])
	require.NoError(t, err)
	require.Equal(t, lineage.EventFail, p.EventType)
	require.Equal(t, "connection refused: is PostgreSQL up?", p.Run.Facets.ErrorMessage.Message)
	require.Equal(t, "GO", p.Run.Facets.ErrorMessage.ProgrammingLanguage)
	require.Equal(t, "postgres://db.example:5433", p.Outputs[0].Namespace)
	require.Equal(t, "analytics.marts.royalties_monthly", p.Outputs[0].Name)
	body, err := json.Marshal(p)
	require.NoError(t, err)
	require.NotContains(t, string(body), "s3cret")

	folder, err := lineage.NewNamer("/srv/lake")
	require.NoError(t, err)
	bf := lineage.NewBuilder(lineage.Config{Namer: folder})
	m, err := bf.Finish(rs["build"])
	require.NoError(t, err)
	require.Equal(t, "build.mart.royalties_monthly", m.Job.Name)
	require.Equal(t, "BUILD", m.Job.Facets.JobType.JobType)
	require.Equal(t, "file", m.Outputs[0].Namespace)
	require.Equal(t, "/srv/lake/curated/mart=royalties_monthly/version=v1.0", m.Outputs[0].Name)
	require.Equal(t, "/srv/lake/staging/domain=royalties/*/earnings-*.parquet", m.Inputs[0].Name)
	require.Equal(t, "https://github.com/bedrot-label/bedrot/tree/main", m.Producer)
}

// TestBrokenEventsFail shows the validation can fail: the schema test above
// would catch events that break the spec.
func TestBrokenEventsFail(t *testing.T) {
	t.Parallel()
	namer, err := lineage.NewNamer("/srv/lake")
	require.NoError(t, err)
	b := lineage.NewBuilder(lineage.Config{Namer: namer})
	ev, err := b.Finish(runs(t)["build"])
	require.NoError(t, err)
	good, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, lineagetest.Validate(good))

	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good, &m))
		f(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name, want string
		body       []byte
	}{
		{"missing runId", "missing property 'runId'",
			mutate(func(m map[string]any) { delete(m["run"].(map[string]any), "runId") })},
		{"runId not a UUID", "is not valid uuid",
			mutate(func(m map[string]any) { m["run"].(map[string]any)["runId"] = "20261126T060000Z-aa01bb" })},
		{"bad eventTime", "is not valid date-time",
			mutate(func(m map[string]any) { m["eventTime"] = "yesterday" })},
		{"unknown eventType", "value must be one of",
			mutate(func(m map[string]any) { m["eventType"] = "DONE" })},
		{"facet without _producer", "missing property '_producer'",
			mutate(func(m map[string]any) {
				delete(m["job"].(map[string]any)["facets"].(map[string]any)["jobType"].(map[string]any), "_producer")
			})},
		{"statistics without rowCount", "missing property 'rowCount'",
			mutate(func(m map[string]any) {
				out := m["outputs"].([]any)[0].(map[string]any)
				delete(out["outputFacets"].(map[string]any)["outputStatistics"].(map[string]any), "rowCount")
			})},
		{"jobType without integration", "missing property 'integration'",
			mutate(func(m map[string]any) {
				delete(m["job"].(map[string]any)["facets"].(map[string]any)["jobType"].(map[string]any), "integration")
			})},
		{"facet of an unknown schema", "is not vendored",
			mutate(func(m map[string]any) {
				jt := m["job"].(map[string]any)["facets"].(map[string]any)["jobType"].(map[string]any)
				jt["_schemaURL"] = "https://openlineage.io/spec/facets/9-9-9/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
			})},
		{"custom facet without BEDROT run id", "bedrot_run does not match",
			mutate(func(m map[string]any) {
				delete(m["run"].(map[string]any)["facets"].(map[string]any)["bedrot_run"].(map[string]any), "runId")
			})},
		{"wrong schemaURL", "event schemaURL is",
			mutate(func(m map[string]any) {
				m["schemaURL"] = "https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent"
			})},
	}
	for _, c := range cases {
		err := lineagetest.Validate(c.body)
		require.ErrorContains(t, err, c.want, c.name)
	}
}
