package identity

import (
	"cmp"
	"maps"
	"slices"
)

// Source names where an item comes from.
type Source string

// The sources Resolve links.
const (
	SourceDistroKid Source = "distrokid"
	SourceSpotify   Source = "spotify"
	SourceS4A       Source = "s4a"
	SourceTikTok    Source = "tiktok"
)

// rank orders sources in results: DistroKid, Spotify, S4A, TikTok.
func (s Source) rank() int {
	switch s {
	case SourceDistroKid:
		return 0
	case SourceSpotify:
		return 1
	case SourceS4A:
		return 2
	case SourceTikTok:
		return 3
	}
	return 4
}

// Method says how an item was linked.
type Method string

// Link methods, from the most to the least certain.
const (
	// MethodOverride: an entry of the overrides file (confidence 1).
	MethodOverride Method = "override"
	// MethodISRC: the item carries the track's ISRC (confidence 1).
	MethodISRC Method = "isrc"
	// MethodUPC: the item carries the release's UPC (confidence 1).
	MethodUPC Method = "upc"
	// MethodTitleArtist: the item has no key; its title (and artist, when it
	// has one) match one track or release (confidence 0.5–0.9).
	MethodTitleArtist Method = "title_artist"
	// MethodTitleInText: a TikTok video's title or description names one
	// track (confidence 0.6–0.95).
	MethodTitleInText Method = "title_in_text"
)

// Reason says why an item is unmatched.
type Reason string

// Unmatched reasons.
const (
	// ReasonMissingKey: the item has no id (Spotify track id, TikTok video
	// id, DistroKid row key), so nothing can refer to it.
	ReasonMissingKey Reason = "missing_key"
	// ReasonNoTitle: no valid ISRC/UPC and no title to match on.
	ReasonNoTitle Reason = "no_title"
	// ReasonNoText: a TikTok video with neither title nor description.
	ReasonNoText Reason = "no_text"
	// ReasonNoCandidate: no track or release has a matching title.
	ReasonNoCandidate Reason = "no_candidate"
	// ReasonArtistMismatch: the title matches, but only tracks of other
	// artists (the candidates are listed).
	ReasonArtistMismatch Reason = "artist_mismatch"
	// ReasonAmbiguous: several candidates are equally good; none is
	// guessed (the candidates are listed).
	ReasonAmbiguous Reason = "ambiguous"
	// ReasonConflictingKeys: the same item came with different ISRCs or
	// UPCs (the candidates are listed).
	ReasonConflictingKeys Reason = "conflicting_keys"
	// ReasonOverrideNone: the overrides file says "isrc: none".
	ReasonOverrideNone Reason = "override_none"
	// ReasonOverrideUnknownISRC: the overrides file names an ISRC that no
	// DistroKid row or Spotify track carries.
	ReasonOverrideUnknownISRC Reason = "override_unknown_isrc"
)

// Confidences of the fuzzy methods. Exact keys and overrides are 1.
const (
	// ConfTitleArtist: title and artist equal after Normalize.
	ConfTitleArtist = 0.9
	// ConfTitleOnly: title equal, no artist to compare (the item has none,
	// or the track has none). Also base title (BaseTitle) with artist.
	ConfTitleOnly = 0.8
	// ConfBaseTitleOnly: base title equal, no artist to compare; also a
	// title one edit away with artist.
	ConfBaseTitleOnly = 0.7
	// ConfFuzzyTitleOnly: a title one edit away, no artist to compare.
	ConfFuzzyTitleOnly = 0.6

	// ConfQuoted: a video's text quotes the title ("Harbour Lights").
	ConfQuoted = 0.85
	// ConfPhrase: a video's text contains a title of two words or more.
	ConfPhrase = 0.7
	// ConfQuotedFuzzy: a video's text quotes a title one edit away
	// ("Harbor Lights" for Harbour Lights).
	ConfQuotedFuzzy = 0.65
	// ConfHashtag: a video's hashtag spells the title (#harbourlights).
	ConfHashtag = 0.6
	// ConfArtistBonus is added (up to ConfTextMax) when the video's account
	// artist or a name in its text is one of the track's artists.
	ConfArtistBonus = 0.1
	// ConfTextMax caps title_in_text confidences.
	ConfTextMax = 0.95
)

