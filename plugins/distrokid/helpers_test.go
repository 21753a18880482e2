package distrokid

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/stretchr/testify/require"
)

// parsed is the outcome of a test parse: rows rendered as text, one string
// per schema column ("NULL" for nulls), plus the result.
type parsed struct {
	rows [][]string
	res  ParseResult
	logs []string
}

// col returns column c of every row.
func (p parsed) col(c int) []string {
	out := make([]string, len(p.rows))
	for i, r := range p.rows {
		out[i] = r[c]
	}
	return out
}

// parseString parses a file held in a string; see parseBytes.
func parseString(t *testing.T, name, data string) parsed {
	t.Helper()
	return parseBytes(t, name, []byte(data), ParseOptions{})
}

// parseBytes parses data three ways (whole, one byte per read, random read
// sizes) and requires the same outcome each time, which exercises every
// buffer boundary of the scanner.
func parseBytes(t *testing.T, name string, data []byte, opts ParseOptions) parsed {
	t.Helper()
	first := parseReader(t, name, bytes.NewReader(data), opts)
	if len(data) <= 64<<10 {
		one := parseReader(t, name, iotest.OneByteReader(bytes.NewReader(data)), opts)
		require.Equal(t, first, one, "one byte per read gives another result")
	}
	rnd := parseReader(t, name, &chunkReader{r: bytes.NewReader(data), rng: rand.New(rand.NewPCG(uint64(len(data)), 7))}, opts)
	require.Equal(t, first, rnd, "random read sizes give another result")
	return first
}

func parseReader(t *testing.T, name string, r io.Reader, opts ParseOptions) parsed {
	t.Helper()
	var out parsed
	opts.FileName = name
	opts.Log = func(level sdk.LogLevel, msg string, keyvals ...any) {
		out.logs = append(out.logs, msg)
	}
	res, err := Parse(context.Background(), r, opts, func(b *sdk.RecordBatch) error {
		require.NoError(t, b.Validate(EarningsSchema))
		require.Equal(t, StreamEarnings, b.Stream)
		out.rows = append(out.rows, renderBatch(b)...)
		return nil
	})
	require.NoError(t, err)
	out.res = res
	return out
}

// chunkReader returns reads of random sizes between 1 and 700 bytes.
type chunkReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := 1 + c.rng.IntN(700)
	if n < len(p) {
		p = p[:n]
	}
	return c.r.Read(p)
}

// renderBatch renders every row of a batch as text.
func renderBatch(b *sdk.RecordBatch) [][]string {
	rows := make([][]string, b.NumRows)
	for i := range rows {
		row := make([]string, len(EarningsSchema.Fields))
		for c, f := range EarningsSchema.Fields {
			col := &b.Columns[c]
			if col.IsNull(i) {
				row[c] = "NULL"
				continue
			}
			switch f.Type {
			case sdk.TypeString:
				row[c] = col.String(i)
			case sdk.TypeDate:
				row[c] = time.Unix(int64(col.Int32s[i])*86400, 0).UTC().Format("2006-01-02")
			case sdk.TypeDecimal:
				row[c] = formatScaled(col.Int64s[i], int(f.Scale))
			default:
				row[c] = itoa(col.Int64s[i])
			}
		}
		rows[i] = row
	}
	return rows
}

// formatScaled renders an unscaled decimal with its scale.
func formatScaled(v int64, scale int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	p := uint64(pow10[scale])
	frac := itoa(int64(u % p))
	s := itoa(int64(u/p)) + "." + strings.Repeat("0", scale-len(frac)) + frac
	if neg {
		return "-" + s
	}
	return s
}

// problemLines returns "line:field" for each problem.
func problemLines(ps []sdk.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = itoa(p.Line) + ":" + p.Field
	}
	return out
}

// tsv joins lines with LF, each field list joined with tabs.
func tsv(lines ...[]string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.Join(l, "\t"))
		b.WriteByte('\n')
	}
	return b.String()
}

var (
	hdr15 = []string{"Date Inserted", "Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
		"Team Percentage", "Source Type", "Country of Sale", "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)"}
)

// row15 builds a 15-column row from a base, with overrides by column name.
func row15(over map[string]string) []string {
	base := map[string]string{
		"Date Inserted": "2026-03-25", "Reporting Date": "2026-03-25", "Sale Month": "2026-01", "Store": "Spotify",
		"Artist": "Mara Ellis", "Title": "Tidewater", "ISRC": "QZWFV2600123", "UPC": "0198880045560", "Quantity": "10234",
		"Team Percentage": "100", "Source Type": "Song", "Country of Sale": "NL",
		"Songwriter Royalties Withheld (USD)": "0.00000", "Earnings (USD)": "31.452187009900", "Recoup (USD)": "",
	}
	out := make([]string, len(hdr15))
	for i, h := range hdr15 {
		v := base[h]
		if o, ok := over[h]; ok {
			v = o
		}
		out[i] = v
	}
	return out
}
