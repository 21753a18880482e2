package distrokid

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/bedrot-label/bedrot/sdk"
)

// Layouts of a DistroKid export, as named in ParseResult.Layout.
const (
	// LayoutCurrent15 is the post-July-2025 layout: 15 columns with Date
	// Inserted, Source Type and Recoup (USD).
	LayoutCurrent15 = "current15"
	// LayoutHybrid15 is the 15-column layout whose type column is still
	// named Song/Album (seen in a real 2026 export).
	LayoutHybrid15 = "hybrid15"
	// LayoutLegacy13 is the pre-2025 layout: 13 columns, no Date Inserted
	// and no Recoup (USD).
	LayoutLegacy13 = "legacy13"
	// LayoutOther is any other set of headers that still has every required
	// column (for example a known layout with extra columns).
	LayoutOther = "other"
)

// Defaults for ParseOptions.
const (
	DefaultBatchRows   = 4096
	DefaultMaxProblems = 1000
)

// LogFunc receives the parser's log lines; keyvals alternate keys and values.
type LogFunc func(level sdk.LogLevel, msg string, keyvals ...any)

// ParseOptions configures Parse.
type ParseOptions struct {
	// FileName is the file's name: it fills source_file and Problem.File.
	FileName string
	// PayloadID is copied into every batch's PayloadID.
	PayloadID string
	// BatchRows is the number of rows per batch (DefaultBatchRows if 0).
	BatchRows int
	// MaxProblems caps the problems listed (DefaultMaxProblems if 0); one
	// more problem then says how many were left out.
	MaxProblems int
	// Log receives warnings (repaired values, extra columns); may be nil.
	// It is called from the goroutine that called Parse.
	Log LogFunc
	// Workers is how many goroutines parse records: 0 means
	// runtime.GOMAXPROCS(0), 1 parses on the calling goroutine alone. The
	// outcome is the same whatever the number: the same batches (same rows,
	// same values, same boundaries every BatchRows rows), the same
	// ParseResult, the same log lines. See Parse for what stays on the
	// calling goroutine.
	Workers int

	// tune holds internal sizes of the parallel parser; tests shrink them.
	tune tuning
}

// ParseResult summarises a parsed file.
type ParseResult struct {
	// Rows is the number of rows emitted in batches. It equals Records when
	// there are no problems; once a problem is found, no more batches are
	// emitted.
	Rows int64
	// Records is the number of data records read (blank lines excluded).
	Records int64
	// Problems lists what makes the file unusable; empty when it is fine.
	Problems []sdk.Problem
	// Layout is one of the Layout constants ("" if the header was unusable).
	Layout string
	// Delimiter is the sniffed field delimiter: '\t', ',' or ';'.
	Delimiter byte
	// Encoding is one of the Encoding constants.
	Encoding string
	// ExtraColumns lists unknown headers as written in the file; their
	// values are in the extra_columns JSON under their snake_case names.
	ExtraColumns []string
	// Repaired counts values accepted after a repair, by kind: "sale_month",
	// "date", "quantity_thousands", "decimal_comma".
	Repaired map[string]int64
}

// Field targets for header positions beyond the known columns.
const (
	targetIgnore = -1 // an unnamed column (e.g. a trailing delimiter)
)

// parser holds the state of one Parse call.
type parser struct {
	opts ParseOptions
	name string
	res  ParseResult
	sc   *scanner
	emit func(*sdk.RecordBatch) error
	ctx  context.Context
	cols colMap
	rec  recorder // the file's tally; it also parses the records of the sequential path
	b    batch
}

// colMap maps header positions to columns; it is read-only once the header
// is parsed, and shared by the parallel parser's workers.
type colMap struct {
	name      string   // the file name, for source_file and problems
	headers   []string // display names, per header position
	target    []int    // known column, numCols+k for extra k, or targetIgnore
	extraKeys [][]byte // `"snake_name":` JSON fragments per extra column
	minFields int      // fewest fields a record may have (trailing unnamed columns may be absent)
	hasCol    [numCols]bool
}

// tally is what parsing records adds up. The parallel parser keeps one per
// chunk and adds them up in file order (merge).
type tally struct {
	records    int64
	utf8Recs   int64 // records with non-ASCII UTF-8
	cp1252Recs int64 // records read as windows-1252
	repairs    [4]int64
	firstLine  [4]int64 // line of the first repair of each kind
	problems   []sdk.Problem
	extra      int64 // problems past the cap
}

