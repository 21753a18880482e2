package identity

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// quotePairs maps opening quotation marks to the marks that close them.
var quotePairs = map[rune]string{
	'"': `"`, '“': `”“`, '„': `“”`, '«': `»`, '»': `«`, '「': `」`, '『': `』`, '‹': `›`,
}

// quoted returns the quoted segments of s. A straight double quote right
// after a digit is an inch mark (12" Mix), not an opening quote.
func quoted(s string) []string {
	var out []string
	prev := rune(0)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		closers, open := quotePairs[r]
		if open && !(r == '"' && unicode.IsDigit(prev)) {
			rest := s[i+n:]
			if j := strings.IndexAny(rest, closers); j > 0 {
				seg := rest[:j]
				if !strings.ContainsAny(seg, "\n") && utf8.RuneCountInString(seg) <= 150 {
					out = append(out, seg)
				}
				_, cn := utf8.DecodeRuneInString(rest[j:])
				i += n + j + cn
				prev = 0
				continue
			}
		}
		prev = r
		i += n
	}
	return out
}

// hashtags returns the normalised bodies of the hashtags in s, spaces
// removed (#Harbour_Lights → harbourlights).
func hashtags(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '#' && !strings.HasPrefix(s[i:], "＃") {
			continue
		}
		start := i + 1
		if s[i] != '#' {
			start = i + len("＃")
		}
		end := start
		for end < len(s) {
			r, n := utf8.DecodeRuneInString(s[end:])
			if !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || r == '_') {
				break
			}
			end += n
		}
		if tag := strings.ReplaceAll(Normalize(s[start:end]), " ", ""); tag != "" {
			out = append(out, tag)
		}
		i = end - 1
	}
	return out
}

// textHit is the best evidence found for one track in a video's text.
type textHit struct {
	conf int
	how  string
}

// matchText finds the tracks a video's texts name. Evidence, best first:
// the title in quotation marks, a title of two or more words as a phrase,
// a quoted title within one edit, a hashtag spelling the title; a track's
// artist being the account's or named in the text adds ConfArtistBonus.
// Within a phrase, the longest title wins ("Fjord (Acoustic)" over
// "Fjord"), and full titles win over titles without edition notes.
func (m *matcher) matchText(texts []string, accountArtist map[string]bool) titleMatch {
	hits := map[int]textHit{}
	record := func(ids []int, conf int, how string) {
		for _, i := range ids {
			if h, ok := hits[i]; !ok || conf > h.conf {
				hits[i] = textHit{conf: conf, how: how}
			}
		}
	}
	var normTexts []string
	for _, text := range texts {
		for _, q := range quoted(text) {
			full, base := Normalize(q), BaseTitle(q)
			ids := m.byFull[full]
			if len(ids) == 0 {
				ids = m.byBase[base]
			}
			if len(ids) > 0 {
				record(ids, pct(ConfQuoted), fmt.Sprintf("the text quotes the title %q", strings.TrimSpace(q)))
				continue
			}
			for _, fb := range m.fuzzyBases(base) {
				record(m.byBase[fb], pct(ConfQuotedFuzzy), fmt.Sprintf("the text quotes %q, one letter away from the title", strings.TrimSpace(q)))
			}
		}
		w := words(text)
		normTexts = append(normTexts, " "+strings.Join(w, " ")+" ")
		for _, sp := range m.phrases(w) {
			record(sp.ids, pct(ConfPhrase), fmt.Sprintf("the text contains the title %q", strings.Join(w[sp.from:sp.to], " ")))
		}
		for _, tag := range hashtags(text) {
			ids := m.hashFull[tag]
			if len(ids) == 0 {
				ids = m.hashBase[tag]
			}
			record(ids, pct(ConfHashtag), fmt.Sprintf("the hashtag #%s spells the title", tag))
		}
	}
	if len(hits) == 0 {
		return titleMatch{ent: -1, reason: ReasonNoCandidate,
			detail: "the title and description name no known track (quoted, as a phrase of two words or more, or as a hashtag)"}
	}
	best := 0
	for i, h := range hits {
		e := m.ents[i]
		named := ""
		for k := range e.artistKeys {
			if accountArtist[k] {
				named = "the account's artist"
				break
			}
		}
		for k := range e.artistKeys {
			if named != "" {
				break
			}
			for _, t := range normTexts {
				if strings.Contains(t, " "+k+" ") {
					named = "the artist named in the text"
					break
				}
			}
		}
		if named != "" {
			h.conf = min(h.conf+pct(ConfArtistBonus), pct(ConfTextMax))
			h.how += " and " + named + " is the track's"
			hits[i] = h
		}
		best = max(best, h.conf)
	}
	var top []int
	for _, i := range idsOf(boolSet(hits)) {
		if hits[i].conf == best {
			top = append(top, i)
		}
	}
	if len(top) == 1 {
		return titleMatch{ent: top[0], conf: best, detail: hits[top[0]].how}
	}
	var cands []Candidate
	for _, i := range idsOf(boolSet(hits)) {
		cands = append(cands, m.ents[i].candidate(hits[i].conf))
	}
	sortCandidates(cands)
	return titleMatch{ent: -1, reason: ReasonAmbiguous, cands: cands,
		detail: fmt.Sprintf("the text names %d tracks equally well (one: %s); none is guessed: add an override naming the right ISRC, or none",
			len(top), hits[top[0]].how)}
}

func boolSet[V any](m map[int]V) map[int]bool {
	out := make(map[int]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// span is a run of words [from, to) that spells a title.
type span struct {
	from, to int
	ids      []int
}

// phrases returns the titles of two or more words found in w, without
// those inside a longer one.
func (m *matcher) phrases(w []string) []span {
	var all []span
	for i := range w {
		n := m.trie
		for j := i; j < len(w); j++ {
			n = n.next[w[j]]
			if n == nil {
				break
			}
			if j > i && (len(n.full) > 0 || len(n.base) > 0) {
				ids := n.full
				if len(ids) == 0 {
					ids = n.base
				}
				all = append(all, span{from: i, to: j + 1, ids: ids})
			}
		}
	}
	var out []span
	for _, a := range all {
		inside := false
		for _, b := range all {
			if b.from <= a.from && a.to <= b.to && b.to-b.from > a.to-a.from {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, a)
		}
	}
	return out
}
