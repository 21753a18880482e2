package identity

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// item is one input item, duplicates merged.
type item struct {
	source Source
	key    string // Link.Key; "" when the input had no id
	artist string // Link.Artist (S4A only)
	label  string // title or text, for Unmatched.Title

	titles     map[string]bool
	credits    map[string]bool // artist credits as written
	artistKeys map[string]bool
	isrcs      map[string]bool // valid, canonical
	badISRCs   map[string]bool // not well formed, as written
	upcs       map[string]bool // valid, canonical
	dates      map[string]bool
	texts      map[string]bool
	albums     map[string]string // Spotify album id → name
	album      bool              // DistroKid album row

	override int // index into the overrides, or -1
}

func newItem(source Source, key, artist, label string) *item {
	return &item{source: source, key: key, artist: artist, label: label,
		titles: map[string]bool{}, credits: map[string]bool{},
		artistKeys: map[string]bool{}, isrcs: map[string]bool{}, badISRCs: map[string]bool{},
		upcs: map[string]bool{}, dates: map[string]bool{}, texts: map[string]bool{},
		albums: map[string]string{}, override: -1}
}

func (it *item) addTitle(t string) {
	if t = strings.TrimSpace(t); t != "" {
		it.titles[t] = true
	}
}

// addCredit records an artist credit; keys memoises ArtistKeys, since the
// same few artists come back on thousands of rows.
func (it *item) addCredit(c string, keys map[string][]string) {
	if strings.TrimSpace(c) == "" {
		return
	}
	it.credits[c] = true
	it.addArtistKeys(c, keys)
}

// addArtistKeys records the keys of an artist credit.
func (it *item) addArtistKeys(c string, keys map[string][]string) {
	ks, ok := keys[c]
	if !ok {
		ks = ArtistKeys(c)
		keys[c] = ks
	}
	for _, k := range ks {
		it.artistKeys[k] = true
	}
}

func (it *item) addISRC(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	if isrc, ok := NormalizeISRC(s); ok {
		it.isrcs[isrc] = true
	} else {
		it.badISRCs[strings.TrimSpace(s)] = true
	}
}

func (it *item) addUPC(s string) {
	if upc, ok := NormalizeUPC(s); ok {
		it.upcs[upc] = true
	}
}

func (it *item) oneISRC() string {
	for k := range it.isrcs {
		return k
	}
	return ""
}

// collect turns the inputs into items, merging those with the same
// identity, sorted by source, key, artist, label.
func collect(in Inputs) []*item {
	byID := map[string]*item{}
	keys := map[string][]string{}
	// get returns the item with the identity id; items without a key get
	// an id of all their fields, so only identical ones merge.
	get := func(source Source, id, key, artist, label string) *item {
		full := string(source) + "\x01" + id
		it := byID[full]
		if it == nil {
			it = newItem(source, key, artist, label)
			byID[full] = it
		}
		return it
	}
	for _, r := range in.DistroKid {
		key, id := strings.TrimSpace(r.Key), strings.TrimSpace(r.Key)
		if key == "" {
			id = strings.Join([]string{"", r.Title, r.Artist, r.ISRC, r.UPC, fmt.Sprint(r.Album)}, "\x00")
		}
		it := get(SourceDistroKid, id, key, "", strings.TrimSpace(r.Title))
		it.addTitle(r.Title)
		it.addCredit(r.Artist, keys)
		it.addISRC(r.ISRC)
		it.addUPC(r.UPC)
		it.album = it.album || r.Album
	}
	for _, t := range in.Spotify {
		key, id := strings.TrimSpace(t.TrackID), strings.TrimSpace(t.TrackID)
		if key == "" {
			id = strings.Join(append([]string{"", t.Name, t.ISRC, t.AlbumUPC}, t.Artists...), "\x00")
		}
		it := get(SourceSpotify, id, key, "", strings.TrimSpace(t.Name))
		it.addTitle(t.Name)
		var names []string
		for _, a := range t.Artists {
			if a = strings.TrimSpace(a); a != "" {
				names = append(names, a)
				it.addArtistKeys(a, keys)
			}
		}
		if len(names) > 0 {
			it.credits[strings.Join(names, ", ")] = true
		}
		it.addISRC(t.ISRC)
		it.addUPC(t.AlbumUPC)
		if d := normalizeDate(t.AlbumReleaseDate); d != "" {
			it.dates[d] = true
		}
		if id := strings.TrimSpace(t.AlbumID); id != "" {
			it.albums[id] = strings.TrimSpace(t.AlbumName)
		}
	}
	for _, s := range in.S4A {
		title, artist := strings.TrimSpace(s.Title), strings.TrimSpace(s.Artist)
		it := get(SourceS4A, title+"\x00"+artist, title, artist, title)
		it.addTitle(title)
		it.addCredit(artist, keys)
		if d := normalizeDate(s.ReleaseDate); d != "" {
			it.dates[d] = true
		}
	}
	for _, v := range in.TikTok {
		key := strings.TrimSpace(v.VideoID)
		label := strings.TrimSpace(v.Title)
		if label == "" {
			label = strings.TrimSpace(v.Description)
		}
		id := key
		if key == "" {
			id = strings.Join([]string{"", v.Title, v.Description}, "\x00")
		}
		it := get(SourceTikTok, id, key, "", label)
		for _, t := range []string{v.Title, v.Description} {
			if strings.TrimSpace(t) != "" {
				it.texts[t] = true
			}
		}
		it.addCredit(v.Artist, keys)
	}
	items := make([]*item, 0, len(byID))
	for _, it := range byID {
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b *item) int {
		if c := compareItems(a.source, a.key, a.artist, b.source, b.key, b.artist); c != 0 {
			return c
		}
		return cmp.Compare(a.label, b.label)
	})
	return items
}