func (t *tally) hasProblems() bool { return len(t.problems) > 0 || t.extra > 0 }

// merge adds o, the tally of the records that follow t's, to t; max caps
// the problems listed, lineBase is added to o's line numbers. Rows are
// counted by the caller.
func (t *tally) merge(o *tally, max int, lineBase int64) {
	t.records += o.records
	t.utf8Recs += o.utf8Recs
	t.cp1252Recs += o.cp1252Recs
	for k, n := range o.repairs {
		if n > 0 && t.repairs[k] == 0 {
			t.firstLine[k] = o.firstLine[k] + lineBase
		}
		t.repairs[k] += n
	}
	for _, pr := range o.problems {
		if len(t.problems) >= max {
			t.extra++
			continue
		}
		pr.Line += lineBase
		t.problems = append(t.problems, pr)
	}
	t.extra += o.extra
}

// recorder turns scanned records into rows, adding up a tally. Each
// goroutine that parses records has its own.
type recorder struct {
	m      *colMap
	max    int // problems listed at most
	t      tally
	dates  [3]dateCache // date inserted, reporting date, sale month
	row    row
	extraV [][]byte // extra column values of the current row
}

// init readies r to parse the records under the header m.
func (r *recorder) init(m *colMap, max int) {
	r.m, r.max = m, max
	r.extraV = make([][]byte, len(m.extraKeys))
}

// Repair kinds, indexes of tally.repairs.
const (
	repSaleMonth = iota
	repDate
	repThousands
	repComma
)

var repairNames = [...]string{"sale_month", "date", "quantity_thousands", "decimal_comma"}

// dateCache remembers the dates last parsed in a column, a few at once:
// exports hold few distinct reporting dates and sale months, but their rows
// interleave them (one store's months, then another's), so a single-value
// cache misses on most rows. Entries are direct-mapped by the value's last
// bytes, which is where dates of one export differ.
type dateCache struct {
	e [dateCacheSize]dateEntry
}

const dateCacheSize = 16

type dateEntry struct {
	raw  [16]byte
	n    int
	days int32
	rep  bool
}

func (c *dateCache) parse(f []byte, parse func([]byte) (int32, bool, valueErr)) (int32, bool, valueErr) {
	h := len(f)
	if h >= 2 {
		h += int(f[h-1]) + 3*int(f[h-2])
		if len(f) >= 4 {
			h += 5 * int(f[len(f)-4])
		}
	}
	ent := &c.e[h%dateCacheSize]
	if ent.n > 0 && len(f) == ent.n && string(f) == string(ent.raw[:ent.n]) {
		return ent.days, ent.rep, errNone
	}
	days, rep, e := parse(f)
	if e == errNone && len(f) <= len(ent.raw) {
		ent.n = copy(ent.raw[:], f)
		ent.days, ent.rep = days, rep
	}
	return days, rep, e
}

// row is one parsed record before it is appended to the batch.
type row struct {
	dateInserted     int32
	reportingDate    int32
	saleMonth        int32
	quantity         int64
	teamPct          int64
	withheld         int64
	earnings         int64
	recoup           int64
	dateInsertedNull bool
	recoupNull       bool
	str              [numCols][]byte
}

