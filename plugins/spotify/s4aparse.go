package spotify

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bedrot-label/bedrot/sdk"
)

// The Spotify for Artists export parser (sources.md §2.6). Exports are
// comma-separated, lower-case headers, UTF-8 with a BOM (stripped here, kept
// in the payload). Which export a file is comes from its header, so a
// renamed file is still read right:
//
//   - a song column: the songs table, song,listeners,streams,saves,release_date;
//   - a title column: the playlists table, title,author,listeners,streams,date_added;
//   - a date column and a file named <artist>-audience-timeline.csv, or a
//     followers or monthly listeners column: the audience timeline, in any
//     of its three header variants (2026 with super listeners, without
//     super listeners, and the older date,listeners,streams,followers);
//   - any other file with date and streams columns: a per-song timeline,
//     date,streams, whose song is the file name without -timeline.csv.
//
// Columns are found by header name (trimmed, case-folded, "_" read as a
// space), never by position; columns the connector does not know are kept
// in extra_columns. Counts are plain integers; empty, n/a and - are null,
// never 0. Dates are YYYY-MM-DD; an optional date (release_date,
// date_added) that is empty, n/a or - is null. Any other value is a problem
// naming file, line and field, and the file's payload is quarantined.

// maxProblems is the most problems listed per file.
const maxProblems = 1000

// errNoHeader is returned by readHeader for a file without a header line.
var errNoHeader = errors.New("the file is empty: no header line")

// valueKind is how a CSV column is read.
type valueKind int

const (
	vString  valueKind = iota // text as written
	vInt                      // integer; empty, n/a, - → null
	vDate                     // YYYY-MM-DD, required
	vOptDate                  // YYYY-MM-DD; empty, n/a, - → null
)

// s4aColumn is a CSV column an export layout knows.
type s4aColumn struct {
	header   string // normalised header name
	col      int    // schema column
	kind     valueKind
	required bool // the header must have it
}

// s4aLayout is one kind of export: its stream, columns and the columns
// taken from the file name.
type s4aLayout struct {
	name    string // for messages, e.g. "audience timeline"
	stream  string
	schema  sdk.Schema
	columns []s4aColumn
	// tail is the position of the columns every stream ends with.
	tail int
	// fromName returns the values of the columns taken from the file name
	// (nil for null), by schema column.
	fromName func(file string) map[int]*string
}

// copySuffix matches the " (1)" a browser adds to a repeated download.
const copySuffix = `(?: \(\d+\))?`

var (
	audienceName = regexp.MustCompile(`(?i)^(.+)-audience-timeline` + copySuffix + `\.csv$`)
	timelineName = regexp.MustCompile(`(?i)^(.+)-timeline` + copySuffix + `\.csv$`)
	songsName    = regexp.MustCompile(`(?i)^(.+)-songs-(.+?)` + copySuffix + `\.csv$`)
)

func ptr(s string) *string { return &s }

var audienceLayout = &s4aLayout{
	name: "audience timeline", stream: StreamS4AAudience, schema: S4AAudienceSchema, tail: audTail,
	columns: []s4aColumn{
		{"date", AudColDate, vDate, true},
		{"listeners", AudColListeners, vInt, false},
		{"monthly listeners", AudColMonthlyListeners, vInt, false},
		{"monthly active listeners", AudColMonthlyActiveListeners, vInt, false},
		{"super listeners", AudColSuperListeners, vInt, false},
		{"streams", AudColStreams, vInt, false},
		{"playlist adds", AudColPlaylistAdds, vInt, false},
		{"saves", AudColSaves, vInt, false},
		{"followers", AudColFollowers, vInt, false},
	},
	fromName: func(file string) map[int]*string {
		m := map[int]*string{AudColArtist: nil}
		if g := audienceName.FindStringSubmatch(file); g != nil {
			m[AudColArtist] = ptr(g[1])
		}
		return m
	},
}

var songTimelineLayout = &s4aLayout{
	name: "song timeline", stream: StreamS4ASongTimeline, schema: S4ASongTimelineSchema, tail: songTLTail,
	columns: []s4aColumn{
		{"date", SongTLColDate, vDate, true},
		{"streams", SongTLColStreams, vInt, true},
	},
	fromName: func(file string) map[int]*string {
		song := strings.TrimSuffix(file, filepath.Ext(file))
		if g := timelineName.FindStringSubmatch(file); g != nil {
			song = g[1]
		}
		return map[int]*string{SongTLColSong: &song}
	},
}

var songsLayout = &s4aLayout{
	name: "songs table", stream: StreamS4ASongs, schema: S4ASongsSchema, tail: songsTail,
	columns: []s4aColumn{
		{"song", SongsColSong, vString, true},
		{"listeners", SongsColListeners, vInt, false},
		{"streams", SongsColStreams, vInt, false},
		{"saves", SongsColSaves, vInt, false},
		{"release date", SongsColReleaseDate, vOptDate, false},
	},
	fromName: func(file string) map[int]*string {
		m := map[int]*string{SongsColArtist: nil, SongsColTimeWindow: nil}
		if g := songsName.FindStringSubmatch(file); g != nil {
			m[SongsColArtist], m[SongsColTimeWindow] = ptr(g[1]), ptr(g[2])
		}
		return m
	},
}

