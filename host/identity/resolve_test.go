package identity_test

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/identity"
	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
)

// Track ISRCs of the Spotify emulator's default catalog.
const (
	isrcTidewater      = "QZWFV2600101"
	isrcSaltLines      = "QZWFV2600102"
	isrcHarbourLights  = "QZWFV2600103"
	isrc12Mix          = "QZWFV2600114"
	isrcFjord          = "QZWFV2600121"
	isrcFjordAcoustic  = "QZWFV2600122"
	isrcLighthouse     = "QZWFV2600128"
	isrcSamplerOpening = "QZWFV2600129"
	isrcThognSampler   = "QZWFV2600130"
	isrcTolftaSampler  = "QZWFV2600131"
	isrcThognAlbum     = "QZWFV2600132"
	isrcTolftaSingle   = "QZWFV2600138"
	upcTidewater       = "0198880045560"
	upcThogn           = "0198880045569"
	// harbourTrackID is the Spotify id of Harbour Lights.
	harbourTrackID = "ntjHexeZqWLdDzw4kwrFud"
	// coverVideoID is the video the example overrides file forces to none.
	coverVideoID = "7569912233445566778"
)

// spotifyTracks turns the emulator's catalog into Spotify inputs, with the
// artist names joined in as staging would.
func spotifyTracks() []identity.SpotifyTrack {
	c := emulator.DefaultCatalog()
	artists := map[string]string{}
	for _, a := range c.Artists {
		artists[a.ID] = a.Name
	}
	albums := map[string]emulator.Album{}
	for _, a := range c.Albums {
		albums[a.ID] = a
	}
	var out []identity.SpotifyTrack
	for _, t := range c.Tracks {
		var names []string
		for _, id := range t.ArtistIDs {
			names = append(names, artists[id])
		}
		al := albums[t.AlbumID]
		out = append(out, identity.SpotifyTrack{TrackID: t.ID, ISRC: t.ISRC, Name: t.Name, Artists: names,
			AlbumID: al.ID, AlbumName: al.Name, AlbumUPC: al.UPC, AlbumReleaseDate: al.ReleaseDate})
	}
	return out
}

// s4aSongs are the songs of the sample exports in
// plugins/spotify/testdata/s4a: the Mara Ellis songs table and the
// per-song timelines (which have no artist).
func s4aSongs() []identity.S4ASong {
	table := []struct{ title, date string }{
		{"Tidewater", "2026-01-16"}, {"Salt Lines", "2026-01-16"}, {"Harbour Lights", "2026-01-16"},
		{`12" Mix`, "2019-01-01"}, {"Low Tide", "2025-06-01"}, {"Northbound", "2024-11-01"},
		{"Fjord (Acoustic)", "2024-03-01"}, {"Sampler Opening, Pt. 1", ""}, {"Winter Pier", "2023-12-08"},
		{"Lighthouse", "2020-02-14"},
	}
	var out []identity.S4ASong
	for _, r := range table {
		out = append(out, identity.S4ASong{Title: r.title, Artist: "Mara Ellis", ReleaseDate: r.date})
	}
	for _, t := range []string{"Harbour Lights", "Tidewater", "tólfta (fyrir ömmu)", "Þögn (fyrir ömmu)"} {
		out = append(out, identity.S4ASong{Title: t})
	}
	return out
}

// demoInputs is demo-like data: the Spotify catalog, DistroKid rows for
// part of it (12-digit UPCs, other spellings), a DistroKid-only track,
// rows without ISRC, the S4A sample songs and TikTok videos like the
// emulator's.
func demoInputs() identity.Inputs {
	dk := []identity.DistroKidRow{
		{Key: "2026-03.tsv:2", ISRC: isrcTidewater, UPC: "198880045560", Title: "Tidewater", Artist: "Mara Ellis"},
		{Key: "2026-03.tsv:3", ISRC: isrcHarbourLights, UPC: "198880045560", Title: "Harbour Lights", Artist: "Mara Ellis"},
		{Key: "2026-03.tsv:4", ISRC: "QZ-WFV-26-00103", UPC: "198880045560", Title: "Harbour Lights", Artist: "Mara Ellis"},
		{Key: "2026-03.tsv:5", UPC: "198880045560", Title: "Tidewater", Artist: "Mara Ellis", Album: true},
		{Key: "2026-03.tsv:6", ISRC: isrcThognAlbum, UPC: "198880045569", Title: "Þögn (fyrir ömmu)", Artist: "Ørjan Ødegård"},
		{Key: "2026-03.tsv:7", ISRC: isrcTolftaSingle, UPC: "198880045570", Title: "tólfta (fyrir ömmu)", Artist: "osker wyld"},
		// DistroKid-only track.
		{Key: "2026-03.tsv:8", ISRC: "QZWFV1810007", UPC: "0198880045577", Title: "Néon Lights (Remix)", Artist: "Néon Skyline"},
		// No ISRC: matched by title (edition note dropped) and artist.
		{Key: "2026-03.tsv:9", UPC: "198880045560", Title: "Salt Lines - Radio Edit", Artist: "Mara Ellis"},
		// A malformed ISRC: the title is used.
		{Key: "2026-03.tsv:10", ISRC: "N/A", Title: "Winter Pier", Artist: "Mara Ellis"},
		// An album row without UPC: matched to the release by title.
		{Key: "2026-03.tsv:11", Title: "Þögn", Artist: "Ørjan Ødegård", Album: true},
		// No ISRC, and a title two tracks of Ørjan carry: the UPC decides.
		{Key: "2026-03.tsv:12", UPC: "198880045569", Title: "Þögn (fyrir ömmu)", Artist: "Ørjan Ødegård"},
	}
	mara := "Mara Ellis 🌊"
	tiktok := []identity.TikTokVideo{
		{VideoID: coverVideoID, Description: `"Harbor Lights" (acoustic) 🌊`, Artist: mara},
		{VideoID: "7569912233445566001", Title: "studio day 🎛️ #newmusic #tidewater", Artist: mara},
		{VideoID: "7569912233445566002", Title: "new single Harbour Lights out now", Artist: mara},
		{VideoID: "7569912233445566003", Title: "late night session 🌙\n\n#producer #beats", Artist: mara},
		{VideoID: "7569912233445566004", Artist: mara},
		{VideoID: "7569912233445566005", Title: "Harbour Lights and Salt Lines live tonight", Artist: mara},
		{VideoID: "7569912233445566006", Description: "went to the lighthouse today", Artist: mara},
		{VideoID: "7569912233445566007", Description: `"Lighthouse" out now`, Artist: mara},
		{VideoID: "7569912233445566008", Title: "Þögn (fyrir ömmu) teaser", Artist: "Ørjan Ødegård"},
		{VideoID: "7569912233445566009", Title: "Fjord (Acoustic) session 🎸"},
		{VideoID: "7569912233445566010", Title: "Tolfta fyrir ommu, new from osker wyld"},
	}
	return identity.Inputs{DistroKid: dk, Spotify: spotifyTracks(), S4A: s4aSongs(), TikTok: tiktok}
}

