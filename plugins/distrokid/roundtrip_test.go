package distrokid

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/stretchr/testify/require"
)

// Every generated variant parses back to the generator's exact row count,
// earnings total and quantity total.
func TestRoundTripExportgen(t *testing.T) {
	t.Parallel()
	wantLayout := map[exportgen.Layout]string{
		exportgen.Legacy13: LayoutLegacy13, exportgen.Current15: LayoutCurrent15, exportgen.Hybrid15: LayoutHybrid15,
	}
	wantEnc := map[exportgen.Encoding]string{
		exportgen.UTF8: EncodingUTF8, exportgen.UTF8BOM: EncodingUTF8BOM, exportgen.Latin1: EncodingWindows1252, exportgen.UTF16LE: EncodingUTF16LE,
	}
	seed := uint64(0)
	for _, layout := range []exportgen.Layout{exportgen.Legacy13, exportgen.Current15, exportgen.Hybrid15} {
		for _, enc := range []exportgen.Encoding{exportgen.UTF8, exportgen.UTF8BOM, exportgen.Latin1, exportgen.UTF16LE} {
			for _, eol := range []exportgen.LineEnd{exportgen.LF, exportgen.CRLF, exportgen.CR} {
				for _, delim := range []byte{'\t', ',', ';'} {
					for _, quoted := range []bool{false, true} {
						seed++
						opts := exportgen.Options{Rows: 2500, Layout: layout, Delimiter: delim, Quoted: quoted,
							Encoding: enc, LineEnd: eol, Seed: seed, NoFinalNewline: seed%5 == 0}
						name := fmt.Sprintf("%s-%s-%s-%q-quoted=%v", layout, enc, eol, delim, quoted)
						t.Run(name, func(t *testing.T) {
							t.Parallel()
							var buf bytes.Buffer
							sum, err := exportgen.Write(&buf, opts)
							require.NoError(t, err)
							require.Equal(t, int64(buf.Len()), sum.Bytes)
							require.Equal(t, int64(2500), sum.Rows)
							var rows, earnings, quantity, lastLine int64
							res, err := Parse(context.Background(), bytes.NewReader(buf.Bytes()), ParseOptions{FileName: "gen", BatchRows: 1000},
								func(b *sdk.RecordBatch) error {
									require.NoError(t, b.Validate(EarningsSchema))
									for i := 0; i < b.NumRows; i++ {
										earnings += b.Columns[ColEarningsUSD].Int64s[i]
										quantity += b.Columns[ColQuantity].Int64s[i]
										line := b.Columns[ColSourceLine].Int64s[i]
										require.Equal(t, lastLine+1, line-1, "one physical line per row")
										lastLine = line - 1
									}
									rows += int64(b.NumRows)
									return nil
								})
							require.NoError(t, err)
							require.Empty(t, res.Problems)
							require.Equal(t, sum.Rows, res.Rows)
							require.Equal(t, sum.Rows, rows)
							require.False(t, sum.EarningsOverflow)
							require.Equal(t, sum.EarningsE12, earnings)
							require.Equal(t, sum.Earnings, exportgen.FormatE12(earnings))
							require.Equal(t, sum.Quantity, quantity)
							require.Equal(t, wantLayout[layout], res.Layout)
							require.Equal(t, delim, res.Delimiter)
							require.Equal(t, wantEnc[enc], res.Encoding)
						})
					}
				}
			}
		}
	}
}

// The catalog shapes the data the way the source notes describe.
func TestExportgenRealism(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sum, err := exportgen.Write(&buf, exportgen.Options{Rows: 20000, Seed: 42})
	require.NoError(t, err)
	bytesPerRow := float64(sum.Bytes) / float64(sum.Rows)
	require.InDelta(t, 130, bytesPerRow, 15, "about 130 bytes per row")
	stores, countries, isrcs := map[string]int{}, map[string]int{}, map[string]bool{}
	var negative, zeroZero, zeroQtyMoney, leadingZeroUPC, albums int
	_, err = Parse(context.Background(), &buf, ParseOptions{FileName: "g.tsv"}, func(b *sdk.RecordBatch) error {
		for i := 0; i < b.NumRows; i++ {
			stores[b.Columns[ColStore].String(i)]++
			countries[b.Columns[ColCountryOfSale].String(i)]++
			if !b.Columns[ColISRC].IsNull(i) {
				isrcs[b.Columns[ColISRC].String(i)] = true
			}
			q, e := b.Columns[ColQuantity].Int64s[i], b.Columns[ColEarningsUSD].Int64s[i]
			switch {
			case e < 0:
				negative++
			case q == 0 && e == 0:
				zeroZero++
			case q == 0:
				zeroQtyMoney++
			}
			if upc := b.Columns[ColUPC].String(i); upc[0] == '0' {
				leadingZeroUPC++
			}
			if b.Columns[ColSourceType].String(i) == "Album" {
				albums++
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, stores["Spotify"], stores["Apple Music"])
	require.Contains(t, stores, "Instagram/Facebook")
	require.Contains(t, stores, "TikTok")
	require.Contains(t, countries, "OU")
	require.GreaterOrEqual(t, len(isrcs), 180)
	require.Positive(t, negative)
	require.Positive(t, zeroZero)
	require.Positive(t, zeroQtyMoney)
	require.Positive(t, leadingZeroUPC)
	require.Positive(t, albums)
}

func TestExportgenDeterministic(t *testing.T) {
	t.Parallel()
	gen := func(seed uint64) []byte {
		var buf bytes.Buffer
		_, err := exportgen.Write(&buf, exportgen.Options{Rows: 500, Seed: seed, Layout: exportgen.Legacy13, Encoding: exportgen.Latin1})
		require.NoError(t, err)
		return buf.Bytes()
	}
	require.Equal(t, gen(3), gen(3))
	require.NotEqual(t, gen(3), gen(4))
	_, err := exportgen.Write(&bytes.Buffer{}, exportgen.Options{Rows: 1, Delimiter: '|'})
	require.Error(t, err)
}
