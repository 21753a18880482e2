package distrokid

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
)

// The 2025 sample of the source notes (§1.6), a quoted CSV.
const sampleCurrent15 = `"Date Inserted","Reporting Date","Sale Month","Store","Artist","Title","ISRC","UPC","Quantity","Team Percentage","Source Type","Country of Sale","Songwriter Royalties Withheld (USD)","Earnings (USD)","Recoup (USD)"
"2026-03-25","2026-03-25","2026-01","Spotify","Mara Ellis","Tidewater","QZWFV2600123","0198880045560","10234","100","Song","NL","0.00000","31.452187009900",""
"2026-03-25","2026-03-25","2025-12","Instagram/Facebook","Mara Ellis","Tidewater","QZWFV2600123","0198880045560","9608","100","Song","OU","0.00000","0.102135011213",""
"2026-03-25","2026-03-25","2026-01","iTunes","Mara Ellis","Low Tide EP","","0198880045577","-1","100","Album","US","0.00000","-0.690000000000",""
"2026-03-25","2026-03-25","2025-11","TikTok","Ørjan Ødegård","Þögn (fyrir ömmu)","QZWFV2600124","0198880045560","48211","50","Song","BR","0.00000","0.964220000000",""
`

// The legacy sample of the source notes (§1.6), as a latin-1 TSV with
// CR-only line ends.
const sampleLegacy13 = "Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)\r" +
	"2024-03-05\t2024-01\tTidal\tosker wyld\ttólfta (fyrir ömmu)\tQZES51700003\t0190295000000\t27\t100\tSong\tMY\t0\t0.121330264483\r" +
	"2024-03-05\t2023-12\tiTunes Match\tosker wyld\tfyrir Olivia\tQZES51700004\t0190295000000\t1\t100\tSong\tTW\t0\t0.000313712922\r"