// linkOf returns the link of one item, failing when it has none.
func linkOf(t *testing.T, res identity.Result, source identity.Source, key, artist string) identity.ItemLink {
	t.Helper()
	for _, l := range res.Links() {
		if l.Source == source && l.Key == key && l.Artist == artist {
			return l
		}
	}
	for _, u := range res.Unmatched {
		if u.Source == source && u.Key == key && u.Artist == artist {
			t.Fatalf("%s %q (%q) is unmatched: %s: %s", source, key, artist, u.Reason, u.Detail)
		}
	}
	t.Fatalf("%s %q (%q) is neither linked nor unmatched", source, key, artist)
	return identity.ItemLink{}
}

// unmatchedOf returns the unmatched entry of one item, failing when it is linked.
func unmatchedOf(t *testing.T, res identity.Result, source identity.Source, key, artist string) identity.Unmatched {
	t.Helper()
	for _, u := range res.Unmatched {
		if u.Source == source && u.Key == key && u.Artist == artist {
			return u
		}
	}
	for _, l := range res.Links() {
		if l.Source == source && l.Key == key && l.Artist == artist {
			t.Fatalf("%s %q (%q) is linked to %s%s by %s (%.2f): %s", source, key, artist, l.ISRC, l.UPC, l.Method, l.Confidence, l.Detail)
		}
	}
	t.Fatalf("%s %q (%q) is neither linked nor unmatched", source, key, artist)
	return identity.Unmatched{}
}

func requireLink(t *testing.T, res identity.Result, source identity.Source, key, artist, isrc string, m identity.Method, conf float64) identity.ItemLink {
	t.Helper()
	l := linkOf(t, res, source, key, artist)
	require.Equal(t, isrc, l.ISRC, "%s %q: ISRC (%s)", source, key, l.Detail)
	require.Equal(t, m, l.Method, "%s %q: method (%s)", source, key, l.Detail)
	require.InDelta(t, conf, l.Confidence, 1e-9, "%s %q: confidence (%s)", source, key, l.Detail)
	require.NotEmpty(t, l.Detail)
	return l
}

func candidateKeys(u identity.Unmatched) []string {
	var out []string
	for _, c := range u.Candidates {
		out = append(out, c.Key)
	}
	return out
}

// requireAccounted checks that every distinct input item is either linked
// exactly once or unmatched exactly once.
func requireAccounted(t *testing.T, in identity.Inputs, res identity.Result) {
	t.Helper()
	want := map[string]bool{}
	for _, r := range in.DistroKid {
		want["distrokid\x00"+r.Key+"\x00"] = true
	}
	for _, r := range in.Spotify {
		want["spotify\x00"+r.TrackID+"\x00"] = true
	}
	for _, r := range in.S4A {
		want["s4a\x00"+r.Title+"\x00"+r.Artist] = true
	}
	for _, r := range in.TikTok {
		want["tiktok\x00"+r.VideoID+"\x00"] = true
	}
	got := map[string]int{}
	for _, l := range res.Links() {
		got[string(l.Source)+"\x00"+l.Key+"\x00"+l.Artist]++
	}
	for _, u := range res.Unmatched {
		require.NotEmpty(t, u.Reason)
		require.NotEmpty(t, u.Detail)
		got[string(u.Source)+"\x00"+u.Key+"\x00"+u.Artist]++
	}
	for k := range want {
		require.Equal(t, 1, got[k], "item %q must be linked or unmatched exactly once", k)
	}
	require.Len(t, got, len(want), "no item appears that was not in the inputs")
	for _, l := range res.Links() {
		require.True(t, l.Confidence > 0 && l.Confidence <= 1, "confidence of %s %q in (0,1]: %v", l.Source, l.Key, l.Confidence)
		if l.Method == identity.MethodISRC || l.Method == identity.MethodUPC || l.Method == identity.MethodOverride {
			require.Equal(t, 1.0, l.Confidence)
		} else {
			require.Less(t, l.Confidence, 1.0)
		}
	}
}

