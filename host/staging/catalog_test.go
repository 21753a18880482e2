package staging

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/marts"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/plugins/spotify"
	spotifyemu "github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/plugins/tiktok"
	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// catalogDatasets are the datasets of the catalog domain.
var catalogDatasets = []string{CatalogTracksDataset, CatalogReleasesDataset, CatalogLinksDataset,
	CatalogUnmatchedDataset, CatalogArtistsDataset, CatalogSourcesDataset}

// fullLake ingests the sample DistroKid export over the Spotify sandbox's
// catalog, the Spotify emulator's Web API with the sample Spotify for
// Artists exports, and the TikTok emulator, all through the real plugins.
func fullLake(t *testing.T) (*lake, *spotifyemu.Server) {
	t.Helper()
	ctx := context.Background()
	l := streamingLake(t, backends["folder+sqlite"])
	_, err := l.p.Plugins.Install(ctx, plugintest.Build(t, "plugins/distrokid/cmd/bedrot-source-distrokid"))
	require.NoError(t, err)

	dk, err := filepath.Abs("../../examples/distrokid/DistroKid_2026_catalog_restated.tsv")
	require.NoError(t, err)
	res, err := l.p.Ingest(ctx, pipeline.Request{Source: "distrokid", Config: sdk.Config{"files": dk}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Payloads)

	sp := spotifyemu.New(spotifyemu.Options{})
	spBase := sp.Start()
	t.Cleanup(sp.Close)
	var ids []string
	for _, a := range sp.Catalog().Artists {
		ids = append(ids, a.ID)
	}
	s4a, err := filepath.Abs("../../plugins/spotify/testdata/s4a")
	require.NoError(t, err)
	res, err = l.p.Ingest(ctx, pipeline.Request{Source: "spotify", Config: sdk.Config{
		spotify.ParamClientID: spotifyemu.DefaultClientID, spotify.ParamClientSecret: spotifyemu.DefaultClientSecret,
		spotify.ParamArtistIDs: strings.Join(ids, ","), spotify.ParamBaseURL: spBase + "/v1", spotify.ParamTokenURL: spBase + "/api/token",
		spotify.ParamS4ADir: s4a,
	}})
	require.NoError(t, err)
	for _, p := range res.Payloads {
		require.Equal(t, "ingested", p.Status, p.Name)
	}

	tt := emulator.New(emulator.Options{ClientKey: "ck_cat", ClientSecret: "cs_cat_secret", RefreshToken: "rt_cat", VideoCount: 10, Seed: 3})
	ttBase := tt.Start()
	t.Cleanup(tt.Close)
	cfg := sdk.Config{tiktok.ParamClientKey: "ck_cat", tiktok.ParamClientSecret: "cs_cat_secret", tiktok.ParamRefreshToken: "rt_cat",
		tiktok.ParamBaseURL: ttBase, tiktok.ParamTokenURL: ttBase + "/v2/oauth/token/"}
	for range 2 {
		_, err := l.p.Ingest(ctx, pipeline.Request{Source: "tiktok", Config: cfg})
		require.NoError(t, err)
		tt.AdvanceDay()
	}
	return l, sp
}

// buildAll builds every staging domain and returns the result.
func buildAll(t *testing.T, l *lake, opts Options) Result {
	t.Helper()
	res, err := Build(context.Background(), l.deps, opts)
	require.NoError(t, err)
	return res
}

// TestBuildCatalogFromSources resolves the sample data of every source: each
// DistroKid ISRC that Spotify knows is matched, the rest is listed with
// reasons, a rebuild on unchanged inputs changes nothing, and every mart of
// config/marts builds on it with unique primary keys.
func TestBuildCatalogFromSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, sp := fullLake(t)
	opts := Options{IdentityOverrides: filepath.Join(t.TempDir(), "missing.yaml")}
	res := buildAll(t, l, opts)
	for _, p := range res.Partitions {
		if strings.HasPrefix(p.Dataset, "staging.catalog.") {
			require.Equal(t, Rebuilt, p.Action, p.Dataset)
			require.Equal(t, CatalogPartition, p.Partition)
			require.Regexp(t, `^staging/domain=catalog/part=all/[a-z]+-staging-`, p.Key)
		}
	}

	// Every ISRC of the DistroKid export that the Spotify catalog has is one
	// track linked to its Spotify track by the key.
	spotifyISRC := map[string]string{}
	for _, tr := range sp.Catalog().Tracks {
		spotifyISRC[tr.ISRC] = tr.ID
	}
	dk := rowsOf(t, l, CatalogLinksDataset, `SELECT DISTINCT item_isrc FROM t WHERE source = 'distrokid' AND item_isrc IS NOT NULL ORDER BY 1`)
	require.NotEmpty(t, dk)
	known := 0
	for _, r := range dk {
		isrc := r[0].(string)
		id, ok := spotifyISRC[isrc]
		if !ok {
			continue
		}
		known++
		tr := rowsOf(t, l, CatalogTracksDataset, `SELECT spotify_track_ids, distrokid_items FROM t WHERE isrc = '`+isrc+`'`)
		require.Len(t, tr, 1, isrc)
		require.Contains(t, tr[0][0], any(id), isrc)
		link := rowsOf(t, l, CatalogLinksDataset, `SELECT isrc, method, confidence FROM t WHERE source = 'spotify' AND key = '`+id+`'`)
		require.Equal(t, [][]any{{isrc, "isrc", 1.0}}, link, isrc)
	}
	require.Positive(t, known)
	notLinked := rowsOf(t, l, CatalogUnmatchedDataset, `SELECT count(*) FROM t WHERE source = 'distrokid' AND item_isrc IS NOT NULL`)
	require.Equal(t, int64(0), notLinked[0][0], "no DistroKid row with an ISRC is unmatched")

	// S4A timelines and TikTok videos reach tracks by title.
	s4a := rowsOf(t, l, CatalogLinksDataset, `SELECT key, method FROM t WHERE source = 's4a' AND key = 'Tidewater' AND artist = ''`)
	require.Equal(t, [][]any{{"Tidewater", "title_artist"}}, s4a)
	tiktokLinks := rowsOf(t, l, CatalogLinksDataset, `SELECT count(*) FROM t WHERE source = 'tiktok' AND method = 'title_in_text'`)
	require.Positive(t, tiktokLinks[0][0])

	// Unmatched items are listed with a reason and a detail, never dropped.
	un := rowsOf(t, l, CatalogUnmatchedDataset, `SELECT source, reason, detail FROM t`)
	require.NotEmpty(t, un, "videos that name no track are unmatched")
	for _, r := range un {
		require.NotEmpty(t, r[1], r)
		require.NotEmpty(t, r[2], r)
	}
	videos := rowsOf(t, l, TikTokVideoDailyDataset, `SELECT count(DISTINCT video_id) FROM t`)
	accounted := rowsOf(t, l, CatalogLinksDataset, `SELECT count(*) FROM t WHERE source = 'tiktok'`)[0][0].(int64) +
		rowsOf(t, l, CatalogUnmatchedDataset, `SELECT count(*) FROM t WHERE source = 'tiktok'`)[0][0].(int64)
	require.Equal(t, videos[0][0], accounted, "every video is linked or unmatched")

	// Artists and sources.
	artists := rowsOf(t, l, CatalogArtistsDataset, `SELECT source, count(*) FROM t GROUP BY ALL ORDER BY 1`)
	require.Equal(t, [][]any{{"spotify", int64(len(sp.Catalog().Artists))}, {"tiktok", int64(1)}}, artists)
	srcs := rowsOf(t, l, CatalogSourcesDataset, `SELECT dataset, date_column FROM t WHERE dataset IN ('raw.distrokid.earnings', 'raw.tiktok.videos') ORDER BY 1`)
	require.Equal(t, [][]any{{"raw.distrokid.earnings", "reporting_date"}, {"raw.tiktok.videos", "snapshot_date"}}, srcs)

	// Unchanged inputs: nothing rebuilt, no manifest or state changes.
	all := append(slices.Clone(catalogDatasets), TikTokVideoDailyDataset, SpotifySongDailyDataset, RoyaltiesDataset)
	before := map[string][]string{}
	for _, ds := range all {
		before[ds] = manifestOf(t, l, ds)
	}
	states, err := l.meta.States(ctx, StateSource)
	require.NoError(t, err)
	again := buildAll(t, l, opts)
	require.Zero(t, again.Rebuilt)
	require.Empty(t, again.Files)
	for _, ds := range all {
		require.Equal(t, before[ds], manifestOf(t, l, ds), ds)
	}
	after, err := l.meta.States(ctx, StateSource)
	require.NoError(t, err)
	require.Equal(t, states, after)

	// An override wins over the match and rebuilds the catalog only.
	ov := filepath.Join(t.TempDir(), "identity_overrides.yaml")
	require.NoError(t, os.WriteFile(ov, []byte("overrides:\n  - source: s4a\n    key: Tidewater\n    isrc: none\n    note: test\n"), 0o644))
	third := buildAll(t, l, Options{IdentityOverrides: ov})
	require.Equal(t, len(catalogDatasets), third.Rebuilt)
	un = rowsOf(t, l, CatalogUnmatchedDataset, `SELECT reason FROM t WHERE source = 's4a' AND key = 'Tidewater' AND artist = ''`)
	require.Equal(t, [][]any{{"override_none"}}, un)
	third = buildAll(t, l, Options{IdentityOverrides: ov})
	require.Zero(t, third.Rebuilt)

	// Every mart of config/marts builds, with unique primary keys (Build
	// checks them) and the platforms of the sample data.
	requireMarts(t, l, map[string]string{
		"track_performance": `SELECT string_agg(DISTINCT platform, ',' ORDER BY platform) FROM curated.track_performance WHERE streams > 0 OR views IS NOT NULL`,
		"artist_audience":   `SELECT string_agg(DISTINCT platform, ',' ORDER BY platform) FROM curated.artist_audience WHERE followers IS NOT NULL`,
		"catalog_health":    `SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM curated.catalog_health`,
	}, map[string]string{
		"track_performance": "spotify,tiktok",
		"artist_audience":   "spotify,tiktok",
		"catalog_health":    "stale_source,unmatched",
	})
}