func latin1(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func utf16(t *testing.T, s string, e xunicode.Endianness, bom xunicode.BOMPolicy) []byte {
	t.Helper()
	b, err := xunicode.UTF16(e, bom).NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func TestParseCurrent15QuotedSample(t *testing.T) {
	t.Parallel()
	p := parseString(t, "sample.csv", sampleCurrent15)
	require.Empty(t, p.res.Problems)
	require.Equal(t, LayoutCurrent15, p.res.Layout)
	require.Equal(t, byte(','), p.res.Delimiter)
	require.Equal(t, EncodingUTF8, p.res.Encoding)
	require.Equal(t, int64(4), p.res.Rows)
	require.Equal(t, [][]string{
		{"2026-03-25", "2026-03-25", "2026-01-01", "Spotify", "Mara Ellis", "Tidewater", "QZWFV2600123", "0198880045560", "10234", "100.000000", "Song", "NL", "0.000000000000", "31.452187009900", "NULL", "NULL", "sample.csv", "2"},
		{"2026-03-25", "2026-03-25", "2025-12-01", "Instagram/Facebook", "Mara Ellis", "Tidewater", "QZWFV2600123", "0198880045560", "9608", "100.000000", "Song", "OU", "0.000000000000", "0.102135011213", "NULL", "NULL", "sample.csv", "3"},
		{"2026-03-25", "2026-03-25", "2026-01-01", "iTunes", "Mara Ellis", "Low Tide EP", "NULL", "0198880045577", "-1", "100.000000", "Album", "US", "0.000000000000", "-0.690000000000", "NULL", "NULL", "sample.csv", "4"},
		{"2026-03-25", "2026-03-25", "2025-11-01", "TikTok", "Ørjan Ødegård", "Þögn (fyrir ömmu)", "QZWFV2600124", "0198880045560", "48211", "50.000000", "Song", "BR", "0.000000000000", "0.964220000000", "NULL", "NULL", "sample.csv", "5"},
	}, p.rows)
}

func TestParseLegacy13Latin1CROnly(t *testing.T) {
	t.Parallel()
	p := parseBytes(t, "DistroKid_legacy.tsv", latin1(t, sampleLegacy13), ParseOptions{})
	require.Empty(t, p.res.Problems)
	require.Equal(t, LayoutLegacy13, p.res.Layout)
	require.Equal(t, byte('\t'), p.res.Delimiter)
	require.Equal(t, [][]string{
		{"NULL", "2024-03-05", "2024-01-01", "Tidal", "osker wyld", "tólfta (fyrir ömmu)", "QZES51700003", "0190295000000", "27", "100.000000", "Song", "MY", "0.000000000000", "0.121330264483", "NULL", "NULL", "DistroKid_legacy.tsv", "2"},
		{"NULL", "2024-03-05", "2023-12-01", "iTunes Match", "osker wyld", "fyrir Olivia", "QZES51700004", "0190295000000", "1", "100.000000", "Song", "TW", "0.000000000000", "0.000313712922", "NULL", "NULL", "DistroKid_legacy.tsv", "3"},
	}, p.rows)
}

func TestParseHybrid15(t *testing.T) {
	t.Parallel()
	h := append([]string(nil), hdr15...)
	h[10] = "Song/Album"
	p := parseString(t, "hybrid.tsv", tsv(h, row15(map[string]string{"Source Type": "Album", "ISRC": ""})))
	require.Empty(t, p.res.Problems)
	require.Equal(t, LayoutHybrid15, p.res.Layout)
	require.Equal(t, []string{"Album"}, p.col(ColSourceType))
	require.Equal(t, []string{"NULL"}, p.col(ColISRC))
}

// The same rows must come out whatever the delimiter, line end and encoding.
func TestParseDelimitersLineEndsEncodings(t *testing.T) {
	t.Parallel()
	rows := [][]string{hdr15,
		row15(map[string]string{"Artist": "Ørjan Ødegård", "Title": "Þögn (fyrir ömmu)"}),
		row15(map[string]string{"Store": "iTunes", "Quantity": "-1", "Earnings (USD)": "-0.690000000000", "Recoup (USD)": "0.5"}),
		row15(map[string]string{"Title": "Café Señor", "Country of Sale": "OU", "Quantity": "0", "Earnings (USD)": "0.000000000000"}),
	}
	want := parseString(t, "x", tsv(rows...)).rows
	require.Len(t, want, 3)
	type enc struct {
		name   string
		encode func(string) []byte
		want   string
	}
	encs := []enc{
		{"utf8", func(s string) []byte { return []byte(s) }, EncodingUTF8},
		{"utf8bom", func(s string) []byte { return append([]byte{0xEF, 0xBB, 0xBF}, s...) }, EncodingUTF8BOM},
		{"latin1", func(s string) []byte { return latin1(t, s) }, EncodingWindows1252},
		{"utf16le", func(s string) []byte { return utf16(t, s, xunicode.LittleEndian, xunicode.UseBOM) }, EncodingUTF16LE},
		{"utf16be", func(s string) []byte { return utf16(t, s, xunicode.BigEndian, xunicode.UseBOM) }, EncodingUTF16BE},
		{"utf16le-nobom", func(s string) []byte { return utf16(t, s, xunicode.LittleEndian, xunicode.IgnoreBOM) }, EncodingUTF16LE},
	}
	for _, delim := range []string{"\t", ",", ";"} {
		for _, eol := range []string{"\n", "\r\n", "\r"} {
			for _, quoted := range []bool{false, true} {
				var b strings.Builder
				for _, r := range rows {
					for i, f := range r {
						if i > 0 {
							b.WriteString(delim)
						}
						if quoted {
							f = `"` + f + `"`
						}
						b.WriteString(f)
					}
					b.WriteString(eol)
				}
				for _, e := range encs {
					name := strings.NewReplacer("\t", "tab", "\r", "CR", "\n", "LF").Replace(delim+"-"+eol) + "-" + e.name
					if quoted {
						name += "-quoted"
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						p := parseBytes(t, "x", e.encode(b.String()), ParseOptions{})
						require.Empty(t, p.res.Problems)
						require.Equal(t, want, p.rows)
						require.Equal(t, delim[0], p.res.Delimiter)
						require.Equal(t, e.want, p.res.Encoding)
					})
				}
			}
		}
	}
}

func TestParseMixedEncodingPerLine(t *testing.T) {
	t.Parallel()
	data := []byte(tsv(hdr15, row15(map[string]string{"Artist": "Ørjan Ødegård"})))
	data = append(data, latin1(t, tsv(row15(map[string]string{"Artist": "Søren Kjær"})))...)
	p := parseBytes(t, "mixed.tsv", data, ParseOptions{})
	require.Empty(t, p.res.Problems)
	require.Equal(t, []string{"Ørjan Ødegård", "Søren Kjær"}, p.col(ColArtist))
	require.Equal(t, EncodingMixed, p.res.Encoding)
}

func TestParseWindows1252Specials(t *testing.T) {
	t.Parallel()
	// 0x80 is € and 0x93/0x94 are curly quotes in windows-1252 (not latin-1).
	data := []byte(tsv(hdr15, row15(map[string]string{"Title": "X"})))
	data = bytes.Replace(data, []byte("\tX\t"), []byte("\t\x93Euro \x80\x94\t"), 1)
	p := parseBytes(t, "cp.tsv", data, ParseOptions{})
	require.Empty(t, p.res.Problems)
	require.Equal(t, []string{"“Euro €”"}, p.col(ColTitle))
}

func TestParseQuoting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		delim     string
		title     string // the Title field as written
		want      string
		wantLines []string // source_line of the two rows
	}{
		{"embedded comma", ",", `"Salt, Sea & Sky"`, "Salt, Sea & Sky", []string{"2", "3"}},
		{"embedded tab", "\t", "\"Salt\tSea\"", "Salt\tSea", []string{"2", "3"}},
		{"embedded semicolon", ";", `"Salt; Sea"`, "Salt; Sea", []string{"2", "3"}},
		{"doubled quotes", "\t", `"Tidewater (12"" Mix)"`, `Tidewater (12" Mix)`, []string{"2", "3"}},
		{"only doubled quotes", ",", `""""`, `"`, []string{"2", "3"}},
		{"embedded LF", ",", "\"Line one\nLine two\"", "Line one\nLine two", []string{"2", "4"}},
		{"embedded CRLF", ",", "\"Line one\r\nLine two\"", "Line one\r\nLine two", []string{"2", "4"}},
		{"embedded CR", ",", "\"a\rb\rc\"", "a\rb\rc", []string{"2", "5"}},
		{"stray quote in unquoted field", "\t", `Tidewater (12" Mix)`, `Tidewater (12" Mix)`, []string{"2", "3"}},
		{"stray quote in quoted field", ",", `"Tidewater (12" Mix)"`, `Tidewater (12" Mix)`, []string{"2", "3"}},
		{"leading quoted part then text", "\t", `"Weird Al" Tribute`, `"Weird Al" Tribute`, []string{"2", "3"}},
		{"empty quoted", ",", `""`, ``, []string{"2", "3"}},
		{"quote at end of unquoted", "\t", `Hello"`, `Hello"`, []string{"2", "3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := row15(map[string]string{"Title": "TITLE"})
			line := strings.Join(r, tc.delim)
			line = strings.Replace(line, "TITLE", tc.title, 1)
			data := strings.Join(hdr15, tc.delim) + "\n" + line + "\n" + strings.Join(row15(nil), tc.delim) + "\n"
			p := parseString(t, "q.csv", data)
			require.Empty(t, p.res.Problems)
			require.Equal(t, []string{tc.want, "Tidewater"}, p.col(ColTitle))
			require.Equal(t, tc.wantLines, p.col(ColSourceLine))
		})
	}
}