func TestResolveDemo(t *testing.T) {
	t.Parallel()
	in := demoInputs()
	res := identity.Resolve(in, nil)
	requireAccounted(t, in, res)
	require.Empty(t, res.UnusedOverrides)

	// One canonical track per ISRC: the 38 Spotify tracks and the
	// DistroKid-only one.
	require.Len(t, res.Tracks, 39)
	for _, s := range in.Spotify {
		requireLink(t, res, identity.SourceSpotify, s.TrackID, "", s.ISRC, identity.MethodISRC, 1)
	}
	harbour, ok := res.Track("qz-wfv-26-00103")
	require.True(t, ok)
	require.Equal(t, "Harbour Lights", harbour.Title)
	require.Equal(t, "Mara Ellis", harbour.Artist)
	require.Equal(t, []string{upcTidewater}, harbour.UPCs, "DistroKid's 12-digit UPC and Spotify's 13-digit one are one release")
	require.Equal(t, []string{"2026-03.tsv:3", "2026-03.tsv:4"}, harbour.Keys(identity.SourceDistroKid))
	require.Equal(t, []string{harbourTrackID}, harbour.Keys(identity.SourceSpotify))
	require.Equal(t, []string{"Harbour Lights"}, harbour.Keys(identity.SourceS4A))
	require.Equal(t, []string{"7569912233445566002", coverVideoID}, harbour.Keys(identity.SourceTikTok))

	neon, ok := res.Track("QZWFV1810007")
	require.True(t, ok)
	require.Equal(t, "Néon Lights (Remix)", neon.Title)
	require.Empty(t, neon.Keys(identity.SourceSpotify))

	// Releases by UPC.
	var tidewater identity.Release
	for _, r := range res.Releases {
		if r.UPC == upcTidewater {
			tidewater = r
		}
	}
	require.Equal(t, "Tidewater", tidewater.Title)
	require.Len(t, tidewater.ISRCs, 7)
	require.Equal(t, []string{"ywH9IAgWOiHvO01gL2jCfZ"}, tidewater.SpotifyAlbumIDs)
	require.Len(t, tidewater.Links, 1)
	require.Equal(t, identity.MethodUPC, tidewater.Links[0].Method)
	l := linkOf(t, res, identity.SourceDistroKid, "2026-03.tsv:11", "")
	require.Equal(t, upcThogn, l.UPC, "album row without UPC, matched by title and artist")
	require.Equal(t, identity.MethodTitleArtist, l.Method)
	require.InDelta(t, identity.ConfTitleArtist, l.Confidence, 1e-9)

	// DistroKid rows without a usable ISRC.
	requireLink(t, res, identity.SourceDistroKid, "2026-03.tsv:9", "", isrcSaltLines, identity.MethodTitleArtist, identity.ConfTitleOnly)
	l = requireLink(t, res, identity.SourceDistroKid, "2026-03.tsv:10", "", "QZWFV2600123", identity.MethodTitleArtist, identity.ConfTitleArtist)
	require.Contains(t, l.Detail, `"N/A" is not a valid ISRC`)
	l = requireLink(t, res, identity.SourceDistroKid, "2026-03.tsv:12", "", isrcThognAlbum, identity.MethodTitleArtist, identity.ConfTitleArtist)
	require.Contains(t, l.Detail, "UPC")

	// S4A songs table (artist Mara Ellis): title and artist.
	for title, isrc := range map[string]string{
		"Tidewater": isrcTidewater, "Harbour Lights": isrcHarbourLights, `12" Mix`: isrc12Mix,
		"Fjord (Acoustic)": isrcFjordAcoustic, "Lighthouse": isrcLighthouse, "Low Tide": "QZWFV2600108",
	} {
		requireLink(t, res, identity.SourceS4A, title, "Mara Ellis", isrc, identity.MethodTitleArtist, identity.ConfTitleArtist)
	}
	u := unmatchedOf(t, res, identity.SourceS4A, "Sampler Opening, Pt. 1", "Mara Ellis")
	require.Equal(t, identity.ReasonNoCandidate, u.Reason)
	// S4A timelines: no artist.
	requireLink(t, res, identity.SourceS4A, "Harbour Lights", "", isrcHarbourLights, identity.MethodTitleArtist, identity.ConfTitleOnly)
	requireLink(t, res, identity.SourceS4A, "Tidewater", "", isrcTidewater, identity.MethodTitleArtist, identity.ConfTitleOnly)
	u = unmatchedOf(t, res, identity.SourceS4A, "Þögn (fyrir ömmu)", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{isrcThognSampler, isrcThognAlbum}, candidateKeys(u))
	u = unmatchedOf(t, res, identity.SourceS4A, "tólfta (fyrir ömmu)", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{isrcTolftaSampler, isrcTolftaSingle}, candidateKeys(u))
	require.Equal(t, "osker wyld", u.Candidates[1].Artist)

	// TikTok.
	requireLink(t, res, identity.SourceTikTok, coverVideoID, "", isrcHarbourLights, identity.MethodTitleInText, identity.ConfQuotedFuzzy+identity.ConfArtistBonus)
	requireLink(t, res, identity.SourceTikTok, "7569912233445566001", "", isrcTidewater, identity.MethodTitleInText, identity.ConfHashtag+identity.ConfArtistBonus)
	requireLink(t, res, identity.SourceTikTok, "7569912233445566002", "", isrcHarbourLights, identity.MethodTitleInText, identity.ConfPhrase+identity.ConfArtistBonus)
	require.Equal(t, identity.ReasonNoCandidate, unmatchedOf(t, res, identity.SourceTikTok, "7569912233445566003", "").Reason)
	require.Equal(t, identity.ReasonNoText, unmatchedOf(t, res, identity.SourceTikTok, "7569912233445566004", "").Reason)
	u = unmatchedOf(t, res, identity.SourceTikTok, "7569912233445566005", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason, "a video naming two tracks is not guessed")
	require.Equal(t, []string{isrcSaltLines, isrcHarbourLights}, candidateKeys(u))
	require.Equal(t, identity.ReasonNoCandidate, unmatchedOf(t, res, identity.SourceTikTok, "7569912233445566006", "").Reason,
		"a one-word title in prose does not name the track")
	requireLink(t, res, identity.SourceTikTok, "7569912233445566007", "", isrcLighthouse, identity.MethodTitleInText, identity.ConfTextMax)
	u = unmatchedOf(t, res, identity.SourceTikTok, "7569912233445566008", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{isrcThognSampler, isrcThognAlbum}, candidateKeys(u))
	requireLink(t, res, identity.SourceTikTok, "7569912233445566009", "", isrcFjordAcoustic, identity.MethodTitleInText, identity.ConfPhrase)
	// Accents and case differ; the artist named in the text is on both
	// tracks of that title (the sampler credits osker wyld too).
	u = unmatchedOf(t, res, identity.SourceTikTok, "7569912233445566010", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{isrcTolftaSampler, isrcTolftaSingle}, candidateKeys(u))
	require.InDelta(t, identity.ConfPhrase+identity.ConfArtistBonus, u.Candidates[0].Confidence, 1e-9)
}