// Parse reads one DistroKid bank-details export from r and calls emit with
// record batches of the earnings stream (schema EarningsSchema). Every batch
// but the last holds BatchRows rows. Parse reads r to the end even when the
// file is bad, so a tee on r sees every byte. Bad rows do not stop it: every
// problem is collected (up to MaxProblems) and returned in
// ParseResult.Problems, and no batch is emitted after the first problem. The
// error is for failures to read, a failing emit, or ctx ending.
//
// r is read, emit and opts.Log are called, only on the calling goroutine;
// with Workers > 1 other goroutines parse chunks of the input in between,
// and r may be read a few megabytes ahead of the rows emitted. The batch
// passed to emit belongs to Parse whatever Workers is: it is valid until
// emit returns and is then reused, so emit must copy what it keeps.
func Parse(ctx context.Context, r io.Reader, opts ParseOptions, emit func(*sdk.RecordBatch) error) (ParseResult, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = DefaultBatchRows
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = DefaultMaxProblems
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	p := &parser{opts: opts, name: opts.FileName, emit: emit, ctx: ctx}
	p.cols.name = opts.FileName
	p.rec.m, p.rec.max = &p.cols, opts.MaxProblems // for the header's problems
	dr, enc, err := wrapDecoder(r)
	if err != nil {
		return p.res, fmt.Errorf("failed to read %s: %w", p.name, err)
	}
	p.res.Encoding = enc
	p.sc = newScanner(dr, 0)
	err = p.run()
	p.res.Records, p.res.Problems = p.rec.t.records, p.rec.t.problems
	if err != nil {
		return p.res, err
	}
	// Drain whatever was not parsed (after a fatal header problem), so that
	// a tee on r sees the whole file.
	buf := p.sc.buf[:readChunk]
	for {
		_, err := dr.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.res, fmt.Errorf("failed to read %s: %w", p.name, err)
		}
	}
	t := &p.rec.t
	if t.extra > 0 {
		p.res.Problems = append(p.res.Problems, sdk.Problem{File: p.name,
			Message: fmt.Sprintf("%d more problems not listed (only the first %d are)", t.extra, p.rec.max)})
	}
	p.logRepairs()
	if t.cp1252Recs > 0 && (p.res.Encoding == EncodingUTF8 || p.res.Encoding == EncodingUTF8BOM) {
		if t.utf8Recs > 0 {
			p.res.Encoding = EncodingMixed
		} else {
			p.res.Encoding = EncodingWindows1252
		}
	}
	return p.res, nil
}

func (p *parser) run() error {
	line, err := p.sc.peekHeaderLine()
	if err == errNoHeader {
		p.rec.problem(1, "", err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", p.name, err)
	}
	d, ok := sniffDelimiter(line)
	if sd, isSep := sepLine(line); isSep {
		// Excel's "sep=;" first line names the delimiter; skip it.
		p.sc.setDelim(sd)
		if _, err := p.sc.next(); err != nil {
			return fmt.Errorf("failed to read %s: %w", p.name, err)
		}
		if _, err := p.sc.peekHeaderLine(); err == errNoHeader {
			p.rec.problem(p.sc.line, "", err.Error())
			return nil
		} else if err != nil {
			return fmt.Errorf("failed to read %s: %w", p.name, err)
		}
		d, ok = sd, true
	}
	if !ok {
		p.rec.problem(p.sc.line, "", "cannot tell the delimiter: the header line has no tab, comma or semicolon")
		return nil
	}
	p.res.Delimiter = d
	p.sc.setDelim(d)
	st, err := p.sc.next()
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", p.name, err)
	}
	if st != stRecord || !p.header(p.sc.fields, p.sc.recLine) {
		return nil
	}
	p.rec.init(&p.cols, p.opts.MaxProblems)
	p.b.init(p.opts.BatchRows, p.opts.PayloadID, len(p.cols.extraKeys) > 0)
	if p.opts.Workers > 1 {
		return p.runParallel()
	}
	for {
		st, err := p.sc.next()
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", p.name, err)
		}
		if done, err := p.take(p.sc, st); done || err != nil {
			return err
		}
	}
}

// take handles what the sequential scanner sc returned: a record to parse
// into the batch, a record too long, or the end of input (done).
func (p *parser) take(sc *scanner, st scanStatus) (done bool, err error) {
	switch st {
	case stEOF:
		return true, p.flush()
	case stTooLong:
		p.rec.problem(sc.recLine, "", tooLongMessage)
		return false, nil
	}
	if p.rec.record(sc, &p.b) && p.b.n >= p.opts.BatchRows {
		return false, p.flush()
	}
	return false, nil
}

var tooLongMessage = fmt.Sprintf("record longer than %d bytes: skipped", maxRecordBytes)

// sepLine recognises Excel's "sep=X" line, which names the delimiter.
func sepLine(line []byte) (byte, bool) {
	b := trimSpace(line)
	if len(b) == 5 && strings.EqualFold(string(b[:4]), "sep=") {
		switch b[4] {
		case '\t', ',', ';':
			return b[4], true
		}
	}
	if len(b) == 4 && strings.EqualFold(string(b), "sep=") && len(line) > 4 && line[len(line)-1] == '\t' {
		return '\t', true
	}
	return 0, false
}

