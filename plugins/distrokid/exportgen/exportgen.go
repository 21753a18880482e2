// Package exportgen writes realistic, synthetic DistroKid "bank details"
// earnings exports, for tests, benchmarks and sample files.
//
// The files follow the formats in the project's source notes: the 13-column
// legacy layout, the 15-column 2025 layout and the hybrid (15 columns with
// Song/Album); tab, comma or semicolon delimiters; every field quoted (the
// 2025 style) or minimal quoting; UTF-8, UTF-8 with BOM, latin-1 or UTF-16LE;
// LF, CRLF or CR-only line ends. Rows are drawn from a fixed catalog of about
// 200 tracks (ISRCs, UPCs with leading zeros, Unicode titles) over weighted
// stores and countries (OU included), with refunds (negative rows), 0/0
// rows, zero-quantity adjustments, duplicate-looking rows and 12-decimal
// earnings. The same Options always produce the same bytes.
//
// Summary returns the exact earnings total so that a reader can be checked
// to the last 1e-12 USD.
package exportgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// Layout is a DistroKid header layout.
type Layout string

// Layouts.
const (
	// Legacy13 is the pre-2025 layout (13 columns, Song/Album,
	// Songwriter Royalties Withheld without "(USD)").
	Legacy13 Layout = "legacy13"
	// Current15 is the post-July-2025 layout (15 columns, Source Type).
	Current15 Layout = "current15"
	// Hybrid15 has the 15 current columns but names the type column Song/Album.
	Hybrid15 Layout = "hybrid15"
)

// Encoding is a text encoding of the output.
type Encoding string

// Encodings.
const (
	UTF8    Encoding = "utf8"
	UTF8BOM Encoding = "utf8bom"
	// Latin1 is ISO-8859-1; the catalog then only uses latin-1 characters.
	Latin1 Encoding = "latin1"
	// UTF16LE is UTF-16 little-endian with a BOM (Excel's "Unicode Text").
	UTF16LE Encoding = "utf16le"
)

// LineEnd is a line terminator.
type LineEnd string

// Line ends.
const (
	LF   LineEnd = "lf"
	CRLF LineEnd = "crlf"
	CR   LineEnd = "cr"
)

// Options says what to generate. The zero value of each field picks the
// official format: Current15, tab, UTF-8, LF.
type Options struct {
	// Rows is the number of data rows (the header is extra).
	Rows int
	// Layout is the header layout (Current15 if empty).
	Layout Layout
	// Delimiter is '\t', ',' or ';' ('\t' if zero).
	Delimiter byte
	// Quoted double-quotes every field, as the 2025 exports do. Otherwise
	// only fields that need it (delimiter or line break inside) are quoted,
	// and a quote inside an unquoted field is written as is.
	Quoted bool
	// Encoding is the text encoding (UTF8 if empty).
	Encoding Encoding
	// LineEnd is the line terminator (LF if empty).
	LineEnd LineEnd
	// NoFinalNewline leaves the last row without a line end.
	NoFinalNewline bool
	// Seed chooses the rows; the catalog is the same for every seed.
	Seed uint64
}

// Summary describes what Write produced.
type Summary struct {
	// Rows is the number of data rows written.
	Rows int64
	// Bytes is the number of bytes written.
	Bytes int64
	// EarningsE12 is the exact sum of Earnings (USD) in 1e-12 USD; valid
	// only when EarningsOverflow is false.
	EarningsE12 int64
	// EarningsOverflow reports a sum too large for EarningsE12.
	EarningsOverflow bool
	// Earnings is the exact sum of Earnings (USD) as a decimal with 12
	// decimals, e.g. "1234.567890123456".
	Earnings string
	// Quantity is the sum of Quantity.
	Quantity int64
}

var headers = map[Layout][]string{
	Current15: {"Date Inserted", "Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Source Type", "Country of Sale", "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)"},
	Hybrid15: {"Date Inserted", "Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Song/Album", "Country of Sale", "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)"},
	Legacy13: {"Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Song/Album", "Country of Sale", "Songwriter Royalties Withheld", "Earnings (USD)"},
}

