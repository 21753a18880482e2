package distrokid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/stretchr/testify/require"
	xunicode "golang.org/x/text/encoding/unicode"
)

// outcome is everything Parse makes observable: deep copies of the batches
// emitted (so their boundaries count too), the result, the log lines and the
// error.
type outcome struct {
	batches []sdk.RecordBatch
	res     ParseResult
	logs    []string
	err     string
}

func copyBatch(b *sdk.RecordBatch) sdk.RecordBatch {
	c := *b
	c.Columns = make([]sdk.Column, len(b.Columns))
	for i, col := range b.Columns {
		c.Columns[i] = sdk.Column{
			Int64s:  append([]int64(nil), col.Int64s...),
			Int32s:  append([]int32(nil), col.Int32s...),
			Bytes:   append([]byte(nil), col.Bytes...),
			Offsets: append([]uint32(nil), col.Offsets...),
			Null:    append([]bool(nil), col.Null...),
		}
	}
	return c
}

// run parses with opts from a fresh reader; emitFail > 0 makes that emit
// call fail, and cancelled parses under a cancelled context.
func run(t testing.TB, newReader func() io.Reader, opts ParseOptions, emitFail int, cancelled bool) outcome {
	t.Helper()
	var out outcome
	opts.FileName = "x.tsv"
	opts.PayloadID = "payload"
	opts.Log = func(level sdk.LogLevel, msg string, keyvals ...any) {
		out.logs = append(out.logs, fmt.Sprint(level, msg, keyvals))
	}
	ctx := context.Background()
	if cancelled {
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx = c
	}
	res, err := Parse(ctx, newReader(), opts, func(b *sdk.RecordBatch) error {
		if err := b.Validate(EarningsSchema); err != nil {
			t.Errorf("invalid batch: %v", err)
		}
		if emitFail > 0 && len(out.batches)+1 == emitFail {
			return errors.New("emit failed")
		}
		out.batches = append(out.batches, copyBatch(b))
		return nil
	})
	out.res = res
	if err != nil {
		out.err = err.Error()
	}
	return out
}

// requireSameOutcome fails unless got equals want, batch by batch.
func requireSameOutcome(t testing.TB, want, got outcome, what string) {
	t.Helper()
	require.Equal(t, want.err, got.err, "%s: error", what)
	require.Equal(t, want.res, got.res, "%s: result", what)
	require.Equal(t, want.logs, got.logs, "%s: log lines", what)
	require.Equal(t, len(want.batches), len(got.batches), "%s: number of batches", what)
	for i := range want.batches {
		require.Equal(t, want.batches[i], got.batches[i], "%s: batch %d", what, i)
	}
}

// readerKind is one way of feeding a differential test its input.
type readerKind struct {
	name  string
	small bool // only for small inputs
	wrap  func(data []byte) io.Reader
}

