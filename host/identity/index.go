package identity

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// entity is a canonical track (key = ISRC) or release (key = UPC) while it
// is being built and matched against.
type entity struct {
	key string
	// Spellings by source, counted over the items that carry the key.
	dkTitles, spTitles   map[string]int
	dkArtists, spArtists map[string]int
	// dkSongArtists are the artists of DistroKid song rows on a release.
	dkSongArtists map[string]int
	artistKeys    map[string]bool
	dates         map[string]bool
	upcs          map[string]bool // tracks: the releases it is on
	isrcs         map[string]bool // releases: the tracks on it
	spotifyAlbums map[string]bool // releases: Spotify album ids
	hasSpotify    bool            // a Spotify track carries the ISRC
	links         []Link
}

func newEntity(key string) *entity {
	return &entity{key: key,
		dkTitles: map[string]int{}, spTitles: map[string]int{},
		dkArtists: map[string]int{}, spArtists: map[string]int{}, dkSongArtists: map[string]int{},
		artistKeys: map[string]bool{}, dates: map[string]bool{}, upcs: map[string]bool{},
		isrcs: map[string]bool{}, spotifyAlbums: map[string]bool{},
	}
}

// titles returns every title spelling, sorted.
func (e *entity) titles() []string {
	set := map[string]bool{}
	for t := range e.dkTitles {
		set[t] = true
	}
	for t := range e.spTitles {
		set[t] = true
	}
	return sortedKeys(set)
}

// title is the display title: DistroKid's most frequent spelling, else Spotify's.
func (e *entity) title() string {
	if t := mostFrequent(e.dkTitles); t != "" {
		return t
	}
	return mostFrequent(e.spTitles)
}

// artist is the display artist credit.
func (e *entity) artist() string {
	for _, m := range []map[string]int{e.dkArtists, e.dkSongArtists, e.spArtists} {
		if a := mostFrequent(m); a != "" {
			return a
		}
	}
	return ""
}

// mostFrequent returns the most counted key, the smallest on ties.
func mostFrequent(m map[string]int) string {
	best, n := "", 0
	for k, c := range m {
		if c > n || c == n && k < best {
			best, n = k, c
		}
	}
	return best
}

// candidate describes e for an unmatched item.
func (e *entity) candidate(conf int) Candidate {
	return Candidate{Key: e.key, Title: e.title(), Artist: e.artist(), Confidence: fromPct(conf)}
}

// Confidences are computed in hundredths to keep ties exact.
func pct(f float64) int { return int(math.Round(f * 100)) }

func fromPct(p int) float64 { return float64(p) / 100 }

func idsOf(m map[int]bool) []int { return slices.Sorted(maps.Keys(m)) }

// minFuzzyRunes is the shortest normalised title matched within one edit:
// shorter titles differ by one letter too often ("drift" / "draft").
const minFuzzyRunes = 8

// minHashtagRunes is the shortest title matched as a hashtag (#love, #run
// are generic tags).
const minHashtagRunes = 5

// matcher finds entities by title.
type matcher struct {
	kind   string // "track" or "release", for messages
	ents   []*entity
	byFull map[string][]int    // Normalize(title) → entities
	byBase map[string][]int    // BaseTitle(title) → entities
	bases  []string            // every base title, sorted
	fuzzy  map[string][]string // one-deletion variant → base titles; see buildFuzzy
	// Text search (tracks only).
	trie     *trieNode
	hashFull map[string][]int // Normalize(title) without spaces → entities
	hashBase map[string][]int
}

// trieNode is a node of the word trie of titles.
type trieNode struct {
	next map[string]*trieNode
	full []int // entities whose full title ends here
	base []int // entities whose base title ends here
}

func appendUnique(s []int, i int) []int {
	if len(s) > 0 && s[len(s)-1] == i {
		return s // entities are added in order, so a duplicate is the last
	}
	return append(s, i)
}

// newMatcher indexes the titles of ents (sorted by key); withText also
// builds the text search structures.
func newMatcher(kind string, ents []*entity, withText bool) *matcher {
	m := &matcher{kind: kind, ents: ents, byFull: map[string][]int{}, byBase: map[string][]int{}}
	if withText {
		m.trie = &trieNode{}
		m.hashFull, m.hashBase = map[string][]int{}, map[string][]int{}
	}
	bases := map[string]bool{}
	for i, e := range ents {
		for _, t := range e.titles() {
			full, base := Normalize(t), BaseTitle(t)
			if full == "" {
				continue
			}
			m.byFull[full] = appendUnique(m.byFull[full], i)
			m.byBase[base] = appendUnique(m.byBase[base], i)
			bases[base] = true
			if withText {
				m.addText(full, i, true)
				m.addText(base, i, false)
			}
		}
	}
	m.bases = sortedKeys(bases)
	return m
}