func TestParseUnterminatedQuote(t *testing.T) {
	t.Parallel()
	// A title that opens a quote and never closes it is read as written;
	// the rows after it are not swallowed.
	r := row15(map[string]string{"Title": `"Heroes`})
	data := tsv(hdr15, row15(nil), r, row15(nil), row15(nil))
	p := parseString(t, "u.tsv", data)
	require.Empty(t, p.res.Problems)
	require.Equal(t, []string{"Tidewater", `"Heroes`, "Tidewater", "Tidewater"}, p.col(ColTitle))
	require.Equal(t, []string{"2", "3", "4", "5"}, p.col(ColSourceLine))

	// At the very end of the file too.
	data = tsv(hdr15, row15(nil)) + strings.Join(row15(map[string]string{"Recoup (USD)": `"1.5`}), "\t")
	p = parseString(t, "u2.tsv", data)
	require.Len(t, p.res.Problems, 1)
	require.Equal(t, "Recoup (USD)", p.res.Problems[0].Field)
	require.Equal(t, int64(3), p.res.Problems[0].Line)
}

func TestParseHeaderNormalisation(t *testing.T) {
	t.Parallel()
	h := make([]string, len(hdr15))
	for i, v := range hdr15 {
		h[i] = "  " + strings.ToUpper(v) + " "
	}
	h[2] = "Sale\u00a0 Month"
	h[12] = "songwriter royalties withheld"
	data := "\uFEFF" + tsv(h, row15(nil))
	p := parseString(t, "h.tsv", data)
	require.Empty(t, p.res.Problems)
	require.Equal(t, EncodingUTF8BOM, p.res.Encoding)
	require.Len(t, p.rows, 1)
	require.Equal(t, LayoutCurrent15, p.res.Layout)

	// Columns are found by name, not position.
	perm := []int{14, 3, 0, 13, 2, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	ph, pr := make([]string, 15), make([]string, 15)
	r := row15(nil)
	for i, k := range perm {
		ph[i], pr[i] = hdr15[k], r[k]
	}
	p2 := parseString(t, "p.tsv", tsv(ph, pr))
	require.Empty(t, p2.res.Problems)
	require.Equal(t, parseString(t, "p.tsv", tsv(hdr15, r)).rows, p2.rows)
}

func TestParseBlankLines(t *testing.T) {
	t.Parallel()
	r := strings.Join(row15(nil), "\t")
	h := strings.Join(hdr15, "\t")
	empty := strings.Repeat("\t", 14)
	for name, data := range map[string]string{
		"trailing LF":          h + "\n" + r + "\n\n\n",
		"trailing CRLF":        h + "\r\n" + r + "\r\n\r\n\r\n",
		"trailing CR":          h + "\r" + r + "\r\r\r",
		"no final newline":     h + "\n" + r,
		"leading blank lines":  "\n\r\n" + h + "\n" + r + "\n",
		"empty delimited rows": h + "\n" + r + "\n" + empty + "\n" + "  \t \n",
		"blank between rows":   h + "\n\n" + r + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := parseString(t, "b.tsv", data)
			require.Empty(t, p.res.Problems)
			require.Len(t, p.rows, 1)
			require.Equal(t, "Tidewater", p.rows[0][ColTitle])
		})
	}
	p := parseString(t, "b.tsv", "\n\r\n"+h+"\n\n"+r+"\n")
	require.Equal(t, []string{"5"}, p.col(ColSourceLine), "physical lines count blank lines")
}