// Inputs are the items to resolve. Order does not matter; items with the
// same identity (see each type) are merged.
type Inputs struct {
	DistroKid []DistroKidRow
	Spotify   []SpotifyTrack
	S4A       []S4ASong
	TikTok    []TikTokVideo
}

// DistroKidRow is a DistroKid earnings row (or one distinct
// key/ISRC/UPC/title/artist combination of them). Identity: Key.
type DistroKidRow struct {
	// Key identifies the row to the caller, e.g. "<source_file>:<source_line>".
	Key string
	// ISRC of the track; empty on album rows and some song rows.
	ISRC string
	// UPC of the release.
	UPC string
	// Title of the track, or of the release on album rows.
	Title string
	// Artist as written.
	Artist string
	// Album is true on album rows (Source Type "Album"): they link to the
	// release by UPC, not to a track.
	Album bool
}

// SpotifyTrack is a Spotify Web API track. Identity: TrackID.
type SpotifyTrack struct {
	TrackID string
	// ISRC from external_ids.isrc; may be empty.
	ISRC string
	Name string
	// Artists are the track's artist names (join the artists stream on
	// artist_ids), in Spotify's order.
	Artists []string
	// AlbumID, AlbumName, AlbumUPC and AlbumReleaseDate describe the
	// track's album when known; AlbumReleaseDate is YYYY, YYYY-MM or
	// YYYY-MM-DD.
	AlbumID          string
	AlbumName        string
	AlbumUPC         string
	AlbumReleaseDate string
}

// S4ASong is a song of a Spotify for Artists export: a songs-table row or a
// per-song timeline file. Identity: (Title, Artist) as written.
type S4ASong struct {
	// Title as written (the per-song timeline has it in the file name).
	Title string
	// Artist, from the songs-table file name; empty for per-song timelines.
	Artist string
	// ReleaseDate from the songs table (YYYY-MM-DD); may be empty. It
	// breaks ties between equally named tracks.
	ReleaseDate string
}

// TikTokVideo is a video of the label's TikTok accounts. Identity: VideoID.
type TikTokVideo struct {
	VideoID     string
	Title       string
	Description string
	// Artist the posting account belongs to, when known (e.g. the
	// account's display name); it raises the confidence of that artist's
	// tracks, never excludes others.
	Artist string
}

// Result is what Resolve found. Every slice is sorted, so the same inputs
// give the same Result.
type Result struct {
	// Tracks are the canonical tracks, one per ISRC, sorted by ISRC.
	Tracks []Track `json:"tracks"`
	// Releases are the canonical releases, one per UPC, sorted by UPC.
	Releases []Release `json:"releases"`
	// Unmatched lists every item that is linked to nothing, with why,
	// sorted by source, key, artist.
	Unmatched []Unmatched `json:"unmatched"`
	// UnusedOverrides are override entries that matched no item (stale or
	// mistyped keys), in file order.
	UnusedOverrides []Override `json:"unused_overrides"`
}

// Track is a canonical track.
type Track struct {
	// ISRC is the canonical 12-character ISRC.
	ISRC string `json:"isrc"`
	// Title and Artist are the display names: DistroKid's most frequent
	// spelling, else Spotify's.
	Title  string `json:"title"`
	Artist string `json:"artist"`
	// Titles and Artists are every spelling seen on DistroKid rows and
	// Spotify tracks carrying the ISRC.
	Titles  []string `json:"titles"`
	Artists []string `json:"artists"`
	// UPCs are the releases the track is on (13-digit, see NormalizeUPC).
	UPCs []string `json:"upcs"`
	// Links are the items linked to the track.
	Links []Link `json:"links"`
}

// Release is a canonical release.
type Release struct {
	// UPC as a 13-digit GTIN (see NormalizeUPC).
	UPC    string `json:"upc"`
	Title  string `json:"title"`
	Artist string `json:"artist"`
	// Titles are every spelling seen (DistroKid album rows, Spotify album names).
	Titles []string `json:"titles"`
	// ISRCs of the tracks on it.
	ISRCs []string `json:"isrcs"`
	// SpotifyAlbumIDs are the Spotify albums with this UPC.
	SpotifyAlbumIDs []string `json:"spotify_album_ids"`
	// Links are the DistroKid album rows linked to the release.
	Links []Link `json:"links"`
}