func TestResolveTikTokText(t *testing.T) {
	t.Parallel()
	spotify := []identity.SpotifyTrack{
		{TrackID: "a", ISRC: "QZWFV2600001", Name: "Breakwater", Artists: []string{"Mara Ellis"}},
		{TrackID: "b", ISRC: "QZWFV2600002", Name: "Breakwater", Artists: []string{"osker wyld"}},
		{TrackID: "c", ISRC: "QZWFV2600003", Name: "Low Tide", Artists: []string{"Mara Ellis"}},
		{TrackID: "d", ISRC: "QZWFV2600004", Name: "Low Tide (Live)", Artists: []string{"Mara Ellis"}},
		{TrackID: "e", ISRC: "QZWFV2600005", Name: "Kelp Forest (feat. osker wyld)", Artists: []string{"Mara Ellis", "osker wyld"}},
		{TrackID: "f", ISRC: "QZWFV2600006", Name: "Love", Artists: []string{"Mara Ellis"}},
	}
	videos := []identity.TikTokVideo{
		{VideoID: "1", Title: `"Breakwater" by osker wyld`},                       // artist named in the text
		{VideoID: "2", Title: `"Breakwater"`, Artist: "osker wyld"},               // the account's artist
		{VideoID: "3", Title: `"Breakwater"`},                                     // two tracks, no artist
		{VideoID: "4", Title: "low tide (live) from Oslo"},                        // longest title wins
		{VideoID: "5", Description: "kelp forest out now!", Artist: "osker wyld"}, // base title
		{VideoID: "6", Title: "#KelpForest #fyp"},                                 // hashtag of a base title
		{VideoID: "7", Title: "#love #lowtide"},                                   // #love too short to count
		{VideoID: "8", Title: "walking at low tide", Description: `"Breakwater"`}, // phrase vs quoted: quoted is better
		{VideoID: "9", Title: "ＬＯＷ　ＴＩＤＥ ☀️"},                                      // full-width letters
		{VideoID: "10", Title: "slow tide coming"},                                // words must match whole
	}
	in := identity.Inputs{Spotify: spotify, TikTok: videos}
	res := identity.Resolve(in, nil)
	requireAccounted(t, in, res)
	requireLink(t, res, identity.SourceTikTok, "1", "", "QZWFV2600002", identity.MethodTitleInText, identity.ConfTextMax)
	requireLink(t, res, identity.SourceTikTok, "2", "", "QZWFV2600002", identity.MethodTitleInText, identity.ConfTextMax)
	u := unmatchedOf(t, res, identity.SourceTikTok, "3", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{"QZWFV2600001", "QZWFV2600002"}, candidateKeys(u))
	requireLink(t, res, identity.SourceTikTok, "4", "", "QZWFV2600004", identity.MethodTitleInText, identity.ConfPhrase)
	requireLink(t, res, identity.SourceTikTok, "5", "", "QZWFV2600005", identity.MethodTitleInText, identity.ConfPhrase+identity.ConfArtistBonus)
	requireLink(t, res, identity.SourceTikTok, "6", "", "QZWFV2600005", identity.MethodTitleInText, identity.ConfHashtag)
	requireLink(t, res, identity.SourceTikTok, "7", "", "QZWFV2600003", identity.MethodTitleInText, identity.ConfHashtag)
	u = unmatchedOf(t, res, identity.SourceTikTok, "8", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason, "the quoted title names two tracks equally")
	require.Equal(t, []string{"QZWFV2600001", "QZWFV2600002", "QZWFV2600003"}, candidateKeys(u))
	requireLink(t, res, identity.SourceTikTok, "9", "", "QZWFV2600003", identity.MethodTitleInText, identity.ConfPhrase)
	require.Equal(t, identity.ReasonNoCandidate, unmatchedOf(t, res, identity.SourceTikTok, "10", "").Reason)
}

