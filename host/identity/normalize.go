package identity

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// translit maps letters that Unicode decomposition leaves alone to their
// usual Latin transliteration (applied after lower-casing).
var translit = map[rune]string{
	'ø': "o", 'æ': "ae", 'œ': "oe", 'þ': "th", 'ð': "d", 'ß': "ss", 'ẞ': "ss",
	'đ': "d", 'ł': "l", 'ı': "i", 'ħ': "h", 'ŧ': "t", 'ſ': "s", 'ŀ': "l",
	'ς': "σ", // final sigma folds to sigma
}

// isApostrophe reports whether r is an apostrophe-like mark that joins the
// letters around it ("don't" → "dont"), rather than separating words.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', 'ʼ', '`', 'ʻ', '′':
		return true
	}
	return false
}

// stripsMarks reports whether combining marks after r are accents to drop:
// true for Latin, Greek and Cyrillic letters (é → e, ά → α, й → и), false
// for scripts where marks are part of the letter (Devanagari vowel signs,
// Japanese dakuten), which are kept.
func stripsMarks(r rune) bool {
	return r < 0x80 || unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic)
}

// Normalize returns the matching form of a title, artist or free text:
//
//   - Unicode NFKD (compatibility forms: full-width letters, ligatures,
//     superscripts become plain letters and digits);
//   - accents dropped (combining marks after Latin, Greek and Cyrillic
//     letters; marks of other scripts are kept);
//   - lower-cased, and letters decomposition leaves alone transliterated:
//     ø→o, æ→ae, œ→oe, þ→th, ð→d, ß→ss, đ→d, ł→l, ı→i;
//   - apostrophes removed without a gap ("Don't" → "dont"), "&" read as "and";
//   - every other character that is not a letter, digit or kept mark
//     (punctuation, quotes, hashtags, emoji, symbols) is a word break;
//   - words joined by single spaces, no leading or trailing space;
//   - the result recomposed (NFC), so Hangul and kana come back composed.
//
// Normalize("Þögn (fyrir ömmu)") == "thogn fyrir ommu";
// Normalize("Ørjan Ødegård") == "orjan odegard".
func Normalize(s string) string {
	return strings.Join(words(s), " ")
}

// words returns the normalised words of s (see Normalize).
func words(s string) []string {
	if s == "" {
		return nil
	}
	d := s
	if !isASCII(s) {
		d = norm.NFKD.String(s)
	}
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			w := b.String()
			if !isASCII(w) {
				w = norm.NFC.String(w)
			}
			out = append(out, w)
			b.Reset()
		}
	}
	strip := false // drop marks following the current base letter
	for _, r := range d {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
			if !strip && b.Len() > 0 {
				b.WriteRune(r)
			}
			continue
		case unicode.Is(unicode.Mc, r):
			if b.Len() > 0 {
				b.WriteRune(r)
			}
			continue
		}
		strip = stripsMarks(r)
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			r = unicode.ToLower(r)
			if t, ok := translit[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteRune(r)
			}
		case isApostrophe(r):
			// joins: nothing written, no break
		case r == '&':
			flush()
			out = append(out, "and")
		default:
			flush()
		}
	}
	flush()
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// featWords are the first words of a bracketed or dash-separated title
// part that credits featured artists: "(feat. X)", "- ft. X", "(with X)".
var featWords = map[string]bool{"feat": true, "ft": true, "featuring": true, "with": true}

// versionNotes are title parts, normalised, that name an edition of the
// same song rather than a different recording: they are dropped from the
// base title. Acoustic, live, remix, instrumental, "12\" mix", "pt. 2" and
// similar are different recordings and stay.
var versionNotes = map[string]bool{
	"radio edit": true, "radio version": true, "radio mix": true, "single version": true,
	"single edit": true, "album version": true, "edit": true, "explicit": true, "clean": true,
	"explicit version": true, "clean version": true, "mono": true, "stereo": true,
	"mono version": true, "stereo version": true, "original mix": true, "original version": true,
	"main version": true, "lp version": true, "bonus track": true, "dirty": true,
}

// isVersionNote reports whether a title part (bracket content or the text
// after " - ") only names an edition or credits featured artists.
// inBracket allows "with X", which Spotify writes in brackets only.
func isVersionNote(part string, inBracket bool) bool {
	w := words(part)
	if len(w) == 0 {
		return false
	}
	if featWords[w[0]] && (inBracket || w[0] != "with") {
		return true
	}
	for _, x := range w {
		if strings.HasPrefix(x, "remaster") {
			return true
		}
	}
	return versionNotes[strings.Join(w, " ")]
}

var brackets = map[rune]rune{'(': ')', '[': ']', '{': '}'}