// sniffDelimiter picks the most frequent of tab, comma and semicolon outside
// quotes in the header line (tab wins ties: it is the official format).
func sniffDelimiter(line []byte) (byte, bool) {
	var tabs, commas, semis int
	inQ := false
	for _, c := range line {
		switch c {
		case '"':
			inQ = !inQ
		case '\t':
			if !inQ {
				tabs++
			}
		case ',':
			if !inQ {
				commas++
			}
		case ';':
			if !inQ {
				semis++
			}
		}
	}
	switch {
	case tabs == 0 && commas == 0 && semis == 0:
		return 0, false
	case tabs >= commas && tabs >= semis:
		return '\t', true
	case commas >= semis:
		return ',', true
	}
	return ';', true
}

// header maps the header fields to columns. It reports problems and
// returns false when the file cannot be parsed.
func (p *parser) header(fields [][]byte, line int64) bool {
	c := &p.cols
	c.headers = make([]string, len(fields))
	c.target = make([]int, len(fields))
	seen := map[string]int{}
	var extraNames []string
	ok := true
	for i, f := range fields {
		display, key := cleanHeader(f)
		c.headers[i] = display
		if display == "" {
			c.target[i] = targetIgnore
			continue
		}
		if col, known := knownHeaders[key]; known {
			if c.hasCol[col] {
				p.rec.problem(line, display, fmt.Sprintf("column %q appears twice in the header (as %q)", canonicalHeader[col], display))
				ok = false
			}
			c.hasCol[col] = true
			c.target[i] = col
			continue
		}
		name := snakeCase(display)
		if name == "" {
			name = fmt.Sprintf("column_%d", i+1)
		}
		if n := seen[name]; n > 0 {
			seen[name] = n + 1
			name = fmt.Sprintf("%s_%d", name, n+1)
		} else {
			seen[name] = 1
		}
		c.target[i] = numCols + len(c.extraKeys)
		c.extraKeys = append(c.extraKeys, append(appendJSONString(nil, []byte(name)), ':'))
		extraNames = append(extraNames, display)
	}
	var missing []string
	for col := 0; col < ColRecoupUSD+1; col++ {
		if !c.hasCol[col] && !optionalHeader[col] {
			missing = append(missing, canonicalHeader[col])
		}
	}
	if !c.hasCol[ColSaleMonth] || !c.hasCol[ColEarningsUSD] {
		p.rec.problem(line, "", "not a DistroKid bank-details export: the header has no \"Sale Month\" or no \"Earnings (USD)\" column (header: "+
			quoteValue([]byte(strings.Join(c.headers, " | ")))+")")
		return false
	}
	for _, m := range missing {
		p.rec.problem(line, m, fmt.Sprintf("required column %q is missing from the header", m))
		ok = false
	}
	if !ok {
		return false
	}
	c.minFields = len(fields)
	for c.minFields > 0 && c.target[c.minFields-1] == targetIgnore {
		c.minFields--
	}
	p.res.ExtraColumns = extraNames
	switch {
	case c.hasCol[ColDateInserted] && c.hasCol[ColRecoupUSD] && len(extraNames) == 0:
		if _, hybrid := findKey(fields, "song/album"); hybrid {
			p.res.Layout = LayoutHybrid15
		} else {
			p.res.Layout = LayoutCurrent15
		}
	case !c.hasCol[ColDateInserted] && !c.hasCol[ColRecoupUSD] && len(extraNames) == 0:
		p.res.Layout = LayoutLegacy13
	default:
		p.res.Layout = LayoutOther
	}
	if len(extraNames) > 0 && p.opts.Log != nil {
		p.opts.Log(sdk.LevelWarn, "unknown columns in the DistroKid export: kept in extra_columns",
			"file", p.name, "columns", strings.Join(extraNames, ", "))
	}
	return true
}

func findKey(fields [][]byte, key string) (int, bool) {
	for i, f := range fields {
		if _, k := cleanHeader(f); k == key {
			return i, true
		}
	}
	return -1, false
}

// problem records a problem, or counts it once the cap is reached.
func (r *recorder) problem(line int64, field, msg string) {
	if len(r.t.problems) >= r.max {
		r.t.extra++
		return
	}
	r.t.problems = append(r.t.problems, sdk.Problem{File: r.m.name, Line: line, Field: field, Message: msg})
}

// fieldProblem reports a bad value; the message is only built under the cap.
func (r *recorder) fieldProblem(line int64, pos int, e valueErr, raw []byte, precision, scale int) {
	if len(r.t.problems) >= r.max {
		r.t.extra++
		return
	}
	r.problem(line, r.m.headers[pos], e.message(raw, precision, scale))
}