func TestParseExtraColumns(t *testing.T) {
	t.Parallel()
	h := append(append([]string(nil), hdr15...), "Exchange Rate (USD)", "Notes \"x\"")
	r1 := append(row15(nil), "1.08", `Ørjan "quoted"`)
	r2 := append(row15(nil), "", "")
	p := parseString(t, "e.tsv", tsv(h, r1, r2))
	require.Empty(t, p.res.Problems)
	require.Equal(t, LayoutOther, p.res.Layout)
	require.Equal(t, []string{"Exchange Rate (USD)", `Notes "x"`}, p.res.ExtraColumns)
	require.Equal(t, []string{`{"exchange_rate_usd":"1.08","notes_x":"Ørjan \"quoted\""}`, `{"exchange_rate_usd":"","notes_x":""}`}, p.col(ColExtraColumns))
	require.Contains(t, p.logs, "unknown columns in the DistroKid export: kept in extra_columns")

	// Latin-1 values in extra columns are decoded too.
	p = parseBytes(t, "e.tsv", latin1(t, tsv(h, append(row15(nil), "1", "Søren"))), ParseOptions{})
	require.Equal(t, []string{`{"exchange_rate_usd":"1","notes_x":"Søren"}`}, p.col(ColExtraColumns))

	// A trailing delimiter on every line (an unnamed last column) is ignored.
	p = parseString(t, "t.tsv", tsv(append(hdr15, ""), append(row15(nil), "")))
	require.Empty(t, p.res.Problems)
	require.Equal(t, LayoutCurrent15, p.res.Layout)
	require.Equal(t, []string{"NULL"}, p.col(ColExtraColumns))
}

