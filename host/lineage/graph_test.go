package lineage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
)

func ds(names ...string) []lineage.Dataset {
	out := make([]lineage.Dataset, 0, len(names))
	for _, n := range names {
		out = append(out, lineage.Dataset{Name: n})
	}
	return out
}

// lake records the lineage of a small history: two Spotify ingests (the
// second failing afterwards), a DistroKid ingest and replay, a staging
// build, a mart build, a publish, and a TikTok ingest that only failed.
func lake(t *testing.T) (storage.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := folder.New(t.TempDir())
	require.NoError(t, err)
	namer, err := lineage.NewNamer(st.Location())
	require.NoError(t, err)
	c := lineage.NewClient(lineage.NewBuilder(lineage.Config{Namer: namer}), lineage.NewStoreEmitter(st), nil)
	pg := lineage.PostgresTable("db", 5432, "bi", "marts", "royalties_monthly")
	at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	run := func(r lineage.RunInfo) {
		t.Helper()
		r.StartedAt, r.FinishedAt = at, at.Add(time.Minute)
		at = at.Add(10 * time.Minute)
		require.NoError(t, c.Start(ctx, r))
		require.NoError(t, c.Finish(ctx, r))
	}
	spotify := lineage.RunInfo{Kind: lineage.JobIngest, Name: "spotify", Status: metastore.RunSucceeded,
		Inputs:  []lineage.Dataset{{ID: lineage.SourceDataset("spotify")}},
		Outputs: ds("landing.spotify", "raw.spotify.tracks", "raw.spotify.s4a_song_timeline")}
	spotify.RunID = "20261126T050000Z-aaaaaa"
	run(spotify)
	spotify.RunID = "20261126T051000Z-bbbbbb"
	run(spotify)
	run(lineage.RunInfo{RunID: "20261126T052000Z-cccccc", Kind: lineage.JobIngest, Name: "distrokid",
		Inputs:  []lineage.Dataset{{ID: lineage.SourceDataset("distrokid")}},
		Outputs: ds("landing.distrokid", "raw.distrokid.earnings")})
	run(lineage.RunInfo{RunID: "20261126T053000Z-dddddd", Kind: lineage.JobReplay, Name: "distrokid",
		Inputs: ds("landing.distrokid"), Outputs: ds("raw.distrokid.earnings")})
	run(lineage.RunInfo{RunID: "20261126T054000Z-eeeeee", Kind: lineage.JobBuildStaging,
		Inputs:  ds("raw.distrokid.earnings", "raw.spotify.s4a_song_timeline"),
		Outputs: ds("staging.royalties.earnings", "staging.streaming.spotify_song_daily")})
	run(lineage.RunInfo{RunID: "20261126T055000Z-ffffff", Kind: lineage.JobBuildMart, Name: "royalties_monthly",
		Inputs:  ds("staging.royalties.earnings", "staging.streaming.spotify_song_daily"),
		Outputs: ds("curated.royalties_monthly.v1_0")})
	run(lineage.RunInfo{RunID: "20261126T060000Z-111111", Kind: lineage.JobPublish, Name: "royalties_monthly",
		Inputs: ds("curated.royalties_monthly.v1_0"), Outputs: []lineage.Dataset{{ID: pg}}})
	run(lineage.RunInfo{RunID: "20261126T061000Z-222222", Kind: lineage.JobIngest, Name: "tiktok", Error: "token expired",
		Inputs: []lineage.Dataset{{ID: lineage.SourceDataset("tiktok")}}, Outputs: ds("raw.tiktok.videos")})
	spotify.RunID, spotify.Status, spotify.Error = "20261126T062000Z-333333", metastore.RunFailed, "HTTP 429"
	run(spotify)

	// Debris the graph must survive: a broken event and a stray file.
	_, err = st.Put(ctx, lineage.EventsPrefix+"date=2026-11-27/broken.json", strings.NewReader("{not json"))
	require.NoError(t, err)
	_, err = st.Put(ctx, lineage.EventsPrefix+"README.txt", strings.NewReader("hello"))
	require.NoError(t, err)
	return st, st.Location()
}

func render(t *testing.T, tr *lineage.Tree, dir lineage.Direction) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, lineage.Render(&b, tr, dir))
	return b.String()
}

