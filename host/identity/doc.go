// Package identity resolves the label's items from every source to one
// canonical track per ISRC and one release per UPC: DistroKid earnings
// rows, Spotify Web API tracks, Spotify for Artists (S4A) songs and TikTok
// videos. It is pure Go with no storage: staging passes the items in
// (Inputs) and stores the Result.
//
// # Canonical tracks and releases
//
// Every well-formed ISRC on a DistroKid song row or a Spotify track
// (external_ids.isrc) is a canonical track; every well-formed UPC on a
// DistroKid row or a Spotify track's album is a canonical release. Keys are
// compared in canonical form (NormalizeISRC: upper case, no hyphens;
// NormalizeUPC: 13-digit GTIN, so DistroKid's 198880045560 and Spotify's
// 0198880045560 are one release). A track's display title and artist are
// DistroKid's most frequent spelling, else Spotify's.
//
// # Match methods and confidences
//
// Exact keys first; titles only where no key exists. Each link carries its
// method, a confidence in [0,1] and a Detail in words.
//
//	method         confidence  when
//	override       1           an entry of the overrides file names the item
//	isrc           1           the DistroKid song row or Spotify track carries the ISRC
//	upc            1           the DistroKid album row carries the UPC (links to a release)
//	title_artist   0.9         title and artist equal after Normalize
//	               0.8         title without edition notes (BaseTitle) + artist, or
//	                           title equal and no artist to compare (S4A timelines)
//	               0.7         title one edit away + artist, or base title, no artist
//	               0.6         title one edit away, no artist to compare
//	title_in_text  0.85        a TikTok title/description quotes the title ("Harbour Lights")
//	               0.7         ... contains a title of two or more words as a phrase
//	               0.65        ... quotes a title one edit away ("Harbor Lights")
//	               0.6         ... has a hashtag spelling the title (#harbourlights, #tidewater)
//	               +0.1        (at most 0.95) the account's artist, or an artist named in
//	                           the text, is the track's
//
// title_artist applies to items without a valid key: S4A songs (title, and
// artist from the songs-table file name), DistroKid song rows without ISRC,
// Spotify tracks without ISRC (both against tracks), and DistroKid album
// rows without UPC (against releases). The tiers are tried from the best;
// the first tier with candidates decides. Artists match when their credits
// share one name (ArtistKeys: "Mara Ellis & Ørjan Ødegård" shares
// "orjan odegard" with "Ørjan Ødegård"). "One edit" is one inserted,
// deleted, changed or swapped letter, only for titles of 8 characters or
// more after normalisation.
//
// Single-word titles are only found in a video's text when quoted or as a
// hashtag: "lighthouse" in a caption does not name the track Lighthouse.
// Within a phrase the longest title wins ("Fjord Acoustic" over "Fjord").
//
// # Ambiguity, tie-breaks and unmatched items
//
// Two candidates equally good are not guessed. Within a tier, ties are
// broken only by evidence: the item's UPC (the candidate on that release),
// its release date (S4A songs table, Spotify album date; "2019" and
// "2019-01-01" agree), and, for S4A songs, being on Spotify. When the
// tie remains, the item goes to Result.Unmatched with reason ambiguous and
// the candidates. Unmatched items are never dropped: every item is either
// in exactly one Track or Release's Links or in Unmatched, with a Reason
// (missing_key, no_title, no_text, no_candidate, artist_mismatch, ambiguous,
// conflicting_keys, override_none, override_unknown_isrc) and a Detail.
//
// # Normalisation
//
// Normalize: Unicode NFKD; accents dropped (combining marks after Latin,
// Greek and Cyrillic letters); lower case; ø→o, æ→ae, œ→oe, þ→th, ð→d,
// ß→ss, đ→d, ł→l, ı→i; apostrophes removed ("Don't" → "dont"); "&" read as
// "and"; every other non-letter, non-digit (punctuation, quotes, emoji,
// hashtags) a word break; single spaces. "Þögn (fyrir ömmu)" → "thogn fyrir
// ommu", "Ørjan Ødegård" → "orjan odegard", "12\" Mix" → "12 mix".
//
// BaseTitle also drops edition notes and featured artists, in brackets or
// after " - ": feat./ft./featuring/(with …), remaster(ed) …, radio edit,
// single/album version, explicit/clean, mono/stereo, original mix. Notes
// that name another recording (acoustic, live, remix, instrumental,
// 12" mix, pt. 2, …) are kept: "Fjord (Acoustic)" is not "Fjord".
//
// # Overrides file
//
// config/identity_overrides.yaml is edited by people; LoadOverrides reads
// it (a missing file is no overrides) and names the file, line and field of
// every mistake. Format (testdata/overrides.yaml is a commented example):
//
//	version: 1                       # optional; only 1 exists
//	overrides:
//	  - source: s4a                  # spotify | s4a | tiktok | distrokid
//	    key: "Þögn (fyrir ömmu)"     # see below
//	    artist: Ørjan Ødegård        # optional, s4a and distrokid only
//	    isrc: QZWFV2600128           # the canonical track, or: none
//	    note: the album version      # optional, free text, shown in Detail
//
// key is, per source: spotify, the track id (a spotify:track: URI or an
// open.spotify.com/track/ link is accepted); tiktok, the video id (a
// tiktok.com/@user/video/ link is accepted; quote it or not, it is kept as
// text); s4a, the song title as in the export; distrokid, the title of
// song rows that have no valid ISRC (rows with an ISRC are already exact).
// Titles and artists are compared after Normalize. An entry with artist
// applies only to items with that artist and wins over one without; an
// entry without artist applies to every item with the title, including S4A
// timelines, which have no artist. isrc: none keeps the item unmatched
// (reason override_none). An ISRC that no DistroKid row or Spotify track
// carries leaves the item unmatched (override_unknown_isrc) rather than
// inventing a track. Entries that matched nothing are in
// Result.UnusedOverrides. Two entries for the same source, key and artist
// are an error.
//
// # Determinism
//
// Items are merged by identity (DistroKid row key, Spotify track id, S4A
// title and artist, TikTok video id) and processed in sorted order; every
// slice of the Result is sorted. The same inputs in any order give the
// same Result.
package identity