// buildFuzzy indexes the one-deletion variants of the base titles, the
// first time a query needs them.
func (m *matcher) buildFuzzy() {
	if m.fuzzy != nil {
		return
	}
	m.fuzzy = map[string][]string{}
	for _, b := range m.bases {
		if utf8.RuneCountInString(b) < minFuzzyRunes {
			continue
		}
		for _, d := range deletions(b) {
			m.fuzzy[d] = append(m.fuzzy[d], b)
		}
	}
}

func (m *matcher) addText(key string, i int, full bool) {
	n := m.trie
	for _, w := range strings.Split(key, " ") {
		if n.next == nil {
			n.next = map[string]*trieNode{}
		}
		c := n.next[w]
		if c == nil {
			c = &trieNode{}
			n.next[w] = c
		}
		n = c
	}
	tag := strings.ReplaceAll(key, " ", "")
	if full {
		n.full = appendUnique(n.full, i)
		if len([]rune(tag)) >= minHashtagRunes {
			m.hashFull[tag] = appendUnique(m.hashFull[tag], i)
		}
	} else {
		n.base = appendUnique(n.base, i)
		if len([]rune(tag)) >= minHashtagRunes {
			m.hashBase[tag] = appendUnique(m.hashBase[tag], i)
		}
	}
}

// fuzzyBases returns the indexed base titles one edit away from q (not q).
func (m *matcher) fuzzyBases(q string) []string {
	qr := []rune(q)
	if len(qr) < minFuzzyRunes {
		return nil
	}
	m.buildFuzzy()
	set := map[string]bool{}
	for _, d := range deletions(q) {
		for _, b := range m.fuzzy[d] {
			if b != q && !set[b] && withinOneEdit(qr, []rune(b)) {
				set[b] = true
			}
		}
	}
	return sortedKeys(set)
}

// titleQuery is an item to match by title.
type titleQuery struct {
	titles     []string
	artistKeys map[string]bool
	upcs       []string
	dates      []string
	// preferSpotify breaks ties towards tracks Spotify knows (S4A songs are
	// Spotify songs).
	preferSpotify bool
}

// titleMatch is the outcome of matching a titleQuery.
type titleMatch struct {
	ent    int // matched entity, or -1
	conf   int
	detail string
	reason Reason
	cands  []Candidate
}

// artistFit says how an entity's artists relate to the query's.
type artistFit int

const (
	artistSame    artistFit = iota // they share a name
	artistUnknown                  // the entity has no artist
	artistOther                    // both have artists, none shared
)

func (m *matcher) fit(q titleQuery, i int) artistFit {
	e := m.ents[i]
	if len(e.artistKeys) == 0 {
		return artistUnknown
	}
	for k := range q.artistKeys {
		if e.artistKeys[k] {
			return artistSame
		}
	}
	return artistOther
}