func TestResolveTitleArtistTiers(t *testing.T) {
	t.Parallel()
	spotify := []identity.SpotifyTrack{
		{TrackID: "a", ISRC: "QZWFV2600001", Name: "Harbour Lights", Artists: []string{"Mara Ellis"}},
		{TrackID: "b", ISRC: "QZWFV2600002", Name: "Harbour Lights - Radio Edit", Artists: []string{"Mara Ellis"}},
		{TrackID: "c", ISRC: "QZWFV2600003", Name: "Quiet Harbour (feat. Ørjan Ødegård)", Artists: []string{"Mara Ellis", "Ørjan Ødegård"}},
		{TrackID: "d", ISRC: "QZWFV2600004", Name: "Breakwater", Artists: []string{"Mara Ellis"}},
		{TrackID: "e", ISRC: "QZWFV2600005", Name: "Breakwater", Artists: []string{"osker wyld"}},
		{TrackID: "f", ISRC: "QZWFV2600007", Name: "Drift", Artists: []string{"Mara Ellis"}},
	}
	dk := []identity.DistroKidRow{
		{Key: "k1", ISRC: "QZWFV2600006", Title: "Nordlys", Artist: ""}, // no artist known for this track
	}
	s4a := []identity.S4ASong{
		{Title: "HARBOUR LIGHTS", Artist: "mara ellis"},                 // exact → a, not the radio edit
		{Title: "Harbour Lights (Radio Edit)", Artist: "Mara Ellis"},    // same full title as b
		{Title: "Harbour Lights - 2020 Remaster", Artist: "Mara Ellis"}, // base title: a and b → ambiguous
		{Title: "Quiet Harbour", Artist: "Ørjan Ødegård"},               // base title, shared artist
		{Title: "Quiet Harbor", Artist: "Mara Ellis"},                   // one letter off
		{Title: "Breakwater", Artist: "Mara Ellis & Ørjan Ødegård"},     // artist d shares
		{Title: "Breakwater"},                           // no artist: d and e
		{Title: "Breakwater", Artist: "Néon Skyline"},   // only other artists
		{Title: "Nordlys", Artist: "Ørjan Ødegård"},     // track has no artist
		{Title: "Breakwatr", Artist: "Mara Ellis"},      // one letter off
		{Title: "Draft", Artist: "Mara Ellis"},          // too short for one-edit matching
		{Title: "Something Else", Artist: "Mara Ellis"}, // nothing
		{Title: "???", Artist: "Mara Ellis"},            // no letters
	}
	res := identity.Resolve(identity.Inputs{Spotify: spotify, DistroKid: dk, S4A: s4a}, nil)
	requireAccounted(t, identity.Inputs{Spotify: spotify, DistroKid: dk, S4A: s4a}, res)

	requireLink(t, res, identity.SourceS4A, "HARBOUR LIGHTS", "mara ellis", "QZWFV2600001", identity.MethodTitleArtist, identity.ConfTitleArtist)
	requireLink(t, res, identity.SourceS4A, "Harbour Lights (Radio Edit)", "Mara Ellis", "QZWFV2600002", identity.MethodTitleArtist, identity.ConfTitleArtist)
	u := unmatchedOf(t, res, identity.SourceS4A, "Harbour Lights - 2020 Remaster", "Mara Ellis")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{"QZWFV2600001", "QZWFV2600002"}, candidateKeys(u))
	require.InDelta(t, identity.ConfTitleOnly, u.Candidates[0].Confidence, 1e-9)
	requireLink(t, res, identity.SourceS4A, "Quiet Harbour", "Ørjan Ødegård", "QZWFV2600003", identity.MethodTitleArtist, identity.ConfTitleOnly)
	requireLink(t, res, identity.SourceS4A, "Quiet Harbor", "Mara Ellis", "QZWFV2600003", identity.MethodTitleArtist, identity.ConfBaseTitleOnly)
	requireLink(t, res, identity.SourceS4A, "Breakwater", "Mara Ellis & Ørjan Ødegård", "QZWFV2600004", identity.MethodTitleArtist, identity.ConfTitleArtist)
	u = unmatchedOf(t, res, identity.SourceS4A, "Breakwater", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{"QZWFV2600004", "QZWFV2600005"}, candidateKeys(u))
	u = unmatchedOf(t, res, identity.SourceS4A, "Breakwater", "Néon Skyline")
	require.Equal(t, identity.ReasonArtistMismatch, u.Reason)
	require.Equal(t, []string{"QZWFV2600004", "QZWFV2600005"}, candidateKeys(u))
	requireLink(t, res, identity.SourceS4A, "Nordlys", "Ørjan Ødegård", "QZWFV2600006", identity.MethodTitleArtist, identity.ConfTitleOnly)
	requireLink(t, res, identity.SourceS4A, "Breakwatr", "Mara Ellis", "QZWFV2600004", identity.MethodTitleArtist, identity.ConfBaseTitleOnly)
	require.Equal(t, identity.ReasonNoCandidate, unmatchedOf(t, res, identity.SourceS4A, "Draft", "Mara Ellis").Reason)
	require.Equal(t, identity.ReasonNoCandidate, unmatchedOf(t, res, identity.SourceS4A, "Something Else", "Mara Ellis").Reason)
	require.Equal(t, identity.ReasonNoTitle, unmatchedOf(t, res, identity.SourceS4A, "???", "Mara Ellis").Reason)
}