// findOverrides sets each item's override. Spotify and TikTok entries name
// the item by id; S4A and DistroKid entries by title (and artist, which
// wins over an entry without one). DistroKid entries only apply to song
// rows without a valid ISRC: a row's own ISRC is what the statement pays on.
func findOverrides(items []*item, ov Overrides) {
	idx := map[string]int{}
	for i, o := range ov {
		id := o.identity()
		if _, dup := idx[id]; !dup {
			idx[id] = i
		}
	}
	for _, it := range items {
		if it.key == "" {
			continue
		}
		switch it.source {
		case SourceSpotify, SourceTikTok:
			if i, ok := idx[string(it.source)+"\x00"+it.key]; ok {
				it.override = i
			}
		case SourceDistroKid, SourceS4A:
			if it.source == SourceDistroKid && (it.album || len(it.isrcs) > 0) {
				continue
			}
			// An entry naming one of the item's artists wins over one
			// without artist; among equals, the first in the file.
			for _, artists := range [][]string{sortedKeys(it.artistKeys), {""}} {
				for _, a := range artists {
					for t := range it.titles {
						i, ok := idx[string(it.source)+"\x00"+Normalize(t)+"\x00"+a]
						if ok && (it.override < 0 || i < it.override) {
							it.override = i
						}
					}
				}
				if it.override >= 0 {
					break
				}
			}
		}
	}
}

// catalog holds the canonical tracks and releases being built.
type catalog struct {
	tracks, releases map[string]*entity
}

func (c *catalog) track(isrc string) *entity {
	e := c.tracks[isrc]
	if e == nil {
		e = newEntity(isrc)
		c.tracks[isrc] = e
	}
	return e
}

func (c *catalog) release(upc string) *entity {
	e := c.releases[upc]
	if e == nil {
		e = newEntity(upc)
		c.releases[upc] = e
	}
	return e
}

// buildCatalog makes a track of every ISRC a DistroKid song row or a
// Spotify track carries (unless an override redirects that item), and a
// release of every UPC.
func buildCatalog(items []*item) *catalog {
	c := &catalog{tracks: map[string]*entity{}, releases: map[string]*entity{}}
	for _, it := range items {
		for upc := range it.upcs {
			r := c.release(upc)
			for k := range it.artistKeys {
				r.artistKeys[k] = true
			}
			switch it.source {
			case SourceDistroKid:
				if it.album {
					for t := range it.titles {
						r.dkTitles[t]++
					}
					for a := range it.credits {
						r.dkArtists[a]++
					}
				} else {
					for a := range it.credits {
						r.dkSongArtists[a]++
					}
				}
			case SourceSpotify:
				for id, name := range it.albums {
					r.spotifyAlbums[id] = true
					if name != "" {
						r.spTitles[name]++
					}
				}
				for a := range it.credits {
					r.spArtists[a]++
				}
				for d := range it.dates {
					r.dates[d] = true
				}
			}
		}
		keyed := (it.source == SourceDistroKid && !it.album || it.source == SourceSpotify) &&
			len(it.isrcs) == 1 && it.override < 0
		if !keyed {
			continue
		}
		isrc := it.oneISRC()
		t := c.track(isrc)
		titles, artists := t.dkTitles, t.dkArtists
		if it.source == SourceSpotify {
			titles, artists = t.spTitles, t.spArtists
			t.hasSpotify = true
		}
		for x := range it.titles {
			titles[x]++
		}
		for a := range it.credits {
			artists[a]++
		}
		for k := range it.artistKeys {
			t.artistKeys[k] = true
		}
		for d := range it.dates {
			t.dates[d] = true
		}
		for upc := range it.upcs {
			t.upcs[upc] = true
			c.releases[upc].isrcs[isrc] = true
		}
	}
	return c
}