func (r *recorder) repaired(kind int, line int64) {
	if r.t.repairs[kind] == 0 {
		r.t.firstLine[kind] = line
	}
	r.t.repairs[kind]++
}

func (p *parser) logRepairs() {
	t := &p.rec.t
	for k, n := range t.repairs {
		if n == 0 {
			continue
		}
		if p.res.Repaired == nil {
			p.res.Repaired = map[string]int64{}
		}
		p.res.Repaired[repairNames[k]] = n
		if p.opts.Log != nil && len(p.res.Problems) == 0 {
			p.opts.Log(sdk.LevelWarn, "repaired values in the DistroKid export (Excel re-save?)",
				"file", p.name, "kind", repairNames[k], "count", n, "first_line", t.firstLine[k])
		}
	}
}

// isBlank reports whether every field is empty or spaces.
func isBlank(fields [][]byte) bool {
	for _, f := range fields {
		if len(trimSpace(f)) != 0 {
			return false
		}
	}
	return true
}

// record parses the scanner's current record and, unless it or an earlier
// record has a problem or b is nil, appends it to b. It reports whether it
// appended a row.
func (r *recorder) record(sc *scanner, b *batch) bool {
	m := r.m
	fields := sc.fields
	if len(fields[0]) == 0 || fields[0][0] == ' ' {
		if isBlank(fields) {
			return false
		}
	}
	r.t.records++
	if sc.high {
		if sc.valid {
			r.t.utf8Recs++
		} else {
			r.t.cp1252Recs++
		}
	}
	line := sc.recLine
	if len(fields) > len(m.target) {
		// Trailing empty fields (a delimiter at the end of the line) carry
		// nothing: tolerate them.
		if !isBlank(fields[len(m.target):]) {
			r.problem(line, "", fmt.Sprintf("expected %d fields as in the header, found %d", len(m.target), len(fields)))
			return false
		}
		fields = fields[:len(m.target)]
	}
	if len(fields) < m.minFields {
		r.problem(line, "", fmt.Sprintf("expected %d fields as in the header, found %d", len(m.target), len(fields)))
		return false
	}
	rw := &r.row
	rw.dateInsertedNull, rw.recoupNull = true, true
	bad := false
	var e valueErr
	var rep bool
	for i, f := range fields {
		prec, scale := 0, 0
		switch t := m.target[i]; t {
		case ColDateInserted:
			if len(trimSpace(f)) == 0 {
				continue
			}
			rw.dateInserted, rep, e = r.dates[0].parse(f, parseDate)
			if e == errNone {
				rw.dateInsertedNull = false
				if rep {
					r.repaired(repDate, line)
				}
			}
		case ColReportingDate:
			rw.reportingDate, rep, e = r.dates[1].parse(f, parseDate)
			if rep && e == errNone {
				r.repaired(repDate, line)
			}
		case ColSaleMonth:
			rw.saleMonth, rep, e = r.dates[2].parse(f, parseSaleMonth)
			if rep && e == errNone {
				r.repaired(repSaleMonth, line)
			}
		case ColQuantity:
			rw.quantity, rep, e = parseQuantity(f)
			if rep && e == errNone {
				r.repaired(repThousands, line)
			}
		case ColTeamPercentage:
			prec, scale = DecimalPrecision, PercentScale
			rw.teamPct, rep, e = parseDecimal(f, prec, scale)
			if rep && e == errNone {
				r.repaired(repComma, line)
			}
		case ColSongwriterRoyaltiesWithheldUSD, ColEarningsUSD, ColRecoupUSD:
			if t == ColRecoupUSD && len(trimSpace(f)) == 0 {
				continue
			}
			prec, scale = DecimalPrecision, MoneyScale
			var v int64
			v, rep, e = parseDecimal(f, prec, scale)
			switch t {
			case ColSongwriterRoyaltiesWithheldUSD:
				rw.withheld = v
			case ColEarningsUSD:
				rw.earnings = v
			default:
				rw.recoup, rw.recoupNull = v, false
			}
			if rep && e == errNone {
				r.repaired(repComma, line)
			}
		case ColUPC:
			f = trimSpace(f)
			rw.str[t] = f
			if len(f) > 0 {
				e = checkUPC(f)
			}
		case ColISRC:
			f = trimSpace(f)
			rw.str[t] = f
			if len(f) > 10 && looksScientific(f) {
				e = errScientific
			}
		case ColStore, ColArtist, ColTitle, ColSourceType, ColCountryOfSale:
			rw.str[t] = f
		case targetIgnore:
			if len(trimSpace(f)) != 0 {
				// A value under a column with no header has no name to go by.
				r.problem(line, "column "+itoa(int64(i+1)), "value under a column with no header: "+quoteValue(f))
				bad = true
			}
		default:
			r.extraV[t-numCols] = f
		}
		if e != errNone {
			r.fieldProblem(line, i, e, f, prec, scale)
			bad = true
			e = errNone
		}
	}
	if bad || r.t.hasProblems() || b == nil {
		return false
	}
	b.add(rw, m.extraKeys, r.extraV, line, !sc.valid)
	return true
}