// readerKinds are the ways the differential tests feed the input: whole,
// in random small reads (many blocks), and a byte at a time.
var readerKinds = []readerKind{
	{"whole", false, func(data []byte) io.Reader { return bytes.NewReader(data) }},
	{"random", false, func(data []byte) io.Reader {
		return &chunkReader{r: bytes.NewReader(data), rng: rand.New(rand.NewPCG(uint64(len(data)), 11))}
	}},
	{"onebyte", true, func(data []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
}

// tunings shrink the parallel parser's sizes so that small files have many
// chunk and block boundaries, partial lines that are not carried, and
// records a worker leaves to the sequential scanner.
var tunings = []tuning{
	{},
	{chunkBytes: 1, blockBytes: 1},
	{chunkBytes: 7, blockBytes: 64, carryBytes: -1, maxSpan: 40, maxBlocks: 2},
	{chunkBytes: 100, blockBytes: 300, carryBytes: 50, maxSpan: 200},
	{chunkBytes: 333, blockBytes: 1000, carryBytes: 20, maxSpan: 150, maxBlocks: 3},
	{chunkBytes: 2000, blockBytes: 5000, carryBytes: 300},
}

// requireParallelSame parses data sequentially and in parallel with every
// tuning (and 2 to 4 workers), for every reader kind, and requires the same
// outcome. seed varies which worker counts go with which tunings.
//
// Under the race detector, which checks how the workers and the merging
// goroutine share blocks and chunks, the same for every input, a call
// takes one reader kind (by seed); make test runs the whole matrix again
// without it.
func requireParallelSame(t *testing.T, data []byte, opts ParseOptions, seed int) {
	t.Helper()
	kinds := readerKinds
	if len(data) > 32<<10 {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(rk readerKind) bool { return rk.small })
	}
	if raceDetector {
		kinds = kinds[seed%len(kinds):][:1]
	}
	for _, rk := range kinds {
		newReader := func() io.Reader { return rk.wrap(data) }
		seq := opts
		seq.Workers = 1
		want := run(t, newReader, seq, 0, false)
		for i, tu := range tunings {
			par := opts
			par.Workers = 2 + (seed+i)%3
			par.tune = tu
			got := run(t, newReader, par, 0, false)
			requireSameOutcome(t, want, got, fmt.Sprintf("reader %s, %d workers, tuning %+v", rk.name, par.Workers, tu))
		}
	}
}

// Every exportgen variant, clean: layouts, delimiters, quoting, line ends,
// encodings, with and without a final newline.
func TestParallelSameAsSequentialExportgen(t *testing.T) {
	t.Parallel()
	seed := 0
	for _, layout := range []exportgen.Layout{exportgen.Legacy13, exportgen.Current15, exportgen.Hybrid15} {
		for _, enc := range []exportgen.Encoding{exportgen.UTF8, exportgen.UTF8BOM, exportgen.Latin1, exportgen.UTF16LE} {
			for _, eol := range []exportgen.LineEnd{exportgen.LF, exportgen.CRLF, exportgen.CR} {
				for _, delim := range []byte{'\t', ',', ';'} {
					for _, quoted := range []bool{false, true} {
						seed++
						opts := exportgen.Options{Rows: 60 + seed%150, Layout: layout, Delimiter: delim, Quoted: quoted,
							Encoding: enc, LineEnd: eol, Seed: uint64(seed), NoFinalNewline: seed%4 == 0}
						var buf bytes.Buffer
						_, err := exportgen.Write(&buf, opts)
						require.NoError(t, err)
						name := fmt.Sprintf("%s-%s-%s-%q-quoted=%v", layout, enc, eol, delim, quoted)
						seed := seed
						t.Run(name, func(t *testing.T) {
							t.Parallel()
							requireParallelSame(t, buf.Bytes(), ParseOptions{BatchRows: 1 + seed%50}, seed)
						})
					}
				}
			}
		}
	}
}

// weirdOptions says what weirdFile writes.
type weirdOptions struct {
	rows     int
	delim    byte
	quoteAll bool
	eol      string // "\n", "\r\n", "\r", or "" for a mix
	encoding string // "utf8", "bom", "utf16le", "utf16be"
	header   int    // 0 current, 1 hybrid, 2 legacy, 3 current with an extra column, 4 with a trailing empty column
	sep      bool   // an Excel "sep=" first line
	weird    int    // 1 in weird rows has a tokenizer oddity (0: none)
	bad      int    // 1 in bad rows has a bad value (0: none)
	repairs  bool
	final    bool // a line end after the last row
	blank    bool // blank lines here and there
}

var weirdHeaders = [][]string{
	hdr15,
	{"Date Inserted", "Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Song/Album", "Country of Sale", "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)"},
	{"Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Song/Album", "Country of Sale", "Songwriter Royalties Withheld", "Earnings (USD)"},
	{"Date Inserted", "Reporting Date", "Sale Month", "Store", "Artist", "Exchange Rate (USD)", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Source Type", "Country of Sale", "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)"},
	append(append([]string(nil), hdr15...), ""),
}

// weirdFile writes an export full of what makes record splitting hard:
// quoted fields with delimiters, doubled quotes and line breaks (of every
// kind), stray quotes, quoted fields that turn out unclosed on their line
// (after line breaks, even), lone quotes that open a field spanning many
// lines, windows-1252 bytes in UTF-8, blank lines, bad values and repairs.
func weirdFile(rng *rand.Rand, o weirdOptions) []byte {
	var b strings.Builder
	eol := func() string {
		if o.eol != "" {
			return o.eol
		}
		return []string{"\n", "\r\n", "\r"}[rng.IntN(3)]
	}
	anyEOL := func() string { return []string{"\n", "\r\n", "\r"}[rng.IntN(3)] }
	d := string(o.delim)
	field := func(v string) string {
		if o.quoteAll || strings.ContainsAny(v, d+"\r\n") || strings.HasPrefix(v, `"`) {
			return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		return v
	}
	if o.sep {
		b.WriteString("sep=" + d + eol())
	}
	hdr := weirdHeaders[o.header]
	for i, h := range hdr {
		if i > 0 {
			b.WriteString(d)
		}
		b.WriteString(field(h))
	}
	b.WriteString(eol())
	for r := 0; r < o.rows; r++ {
		if o.blank && rng.IntN(15) == 0 {
			b.WriteString([]string{"", "  ", d + d, " " + d}[rng.IntN(4)] + eol())
		}
		vals := map[string]string{
			"Date Inserted": "2026-03-25", "Reporting Date": "2026-03-2" + string(rune('0'+rng.IntN(10))), "Sale Month": "2026-0" + string(rune('1'+rng.IntN(9))),
			"Store": []string{"Spotify", "Apple Music", "TikTok", "iTunes"}[rng.IntN(4)], "Artist": "Mara Ellis", "Title": "Tidewater",
			"ISRC": "QZWFV2600123", "UPC": "0198880045560", "Quantity": fmt.Sprint(rng.IntN(20000) - 10), "Team Percentage": "100",
			"Source Type": "Song", "Song/Album": "Song", "Country of Sale": "NL", "Songwriter Royalties Withheld (USD)": "0.00000",
			"Songwriter Royalties Withheld": "0", "Earnings (USD)": fmt.Sprintf("%d.%012d", rng.IntN(100), rng.IntN(1e12)),
			"Recoup (USD)": "", "Exchange Rate (USD)": "1.08", "": "",
		}
		raw := map[string]string{} // written as is, whatever the quoting
		if o.repairs && rng.IntN(10) == 0 {
			switch rng.IntN(4) {
			case 0:
				vals["Sale Month"] = "Jan-26"
			case 1:
				vals["Reporting Date"] = "25.03.2026"
			case 2:
				vals["Quantity"] = "9,608"
			case 3:
				vals["Earnings (USD)"] = "0,5"
			}
		}
		if o.bad > 0 && rng.IntN(o.bad) == 0 {
			switch rng.IntN(4) {
			case 0:
				vals["Quantity"] = "abc"
			case 1:
				vals["Sale Month"] = "2026-13"
			case 2:
				vals["UPC"] = "1.9888E+11"
			case 3:
				vals["Earnings (USD)"] = ""
			}
		}
		if o.weird > 0 && rng.IntN(o.weird) == 0 {
			switch rng.IntN(14) {
			case 0:
				vals["Title"] = "Line one" + anyEOL() + "line two"
			case 1:
				vals["Title"] = "a" + d + "b" + anyEOL() + anyEOL() + `c "d"`
			case 2:
				vals["Title"] = `"Heroes"`
			case 3:
				raw["Title"] = `12" Mix`
			case 4:
				raw["Title"] = `"Weird Al" Tribute`
			case 5:
				raw["Title"] = `"abc` + anyEOL() + `def" x`
			case 6:
				raw["Title"] = `"` // opens a quoted field that may run over many lines
			case 7:
				raw["Artist"] = "S\xf8ren Kj\xe6r" // windows-1252 in a UTF-8 file
			case 8:
				vals["Artist"] = "Ørjan Ødegård"
			case 9:
				raw["Title"] = `"a""b"`
			case 10:
				raw["Title"] = `""`
			case 11:
				raw["Title"] = `"open ` + d + ` and` + anyEOL() + `more` + anyEOL()
			case 12:
				vals["Title"] = strings.Repeat("long title ", 20+rng.IntN(60))
			case 13:
				raw["Title"] = `x"` + anyEOL() + `"y`
			}
		}
		n := len(hdr)
		if o.bad > 0 && rng.IntN(o.bad*3) == 0 {
			n-- // a field too few
		}
		for i, h := range hdr[:n] {
			if i > 0 {
				b.WriteString(d)
			}
			if v, ok := raw[h]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(field(vals[h]))
			}
		}
		if r < o.rows-1 || o.final {
			b.WriteString(eol())
		}
	}
	if o.blank && o.final {
		b.WriteString(eol() + eol())
	}
	s := b.String()
	switch o.encoding {
	case "bom":
		return append([]byte{0xEF, 0xBB, 0xBF}, s...)
	case "utf16le", "utf16be":
		e := xunicode.LittleEndian
		if o.encoding == "utf16be" {
			e = xunicode.BigEndian
		}
		out, err := xunicode.UTF16(e, xunicode.UseBOM).NewEncoder().Bytes([]byte(s))
		if err != nil {
			panic(err)
		}
		return out
	}
	return []byte(s)
}

func randomWeirdOptions(rng *rand.Rand, rows int) weirdOptions {
	o := weirdOptions{
		rows:     rows,
		delim:    []byte{'\t', ',', ';'}[rng.IntN(3)],
		quoteAll: rng.IntN(2) == 0,
		eol:      []string{"\n", "\r\n", "\r", ""}[rng.IntN(4)],
		encoding: []string{"utf8", "utf8", "utf8", "bom", "utf16le", "utf16be"}[rng.IntN(6)],
		header:   rng.IntN(len(weirdHeaders)),
		sep:      rng.IntN(8) == 0,
		weird:    []int{0, 3, 10, 40}[rng.IntN(4)],
		repairs:  rng.IntN(2) == 0,
		final:    rng.IntN(4) != 0,
		blank:    rng.IntN(2) == 0,
	}
	if rng.IntN(3) == 0 {
		o.bad = []int{2, 20, 200}[rng.IntN(3)]
	}
	return o
}

// Files with every tokenizer oddity, bad rows (more than MaxProblems in
// some) and repairs parse the same in parallel.
func TestParallelSameAsSequentialWeird(t *testing.T) {
	t.Parallel()
	n := 160
	if testing.Short() {
		n = 40
	}
	for seed := 0; seed < n; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 3))
		o := randomWeirdOptions(rng, 20+rng.IntN(200))
		data := weirdFile(rng, o)
		opts := ParseOptions{BatchRows: 1 + rng.IntN(40), MaxProblems: []int{0, 3, 7}[rng.IntN(3)]}
		t.Run(fmt.Sprintf("%d", seed), func(t *testing.T) {
			t.Parallel()
			requireParallelSame(t, data, opts, seed)
		})
	}
}