// Resolve links every item of in to a canonical track (by ISRC) or release
// (by UPC), or lists it as unmatched with the reason. Overrides win over
// any match. See the package documentation for the rules; the result
// depends only on the inputs, not on their order.
func Resolve(in Inputs, overrides Overrides) Result {
	items := collect(in)
	findOverrides(items, overrides)
	c := buildCatalog(items)
	tracks, releases := sortEntities(c.tracks), sortEntities(c.releases)
	tm := newMatcher("track", tracks, true)
	rm := newMatcher("release", releases, false)

	var res Result
	used := make([]bool, len(overrides))
	unmatched := func(it *item, reason Reason, detail string, cands []Candidate) {
		sortCandidates(cands)
		res.Unmatched = append(res.Unmatched, Unmatched{Source: it.source, Key: it.key, Artist: it.artist,
			Title: it.label, Reason: reason, Detail: detail, Candidates: cands})
	}
	linkTrack := func(it *item, isrc string, m Method, conf int, detail string) {
		t := c.tracks[isrc]
		t.links = append(t.links, Link{Source: it.source, Key: it.key, Artist: it.artist, Method: m,
			Confidence: fromPct(conf), Detail: detail})
		for upc := range it.upcs {
			t.upcs[upc] = true
			c.releases[upc].isrcs[isrc] = true
		}
	}
	linkRelease := func(it *item, upc string, m Method, conf int, detail string) {
		r := c.releases[upc]
		r.links = append(r.links, Link{Source: it.source, Key: it.key, Artist: it.artist, Method: m,
			Confidence: fromPct(conf), Detail: detail})
	}
	byTitle := func(it *item, m *matcher, what string) {
		prefix := ""
		if len(it.badISRCs) > 0 {
			prefix = fmt.Sprintf("ISRC %q is not a valid ISRC, so the title was used; ", strings.Join(sortedKeys(it.badISRCs), ", "))
		}
		if len(it.titles) == 0 || Normalize(strings.Join(sortedKeys(it.titles), " ")) == "" {
			unmatched(it, ReasonNoTitle, prefix+"no ISRC/UPC and no title to match on", nil)
			return
		}
		q := titleQuery{titles: sortedKeys(it.titles), artistKeys: it.artistKeys,
			upcs: sortedKeys(it.upcs), dates: sortedKeys(it.dates), preferSpotify: it.source == SourceS4A}
		r := m.matchTitle(q, what)
		if r.ent < 0 {
			unmatched(it, r.reason, prefix+r.detail, r.cands)
			return
		}
		if m == rm {
			linkRelease(it, m.ents[r.ent].key, MethodTitleArtist, r.conf, prefix+r.detail)
		} else {
			linkTrack(it, m.ents[r.ent].key, MethodTitleArtist, r.conf, prefix+r.detail)
		}
	}

	for _, it := range items {
		switch {
		case it.key == "":
			unmatched(it, ReasonMissingKey, missingKeyDetail(it.source), nil)
		case it.override >= 0:
			o := overrides[it.override]
			used[it.override] = true
			why := o.where()
			if o.Note != "" {
				why += ": " + o.Note
			}
			isrc, _ := NormalizeISRC(o.ISRC)
			switch {
			case o.None():
				unmatched(it, ReasonOverrideNone, why+" keeps it unmatched", nil)
			case c.tracks[isrc] == nil:
				unmatched(it, ReasonOverrideUnknownISRC, fmt.Sprintf(
					"%s names ISRC %s, but no DistroKid row or Spotify track carries it: check the ISRC", why, o.ISRC), nil)
			default:
				linkTrack(it, isrc, MethodOverride, 100, why)
			}
		case it.source == SourceDistroKid && it.album:
			switch len(it.upcs) {
			case 0:
				byTitle(it, rm, "album row")
			case 1:
				upc := sortedKeys(it.upcs)[0]
				linkRelease(it, upc, MethodUPC, 100, "the album row carries UPC "+upc)
			default:
				unmatched(it, ReasonConflictingKeys, "the same row key came with different UPCs", releaseCands(c, it.upcs))
			}
		case it.source == SourceDistroKid || it.source == SourceSpotify:
			switch len(it.isrcs) {
			case 0:
				what := "row"
				if it.source == SourceSpotify {
					what = "track"
				}
				byTitle(it, tm, what)
			case 1:
				isrc := it.oneISRC()
				detail := "the row carries ISRC " + isrc
				if it.source == SourceSpotify {
					detail = "the track's external_ids.isrc is " + isrc
				}
				linkTrack(it, isrc, MethodISRC, 100, detail)
			default:
				unmatched(it, ReasonConflictingKeys, fmt.Sprintf("the same %s id came with different ISRCs (%s)",
					it.source, strings.Join(sortedKeys(it.isrcs), ", ")), trackCands(c, it.isrcs))
			}
		case it.source == SourceS4A:
			what := "song timeline"
			if it.artist != "" {
				what = "song"
			}
			byTitle(it, tm, what)
		case it.source == SourceTikTok:
			if len(it.texts) == 0 {
				unmatched(it, ReasonNoText, "the video has neither title nor description to name a track", nil)
				break
			}
			r := tm.matchText(sortedKeys(it.texts), it.artistKeys)
			if r.ent < 0 {
				unmatched(it, r.reason, r.detail, r.cands)
				break
			}
			linkTrack(it, tm.ents[r.ent].key, MethodTitleInText, r.conf, r.detail)
		}
	}

	for _, e := range tracks {
		sortLinks(e.links)
		res.Tracks = append(res.Tracks, Track{ISRC: e.key, Title: e.title(), Artist: e.artist(),
			Titles: e.titles(), Artists: artistsOf(e), UPCs: sortedKeys(e.upcs), Links: e.links})
	}
	for _, e := range releases {
		sortLinks(e.links)
		res.Releases = append(res.Releases, Release{UPC: e.key, Title: e.title(), Artist: e.artist(),
			Titles: e.titles(), ISRCs: sortedKeys(e.isrcs), SpotifyAlbumIDs: sortedKeys(e.spotifyAlbums), Links: e.links})
	}
	slices.SortFunc(res.Unmatched, func(a, b Unmatched) int {
		if c := compareItems(a.Source, a.Key, a.Artist, b.Source, b.Key, b.Artist); c != 0 {
			return c
		}
		return cmp.Compare(a.Title, b.Title)
	})
	for i, o := range overrides {
		if !used[i] {
			res.UnusedOverrides = append(res.UnusedOverrides, o)
		}
	}
	return res
}