// matchTitle runs the title/artist tiers: the first tier with candidates
// decides; one candidate is a match, several that the tie-breaks do not
// separate are ambiguous.
func (m *matcher) matchTitle(q titleQuery, what string) titleMatch {
	full, base, fuzzy := map[int]bool{}, map[int]bool{}, map[int]bool{}
	var baseTitles []string
	for _, t := range q.titles {
		for _, i := range m.byFull[Normalize(t)] {
			full[i] = true
		}
		b := BaseTitle(t)
		baseTitles = append(baseTitles, b)
		for _, i := range m.byBase[b] {
			base[i] = true
		}
	}
	fuzzyDone := false
	findFuzzy := func() {
		if fuzzyDone {
			return
		}
		fuzzyDone = true
		for _, b := range baseTitles {
			for _, fb := range m.fuzzyBases(b) {
				for _, i := range m.byBase[fb] {
					if !base[i] {
						fuzzy[i] = true
					}
				}
			}
		}
	}

	type tier struct {
		conf  int
		parts []tierPart
	}
	var tiers []tier
	noArtist := "; the " + m.kind + " has no artist to compare"
	if len(q.artistKeys) > 0 {
		tiers = []tier{
			{pct(ConfTitleArtist), []tierPart{
				{full, artistSame, "title and artist equal after normalisation", false}}},
			{pct(ConfTitleOnly), []tierPart{
				{base, artistSame, "title without edition notes (feat., remaster, radio edit…) and artist equal", false},
				{full, artistUnknown, "title equal after normalisation" + noArtist, false}}},
			{pct(ConfBaseTitleOnly), []tierPart{
				{fuzzy, artistSame, "title within one letter, artist equal", true},
				{base, artistUnknown, "title without edition notes equal" + noArtist, false}}},
			{pct(ConfFuzzyTitleOnly), []tierPart{
				{fuzzy, artistUnknown, "title within one letter" + noArtist, true}}},
		}
	} else {
		noArtist = "; the " + what + " has no artist"
		tiers = []tier{
			{pct(ConfTitleOnly), []tierPart{{full, -1, "title equal after normalisation" + noArtist, false}}},
			{pct(ConfBaseTitleOnly), []tierPart{{base, -1, "title without edition notes (feat., remaster, radio edit…) equal" + noArtist, false}}},
			{pct(ConfFuzzyTitleOnly), []tierPart{{fuzzy, -1, "title within one letter" + noArtist, true}}},
		}
	}
	for _, t := range tiers {
		ids := map[int]bool{}
		how := map[int]string{}
		for _, p := range t.parts {
			if p.fuzzy {
				findFuzzy()
			}
			for i := range p.ids {
				if p.fit < 0 || m.fit(q, i) == p.fit {
					ids[i] = true
					if _, ok := how[i]; !ok {
						how[i] = p.how
					}
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		list := idsOf(ids)
		kept, why := m.tieBreak(q, list)
		if len(kept) == 1 {
			i := kept[0]
			detail := how[i]
			if len(list) > 1 {
				detail += fmt.Sprintf("; of %d equally good %ss, %s", len(list), m.kind, why)
			}
			return titleMatch{ent: i, conf: t.conf, detail: detail}
		}
		cands := make([]Candidate, 0, len(list))
		for _, i := range list {
			cands = append(cands, m.ents[i].candidate(t.conf))
		}
		detail := fmt.Sprintf("%d %ss match equally well (%s); none is guessed", len(list), m.kind, how[list[0]])
		if m.kind == "track" {
			detail += ": add an override naming the right ISRC"
		}
		return titleMatch{ent: -1, reason: ReasonAmbiguous, cands: cands, detail: detail}
	}
	other := map[int]bool{}
	for _, set := range []map[int]bool{full, base} {
		for i := range set {
			if m.fit(q, i) == artistOther {
				other[i] = true
			}
		}
	}
	if len(other) > 0 {
		var cands []Candidate
		for _, i := range idsOf(other) {
			cands = append(cands, m.ents[i].candidate(0))
		}
		return titleMatch{ent: -1, reason: ReasonArtistMismatch, cands: cands,
			detail: fmt.Sprintf("the title matches, but only %ss by other artists", m.kind)}
	}
	return titleMatch{ent: -1, reason: ReasonNoCandidate,
		detail: fmt.Sprintf("no %s with this title (after normalisation) is known from DistroKid or Spotify", m.kind)}
}

// tierPart is one (title level, artist fit) combination of a tier; fit -1
// means the query has no artist.
type tierPart struct {
	ids   map[int]bool
	fit   artistFit
	how   string
	fuzzy bool // ids is filled by findFuzzy
}

// tieBreak narrows equally good candidates by the query's release (UPC),
// release date, and Spotify presence, in that order; each step only
// applies when it keeps at least one candidate.
func (m *matcher) tieBreak(q titleQuery, ids []int) ([]int, string) {
	if len(ids) < 2 {
		return ids, ""
	}
	var why []string
	narrow := func(reason string, keep func(e *entity) bool) {
		if len(ids) < 2 {
			return
		}
		var out []int
		for _, i := range ids {
			if keep(m.ents[i]) {
				out = append(out, i)
			}
		}
		if len(out) > 0 && len(out) < len(ids) {
			ids = out
			why = append(why, reason)
		}
	}
	if len(q.upcs) > 0 {
		narrow("the item's UPC picks the one on that release", func(e *entity) bool {
			return slices.ContainsFunc(q.upcs, func(u string) bool { return e.upcs[u] })
		})
	}
	if len(q.dates) > 0 {
		narrow("the release date picks the one released then", func(e *entity) bool {
			for d := range e.dates {
				if slices.ContainsFunc(q.dates, func(qd string) bool { return datesCompatible(d, qd) }) {
					return true
				}
			}
			return false
		})
	}
	if q.preferSpotify {
		narrow("only one of them is on Spotify", func(e *entity) bool { return e.hasSpotify })
	}
	return ids, strings.Join(why, ", ")
}

// sortEntities sorts by key.
func sortEntities(m map[string]*entity) []*entity {
	out := make([]*entity, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entity) int { return cmp.Compare(a.key, b.key) })
	return out
}