func TestResolveTieBreaks(t *testing.T) {
	t.Parallel()
	in := demoInputs()
	// As in the demo DistroKid export: Mara Ellis's "Tidewater" also under
	// an ISRC Spotify does not know.
	in.DistroKid = append(in.DistroKid, identity.DistroKidRow{Key: "old.tsv:2", ISRC: "QZWFV1810000",
		UPC: "0198880045999", Title: "Tidewater", Artist: "Mara Ellis"})
	res := identity.Resolve(in, nil)
	requireAccounted(t, in, res)

	// Songs table: the release date picks the Spotify track (2026-01-16).
	l := requireLink(t, res, identity.SourceS4A, "Tidewater", "Mara Ellis", isrcTidewater, identity.MethodTitleArtist, identity.ConfTitleArtist)
	require.Contains(t, l.Detail, "release date")
	// Timeline: no date, but S4A songs are Spotify songs.
	l = requireLink(t, res, identity.SourceS4A, "Tidewater", "", isrcTidewater, identity.MethodTitleArtist, identity.ConfTitleOnly)
	require.Contains(t, l.Detail, "Spotify")
	// A DistroKid row without ISRC on the old release: its UPC decides.
	in.DistroKid = append(in.DistroKid, identity.DistroKidRow{Key: "old.tsv:3", UPC: "198880045999", Title: "Tidewater", Artist: "Mara Ellis"})
	res = identity.Resolve(in, nil)
	requireLink(t, res, identity.SourceDistroKid, "old.tsv:3", "", "QZWFV1810000", identity.MethodTitleArtist, identity.ConfTitleArtist)
	// Without UPC it is a tie.
	in.DistroKid = append(in.DistroKid, identity.DistroKidRow{Key: "old.tsv:4", Title: "Tidewater", Artist: "Mara Ellis"})
	res = identity.Resolve(in, nil)
	u := unmatchedOf(t, res, identity.SourceDistroKid, "old.tsv:4", "")
	require.Equal(t, identity.ReasonAmbiguous, u.Reason)
	require.Equal(t, []string{"QZWFV1810000", isrcTidewater}, candidateKeys(u))
}

func TestResolveUnmatchedReasons(t *testing.T) {
	t.Parallel()
	in := identity.Inputs{
		DistroKid: []identity.DistroKidRow{
			{Key: "", ISRC: "QZWFV2600001", Title: "Keyless", Artist: "Mara Ellis"},
			{Key: "k1", Title: "", Artist: "Mara Ellis"},
			{Key: "k2", UPC: "198880045560", Title: "Tidewater", Artist: "Mara Ellis", Album: true},
			{Key: "k2", UPC: "198880045561", Title: "Tidewater", Artist: "Mara Ellis", Album: true},
		},
		Spotify: []identity.SpotifyTrack{
			{TrackID: "t1", ISRC: "QZWFV2600001", Name: "Keyless", Artists: []string{"Mara Ellis"}},
			{TrackID: "t2", ISRC: "QZWFV2600002", Name: "Two Keys", Artists: []string{"Mara Ellis"}},
			{TrackID: "t2", ISRC: "QZWFV2600003", Name: "Two Keys", Artists: []string{"Mara Ellis"}},
			{TrackID: "t3", Name: "Unknown Song", Artists: []string{"Mara Ellis"}},
			{TrackID: "", ISRC: "QZWFV2600004", Name: "No Id"},
		},
		S4A:    []identity.S4ASong{{Title: "", Artist: "Mara Ellis"}},
		TikTok: []identity.TikTokVideo{{VideoID: "1", Title: "  ", Description: ""}, {VideoID: "", Title: "Keyless"}},
	}
	res := identity.Resolve(in, nil)
	reasons := map[string]identity.Reason{}
	for _, u := range res.Unmatched {
		reasons[string(u.Source)+"/"+u.Key+"/"+u.Title] = u.Reason
	}
	require.Equal(t, map[string]identity.Reason{
		"distrokid//Keyless":      identity.ReasonMissingKey,
		"distrokid/k1/":           identity.ReasonNoTitle,
		"distrokid/k2/Tidewater":  identity.ReasonConflictingKeys,
		"spotify//No Id":          identity.ReasonMissingKey,
		"spotify/t2/Two Keys":     identity.ReasonConflictingKeys,
		"spotify/t3/Unknown Song": identity.ReasonNoCandidate,
		"s4a//":                   identity.ReasonMissingKey,
		"tiktok//Keyless":         identity.ReasonMissingKey,
		"tiktok/1/":               identity.ReasonNoText,
	}, reasons)
	for _, u := range res.Unmatched {
		if u.Reason == identity.ReasonConflictingKeys {
			require.Len(t, u.Candidates, 2, "%s %s lists the conflicting keys", u.Source, u.Key)
		}
	}
	// The key-less Spotify track still tells that its ISRC exists.
	_, ok := res.Track("QZWFV2600004")
	require.True(t, ok)
}