// flush emits the rows in the batch, if any and if the file has no problems.
func (p *parser) flush() error {
	if p.b.n == 0 || p.rec.t.hasProblems() {
		return nil
	}
	if err := p.ctx.Err(); err != nil {
		return err
	}
	rb := p.b.finish(p.name)
	if err := p.emit(rb); err != nil {
		return fmt.Errorf("failed to emit a batch of %s: %w", p.name, err)
	}
	p.res.Rows += int64(rb.NumRows)
	p.b.reset()
	return nil
}

// fillRepeat appends s n times to b, doubling what it has copied.
func fillRepeat(b []byte, s string, n int) []byte {
	total := len(s) * n
	b = slices.Grow(b, total)
	start := len(b)
	if total == 0 {
		return b
	}
	b = append(b, s...)
	for len(b)-start < total {
		b = append(b, b[start:start+min(len(b)-start, total-(len(b)-start))]...)
	}
	return b
}

// fillOffsets appends the n+1 offsets of n values of width w each.
func fillOffsets(o []uint32, w, n int) []uint32 {
	o = slices.Grow(o, n+1)
	for i := 0; i <= n; i++ {
		o = append(o, uint32(i*w))
	}
	return o
}

// batch accumulates rows column by column. source_file, and extra_columns
// when the file has no extra column, are left empty while rows are added:
// finish writes them.
type batch struct {
	rb       sdk.RecordBatch
	n        int
	null     [numCols][]bool
	hasNull  [numCols]bool
	hasExtra bool
	scratch  []byte
}

func (b *batch) init(rows int, payloadID string, hasExtra bool) {
	b.rb = sdk.RecordBatch{Stream: StreamEarnings, PayloadID: payloadID, Columns: make([]sdk.Column, numCols)}
	b.hasExtra = hasExtra
	for i, f := range EarningsSchema.Fields {
		c := &b.rb.Columns[i]
		switch f.Type {
		case sdk.TypeString:
			c.Offsets = make([]uint32, 1, rows+1)
			c.Bytes = make([]byte, 0, rows*16)
		case sdk.TypeDate:
			c.Int32s = make([]int32, 0, rows)
		default:
			c.Int64s = make([]int64, 0, rows)
		}
		if f.Nullable {
			b.null[i] = make([]bool, 0, rows)
		}
	}
}

func (b *batch) reset() {
	b.n = 0
	for i := range b.rb.Columns {
		c := &b.rb.Columns[i]
		c.Int64s, c.Int32s, c.Bytes = c.Int64s[:0], c.Int32s[:0], c.Bytes[:0]
		if c.Offsets != nil {
			c.Offsets = c.Offsets[:1]
		}
		c.Null = nil
		if b.null[i] != nil {
			b.null[i] = b.null[i][:0]
		}
		b.hasNull[i] = false
	}
}

// finish completes the batch's rows with the columns that are the same in
// every row (source_file, and extra_columns when the file has no extra
// column): rows are added without them, and they are written here in bulk.
func (b *batch) finish(name string) *sdk.RecordBatch {
	b.rb.NumRows = b.n
	sf := &b.rb.Columns[ColSourceFile]
	sf.Bytes = fillRepeat(sf.Bytes[:0], name, b.n)
	sf.Offsets = fillOffsets(sf.Offsets[:0], len(name), b.n)
	if !b.hasExtra {
		ec := &b.rb.Columns[ColExtraColumns]
		ec.Bytes = ec.Bytes[:0]
		ec.Offsets = fillOffsets(ec.Offsets[:0], 0, b.n)
		b.null[ColExtraColumns] = slices.Grow(b.null[ColExtraColumns][:0], b.n)[:b.n]
		for i := range b.null[ColExtraColumns] {
			b.null[ColExtraColumns][i] = true
		}
		b.hasNull[ColExtraColumns] = b.n > 0
	}
	for i := range b.rb.Columns {
		if b.hasNull[i] {
			b.rb.Columns[i].Null = b.null[i]
		} else {
			b.rb.Columns[i].Null = nil
		}
	}
	return &b.rb
}