func TestParseMissingHeaders(t *testing.T) {
	t.Parallel()
	drop := func(name string) []string {
		var out []string
		for _, h := range hdr15 {
			if h != name {
				out = append(out, h)
			}
		}
		return out
	}
	tests := []struct {
		name  string
		data  string
		field string
		msg   string
	}{
		{"no sale month", tsv(drop("Sale Month"), row15(nil)[1:]), "", `no "Sale Month"`},
		{"no earnings", tsv(drop("Earnings (USD)"), row15(nil)[1:]), "", `no "Earnings (USD)"`},
		{"no store", tsv(drop("Store"), row15(nil)[1:]), "Store", `required column "Store" is missing`},
		{"empty file", "", "", "the file is empty"},
		{"only blank lines", "\n\n\r\n", "", "the file is empty"},
		{"no delimiter", "hello world\n" + tsv(row15(nil)), "", "cannot tell the delimiter"},
		{"binary", "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb7\xac\xce\xcf\x00\x00\x00\x00,\x00" + tsv(row15(nil)), "", "not a DistroKid bank-details export"},
		{"duplicate column", tsv(append(append([]string(nil), hdr15...), "sale month"), row15(nil)), "sale month", "appears twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := parseString(t, "m.tsv", tc.data)
			require.NotEmpty(t, p.res.Problems)
			require.Equal(t, tc.field, p.res.Problems[0].Field)
			require.Contains(t, p.res.Problems[0].Message, tc.msg)
			require.Equal(t, "m.tsv", p.res.Problems[0].File)
			require.Empty(t, p.rows)
		})
	}
}

func TestParseExcelMangledValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		col, in, want string
	}{
		{"Sale Month", "2026-01-01", "2026-01-01"},
		{"Sale Month", "Jan-26", "2026-01-01"},
		{"Sale Month", "Dec-25", "2025-12-01"},
		{"Sale Month", "January 2026", "2026-01-01"},
		{"Sale Month", "1/1/2026", "2026-01-01"},
		{"Sale Month", "3/1/2026", "2026-03-01"},
		{"Sale Month", "1/3/2026", "2026-03-01"},
		{"Sale Month", "01.03.2026", "2026-03-01"},
		{"Sale Month", "2026/02", "2026-02-01"},
		{"Sale Month", "2026-2", "2026-02-01"},
		{"Reporting Date", "2026/03/25", "2026-03-25"},
		{"Reporting Date", "25/03/2026", "2026-03-25"},
		{"Reporting Date", "3/25/2026", "2026-03-25"},
		{"Reporting Date", "25.03.2026", "2026-03-25"},
		{"Reporting Date", "2026-03-25 00:00:00", "2026-03-25"},
		{"Date Inserted", "", "NULL"},
		{"Quantity", "9,608", "9608"},
		{"Quantity", "-1,234,567", "-1234567"},
		{"Quantity", " 42 ", "42"},
		{"Earnings (USD)", "0,011", "0.011000000000"},
		{"Earnings (USD)", "0,102135011213", "0.102135011213"},
		{"Earnings (USD)", "12,5", "12.500000000000"},
		{"Earnings (USD)", "1234,567", "1234.567000000000"},
		{"Earnings (USD)", "0.0110000000000000", "0.011000000000"},
		{"UPC", "724384960650", "724384960650"},
		{"UPC", "", "NULL"},
		{"Team Percentage", "33.333333", "33.333333"},
	}
	for _, tc := range tests {
		t.Run(tc.col+"="+tc.in, func(t *testing.T) {
			t.Parallel()
			p := parseString(t, "x.tsv", tsv(hdr15, row15(map[string]string{tc.col: tc.in})))
			require.Empty(t, p.res.Problems)
			c := map[string]int{"Sale Month": ColSaleMonth, "Reporting Date": ColReportingDate, "Date Inserted": ColDateInserted,
				"Quantity": ColQuantity, "Earnings (USD)": ColEarningsUSD, "UPC": ColUPC, "Team Percentage": ColTeamPercentage}[tc.col]
			require.Equal(t, []string{tc.want}, p.col(c))
		})
	}
	p := parseString(t, "x.tsv", tsv(hdr15, row15(map[string]string{"Sale Month": "Jan-26", "Quantity": "9,608"})))
	require.Equal(t, map[string]int64{"sale_month": 1, "quantity_thousands": 1}, p.res.Repaired)
	require.Contains(t, p.logs, "repaired values in the DistroKid export (Excel re-save?)")
}

func TestParseBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		col, in, msg string
	}{
		{"UPC", "1.9888E+11", "scientific notation"},
		{"UPC", "1,9888E+11", "scientific notation"},
		{"UPC", "0198880-045560", "only digits"},
		{"ISRC", "1.23457E+11", "scientific notation"},
		{"Quantity", "1.9608E+4", "scientific notation"},
		{"Quantity", "9.608", "not an integer"},
		{"Quantity", "12,34", "not an integer"},
		{"Quantity", "abc", "not an integer"},
		{"Quantity", "", "empty"},
		{"Quantity", "99999999999999999999", "does not fit a 64-bit integer"},
		{"Earnings (USD)", "0.0000000000001", "more than 12 decimal places"},
		{"Earnings (USD)", "1000000", "does not fit DECIMAL(18,12)"},
		{"Earnings (USD)", "1,234", "ambiguous number"},
		{"Earnings (USD)", "1.234,56", "not a decimal"},
		{"Earnings (USD)", "$0.10", "not a decimal"},
		{"Earnings (USD)", "", "empty"},
		{"Earnings (USD)", "-", "not a decimal"},
		{"Earnings (USD)", "1.5E-3", "scientific notation"},
		{"Recoup (USD)", "n/a", "not a decimal"},
		{"Team Percentage", "33.3333333", "more than 6 decimal places"},
		{"Songwriter Royalties Withheld (USD)", "x", "not a decimal"},
		{"Sale Month", "2026-13", "not a sale month"},
		{"Sale Month", "2026-01-15", "not the first of a month"},
		{"Sale Month", "2/3/2026", "not the first of a month"},
		{"Sale Month", "Foo-26", "not a sale month"},
		{"Sale Month", "", "empty"},
		{"Reporting Date", "03/04/2026", "ambiguous date"},
		{"Reporting Date", "2026-02-30", "not a date"},
		{"Reporting Date", "yesterday", "not a date"},
		{"Date Inserted", "2026-3-255", "not a date"},
	}
	for _, tc := range tests {
		t.Run(tc.col+"="+tc.in, func(t *testing.T) {
			t.Parallel()
			p := parseString(t, "bad.tsv", tsv(hdr15, row15(nil), row15(map[string]string{tc.col: tc.in})))
			require.Len(t, p.res.Problems, 1)
			pr := p.res.Problems[0]
			require.Equal(t, sdk.Problem{File: "bad.tsv", Line: 3, Field: tc.col, Message: pr.Message}, pr)
			require.Contains(t, pr.Message, tc.msg)
			require.Empty(t, p.rows, "no batch once the file has a problem")
		})
	}
}