// Tiny files and files around the header: empty, a BOM only, a header
// only, a header and one row without a line end, a \r\n split after the
// header, blank lines only.
func TestParallelSameAsSequentialTiny(t *testing.T) {
	t.Parallel()
	h := strings.Join(hdr15, "\t")
	r := strings.Join(row15(nil), "\t")
	files := []string{
		"", "\xEF\xBB\xBF", "\n\n\r\n", h, h + "\n", h + "\r", h + "\r\n", h + "\n" + r, h + "\r" + r + "\r",
		h + "\r\n" + r + "\r\n" + r, h + "\n\n\n" + r + "\n\n", "\n\n" + h + "\n" + r + "\n", "sep=\t\n" + h + "\n" + r + "\n",
		h + "\n\"", h + "\n\"\n\n", h + "\n" + r + "\n\"" + r, h + "\r\n" + r + "\r", "Sale Month\tEarnings (USD)\n2026-01\t1.5\n",
		h + "\n" + strings.Replace(r, "Tidewater", "\"a\nb\"", 1) + "\n",
	}
	for i, f := range files {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			requireParallelSame(t, []byte(f), ParseOptions{BatchRows: 2}, i)
		})
	}
}

// The header's \r\n split by the end of the header scanner's first read
// (the 512 bytes the encoding was sniffed from, 509 after a BOM).
func TestParallelSameAsSequentialHeaderAtReadEnd(t *testing.T) {
	t.Parallel()
	base := strings.Join(hdr15, "\t") + "\tExtra "
	row := strings.Join(row15(nil), "\t") + "\tx"
	for _, bom := range []string{"", "\xEF\xBB\xBF"} {
		for end := 508; end <= 513; end++ {
			// The header's \r is at byte end of the file.
			h := base + strings.Repeat("y", end-len(bom)-len(base))
			data := []byte(bom + h + "\r\n" + row + "\r\n" + row + "\r\n")
			require.Equal(t, byte('\r'), data[end])
			t.Run(fmt.Sprint(len(bom), end), func(t *testing.T) {
				requireParallelSame(t, data, ParseOptions{}, end)
			})
		}
	}
}