// requireMarts builds every mart of config/marts, checks that each query of
// checks gives want's value, and that a second build changes nothing.
func requireMarts(t *testing.T, l *lake, checks, want map[string]string) {
	t.Helper()
	ctx := context.Background()
	defs, err := marts.LoadDir(filepath.Join("..", "..", "config", "marts"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(defs), 4)
	eng, err := sqlengine.New(sqlengine.Options{Store: l.st, Meta: l.meta, CacheDir: l.deps.CacheDir})
	require.NoError(t, err)
	deps := marts.Deps{Store: l.st, Meta: l.meta, Engine: eng}
	built, err := marts.Build(ctx, deps, defs)
	require.NoError(t, err)
	for _, b := range built {
		require.True(t, b.Built, b.Mart)
		require.Equal(t, "1.0", b.Version, b.Mart)
		if _, ok := checks[b.Mart]; ok {
			require.Positive(t, b.Rows, b.Mart)
		}
	}
	for m, q := range checks {
		var got string
		_, err := eng.Query(ctx, q, func(r *sqlengine.Rows) error {
			for r.Next() {
				if v, ok := r.Values()[0].(string); ok {
					got = v
				}
			}
			return r.Err()
		})
		require.NoError(t, err, q)
		require.Equal(t, want[m], got, m)
	}
	for _, d := range defs {
		if len(d.PrimaryKey) == 0 {
			continue
		}
		var dups int64 = -1
		_, err := eng.Query(ctx, `SELECT count(*) FROM (SELECT `+strings.Join(d.PrimaryKey, ", ")+` FROM curated.`+d.Name+` GROUP BY ALL HAVING count(*) > 1)`,
			func(r *sqlengine.Rows) error {
				for r.Next() {
					dups = r.Values()[0].(int64)
				}
				return r.Err()
			})
		require.NoError(t, err, d.Name)
		require.Zero(t, dups, d.Name)
	}
	again, err := marts.Build(ctx, deps, defs)
	require.NoError(t, err)
	for _, b := range again {
		require.False(t, b.Built, b.Mart)
	}
}

// TestMartsOnDistroKidOnly is the `bedrot build` flow of the sample exports:
// only DistroKid is ingested, yet every mart builds (the streaming datasets
// without rows have an empty placeholder file).
func TestMartsOnDistroKidOnly(t *testing.T) {
	t.Parallel()
	l := newLake(t, backends["folder+sqlite"])
	b, err := os.ReadFile("../../examples/distrokid/DistroKid_2026_catalog_restated.tsv")
	require.NoError(t, err)
	require.Equal(t, []string{"ingested"}, l.ingest(t, "DistroKid_2026_catalog_restated.tsv", b))
	res := buildAll(t, l, Options{IdentityOverrides: filepath.Join(t.TempDir(), "none.yaml")})
	for _, p := range res.Partitions {
		if strings.HasPrefix(p.Dataset, "staging.streaming.") {
			require.Equal(t, "year=0000", p.Partition, p.Dataset)
			require.Zero(t, p.Rows, p.Dataset)
		}
	}
	tracks := rowsOf(t, l, CatalogTracksDataset, `SELECT count(*), count(*) FILTER (WHERE len(spotify_track_ids) = 0) FROM t`)
	require.Positive(t, tracks[0][0])
	require.Equal(t, tracks[0][0], tracks[0][1], "no Spotify data: no Spotify ids")
	requireMarts(t, l, map[string]string{
		"catalog_health": `SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM curated.catalog_health`,
	}, map[string]string{"catalog_health": "stale_source"})
}

// TestPlaceholderLeaves checks that a streaming dataset's empty file leaves
// the manifest (and the store) when its first rows arrive.
func TestPlaceholderLeaves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLake(t, backends["folder+sqlite"])
	res, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
	require.NoError(t, err)
	require.Equal(t, 4, res.Rebuilt)
	var empty string
	for _, p := range res.Partitions {
		require.Equal(t, "year=0000", p.Partition)
		require.Zero(t, p.Rows)
		if p.Dataset == TikTokVideoDailyDataset {
			empty = p.Key
		}
	}
	again, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
	require.NoError(t, err)
	require.Zero(t, again.Rebuilt)
	require.Equal(t, 4, again.Skipped)

	w := &rawWriter{l: l}
	w.write(t, "tiktok", "videos", tiktok.VideosSchema, video("A", "2026-01-01T10:00:00Z", "2026-01-01T20:00:00Z", 10, 1, 0, 0))
	third, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
	require.NoError(t, err)
	var actions []string
	for _, p := range third.Partitions {
		if p.Dataset == TikTokVideoDailyDataset {
			actions = append(actions, p.Partition+" "+p.Action)
		}
	}
	require.Equal(t, []string{"year=0000 " + Emptied, "year=2026 " + Rebuilt}, actions)
	files, err := l.meta.ListFiles(ctx, TikTokVideoDailyDataset)
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.Contains(t, files[0].Key, "/year=2026/")
	_, err = l.st.Stat(ctx, empty)
	require.Error(t, err, "the empty file is deleted")
	fourth, err := Build(ctx, l.deps, Options{Domains: []string{StreamingDomain}})
	require.NoError(t, err)
	require.Zero(t, fourth.Rebuilt)
}