// Write writes a generated export to w.
func Write(w io.Writer, opts Options) (Summary, error) {
	if opts.Layout == "" {
		opts.Layout = Current15
	}
	if opts.Delimiter == 0 {
		opts.Delimiter = '\t'
	}
	if opts.Encoding == "" {
		opts.Encoding = UTF8
	}
	if opts.LineEnd == "" {
		opts.LineEnd = LF
	}
	hdr, ok := headers[opts.Layout]
	if !ok {
		return Summary{}, fmt.Errorf("exportgen: unknown layout %q", opts.Layout)
	}
	switch opts.Delimiter {
	case '\t', ',', ';':
	default:
		return Summary{}, fmt.Errorf("exportgen: unsupported delimiter %q", opts.Delimiter)
	}
	var eol []byte
	switch opts.LineEnd {
	case LF:
		eol = []byte("\n")
	case CRLF:
		eol = []byte("\r\n")
	case CR:
		eol = []byte("\r")
	default:
		return Summary{}, fmt.Errorf("exportgen: unknown line end %q", opts.LineEnd)
	}
	switch opts.Encoding {
	case UTF8, UTF8BOM, Latin1, UTF16LE:
	default:
		return Summary{}, fmt.Errorf("exportgen: unknown encoding %q", opts.Encoding)
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	g := &gen{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15)),
		cat:  catalogFor(opts.Encoding == Latin1),
		eol:  eol,
		out:  bw,
		num:  make([]byte, 0, 64),
		line: make([]byte, 0, 1024),
	}
	switch opts.Encoding {
	case UTF8BOM:
		bw.Write([]byte{0xEF, 0xBB, 0xBF})
	case UTF16LE:
		bw.Write([]byte{0xFF, 0xFE})
	}
	for i, h := range hdr {
		if i > 0 {
			g.line = append(g.line, opts.Delimiter)
		}
		g.field(h)
	}
	if err := g.endLine(opts.Rows == 0); err != nil {
		return Summary{}, err
	}
	var sum Summary
	var whole, frac int64 // the earnings sum: whole dollars + 1e-12 fractions
	months := 24
	for i := 0; i < opts.Rows; i++ {
		r := g.row(i*months/max(opts.Rows, 1), months)
		reps := 1
		if r.dup && i+1 < opts.Rows {
			reps = 2 // an identical row repeated: legitimate, must be kept
		}
		for k := 0; k < reps; k++ {
			g.format(r, hdr)
			if err := g.endLine(i+k == opts.Rows-1); err != nil {
				return Summary{}, err
			}
			sum.Rows++
			sum.Quantity += r.quantity
			whole += r.earnings / 1e12
			frac += r.earnings % 1e12
			if frac >= 1e12 || frac <= -1e12 {
				whole += frac / 1e12
				frac %= 1e12
			}
		}
		i += reps - 1
	}
	if err := bw.Flush(); err != nil {
		return Summary{}, fmt.Errorf("exportgen: failed to write: %w", err)
	}
	sum.Bytes = cw.n
	// Normalise to one sign.
	if whole > 0 && frac < 0 {
		whole--
		frac += 1e12
	} else if whole < 0 && frac > 0 {
		whole++
		frac -= 1e12
	}
	sum.Earnings = formatE12Parts(whole, frac)
	if whole > math.MaxInt64/1_000_000_000_000-1 || whole < math.MinInt64/1_000_000_000_000+1 {
		sum.EarningsOverflow = true
	} else {
		sum.EarningsE12 = whole*1e12 + frac
	}
	return sum, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// genRow is one generated row before formatting.
type genRow struct {
	inserted, reporting [3]int // y, m, d
	saleY, saleM        int
	store               *store
	track               *track
	album               bool
	quantity            int64
	teamPct             string
	country             string
	earnings            int64 // 1e-12 USD
	recoup              string
	dup                 bool
}