// Larger files, with real-size chunks and blocks: several blocks of clean
// rows, and of rows with multi-line fields and oddities.
func TestParallelSameAsSequentialLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	t.Parallel()
	var buf bytes.Buffer
	_, err := exportgen.Write(&buf, exportgen.Options{Rows: 40_000, Seed: 5, Quoted: true, LineEnd: exportgen.CR})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(9, 9))
	weird := weirdFile(rng, weirdOptions{rows: 30_000, delim: ',', eol: "\r\n", weird: 5, repairs: true, final: true, blank: true})
	for i, data := range [][]byte{buf.Bytes(), weird} {
		newReader := func() io.Reader { return bytes.NewReader(data) }
		want := run(t, newReader, ParseOptions{Workers: 1}, 0, false)
		for _, tu := range []tuning{{}, {chunkBytes: 10 << 10, blockBytes: 64 << 10, carryBytes: 100, maxSpan: 300}} {
			for _, w := range []int{2, 4} {
				got := run(t, newReader, ParseOptions{Workers: w, tune: tu}, 0, false)
				requireSameOutcome(t, want, got, fmt.Sprintf("file %d, %d workers, %+v", i, w, tu))
			}
		}
	}
}

// A quoted field that runs for more than a megabyte: the sequential scanner
// caps the record in progress, which depends on where its reads ended. The
// parallel parser must cap it at the same place.
func TestParallelSameAsSequentialOverlongRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	t.Parallel()
	h := strings.Join(hdr15, "\t")
	r := strings.Join(row15(nil), "\t")
	rows := strings.Repeat(r+"\n", 9000) // about 1.1 MB
	files := map[string]string{
		"never closed":        h + "\n" + r + "\n" + strings.Replace(r, "Tidewater", "\"Tide", 1) + "\n" + rows + rows,
		"closed after 1.1MB":  h + "\n" + strings.Replace(r, "Tidewater", "\"Tide", 1) + "\n" + rows + "x\"\t1\n" + rows,
		"closed after 0.8MB":  h + "\n" + strings.Replace(r, "Tidewater", "\"Tide", 1) + "\n" + rows[:800_000] + "\"\n" + rows,
		"stray after 1.1MB":   h + "\n" + strings.Replace(r, "Tidewater", "\"Tide", 1) + "\n" + rows + "x\" y\n" + rows,
		"one long line":       h + "\n" + r + "\n" + strings.Repeat("x", 1_500_000) + "\n" + rows,
		"long quoted line":    h + "\n" + r + "\n\"" + strings.Repeat("x", 1_200_000) + "\"\t" + r + "\n" + rows,
		"many lines, noMulti": h + "\n\"\n" + rows + rows + "\"\ta\n" + rows,
		// After the cap, quoted fields may no longer span lines.
		"multi-line after cap":       h + "\n\"\n" + rows + rows + strings.Repeat(strings.Replace(r, "Tidewater", "\"a\nb\"", 1)+"\n"+r+"\n", 3000),
		"multi-line right after cap": h + "\n\"\n" + rows + strings.Repeat(strings.Replace(r, "Tidewater", "\"a\nb\"", 1)+"\n", 9000),
	}
	// Reads of random sizes up to 128 KiB: the sequential scanner tokenizes
	// a record in progress again after each read, so small reads would take
	// long on these records.
	readers := map[string]func(data []byte) io.Reader{
		"whole": func(data []byte) io.Reader { return bytes.NewReader(data) },
		"random": func(data []byte) io.Reader {
			return &sizedReader{r: bytes.NewReader(data), rng: rand.New(rand.NewPCG(uint64(len(data)), 5)), max: 128 << 10}
		},
	}
	for name, f := range files {
		data := []byte(f)
		for rname, wrap := range readers {
			newReader := func() io.Reader { return wrap(data) }
			// Problems are not capped: each record counts.
			want := run(t, newReader, ParseOptions{Workers: 1, MaxProblems: 1 << 20}, 0, false)
			for _, tu := range []tuning{{}, {chunkBytes: 50 << 10, blockBytes: 100 << 10, carryBytes: 1000}} {
				got := run(t, newReader, ParseOptions{Workers: 2, MaxProblems: 1 << 20, tune: tu}, 0, false)
				requireSameOutcome(t, want, got, fmt.Sprintf("%s, reader %s, %+v", name, rname, tu))
			}
		}
	}
}