func (b *batch) setNull(col int, isNull bool) {
	b.null[col] = append(b.null[col], isNull)
	if isNull {
		b.hasNull[col] = true
	}
}

func (b *batch) str(col int, v []byte, latin bool) {
	c := &b.rb.Columns[col]
	if latin {
		c.Bytes = appendCP1252(c.Bytes, v)
	} else {
		c.Bytes = append(c.Bytes, v...)
	}
	c.Offsets = append(c.Offsets, uint32(len(c.Bytes)))
}

func (b *batch) nullableStr(col int, v []byte, latin bool) {
	if len(v) == 0 {
		c := &b.rb.Columns[col]
		c.Offsets = append(c.Offsets, uint32(len(c.Bytes)))
		b.setNull(col, true)
		return
	}
	b.str(col, v, latin)
	b.setNull(col, false)
}

func (b *batch) add(r *row, extraKeys, extraV [][]byte, line int64, latin bool) {
	cols := b.rb.Columns
	if r.dateInsertedNull {
		cols[ColDateInserted].Int32s = append(cols[ColDateInserted].Int32s, 0)
	} else {
		cols[ColDateInserted].Int32s = append(cols[ColDateInserted].Int32s, r.dateInserted)
	}
	b.setNull(ColDateInserted, r.dateInsertedNull)
	cols[ColReportingDate].Int32s = append(cols[ColReportingDate].Int32s, r.reportingDate)
	cols[ColSaleMonth].Int32s = append(cols[ColSaleMonth].Int32s, r.saleMonth)
	b.str(ColStore, r.str[ColStore], latin)
	b.str(ColArtist, r.str[ColArtist], latin)
	b.str(ColTitle, r.str[ColTitle], latin)
	b.nullableStr(ColISRC, r.str[ColISRC], latin)
	b.nullableStr(ColUPC, r.str[ColUPC], latin)
	cols[ColQuantity].Int64s = append(cols[ColQuantity].Int64s, r.quantity)
	cols[ColTeamPercentage].Int64s = append(cols[ColTeamPercentage].Int64s, r.teamPct)
	b.str(ColSourceType, r.str[ColSourceType], latin)
	b.str(ColCountryOfSale, r.str[ColCountryOfSale], latin)
	cols[ColSongwriterRoyaltiesWithheldUSD].Int64s = append(cols[ColSongwriterRoyaltiesWithheldUSD].Int64s, r.withheld)
	cols[ColEarningsUSD].Int64s = append(cols[ColEarningsUSD].Int64s, r.earnings)
	if r.recoupNull {
		cols[ColRecoupUSD].Int64s = append(cols[ColRecoupUSD].Int64s, 0)
	} else {
		cols[ColRecoupUSD].Int64s = append(cols[ColRecoupUSD].Int64s, r.recoup)
	}
	b.setNull(ColRecoupUSD, r.recoupNull)
	ec := &cols[ColExtraColumns]
	if b.hasExtra {
		ec.Bytes = append(ec.Bytes, '{')
		for k, key := range extraKeys {
			if k > 0 {
				ec.Bytes = append(ec.Bytes, ',')
			}
			ec.Bytes = append(ec.Bytes, key...)
			v := extraV[k]
			if latin {
				// Decode into the column's spare capacity, then escape.
				b.scratch = appendCP1252(b.scratch[:0], v)
				ec.Bytes = appendJSONString(ec.Bytes, b.scratch)
			} else {
				ec.Bytes = appendJSONString(ec.Bytes, v)
			}
			extraV[k] = nil
		}
		ec.Bytes = append(ec.Bytes, '}')
		ec.Offsets = append(ec.Offsets, uint32(len(ec.Bytes)))
		b.setNull(ColExtraColumns, false)
	}
	cols[ColSourceLine].Int64s = append(cols[ColSourceLine].Int64s, line)
	for i := range r.str {
		r.str[i] = nil
	}
	b.n++
}
