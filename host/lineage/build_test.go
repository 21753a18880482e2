package lineage_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/metastore"
)

func TestRunUUID(t *testing.T) {
	t.Parallel()
	a := lineage.RunUUID("bedrot", "ingest.spotify", "20261126T055012Z-9f3a1c")
	require.Equal(t, a, lineage.RunUUID("bedrot", "ingest.spotify", "20261126T055012Z-9f3a1c"), "stable")
	u, err := uuid.Parse(a)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(5), u.Version())
	require.NotEqual(t, a, lineage.RunUUID("bedrot", "build.staging", "20261126T055012Z-9f3a1c"))
	require.NotEqual(t, a, lineage.RunUUID("bedrot", "ingest.spotify", "20261126T055012Z-9f3a1d"))
	require.NotEqual(t, a, lineage.RunUUID("bedrot-eu", "ingest.spotify", "20261126T055012Z-9f3a1c"))
}

func TestJobName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind lineage.JobKind
		name string
		want string
	}{
		{lineage.JobIngest, "spotify", "ingest.spotify"},
		{lineage.JobReplay, "distrokid", "replay.distrokid"},
		{lineage.JobBuildStaging, "", "build.staging"},
		{lineage.JobBuildMart, "royalties_monthly", "build.mart.royalties_monthly"},
		{lineage.JobPublish, "royalties_monthly", "publish.royalties_monthly"},
		{lineage.JobValidate, "raw.spotify.tracks", "validate.raw.spotify.tracks"},
	} {
		got, err := lineage.JobName(c.kind, c.name)
		require.NoError(t, err)
		require.Equal(t, c.want, got)
	}
	_, err := lineage.JobName(lineage.JobIngest, "")
	require.ErrorContains(t, err, "needs a name")
	got, err := lineage.JobName(lineage.JobBuildStaging, "staging.royalties.earnings")
	require.NoError(t, err)
	require.Equal(t, "build.staging.staging.royalties.earnings", got, "one staging dataset's build")
	_, err = lineage.JobName("export", "x")
	require.ErrorContains(t, err, "unknown job kind")
}

func TestFinishStatus(t *testing.T) {
	t.Parallel()
	b := lineage.NewBuilder(lineage.Config{})
	base := lineage.RunInfo{RunID: "r1", Kind: lineage.JobBuildStaging, StartedAt: t0, FinishedAt: t1}
	for status, want := range map[string]lineage.EventType{
		metastore.RunSucceeded: lineage.EventComplete,
		metastore.RunPartial:   lineage.EventComplete,
		metastore.RunFailed:    lineage.EventFail,
		metastore.RunAbandoned: lineage.EventFail,
		"":                     lineage.EventComplete,
	} {
		r := base
		r.Status = status
		ev, err := b.Finish(r)
		require.NoError(t, err, status)
		require.Equal(t, want, ev.EventType, status)
	}

	r := base
	r.Error = "disk full"
	ev, err := b.Finish(r)
	require.NoError(t, err)
	require.Equal(t, lineage.EventFail, ev.EventType, "an error without status fails the run")
	require.Equal(t, "disk full", ev.Run.Facets.ErrorMessage.Message)
	require.Equal(t, metastore.RunFailed, ev.Run.Facets.Bedrot.Status)

	r = base
	r.Status = metastore.RunAbandoned
	ev, err = b.Finish(r)
	require.NoError(t, err)
	require.Equal(t, "run abandoned", ev.Run.Facets.ErrorMessage.Message, "a FAIL always says something")

	r = base
	r.Status = metastore.RunRunning
	_, err = b.Finish(r)
	require.ErrorContains(t, err, "not a final status")
}

func TestBuilderRejects(t *testing.T) {
	t.Parallel()
	namer, err := lineage.NewNamer("/srv/lake")
	require.NoError(t, err)
	b := lineage.NewBuilder(lineage.Config{Namer: namer})

	_, err = b.Start(lineage.RunInfo{Kind: lineage.JobIngest, Name: "spotify"})
	require.ErrorContains(t, err, "run id is empty")

	_, err = b.Start(lineage.RunInfo{RunID: "r", Kind: lineage.JobIngest, Name: "spotify",
		Outputs: []lineage.Dataset{{Name: "raw.spotify.tracks", Assertions: []lineage.AssertionResult{{Assertion: "x", Success: true}}}}})
	require.ErrorContains(t, err, "validate run")

	_, err = b.Start(lineage.RunInfo{RunID: "r", Kind: lineage.JobValidate, Name: "raw.spotify.tracks",
		Inputs: []lineage.Dataset{{Name: "raw.spotify.tracks", Assertions: []lineage.AssertionResult{{Success: true}}}}})
	require.ErrorContains(t, err, "no type")

	_, err = b.Start(lineage.RunInfo{RunID: "r", Kind: lineage.JobIngest, Name: "spotify",
		Outputs: []lineage.Dataset{{Name: "sandbox.me.x"}}})
	require.ErrorContains(t, err, "unknown dataset")

	_, err = b.Start(lineage.RunInfo{RunID: "r", Kind: lineage.JobIngest, Name: "spotify", Outputs: []lineage.Dataset{{}}})
	require.ErrorContains(t, err, "neither a Name nor an ID")

	noNamer := lineage.NewBuilder(lineage.Config{})
	_, err = noNamer.Start(lineage.RunInfo{RunID: "r", Kind: lineage.JobIngest, Name: "spotify",
		Outputs: []lineage.Dataset{{Name: "raw.spotify.tracks"}}})
	require.ErrorContains(t, err, "no Namer")
}