// sizedReader returns reads of random sizes between 1 and max bytes.
type sizedReader struct {
	r   io.Reader
	rng *rand.Rand
	max int
}

func (c *sizedReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), 1+c.rng.IntN(c.max))])
}

// failingReader returns its data in reads of at most step bytes, then err
// (with the last bytes, or alone).
type failingReader struct {
	data     []byte
	step     int
	err      error
	withData bool
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p[:min(len(p), r.step)], r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 && r.withData {
		return n, r.err
	}
	return n, nil
}

// A failing read, a failing emit and a cancelled context end the parse with
// the same error, the same batches before it and the same partial result.
func TestParallelSameErrors(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	_, err := exportgen.Write(&buf, exportgen.Options{Rows: 3000, Seed: 2})
	require.NoError(t, err)
	data := buf.Bytes()
	rng := rand.New(rand.NewPCG(4, 4))
	bad := weirdFile(rng, weirdOptions{rows: 1000, delim: '\t', eol: "\n", bad: 300, weird: 20, final: true})
	for _, tu := range tunings {
		for _, cut := range []int{0, 1, 100, len(data) / 3, len(data) - 1} {
			for _, withData := range []bool{false, true} {
				newReader := func() io.Reader {
					return &failingReader{data: data[:cut], step: 997, err: errors.New("disk on fire"), withData: withData}
				}
				want := run(t, newReader, ParseOptions{Workers: 1, BatchRows: 100}, 0, false)
				require.Contains(t, want.err, "disk on fire")
				got := run(t, newReader, ParseOptions{Workers: 3, BatchRows: 100, tune: tu}, 0, false)
				requireSameOutcome(t, want, got, fmt.Sprintf("read error at %d (with data %v), %+v", cut, withData, tu))
			}
		}
		for _, file := range [][]byte{data, bad} {
			newReader := func() io.Reader { return bytes.NewReader(file) }
			for _, fail := range []int{1, 2, 7} {
				want := run(t, newReader, ParseOptions{Workers: 1, BatchRows: 100}, fail, false)
				got := run(t, newReader, ParseOptions{Workers: 2, BatchRows: 100, tune: tu}, fail, false)
				requireSameOutcome(t, want, got, fmt.Sprintf("emit %d fails, %+v", fail, tu))
			}
			want := run(t, newReader, ParseOptions{Workers: 1, BatchRows: 100}, 0, true)
			got := run(t, newReader, ParseOptions{Workers: 4, BatchRows: 100, tune: tu}, 0, true)
			requireSameOutcome(t, want, got, fmt.Sprintf("cancelled, %+v", tu))
		}
	}
}