// Link is one item linked to a track or release.
type Link struct {
	Source Source `json:"source"`
	// Key is the item's identity: DistroKid row key, Spotify track id, S4A
	// song title as written, TikTok video id.
	Key string `json:"key"`
	// Artist is the S4A song's artist (empty for the other sources and for
	// S4A timelines).
	Artist     string  `json:"artist,omitempty"`
	Method     Method  `json:"method"`
	Confidence float64 `json:"confidence"`
	// Detail says in words what matched.
	Detail string `json:"detail"`
}

// Unmatched is an item linked to nothing.
type Unmatched struct {
	Source Source `json:"source"`
	Key    string `json:"key"`
	Artist string `json:"artist,omitempty"`
	// Title is the item's title (or video text) as written.
	Title  string `json:"title"`
	Reason Reason `json:"reason"`
	Detail string `json:"detail"`
	// Candidates are the tracks or releases that were considered, best first.
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is a track or release an unmatched item could belong to.
type Candidate struct {
	// Key is the ISRC or, for release candidates, the UPC.
	Key    string `json:"key"`
	Title  string `json:"title"`
	Artist string `json:"artist"`
	// Confidence the link would have had (0 when the artist differs).
	Confidence float64 `json:"confidence"`
}

// ItemLink is one row of the item → track/release mapping (see Result.Links).
type ItemLink struct {
	Source Source `json:"source"`
	Key    string `json:"key"`
	Artist string `json:"artist,omitempty"`
	// ISRC of the track, or empty when the item is linked to a release.
	ISRC string `json:"isrc,omitempty"`
	// UPC of the release, or empty when the item is linked to a track.
	UPC        string  `json:"upc,omitempty"`
	Method     Method  `json:"method"`
	Confidence float64 `json:"confidence"`
	Detail     string  `json:"detail"`
}

// Keys returns the keys of the track's links from source, sorted: e.g. its
// Spotify track ids, S4A song titles or TikTok video ids.
func (t Track) Keys(source Source) []string {
	var out []string
	for _, l := range t.Links {
		if l.Source == source {
			out = append(out, l.Key)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Links returns every link of the result as one flat table, sorted by
// source, key, artist: what staging joins items on.
func (r Result) Links() []ItemLink {
	var out []ItemLink
	for _, t := range r.Tracks {
		for _, l := range t.Links {
			out = append(out, ItemLink{Source: l.Source, Key: l.Key, Artist: l.Artist, ISRC: t.ISRC,
				Method: l.Method, Confidence: l.Confidence, Detail: l.Detail})
		}
	}
	for _, rel := range r.Releases {
		for _, l := range rel.Links {
			out = append(out, ItemLink{Source: l.Source, Key: l.Key, Artist: l.Artist, UPC: rel.UPC,
				Method: l.Method, Confidence: l.Confidence, Detail: l.Detail})
		}
	}
	slices.SortFunc(out, func(a, b ItemLink) int {
		return compareItems(a.Source, a.Key, a.Artist, b.Source, b.Key, b.Artist)
	})
	return out
}

// Track returns the canonical track with the given ISRC (in any spelling
// NormalizeISRC accepts).
func (r Result) Track(isrc string) (Track, bool) {
	isrc, _ = NormalizeISRC(isrc)
	i, ok := slices.BinarySearchFunc(r.Tracks, isrc, func(t Track, k string) int { return cmp.Compare(t.ISRC, k) })
	if !ok {
		return Track{}, false
	}
	return r.Tracks[i], true
}

func compareItems(as Source, ak, aa string, bs Source, bk, ba string) int {
	switch {
	case as.rank() != bs.rank():
		return as.rank() - bs.rank()
	case as != bs:
		return cmp.Compare(string(as), string(bs))
	case ak != bk:
		return cmp.Compare(ak, bk)
	}
	return cmp.Compare(aa, ba)
}

// sortedKeys returns the keys of a set, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