var playlistsLayout = &s4aLayout{
	name: "playlists table", stream: StreamS4APlaylists, schema: S4APlaylistsSchema, tail: plTail,
	columns: []s4aColumn{
		{"title", PlColTitle, vString, true},
		{"author", PlColAuthor, vString, false},
		{"listeners", PlColListeners, vInt, false},
		{"streams", PlColStreams, vInt, false},
		{"date added", PlColDateAdded, vOptDate, false},
	},
	fromName: func(string) map[int]*string { return nil },
}

// normHeader normalises a header name: BOM and surrounding space removed,
// case folded, "_" and non-breaking spaces read as spaces, runs of spaces
// collapsed.
func normHeader(h string) string {
	h = strings.NewReplacer("\ufeff", "", "\u00a0", " ", "_", " ").Replace(h)
	return strings.Join(strings.Fields(strings.ToLower(h)), " ")
}

// classify returns the layout of a file with this header and name, or nil.
func classify(header []string, file string) *s4aLayout {
	has := map[string]bool{}
	for _, h := range header {
		has[normHeader(h)] = true
	}
	switch {
	case has["song"]:
		return songsLayout
	case has["title"]:
		return playlistsLayout
	case has["date"] && (audienceName.MatchString(file) || has["followers"] || has["monthly listeners"]):
		return audienceLayout
	case has["date"] && has["streams"]:
		return songTimelineLayout
	}
	return nil
}

// stripBOM skips a UTF-8 byte order mark at the start of br.
func stripBOM(br *bufio.Reader) {
	if b, _ := br.Peek(3); len(b) == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		_, _ = br.Discard(3)
	}
}

func newCSVReader(br *bufio.Reader) *csv.Reader {
	cr := csv.NewReader(br)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// readHeader reads the header record of an export.
func readHeader(br *bufio.Reader) ([]string, error) {
	stripBOM(br)
	header, err := newCSVReader(br).Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF), errors.As(err, &pe):
		return nil, errNoHeader
	case err != nil:
		return nil, err
	}
	return header, nil
}

// parseResult is what parsing one export produced.
type parseResult struct {
	rows     int64
	problems []sdk.Problem
}

// problemList collects a file's problems, up to maxProblems.
type problemList struct {
	file  string
	list  []sdk.Problem
	extra int
}

func (p *problemList) add(line int64, field, msg string) {
	if len(p.list) >= maxProblems {
		p.extra++
		return
	}
	p.list = append(p.list, sdk.Problem{File: p.file, Line: line, Field: field, Message: msg})
}

func (p *problemList) done() []sdk.Problem {
	if p.extra > 0 {
		p.list = append(p.list, sdk.Problem{File: p.file,
			Message: fmt.Sprintf("%d more problems not listed (only the first %d are)", p.extra, maxProblems)})
	}
	return p.list
}

// binding says where a column of the file goes.
type binding struct {
	header string     // as written (BOM and surrounding space removed)
	known  *s4aColumn // nil: an extra column
}

// parseExport parses an export read from r (a nil layout means the header
// is not a known one) and sends its rows in batches linked to payloadID. It
// returns an error only when reading fails; bad input is in the problems.
func parseExport(r io.Reader, file, sum string, layout *s4aLayout, payloadID string, send func(*sdk.RecordBatch) error) (parseResult, error) {
	probs := &problemList{file: file}
	res, err := parseRecords(r, file, sum, layout, payloadID, send, probs)
	res.problems = probs.done()
	return res, err
}