func TestGraph(t *testing.T) {
	t.Parallel()
	st, root := lake(t)
	g, err := lineage.Graph(context.Background(), st)
	require.NoError(t, err)
	require.Equal(t, 18, g.Events)
	require.Len(t, g.Skipped, 1)
	require.Contains(t, g.Skipped[0], "broken.json")

	up, err := g.Upstream("curated.royalties_monthly.v1_0", 0)
	require.NoError(t, err)
	require.Equal(t, "curated.royalties_monthly.v1_0  (file:"+root+"/curated/mart=royalties_monthly/version=v1.0)\n"+
		"└── <- build.mart.royalties_monthly  [COMPLETE 2026-11-26T05:51:00Z, run 20261126T055000Z-ffffff]\n"+
		"    ├── <- staging.royalties.earnings\n"+
		"    │   └── <- build.staging  [COMPLETE 2026-11-26T05:41:00Z, run 20261126T054000Z-eeeeee]\n"+
		"    │       ├── <- raw.distrokid.earnings\n"+
		"    │       │   ├── <- ingest.distrokid  [COMPLETE 2026-11-26T05:21:00Z, run 20261126T052000Z-cccccc]\n"+
		"    │       │   │   └── <- (source) distrokid\n"+
		"    │       │   └── <- replay.distrokid  [COMPLETE 2026-11-26T05:31:00Z, run 20261126T053000Z-dddddd]\n"+
		"    │       │       └── <- landing.distrokid\n"+
		"    │       │           └── <- ingest.distrokid  [COMPLETE 2026-11-26T05:21:00Z, run 20261126T052000Z-cccccc]  (see above)\n"+
		"    │       └── <- raw.spotify.s4a_song_timeline\n"+
		"    │           └── <- ingest.spotify  [FAIL 2026-11-26T06:21:00Z, run 20261126T062000Z-333333]\n"+
		"    │               └── <- (source) spotify\n"+
		"    └── <- staging.streaming.spotify_song_daily\n"+
		"        └── <- build.staging  [COMPLETE 2026-11-26T05:41:00Z, run 20261126T054000Z-eeeeee]  (see above)\n",
		render(t, up, lineage.Upstream))

	one, err := g.Upstream("curated.royalties_monthly.v1_0", 1)
	require.NoError(t, err)
	require.Equal(t, "curated.royalties_monthly.v1_0  (file:"+root+"/curated/mart=royalties_monthly/version=v1.0)\n"+
		"└── <- build.mart.royalties_monthly  [COMPLETE 2026-11-26T05:51:00Z, run 20261126T055000Z-ffffff]\n"+
		"    ├── <- staging.royalties.earnings  (more upstream)\n"+
		"    └── <- staging.streaming.spotify_song_daily  (more upstream)\n",
		render(t, one, lineage.Upstream))

	down, err := g.Downstream("raw.spotify.s4a_song_timeline", 0)
	require.NoError(t, err)
	require.Equal(t, "raw.spotify.s4a_song_timeline  (file:"+root+"/raw/source=spotify/*/s4a_song_timeline-*.parquet)\n"+
		"└── -> build.staging  [COMPLETE 2026-11-26T05:41:00Z, run 20261126T054000Z-eeeeee]\n"+
		"    ├── -> staging.royalties.earnings\n"+
		"    │   └── -> build.mart.royalties_monthly  [COMPLETE 2026-11-26T05:51:00Z, run 20261126T055000Z-ffffff]\n"+
		"    │       └── -> curated.royalties_monthly.v1_0\n"+
		"    │           └── -> publish.royalties_monthly  [COMPLETE 2026-11-26T06:01:00Z, run 20261126T060000Z-111111]\n"+
		"    │               └── -> postgres://db:5432:bi.marts.royalties_monthly\n"+
		"    └── -> staging.streaming.spotify_song_daily\n"+
		"        └── -> build.mart.royalties_monthly  [COMPLETE 2026-11-26T05:51:00Z, run 20261126T055000Z-ffffff]  (see above)\n",
		render(t, down, lineage.Downstream))
}

func TestGraphLookups(t *testing.T) {
	t.Parallel()
	st, root := lake(t)
	g, err := lineage.Graph(context.Background(), st)
	require.NoError(t, err)

	// A lake path naming one dataset's folder, and the OpenLineage identity.
	for _, q := range []string{"raw/source=distrokid", "file:" + root + "/raw/source=distrokid/*/earnings-*.parquet", "raw.distrokid.earnings"} {
		tr, err := g.Upstream(q, 1)
		require.NoError(t, err, q)
		require.Equal(t, "raw.distrokid.earnings", tr.Node.Label, q)
		require.Len(t, tr.Children, 2, "ingest and replay wrote it")
	}

	_, err = g.Upstream("raw/source=spotify", 0)
	require.ErrorContains(t, err, "matches 2")
	require.ErrorContains(t, err, "raw.spotify.s4a_song_timeline, raw.spotify.tracks")

	_, err = g.Upstream("raw.tiktok.videos", 0)
	require.ErrorContains(t, err, "no lineage yet", "a run that only failed wrote nothing")

	job, err := g.Upstream("ingest.spotify", 0)
	require.NoError(t, err)
	require.Equal(t, lineage.JobNode, job.Node.Kind)
	require.Equal(t, 2, job.Node.Completed)
	require.Equal(t, lineage.EventFail, job.Node.LastEvent, "the latest run failed")
	require.Equal(t, "20261126T062000Z-333333", job.Node.LastRunID)
	require.Equal(t, "ingest.spotify  [FAIL 2026-11-26T06:21:00Z, run 20261126T062000Z-333333]\n"+
		"└── <- (source) spotify\n", render(t, job, lineage.Upstream))

	tiktok := g.Find("ingest.tiktok")
	require.Len(t, tiktok, 1)
	require.Equal(t, 0, tiktok[0].Completed)

	jobDown, err := g.Downstream("ingest.spotify", 1)
	require.NoError(t, err)
	var outs []string
	for _, c := range jobDown.Children {
		outs = append(outs, c.Node.Label)
	}
	require.Equal(t, []string{"landing.spotify", "raw.spotify.s4a_song_timeline", "raw.spotify.tracks"}, outs, "deduplicated over two runs")
	require.True(t, jobDown.Children[1].Truncated)
	require.False(t, jobDown.Children[2].Truncated, "nothing reads raw.spotify.tracks yet")
}

func TestGraphEmptyLake(t *testing.T) {
	t.Parallel()
	st, err := folder.New(t.TempDir())
	require.NoError(t, err)
	g, err := lineage.Graph(context.Background(), st)
	require.NoError(t, err)
	require.Zero(t, g.Events)
	_, err = g.Upstream("raw.spotify.tracks", 0)
	require.ErrorContains(t, err, "no lineage yet")
}