// Whether a record is UTF-8 depends on its own bytes only, not on the
// windows-1252 record after it: a pure windows-1252 file is not "mixed"
// however the reads fall.
func TestParseEncodingIgnoresNextRecord(t *testing.T) {
	t.Parallel()
	h := []string{"Store", "Date Inserted", "Reporting Date", "Sale Month", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Source Type", "Country of Sale", "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)"}
	row := func(store string) []string {
		return []string{store, "2026-03-25", "2026-03-25", "2026-01", "A", "T", "QZWFV2600123", "0198880045560", "1", "100", "Song", "NL", "0", "1.5", ""}
	}
	// With "Spotify" quoted, the other fields of its record are not
	// tokenized by fastRecord but one by one (scanUnquoted).
	for _, ascii := range []string{"Spotify", `"Spotify"`} {
		lines := [][]string{h}
		for i := 0; i < 40; i++ {
			lines = append(lines, row(ascii), row("\xe9Store"))
		}
		data := []byte(tsv(lines...))
		for _, w := range []int{1, 2} {
			p := parseBytes(t, "x.tsv", data, ParseOptions{Workers: w})
			require.Equal(t, EncodingWindows1252, p.res.Encoding, ascii)
			require.Equal(t, "éStore", p.rows[1][ColStore])
		}
	}
}