type gen struct {
	opts Options
	rng  *rand.Rand
	cat  *catalog
	eol  []byte
	out  *bufio.Writer
	line []byte // the current line, UTF-8
	enc  []byte // the current line, encoded
	num  []byte
}

// row draws one row for reporting month index m of months (ascending).
func (g *gen) row(m, months int) genRow {
	rng := g.rng
	var r genRow
	// Reporting months run up to March 2026.
	ry, rm := addMonths(2026, 3, m-months+1)
	r.reporting = [3]int{ry, rm, 3 + rm%5}
	r.inserted = r.reporting
	if rng.IntN(4) == 0 {
		r.inserted[2] += 1 + rng.IntN(3)
	}
	r.saleY, r.saleM = addMonths(ry, rm, -(1 + rng.IntN(6)))
	r.store = g.cat.pickStore(rng)
	r.track = &g.cat.tracks[rng.IntN(len(g.cat.tracks))]
	r.country = g.cat.pickCountry(rng, r.store)
	r.teamPct = "100"
	switch x := rng.IntN(100); {
	case x < 8:
		r.teamPct = "50"
	case x < 10:
		r.teamPct = "33.333333"
	}
	r.recoup = ""
	if rng.IntN(50) == 0 {
		r.recoup = "0.000000000000"
	}
	r.dup = rng.IntN(500) == 0
	var rate int64 // 1e-12 USD per unit
	if r.store.download {
		r.quantity = 1 + int64(rng.IntN(3))
		rate = 690_000_000_000
		if r.store.name == "Beatport" {
			rate = 1_290_000_000_000
		}
		if rng.IntN(3) == 0 {
			r.album = true
			rate *= 10
		}
	} else {
		q := math.Exp(rng.NormFloat64()*1.8 + 2.3)
		r.quantity = int64(min(q, 250_000)) + 1
		rate = r.store.rate
	}
	// Jitter the rate by ±20% in ppm, then scale by quantity and share.
	perUnit := rate * (800_000 + int64(rng.IntN(400_001))) / 1_000_000
	perUnit += int64(rng.IntN(1_000_000)) // noise in the last digits
	r.earnings = perUnit * r.quantity
	switch r.teamPct {
	case "50":
		r.earnings /= 2
	case "33.333333":
		r.earnings = r.earnings / 3
	}
	switch x := rng.IntN(1000); {
	case x < 6: // a refund
		if r.store.download {
			r.quantity = -r.quantity
		} else {
			r.quantity = -1 - int64(rng.IntN(20))
		}
		r.earnings = perUnit * r.quantity
	case x < 16: // a 0/0 row
		r.quantity, r.earnings = 0, 0
	case x < 21: // an adjustment: no units, some money (either sign)
		r.quantity = 0
		r.earnings = int64(rng.IntN(2_000_000_000_000)) - 500_000_000_000
	}
	return r
}

func addMonths(y, m, delta int) (int, int) {
	t := y*12 + (m - 1) + delta
	return t / 12, t%12 + 1
}

// format renders a row into g.line.
func (g *gen) format(r genRow, hdr []string) {
	d := g.opts.Delimiter
	first := true
	sep := func() {
		if !first {
			g.line = append(g.line, d)
		}
		first = false
	}
	for _, h := range hdr {
		sep()
		switch h {
		case "Date Inserted":
			g.fieldBytes(appendDate(g.num[:0], r.inserted))
		case "Reporting Date":
			g.fieldBytes(appendDate(g.num[:0], r.reporting))
		case "Sale Month":
			b := strconv.AppendInt(g.num[:0], int64(r.saleY), 10)
			b = append(b, '-', byte('0'+r.saleM/10), byte('0'+r.saleM%10))
			g.fieldBytes(b)
		case "Store":
			g.field(r.store.name)
		case "Artist":
			g.field(r.track.artist)
		case "Title":
			if r.album {
				g.field(r.track.album)
			} else {
				g.field(r.track.title)
			}
		case "ISRC":
			if r.album {
				g.field("")
			} else {
				g.field(r.track.isrc)
			}
		case "UPC":
			g.field(r.track.upc)
		case "Quantity":
			g.fieldBytes(strconv.AppendInt(g.num[:0], r.quantity, 10))
		case "Team Percentage":
			g.field(r.teamPct)
		case "Source Type", "Song/Album":
			if r.album {
				g.field("Album")
			} else {
				g.field("Song")
			}
		case "Country of Sale":
			g.field(r.country)
		case "Songwriter Royalties Withheld (USD)":
			g.field("0.00000")
		case "Songwriter Royalties Withheld":
			g.field("0")
		case "Earnings (USD)":
			g.fieldBytes(AppendE12(g.num[:0], r.earnings))
		case "Recoup (USD)":
			g.field(r.recoup)
		}
	}
}