func TestParseExactMoney(t *testing.T) {
	t.Parallel()
	vals := []string{"0.000000000001", "-0.000000000001", "999999.999999999999", "-999999.999999999999",
		"0.007483664425", "-0.69", "0", "-0", "+1.5", ".5", "5.", "0.011000000000"}
	want := []string{"0.000000000001", "-0.000000000001", "999999.999999999999", "-999999.999999999999",
		"0.007483664425", "-0.690000000000", "0.000000000000", "0.000000000000", "1.500000000000", "0.500000000000", "5.000000000000", "0.011000000000"}
	rows := [][]string{hdr15}
	for _, v := range vals {
		rows = append(rows, row15(map[string]string{"Earnings (USD)": v, "Recoup (USD)": v}))
	}
	p := parseString(t, "m.tsv", tsv(rows...))
	require.Empty(t, p.res.Problems)
	require.Equal(t, want, p.col(ColEarningsUSD))
	require.Equal(t, want, p.col(ColRecoupUSD))
}

func TestParseKeepsEveryRow(t *testing.T) {
	t.Parallel()
	zero := row15(map[string]string{"Quantity": "0", "Earnings (USD)": "0.000000000000"})
	neg := row15(map[string]string{"Quantity": "-3", "Earnings (USD)": "-2.070000000000"})
	p := parseString(t, "k.tsv", tsv(hdr15, zero, zero, neg, neg, row15(nil)))
	require.Empty(t, p.res.Problems)
	require.Len(t, p.rows, 5)
	require.Equal(t, []string{"0", "0", "-3", "-3", "10234"}, p.col(ColQuantity))
	require.Equal(t, []string{"2", "3", "4", "5", "6"}, p.col(ColSourceLine))
}

func TestParseFieldCount(t *testing.T) {
	t.Parallel()
	short := row15(nil)[:14]
	long := append(row15(nil), "x")
	trailing := append(row15(nil), "", " ")
	p := parseString(t, "c.tsv", tsv(hdr15, short, row15(nil), long, trailing))
	require.Equal(t, []string{"2:", "4:"}, problemLines(p.res.Problems))
	require.Equal(t, "expected 15 fields as in the header, found 14", p.res.Problems[0].Message)
	require.Equal(t, "expected 15 fields as in the header, found 16", p.res.Problems[1].Message)

	p = parseString(t, "c.tsv", tsv(hdr15, trailing, row15(nil)))
	require.Empty(t, p.res.Problems, "empty trailing fields are tolerated")
	require.Len(t, p.rows, 2)
}

func TestParseExcelSepLine(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{";", ",", "\t"} {
		data := "sep=" + sep + "\r\n" + strings.Join(hdr15, sep) + "\r\n" + strings.Join(row15(nil), sep) + "\r\n"
		p := parseString(t, "sep.csv", data)
		require.Empty(t, p.res.Problems)
		require.Equal(t, sep[0], p.res.Delimiter)
		require.Equal(t, []string{"3"}, p.col(ColSourceLine))
	}
}

func TestParseIdentifiersTrimmed(t *testing.T) {
	t.Parallel()
	p := parseString(t, "i.tsv", tsv(hdr15, row15(map[string]string{"UPC": " 0198880045560 ", "ISRC": "  "})))
	require.Empty(t, p.res.Problems)
	require.Equal(t, []string{"0198880045560"}, p.col(ColUPC))
	require.Equal(t, []string{"NULL"}, p.col(ColISRC))
}