// The parallel parser does parse in parallel: a clean file is parsed by the
// workers alone, and one with multi-line fields mostly so. (A miscounted
// line would not change the outcome, only send everything after it to the
// sequential scanner.)
func TestParallelUsesWorkers(t *testing.T) {
	t.Parallel()
	const rows = 20_000
	var buf bytes.Buffer
	_, err := exportgen.Write(&buf, exportgen.Options{Rows: rows, Seed: 5, Quoted: true, LineEnd: exportgen.CRLF})
	require.NoError(t, err)
	clean := buf.Bytes()
	rng := rand.New(rand.NewPCG(9, 9))
	weird := weirdFile(rng, weirdOptions{rows: rows, delim: ',', eol: "\r\n", weird: 50, final: true})
	for _, c := range []struct {
		name  string
		data  []byte
		tune  tuning
		check func(st parallelStats) bool
	}{
		{"clean", clean, tuning{chunkBytes: 16 << 10}, func(st parallelStats) bool {
			return st.chunks > 100 && st.merged == st.chunks && st.replays == 0
		}},
		// Partial lines are not carried: the sequential scanner parses the
		// line across each block boundary, then hands back to the workers.
		{"clean, no carry", clean, tuning{chunkBytes: 16 << 10, blockBytes: 4 << 10, carryBytes: -1}, func(st parallelStats) bool {
			return st.blocks > 500 && st.merged > st.chunks*9/10 && st.replayed < st.blocks+10
		}},
		{"multi-line fields", weird, tuning{chunkBytes: 16 << 10}, func(st parallelStats) bool {
			return st.chunks > 100 && st.merged > st.chunks*3/4 && st.replayed < rows/10
		}},
	} {
		var st parallelStats
		c.tune.stats = &st
		data := c.data
		newReader := func() io.Reader {
			return &chunkReader{r: bytes.NewReader(data), rng: rand.New(rand.NewPCG(1, 2))}
		}
		want := run(t, newReader, ParseOptions{Workers: 1}, 0, false)
		got := run(t, newReader, ParseOptions{Workers: 2, tune: c.tune}, 0, false)
		requireSameOutcome(t, want, got, c.name)
		require.True(t, c.check(st), "%s: %+v", c.name, st)
	}
}