func appendDate(b []byte, d [3]int) []byte {
	b = strconv.AppendInt(b, int64(d[0]), 10)
	return append(b, '-', byte('0'+d[1]/10), byte('0'+d[1]%10), '-', byte('0'+d[2]/10), byte('0'+d[2]%10))
}

// AppendE12 appends v (in 1e-12 units) as a decimal with 12 decimals.
func AppendE12(b []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = uint64(-v)
	}
	b = strconv.AppendUint(b, u/1e12, 10)
	b = append(b, '.')
	f := u % 1e12
	var digits [12]byte
	for i := 11; i >= 0; i-- {
		digits[i] = byte('0' + f%10)
		f /= 10
	}
	return append(b, digits[:]...)
}

// FormatE12 formats v (in 1e-12 units) as a decimal with 12 decimals.
func FormatE12(v int64) string { return string(AppendE12(nil, v)) }

func formatE12Parts(whole, frac int64) string {
	neg := whole < 0 || frac < 0
	if whole < 0 {
		whole = -whole
	}
	if frac < 0 {
		frac = -frac
	}
	var b []byte
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, whole, 10)
	b = append(b, '.')
	s := strconv.FormatInt(frac, 10)
	for i := len(s); i < 12; i++ {
		b = append(b, '0')
	}
	return string(append(b, s...))
}

func (g *gen) field(s string)      { appendField(g, s) }
func (g *gen) fieldBytes(v []byte) { appendField(g, v) }

// appendField appends a field with the quoting the options ask for.
func appendField[T string | []byte](g *gen, v T) {
	need := g.opts.Quoted
	if !need {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == g.opts.Delimiter || c == '\n' || c == '\r' || (c == '"' && i == 0) {
				need = true
				break
			}
		}
	}
	if !need {
		g.line = append(g.line, v...)
		return
	}
	g.line = append(g.line, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			g.line = append(g.line, '"')
		}
		g.line = append(g.line, v[i])
	}
	g.line = append(g.line, '"')
}

// endLine encodes the current line with its terminator and writes it.
func (g *gen) endLine(last bool) error {
	if !(last && g.opts.NoFinalNewline) {
		g.line = append(g.line, g.eol...)
	}
	out := g.line
	switch g.opts.Encoding {
	case Latin1:
		g.enc = g.enc[:0]
		for _, r := range string(g.line) {
			if r > 0xFF {
				return fmt.Errorf("exportgen: %q is not representable in latin-1", r)
			}
			g.enc = append(g.enc, byte(r))
		}
		out = g.enc
	case UTF16LE:
		g.enc = g.enc[:0]
		for _, r := range string(g.line) {
			if r >= 0x10000 {
				r -= 0x10000
				hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
				g.enc = append(g.enc, byte(hi), byte(hi>>8), byte(lo), byte(lo>>8))
				continue
			}
			g.enc = append(g.enc, byte(r), byte(r>>8))
		}
		out = g.enc
	}
	g.line = g.line[:0]
	if _, err := g.out.Write(out); err != nil {
		return fmt.Errorf("exportgen: failed to write: %w", err)
	}
	return nil
}