func TestResolveOverrides(t *testing.T) {
	t.Parallel()
	ov, err := identity.LoadOverrides(filepath.Join("testdata", "overrides.yaml"))
	require.NoError(t, err)
	require.Len(t, ov, 6)

	in := demoInputs()
	in.DistroKid = append(in.DistroKid, identity.DistroKidRow{Key: "2019.tsv:7", Title: "Lighthouse", Artist: "Mara Ellis", UPC: "x"})
	in.DistroKid = append(in.DistroKid, identity.DistroKidRow{Key: "2019.tsv:8", Title: "Lighthouse", Artist: "osker wyld"})
	res := identity.Resolve(in, ov)
	requireAccounted(t, in, res)
	require.Empty(t, res.UnusedOverrides)

	// Ambiguous timelines pinned.
	l := requireLink(t, res, identity.SourceS4A, "Þögn (fyrir ömmu)", "", isrcThognAlbum, identity.MethodOverride, 1)
	require.Contains(t, l.Detail, "overrides.yaml:27")
	require.Contains(t, l.Detail, "the album version")
	requireLink(t, res, identity.SourceS4A, "tólfta (fyrir ömmu)", "", isrcTolftaSingle, identity.MethodOverride, 1)
	// A no-candidate song pinned, for its artist only.
	requireLink(t, res, identity.SourceS4A, "Sampler Opening, Pt. 1", "Mara Ellis", isrcSamplerOpening, identity.MethodOverride, 1)
	// An override wins over an exact ISRC (the same ISRC here: the method says override).
	requireLink(t, res, identity.SourceSpotify, harbourTrackID, "", isrcHarbourLights, identity.MethodOverride, 1)
	// none wins over a match.
	u := unmatchedOf(t, res, identity.SourceTikTok, coverVideoID, "")
	require.Equal(t, identity.ReasonOverrideNone, u.Reason)
	require.Contains(t, u.Detail, "cover by another band")
	// DistroKid rows without ISRC, by title and artist.
	requireLink(t, res, identity.SourceDistroKid, "2019.tsv:7", "", isrcLighthouse, identity.MethodOverride, 1)
	require.Equal(t, identity.ReasonArtistMismatch, unmatchedOf(t, res, identity.SourceDistroKid, "2019.tsv:8", "").Reason)
}

func TestResolveOverridePrecedence(t *testing.T) {
	t.Parallel()
	in := demoInputs()
	ov := identity.Overrides{
		{Source: identity.SourceS4A, Key: "tolfta fyrir ommu", ISRC: "qz-wfv-26-00131"},
		{Source: identity.SourceS4A, Key: "TÓLFTA (FYRIR ÖMMU)", Artist: "Osker Wyld", ISRC: isrcTolftaSingle},
		// An ISRC nobody carries: the item stays unmatched, nothing is invented.
		{Source: identity.SourceSpotify, Key: "AzmlOL7aDh5oU0Z8IgH1kZ", ISRC: "QZWFV2699999"},
		// Overrides the Spotify track with another ISRC: the old one is
		// only a track if something else carries it.
		{Source: identity.SourceSpotify, Key: "fLPhcmY6xNE90TsZ2xug5S", ISRC: isrcFjord},
		// Matches nothing.
		{Source: identity.SourceTikTok, Key: "123", ISRC: "none"},
		// Applies to DistroKid rows without ISRC only.
		{Source: identity.SourceDistroKid, Key: "Harbour Lights", ISRC: "none"},
	}
	in.S4A = append(in.S4A, identity.S4ASong{Title: "tólfta (fyrir ömmu)", Artist: "osker wyld"}, identity.S4ASong{Title: "tólfta (fyrir ömmu)", Artist: "Mara Ellis"})
	res := identity.Resolve(in, ov)
	requireAccounted(t, in, res)

	requireLink(t, res, identity.SourceS4A, "tólfta (fyrir ömmu)", "osker wyld", isrcTolftaSingle, identity.MethodOverride, 1)
	requireLink(t, res, identity.SourceS4A, "tólfta (fyrir ömmu)", "Mara Ellis", isrcTolftaSampler, identity.MethodOverride, 1)
	requireLink(t, res, identity.SourceS4A, "tólfta (fyrir ömmu)", "", isrcTolftaSampler, identity.MethodOverride, 1)
	u := unmatchedOf(t, res, identity.SourceSpotify, "AzmlOL7aDh5oU0Z8IgH1kZ", "")
	require.Equal(t, identity.ReasonOverrideUnknownISRC, u.Reason)
	require.Contains(t, u.Detail, "QZWFV2699999")
	requireLink(t, res, identity.SourceSpotify, "fLPhcmY6xNE90TsZ2xug5S", "", isrcFjord, identity.MethodOverride, 1)
	_, ok := res.Track(isrcFjordAcoustic)
	require.False(t, ok, "no item carries the acoustic ISRC any more")
	// Salt Lines keeps its track: a DistroKid row without ISRC links to it.
	_, ok = res.Track(isrcSaltLines)
	require.False(t, ok, "the only carrier of Salt Lines' ISRC was overridden")
	requireLink(t, res, identity.SourceDistroKid, "2026-03.tsv:3", "", isrcHarbourLights, identity.MethodISRC, 1)
	require.Len(t, res.UnusedOverrides, 2)
	require.Equal(t, "123", res.UnusedOverrides[0].Key)
	require.Equal(t, "Harbour Lights", res.UnusedOverrides[1].Key)
}