func missingKeyDetail(s Source) string {
	switch s {
	case SourceDistroKid:
		return "the DistroKid row has no key, so nothing can refer to it"
	case SourceSpotify:
		return "the Spotify track has no track id"
	case SourceS4A:
		return "the Spotify for Artists song has no title"
	}
	return "the TikTok video has no video id"
}

func artistsOf(e *entity) []string {
	set := map[string]bool{}
	for _, m := range []map[string]int{e.dkArtists, e.spArtists} {
		for a := range m {
			set[a] = true
		}
	}
	return sortedKeys(set)
}

func trackCands(c *catalog, isrcs map[string]bool) []Candidate {
	var out []Candidate
	for _, k := range sortedKeys(isrcs) {
		if e := c.tracks[k]; e != nil {
			out = append(out, e.candidate(0))
		} else {
			out = append(out, Candidate{Key: k})
		}
	}
	return out
}

func releaseCands(c *catalog, upcs map[string]bool) []Candidate {
	var out []Candidate
	for _, k := range sortedKeys(upcs) {
		out = append(out, c.releases[k].candidate(0))
	}
	return out
}

func sortLinks(l []Link) {
	slices.SortFunc(l, func(a, b Link) int {
		return compareItems(a.Source, a.Key, a.Artist, b.Source, b.Key, b.Artist)
	})
}

// sortCandidates orders candidates best first, then by key.
func sortCandidates(c []Candidate) {
	slices.SortFunc(c, func(a, b Candidate) int {
		if a.Confidence != b.Confidence {
			return cmp.Compare(b.Confidence, a.Confidence)
		}
		return cmp.Compare(a.Key, b.Key)
	})
}
