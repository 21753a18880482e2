package spotify

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Payload names. `bedrot replay` hands every landing payload back under its
// name as the host keeps it (zone.PayloadName: characters other than
// A-Z a-z 0-9 . _ space ( ) + , = @ - become "_", names are cut at 200
// bytes; a name two payloads share gets a "<n>-" prefix), and the rows are
// rebuilt from the name and the bytes alone. So every name this connector
// gives is made of those characters only and says what the rows need:
//
//   - Web API payloads: <stream>-<snapshot>-<n>-<artist id>.jsonl, e.g.
//     albums-20260310T120000.123456Z-002-1kQmV….jsonl: the stream, the
//     snapshot's snapshot_at to the microsecond (UTC), and the artist's
//     1-based position in artist_ids.
//   - Spotify for Artists exports: s4a-<file name>, the export's file name
//     with every byte outside those characters, and "=" itself, written as
//     "=" and two upper-case hex digits (as in quoted-printable):
//     "Þögn (fyrir ömmu)-timeline.csv" is
//     "s4a-=C3=9E=C3=B6gn (fyrir =C3=B6mmu)-timeline.csv". The file name
//     gives the song or artist and source_file of the rows. A name that
//     would be longer than maxExportPayloadName bytes is shortened and
//     marked with "==" before ".csv"; such a payload cannot be replayed.

// stampLayout formats a snapshot's snapshot_at in Web API payload names.
const stampLayout = "20060102T150405.000000Z"

// exportPrefix starts the payload name of every Spotify for Artists export.
const exportPrefix = "s4a-"

// maxExportPayloadName bounds an export's payload name: the host keeps
// names of up to 200 bytes whole, and leaves room for its "<n>-" prefix.
const maxExportPayloadName = 180

// shortenedMark marks a shortened export payload name ("=" is otherwise
// always followed by two hex digits).
const shortenedMark = "=="

// apiPayloadName is the name of the payload of stream for artist i
// (0-based) of the snapshot taken at snapshot.
func apiPayloadName(stream string, snapshot time.Time, i int, artistID string) string {
	return fmt.Sprintf("%s-%s-%03d-%s.jsonl", stream, snapshot.UTC().Format(stampLayout), i+1, artistID)
}

var (
	apiPayloadPattern = regexp.MustCompile(`^(artists|albums|tracks)-([0-9]{8}T[0-9]{6}\.[0-9]{6}Z)-([0-9]+)-(.+)\.jsonl$`)
	// hostPrefix is the "<n>-" the host puts before a name that two
	// landing payloads share. No name this connector gives starts with a
	// digit, so the prefix is told apart safely.
	hostPrefix = regexp.MustCompile(`^[0-9]+-((?:s4a|artists|albums|tracks)-.*)$`)
)

// apiPayloadID is what the name of a Web API payload says.
type apiPayloadID struct {
	stream   string
	snapshot time.Time // snapshot_at of the rows
	stamp    string    // snapshot as in the name
	artist   int       // 1-based position in artist_ids
}

// parseAPIPayloadName parses a Web API payload name (without the host's
// prefix); ok is false for any other name.
func parseAPIPayloadName(name string) (apiPayloadID, bool) {
	g := apiPayloadPattern.FindStringSubmatch(name)
	if g == nil {
		return apiPayloadID{}, false
	}
	at, err := time.Parse(stampLayout, g[2])
	if err != nil {
		return apiPayloadID{}, false
	}
	n, err := strconv.Atoi(g[3])
	if err != nil || n < 1 {
		return apiPayloadID{}, false
	}
	return apiPayloadID{stream: g[1], snapshot: at.UTC(), stamp: g[2], artist: n}, true
}

// withoutHostPrefix removes the "<n>-" the host puts before a shared name.
func withoutHostPrefix(name string) string {
	if g := hostPrefix.FindStringSubmatch(name); g != nil {
		return g[1]
	}
	return name
}

// payloadSafe reports whether the host keeps byte c of a payload name as
// it is ("=" is, but it is the escape here).
func payloadSafe(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("._ ()+,@-", c) >= 0
}

// exportPayloadName returns the payload name of the export file name; whole
// is false when the name had to be shortened (and cannot be replayed).
func exportPayloadName(file string) (name string, whole bool) {
	var b strings.Builder
	b.WriteString(exportPrefix)
	for i := 0; i < len(file); i++ {
		if c := file[i]; payloadSafe(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	name = b.String()
	if len(name) <= maxExportPayloadName {
		return name, true
	}
	ext := ".csv" // every export ends so (isExportName), in any case
	if n := len(name); strings.EqualFold(name[n-len(ext):], ext) {
		ext = name[n-len(ext):]
	}
	cut := name[:maxExportPayloadName-len(shortenedMark)-len(ext)]
	if i := strings.LastIndexByte(cut, '='); i >= 0 && len(cut)-i < 3 {
		cut = cut[:i] // do not split an escape
	}
	return cut + shortenedMark + ext, false
}

// errShortened says an export's payload name was shortened.
var errShortened = errors.New("the export's file name was too long to keep whole in the payload name " +
	"(the name is shortened and marked with \"==\"), so the song or artist it names is unknown")

// exportFileName returns the export file name an export payload name (without
// the host's prefix) encodes; ok is false when name is not one.
func exportFileName(name string) (file string, ok bool, err error) {
	rest, ok := strings.CutPrefix(name, exportPrefix)
	if !ok {
		return "", false, nil
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '=' && strings.HasPrefix(rest[i:], shortenedMark):
			return "", true, errShortened
		case c == '=':
			if i+2 >= len(rest) {
				return "", true, fmt.Errorf("the payload name %q ends in an incomplete \"=\" escape", name)
			}
			v, err := strconv.ParseUint(rest[i+1:i+3], 16, 8)
			if err != nil || strings.ToUpper(rest[i+1:i+3]) != rest[i+1:i+3] {
				return "", true, fmt.Errorf("the payload name %q has %q, which is not an \"=\" escape of two upper-case hex digits", name, rest[i:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		case payloadSafe(c):
			b.WriteByte(c)
		default:
			return "", true, fmt.Errorf("the payload name %q has the character %q, which this connector always escapes", name, c)
		}
	}
	file = b.String()
	if !isExportName(file) {
		return "", true, fmt.Errorf("the payload name %q encodes %q, which is not the name of a .csv export", name, file)
	}
	return file, true, nil
}