// parseRecords does the work of parseExport, adding problems to probs.
func parseRecords(r io.Reader, file, sum string, layout *s4aLayout, payloadID string, send func(*sdk.RecordBatch) error, probs *problemList) (parseResult, error) {
	var res parseResult
	br := bufio.NewReaderSize(r, 64<<10)
	stripBOM(br)
	cr := newCSVReader(br)
	header, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		probs.add(0, "", errNoHeader.Error())
		return res, nil
	case errors.As(err, &pe):
		probs.add(int64(pe.StartLine), "", "the header line cannot be read: "+pe.Err.Error())
		return res, nil
	case err != nil:
		return res, fmt.Errorf("failed to read %s: %w", file, err)
	}
	header = append([]string(nil), header...)
	if layout == nil {
		probs.add(1, "", fmt.Sprintf("the header %q is not that of a Spotify for Artists export "+
			"(audience timeline, song timeline, songs table or playlists table)", strings.Join(header, ",")))
		return res, nil
	}
	binds, ok := bind(layout, header, probs)
	if !ok {
		return res, nil
	}
	fromName := layout.fromName(file)
	vals := make([]any, len(layout.schema.Fields))
	b := sdk.NewBatchBuilder(layout.stream, layout.schema)
	b.Reset(layout.stream, payloadID)
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := send(b.Batch()); err != nil {
			return fmt.Errorf("failed to send a %s batch: %w", layout.stream, err)
		}
		b.Reset(layout.stream, payloadID)
		return nil
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.As(err, &pe) && isSyntax(pe.Err) {
			probs.add(int64(pe.StartLine), "", "the line cannot be read as CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return res, fmt.Errorf("failed to read %s: %w", file, err)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rec) != len(binds) {
			probs.add(int64(line), "", fmt.Sprintf("the line has %d fields but the header has %d", len(rec), len(binds)))
			continue
		}
		if !fill(vals, binds, rec, fromName, layout, int64(line), probs) {
			continue
		}
		vals[layout.tail+tailSourceFile] = file
		vals[layout.tail+tailSourceSHA256] = sum
		vals[layout.tail+tailSourceLine] = int64(line)
		appendValues(b, layout.schema, vals)
		res.rows++
		if b.Len() >= batchRows {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// isSyntax reports whether a CSV parse error is about the text, not the
// reading.
func isSyntax(err error) bool {
	return errors.Is(err, csv.ErrBareQuote) || errors.Is(err, csv.ErrQuote) || errors.Is(err, csv.ErrFieldCount)
}

// bind maps the header's columns to the layout's, reporting missing and
// repeated columns.
func bind(layout *s4aLayout, header []string, probs *problemList) ([]binding, bool) {
	byName := map[string]*s4aColumn{}
	for i := range layout.columns {
		byName[layout.columns[i].header] = &layout.columns[i]
	}
	binds := make([]binding, len(header))
	seen := map[string]bool{}
	ok := true
	for i, h := range header {
		n := normHeader(h)
		binds[i] = binding{header: strings.TrimSpace(strings.ReplaceAll(h, "\ufeff", "")), known: byName[n]}
		if seen[n] {
			probs.add(1, binds[i].header, fmt.Sprintf("the header names the column %q twice", binds[i].header))
			ok = false
		}
		seen[n] = true
	}
	for _, c := range layout.columns {
		if c.required && !seen[c.header] {
			probs.add(1, c.header, fmt.Sprintf("the header of this %s has no %q column", layout.name, c.header))
			ok = false
		}
	}
	return binds, ok
}

// blank reports whether every field of a record is empty (a row of bare
// delimiters, as spreadsheets leave at the end).
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// isAbsent reports whether a cell means "no value".
func isAbsent(v string) bool {
	switch strings.ToLower(v) {
	case "", "n/a", "-":
		return true
	}
	return false
}

// fill parses one record into vals (by schema column), reporting bad
// values; it returns false when the record has any.
func fill(vals []any, binds []binding, rec []string, fromName map[int]*string, layout *s4aLayout, line int64, probs *problemList) bool {
	clear(vals)
	for col, v := range fromName {
		if v != nil {
			vals[col] = *v
		}
	}
	ok := true
	var extra map[string]string
	for i, raw := range rec {
		bd := binds[i]
		if !utf8.ValidString(raw) {
			probs.add(line, bd.header, "the value is not UTF-8 text; save the export as UTF-8 (as Spotify writes it)")
			ok = false
			continue
		}
		if bd.known == nil {
			if extra == nil {
				extra = map[string]string{}
			}
			extra[bd.header] = raw
			continue
		}
		v := strings.TrimSpace(raw)
		switch bd.known.kind {
		case vString:
			vals[bd.known.col] = raw
		case vInt:
			if isAbsent(v) {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				probs.add(line, bd.header, fmt.Sprintf("not a whole number: %q", raw))
				ok = false
				continue
			}
			vals[bd.known.col] = n
		case vDate, vOptDate:
			if bd.known.kind == vOptDate && isAbsent(v) {
				continue
			}
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				probs.add(line, bd.header, fmt.Sprintf("not a date in the form YYYY-MM-DD: %q", raw))
				ok = false
				continue
			}
			vals[bd.known.col] = sdk.DaysSinceEpoch(d)
		}
	}
	if extra != nil {
		b, err := json.Marshal(extra)
		if err != nil {
			probs.add(line, "", fmt.Sprintf("failed to encode the extra columns: %v", err))
			return false
		}
		vals[layout.tail+tailExtraColumns] = string(b)
	}
	return ok
}

// appendValues appends one row of values (nil for null) in schema order.
func appendValues(b *sdk.BatchBuilder, schema sdk.Schema, vals []any) {
	for col := range schema.Fields {
		switch v := vals[col].(type) {
		case nil:
			b.AppendNull(col)
		case string:
			b.AppendString(col, []byte(v))
		case int64:
			b.AppendInt64(col, v)
		case int32:
			b.AppendInt32(col, v)
		}
	}
	b.EndRow()
}