func TestResolveDeterministic(t *testing.T) {
	t.Parallel()
	ov, err := identity.LoadOverrides(filepath.Join("testdata", "overrides.yaml"))
	require.NoError(t, err)
	in := demoInputs()
	want := identity.Resolve(in, ov)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		sh := identity.Inputs{
			DistroKid: append([]identity.DistroKidRow(nil), in.DistroKid...),
			Spotify:   append([]identity.SpotifyTrack(nil), in.Spotify...),
			S4A:       append([]identity.S4ASong(nil), in.S4A...),
			TikTok:    append([]identity.TikTokVideo(nil), in.TikTok...),
		}
		rng.Shuffle(len(sh.DistroKid), func(i, j int) { sh.DistroKid[i], sh.DistroKid[j] = sh.DistroKid[j], sh.DistroKid[i] })
		rng.Shuffle(len(sh.Spotify), func(i, j int) { sh.Spotify[i], sh.Spotify[j] = sh.Spotify[j], sh.Spotify[i] })
		rng.Shuffle(len(sh.S4A), func(i, j int) { sh.S4A[i], sh.S4A[j] = sh.S4A[j], sh.S4A[i] })
		rng.Shuffle(len(sh.TikTok), func(i, j int) { sh.TikTok[i], sh.TikTok[j] = sh.TikTok[j], sh.TikTok[i] })
		// Duplicates of items are merged, not counted twice.
		sh.Spotify = append(sh.Spotify, sh.Spotify[0])
		sh.S4A = append(sh.S4A, sh.S4A[3])
		require.Equal(t, want, identity.Resolve(sh, ov))
	}
}

// TestResolveSampleS4AFiles resolves the song names of the real sample
// exports against the emulator catalog: every song is linked or listed.
func TestResolveSampleS4AFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "plugins", "spotify", "testdata", "s4a")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var songs []identity.S4ASong
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, "-audience-timeline.csv"):
		case strings.HasSuffix(name, "-timeline.csv"):
			songs = append(songs, identity.S4ASong{Title: strings.TrimSuffix(name, "-timeline.csv")})
		case strings.Contains(name, "-songs-"):
			f, err := os.Open(filepath.Join(dir, name))
			require.NoError(t, err)
			rows, err := csv.NewReader(f).ReadAll()
			require.NoError(t, f.Close())
			require.NoError(t, err)
			artist := name[:strings.Index(name, "-songs-")]
			for _, r := range rows[1:] {
				songs = append(songs, identity.S4ASong{Title: r[0], Artist: artist, ReleaseDate: r[4]})
			}
		}
	}
	require.Len(t, songs, 24)
	in := identity.Inputs{Spotify: spotifyTracks(), S4A: songs}
	res := identity.Resolve(in, nil)
	requireAccounted(t, in, res)
	var unmatched []string
	for _, u := range res.Unmatched {
		unmatched = append(unmatched, u.Key+"/"+u.Artist+":"+string(u.Reason))
	}
	require.Equal(t, []string{
		"Sampler Opening, Pt. 1/Mara Ellis:no_candidate",
		"tólfta (fyrir ömmu)/:ambiguous",
		"Þögn (fyrir ömmu)/:ambiguous",
	}, unmatched)
}

func TestResultLinksTable(t *testing.T) {
	t.Parallel()
	res := identity.Resolve(demoInputs(), nil)
	links := res.Links()
	require.NotEmpty(t, links)
	for i := 1; i < len(links); i++ {
		a, b := links[i-1], links[i]
		require.True(t, a.Source != b.Source || a.Key < b.Key || a.Key == b.Key && a.Artist < b.Artist,
			"links sorted and unique: %v then %v", a, b)
	}
	for _, l := range links {
		require.True(t, (l.ISRC == "") != (l.UPC == ""), "each link names a track or a release: %+v", l)
	}
	_, ok := res.Track("QZWFV0000000")
	require.False(t, ok)
}
