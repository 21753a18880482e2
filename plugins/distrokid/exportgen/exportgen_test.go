package exportgen

import (
	"bytes"
	"encoding/csv"
	"io"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

// An independent reader (encoding/csv and math/big) agrees with Summary.
func TestWriteSummaryMatchesIndependentReader(t *testing.T) {
	t.Parallel()
	for _, layout := range []Layout{Legacy13, Current15, Hybrid15} {
		for _, quoted := range []bool{false, true} {
			var buf bytes.Buffer
			sum, err := Write(&buf, Options{Rows: 5000, Layout: layout, Quoted: quoted, Delimiter: ',', LineEnd: CRLF, Seed: 11})
			require.NoError(t, err)
			r := csv.NewReader(&buf)
			r.LazyQuotes = true
			recs, err := r.ReadAll()
			require.NoError(t, err)
			require.Equal(t, headers[layout], recs[0])
			earn := -1
			for i, h := range recs[0] {
				if h == "Earnings (USD)" {
					earn = i
				}
			}
			total := new(big.Rat)
			for _, rec := range recs[1:] {
				require.Len(t, rec, len(headers[layout]))
				v, ok := new(big.Rat).SetString(rec[earn])
				require.True(t, ok, rec[earn])
				require.Len(t, rec[earn][strings.IndexByte(rec[earn], '.')+1:], 12, "12 decimals")
				total.Add(total, v)
			}
			require.Equal(t, int64(len(recs)-1), sum.Rows)
			require.Equal(t, total.FloatString(12), sum.Earnings)
			require.False(t, sum.EarningsOverflow)
			require.Equal(t, sum.Earnings, FormatE12(sum.EarningsE12))
		}
	}
}

func TestWriteEncodings(t *testing.T) {
	t.Parallel()
	gen := func(o Options) []byte {
		var buf bytes.Buffer
		_, err := Write(&buf, o)
		require.NoError(t, err)
		return buf.Bytes()
	}
	utf := gen(Options{Rows: 300, Seed: 1})
	require.True(t, bytes.HasPrefix(gen(Options{Rows: 300, Seed: 1, Encoding: UTF8BOM}), []byte{0xEF, 0xBB, 0xBF}))
	require.True(t, bytes.HasPrefix(gen(Options{Rows: 3, Encoding: UTF16LE}), []byte{0xFF, 0xFE, 'D', 0}))
	lat := gen(Options{Rows: 300, Seed: 1, Encoding: Latin1})
	dec, err := charmap.ISO8859_1.NewDecoder().Bytes(lat)
	require.NoError(t, err)
	require.Contains(t, string(dec), "ø", "latin-1 output still has accented names")
	require.NotContains(t, string(utf), "\r")
	require.Equal(t, 0, bytes.Count(gen(Options{Rows: 50, LineEnd: CR}), []byte("\n")))
	require.Equal(t, 51, bytes.Count(gen(Options{Rows: 50, LineEnd: CRLF}), []byte("\r\n")))
	require.False(t, bytes.HasSuffix(gen(Options{Rows: 5, NoFinalNewline: true}), []byte("\n")))
	require.Equal(t, 1, bytes.Count(gen(Options{Rows: 0}), []byte("\n")), "header only")
}

func TestWriteRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{{Layout: "x"}, {Delimiter: '|'}, {Encoding: "ebcdic"}, {LineEnd: "nel"}} {
		_, err := Write(io.Discard, o)
		require.Error(t, err)
	}
}

func TestFormatE12(t *testing.T) {
	t.Parallel()
	require.Equal(t, "0.000000000001", FormatE12(1))
	require.Equal(t, "-0.690000000000", FormatE12(-690_000_000_000))
	require.Equal(t, "31.452187009900", FormatE12(31_452_187_009_900))
	require.Equal(t, "-1.000000000001", formatE12Parts(-1, -1))
}

// BenchmarkWrite measures generation speed (a 5M-row benchmark file is
// about 650 MB).
func BenchmarkWrite(b *testing.B) {
	b.ReportAllocs()
	var n int64
	for i := 0; i < b.N; i++ {
		sum, err := Write(io.Discard, Options{Rows: 100_000, Seed: uint64(i)})
		require.NoError(b, err)
		n = sum.Bytes
	}
	b.SetBytes(n)
}