// The malformed test file: every bad line is listed, with file, line and
// field, and the good lines between them do not hide any.
func TestParseMalformedFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/malformed.tsv")
	require.NoError(t, err)
	p := parseBytes(t, "malformed.tsv", data, ParseOptions{})
	require.Empty(t, p.rows)
	require.Equal(t, []string{
		"3:Quantity",
		"4:",
		"5:Reporting Date",
		"5:Earnings (USD)",
		"7:UPC",
		"8:Sale Month",
		"9:Earnings (USD)",
		"10:Earnings (USD)",
		"12:Quantity",
		"14:",
		"15:Team Percentage",
	}, problemLines(p.res.Problems))
	for _, pr := range p.res.Problems {
		require.Equal(t, "malformed.tsv", pr.File)
		require.NotEmpty(t, pr.Message)
	}
	require.Equal(t, int64(15), p.res.Records)
}

func TestParseProblemCap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(tsv(hdr15))
	bad := tsv(row15(map[string]string{"Quantity": "x"}))
	for i := 0; i < 1500; i++ {
		b.WriteString(bad)
	}
	p := parseBytes(t, "cap.tsv", []byte(b.String()), ParseOptions{})
	require.Len(t, p.res.Problems, 1001)
	require.Equal(t, int64(1001), p.res.Problems[999].Line)
	last := p.res.Problems[1000]
	require.Equal(t, "500 more problems not listed (only the first 1000 are)", last.Message)
	require.Equal(t, "cap.tsv", last.File)

	p = parseBytes(t, "cap.tsv", []byte(b.String()), ParseOptions{MaxProblems: 10})
	require.Len(t, p.res.Problems, 11)
}

func TestParseRecordTooLong(t *testing.T) {
	t.Parallel()
	long := row15(map[string]string{"Title": strings.Repeat("x", maxRecordBytes+10)})
	data := tsv(hdr15, row15(nil), long, row15(nil))
	p := parseReader(t, "long.tsv", strings.NewReader(data), ParseOptions{})
	require.Equal(t, []string{"3:"}, problemLines(p.res.Problems))
	require.Contains(t, p.res.Problems[0].Message, "record longer than")
	require.Equal(t, int64(2), p.res.Records, "the lines around the long one are read")

	// A quoted field that never closes and runs past the record limit.
	data = tsv(hdr15, row15(nil), row15(map[string]string{"Title": `"open`})) + strings.Repeat(tsv(row15(nil)), maxRecordBytes/100)
	p = parseReader(t, "open.tsv", strings.NewReader(data), ParseOptions{})
	require.Empty(t, p.res.Problems)
	require.Equal(t, int64(2+maxRecordBytes/100), p.res.Rows)
}

func TestParseManyBatches(t *testing.T) {
	t.Parallel()
	rows := [][]string{hdr15}
	for i := 0; i < 25; i++ {
		rows = append(rows, row15(map[string]string{"Quantity": itoa(int64(i))}))
	}
	var sizes []int
	res, err := Parse(context.Background(), strings.NewReader(tsv(rows...)), ParseOptions{FileName: "b.tsv", BatchRows: 10, PayloadID: "p1"},
		func(b *sdk.RecordBatch) error {
			require.Equal(t, "p1", b.PayloadID)
			sizes = append(sizes, b.NumRows)
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, []int{10, 10, 5}, sizes)
	require.Equal(t, int64(25), res.Rows)
}

func TestParseEmitErrorAndCancel(t *testing.T) {
	t.Parallel()
	data := tsv(hdr15, row15(nil))
	boom := errors.New("boom")
	_, err := Parse(context.Background(), strings.NewReader(data), ParseOptions{}, func(*sdk.RecordBatch) error { return boom })
	require.ErrorIs(t, err, boom)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parse(ctx, strings.NewReader(data), ParseOptions{}, func(*sdk.RecordBatch) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}

// Parse reads its input to the end even when the header is unusable, so a
// tee on the reader sees every byte.
func TestParseDrainsInput(t *testing.T) {
	t.Parallel()
	data := "not,a,distrokid,file\n" + strings.Repeat("x,y,z,w\n", 100000)
	r := strings.NewReader(data)
	res, err := Parse(context.Background(), r, ParseOptions{}, func(*sdk.RecordBatch) error { return nil })
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	require.Zero(t, r.Len())
}