// dropVersionBrackets removes bracketed parts that are version notes.
// Brackets are not nested in practice; an unclosed bracket is left alone.
func dropVersionBrackets(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		closer, open := brackets[r]
		if open {
			if j := strings.IndexRune(s[i+n:], closer); j >= 0 {
				inner := s[i+n : i+n+j]
				if isVersionNote(inner, true) {
					b.WriteByte(' ')
					i += n + j + utf8.RuneLen(closer)
					continue
				}
			}
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

var dashSeparators = []string{" - ", " – ", " — ", " -- "}

// BaseTitle returns the normalised title without edition notes and featured
// artists: bracketed or " - "-separated parts such as "(feat. X)",
// "(with X)", "- ft. X", "(Remastered 2011)", "- 2011 Remaster",
// "- Radio Edit", "(Single Version)", "(Explicit)" are dropped, and so is an
// unbracketed "feat. X" / "ft. X" / "featuring X" tail. Parts naming a
// different recording (Acoustic, Live, Remix, Instrumental, 12" Mix, Pt. 2)
// are kept. When nothing would be left, it returns Normalize(s).
//
// BaseTitle("Harbour Lights - Radio Edit") == "harbour lights";
// BaseTitle("Fjord (Acoustic)") == "fjord acoustic".
func BaseTitle(s string) string {
	t := dropVersionBrackets(s)
	for _, sep := range dashSeparators {
		parts := strings.Split(t, sep)
		kept := parts[:1]
		for _, p := range parts[1:] {
			if !isVersionNote(p, false) {
				kept = append(kept, p)
			}
		}
		t = strings.Join(kept, sep)
	}
	w := words(t)
	for i := 1; i < len(w); i++ {
		if w[i] == "feat" || w[i] == "ft" || w[i] == "featuring" {
			w = w[:i]
			break
		}
	}
	if len(w) == 0 {
		return Normalize(s)
	}
	return strings.Join(w, " ")
}

// artistConnectors split a normalised multi-artist credit into names.
var artistConnectors = map[string]bool{
	"and": true, "feat": true, "ft": true, "featuring": true, "with": true, "x": true, "vs": true,
}

// ArtistKeys returns the normalised names an artist credit stands for: the
// whole credit, each part between commas, semicolons and slashes, and each
// name between connectors ("&", "and", "feat.", "ft.", "featuring",
// "with", "x", "vs"). Two credits match when their keys share one name, so
// "Mara Ellis & Ørjan Ødegård" matches "Ørjan Ødegård". Sorted, no
// duplicates.
func ArtistKeys(credit string) []string {
	set := map[string]bool{}
	add := func(w []string) {
		if len(w) > 0 {
			set[strings.Join(w, " ")] = true
		}
	}
	add(words(credit))
	for _, part := range strings.FieldsFunc(credit, func(r rune) bool { return r == ',' || r == ';' || r == '/' }) {
		w := words(part)
		add(w)
		start := 0
		for i, x := range w {
			if artistConnectors[x] {
				add(w[start:i])
				start = i + 1
			}
		}
		if start > 0 {
			add(w[start:])
		}
	}
	return sortedKeys(set)
}

// NormalizeISRC returns the ISRC in its canonical 12-character form
// (upper case, without the hyphens, spaces, dots or "ISRC" prefix people
// write), and whether it is a well-formed ISRC: 2 letters (country),
// 3 letters or digits (registrant), 2 digits (year), 5 digits.
func NormalizeISRC(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "ISRC")
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '.', ':', '\t', '\u00a0':
			return -1
		}
		return r
	}, s)
	if len(s) != 12 {
		return s, false
	}
	for i := 0; i < 12; i++ {
		c := s[i]
		letter := c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		switch {
		case i < 2 && !letter, i >= 2 && i < 5 && !letter && !digit, i >= 5 && !digit:
			return s, false
		}
	}
	return s, true
}

// NormalizeUPC returns the release code as a 13-digit GTIN, and whether it
// is well formed: spaces and hyphens are dropped, a 12-digit UPC-A gets the
// leading 0 that makes it the same EAN-13 (DistroKid writes
// 198880045560 where Spotify writes 0198880045560), a 14-digit GTIN with a
// leading 0 loses it, and EAN-8 codes are kept as they are. Other leading
// zeros are significant and kept.
func NormalizeUPC(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '\t', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if s == "" || strings.Trim(s, "0") == "" {
		return s, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s, false
		}
	}
	switch len(s) {
	case 8, 13:
		return s, true
	case 12:
		return "0" + s, true
	case 14:
		if s[0] == '0' {
			return s[1:], true
		}
	}
	return s, false
}

// normalizeDate returns a YYYY, YYYY-MM or YYYY-MM-DD date prefix of s, or
// "" when s is none of them.
func normalizeDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 {
		s = s[:10] // a timestamp: keep the day
	}
	shape := "dddd-dd-dd"
	if len(s) != 4 && len(s) != 7 && len(s) != 10 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if (shape[i] == 'd') != (s[i] >= '0' && s[i] <= '9') {
			return ""
		}
	}
	return s
}

// datesCompatible reports whether two release dates agree at the coarser
// precision of the two ("2019" and "2019-01-01" agree).
func datesCompatible(a, b string) bool {
	n := min(len(a), len(b))
	return n > 0 && a[:n] == b[:n]
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or swap of adjacent characters.
func withinOneEdit(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true // equal, or b has one extra rune at the end
	}
	if len(a) == len(b) {
		if equalRunes(a[i+1:], b[i+1:]) {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && equalRunes(a[i+2:], b[i+2:])
	}
	return equalRunes(a[i:], b[i+1:]) // b has one extra rune at i
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// deletions returns s and every string made by deleting one rune from it,
// without duplicates.
func deletions(s string) []string {
	r := []rune(s)
	out := []string{s}
	seen := map[string]bool{s: true}
	for i := range r {
		v := string(r[:i]) + string(r[i+1:])
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
