package distrokid

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings, as named in ParseResult.Encoding.
const (
	EncodingUTF8        = "utf-8"
	EncodingUTF8BOM     = "utf-8-bom"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
	EncodingWindows1252 = "windows-1252"
	// EncodingMixed is a file whose lines are partly UTF-8, partly windows-1252.
	EncodingMixed = "utf-8+windows-1252"
)

// cp1252 maps each byte to its UTF-8 encoding under windows-1252 (a superset
// of latin-1's printable characters).
var cp1252 = func() (t [256][]byte) {
	for b := 0; b < 256; b++ {
		t[b] = utf8.AppendRune(nil, charmap.Windows1252.DecodeByte(byte(b)))
	}
	return t
}()

// appendCP1252 appends b decoded from windows-1252 as UTF-8.
func appendCP1252(dst, b []byte) []byte {
	for _, c := range b {
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = append(dst, cp1252[c]...)
		}
	}
	return dst
}

// wrapDecoder inspects the first bytes of the input and returns a reader of
// UTF-8 (or windows-1252, decided later per line) text without any BOM,
// plus the encoding it found. UTF-16 is recognised by its BOM, or without
// one by NUL bytes alternating with ASCII in the first line.
func wrapDecoder(r io.Reader) (io.Reader, string, error) {
	var pre [512]byte
	n, err := io.ReadAtLeast(r, pre[:], len(pre))
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, "", err
	}
	head := pre[:n]
	rest := func(skip int) io.Reader {
		h := make([]byte, n-skip)
		copy(h, head[skip:])
		return io.MultiReader(bytes.NewReader(h), r)
	}
	// The UTF-16 decoder reads in small pieces: buffer its input so that the
	// file is still read (and teed to the payload) a chunk at a time.
	utf16 := func(skip int, e xunicode.Endianness) io.Reader {
		return transform.NewReader(bufio.NewReaderSize(rest(skip), readChunk), xunicode.UTF16(e, xunicode.IgnoreBOM).NewDecoder())
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return rest(3), EncodingUTF8BOM, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return utf16(2, xunicode.LittleEndian), EncodingUTF16LE, nil
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return utf16(2, xunicode.BigEndian), EncodingUTF16BE, nil
	}
	if le, be := nulPattern(head); le {
		return utf16(0, xunicode.LittleEndian), EncodingUTF16LE, nil
	} else if be {
		return utf16(0, xunicode.BigEndian), EncodingUTF16BE, nil
	}
	return rest(0), EncodingUTF8, nil
}

// nulPattern reports whether the head looks like BOM-less UTF-16 ASCII
// text: every odd (LE) or even (BE) byte of the first 16 pairs is NUL.
func nulPattern(head []byte) (le, be bool) {
	if len(head) < 8 {
		return false, false
	}
	pairs := min(len(head)/2, 16)
	le, be = true, true
	for i := 0; i < pairs; i++ {
		a, b := head[2*i], head[2*i+1]
		if !(a != 0 && b == 0) {
			le = false
		}
		if !(a == 0 && b != 0) {
			be = false
		}
	}
	return le, be
}

// decodeText returns a field as a UTF-8 string, decoding windows-1252 when
// the bytes are not valid UTF-8.
func decodeText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendCP1252(nil, b))
}

// cleanHeader returns a header cell as displayed (BOM and NBSP turned to
// spaces, spaces collapsed and trimmed) and its lookup key (the same,
// case-folded).
func cleanHeader(b []byte) (display, key string) {
	s := decodeText(b)
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\uFEFF', '\u00A0', '\u200B', '\t', '\r', '\n':
			return ' '
		}
		return r
	}, s)
	display = strings.Join(strings.Fields(s), " ")
	return display, strings.ToLower(display)
}

// snakeCase turns a header into a column-style name: "Exchange Rate (USD)"
// → "exchange_rate_usd".
func snakeCase(s string) string {
	var b strings.Builder
	pending := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pending && b.Len() > 0 {
				b.WriteByte('_')
			}
			pending = false
			b.WriteRune(r)
			continue
		}
		pending = true
	}
	return b.String()
}

// appendJSONString appends b (UTF-8) as a JSON string literal.
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, b[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&15))
		}
		start = i + 1
	}
	dst = append(dst, b[start:]...)
	return append(dst, '"')
}
