package distrokid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// The tokenizer: a byte-level delimited-text scanner that reads records out
// of one reusable buffer. It understands tab, comma and semicolon
// delimiters; CRLF, LF and CR-only line ends; and double-quoted fields with
// doubled quotes, embedded delimiters and line breaks. It is lenient the way
// DistroKid files and their Excel re-saves need:
//
//   - A quote inside an unquoted field is a literal character (12" Mix).
//   - A quote inside a quoted field that is neither doubled nor followed by a
//     delimiter or line end is a literal character ("12" Mix" → 12" Mix).
//   - A quoted field that runs past the end of its line after such a stray
//     quote, or that is never closed, is re-read as unquoted text up to the
//     next delimiter, exactly as written ("Weird Al" Tribute stays as is).
//     After the first unclosed quote, quoted fields may no longer span lines
//     in that file, which bounds the work on a broken file.
//
// Fields are slices of the buffer (or, for fields with doubled or stray
// quotes, of a scratch buffer), valid until the next call to next. The
// scanner never writes into its input: the parallel parser (parallel.go)
// may re-read the same bytes.

const (
	// readChunk is how much is read (and teed to the payload) at a time.
	readChunk = 1 << 20
	// maxRecordBytes bounds one record; longer records are reported and skipped.
	maxRecordBytes = 1 << 20
)

type scanStatus int

const (
	stRecord  scanStatus = iota // a record is in fields
	stEOF                       // no more records
	stTooLong                   // a record exceeded maxRecordBytes and was skipped
	stMore                      // internal: need more input
)

// Byte classes for the scanner's tables.
const (
	clsNone byte = iota
	clsDelim
	clsLF
	clsCR
	clsQuote
)

type scanner struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte
	end   int   // end of valid data
	base  int64 // input offset of buf[0]
	eof   bool
	delim byte

	unq [256]byte // classes inside an unquoted field
	quo [256]byte // classes inside a quoted field

	line        int64 // physical line number of buf[pos]
	skipLF      bool  // the last record ended with \r at the end of the buffer
	noMultiline bool  // quoted fields may no longer span lines
	capped      bool  // the buffer cannot grow: treat its end as the end of input for quotes
	// bufValid says that buf[:end] as a whole is valid UTF-8, so every
	// record in it is: a field is cut out at ASCII bytes (delimiters,
	// quotes, line ends), and cutting valid UTF-8 at an ASCII byte leaves
	// valid UTF-8. A parallel worker sets it for its chunk, checked at
	// SIMD speed in one call; records then need no check of their own.
	bufValid bool
	// reach is one past the furthest byte a quoted field that was re-read
	// as unquoted text looked at (an index into buf): the only case where
	// tokenizing a record reads bytes past the record's end.
	reach int

	// The current record.
	fields    [][]byte
	escFields []int  // fields with doubled or stray quotes to undouble
	hiFields  []int  // fields that may hold bytes >= 0x80
	esc       []byte // the undoubled fields
	recLine   int64  // physical line where the record starts
	recStart  int    // raw bytes of the record: buf[recStart:recEnd]
	recEnd    int
	high      bool // the record holds a byte >= 0x80
	valid     bool // the record is valid UTF-8 (else it is read as windows-1252)
}

func newScanner(r io.Reader, bufSize int) *scanner {
	if bufSize < 2*readChunk {
		bufSize = 2 * readChunk
	}
	s := &scanner{r: r, buf: make([]byte, bufSize), line: 1}
	s.fields = make([][]byte, 0, 32)
	return s
}

// setDelim chooses the field delimiter and builds the class tables.
func (s *scanner) setDelim(d byte) {
	s.delim = d
	s.unq = [256]byte{}
	s.quo = [256]byte{}
	s.unq[d] = clsDelim
	s.unq['\n'] = clsLF
	s.unq['\r'] = clsCR
	s.quo['"'] = clsQuote
	s.quo['\n'] = clsLF
	s.quo['\r'] = clsCR
}

// fill moves unread bytes to the front of the buffer and reads more. It
// grows the buffer when a record in progress needs room, up to
// maxRecordBytes plus a read chunk.
func (s *scanner) fill() error {
	if s.eof {
		return nil
	}
	s.bufValid = false // new bytes are not checked as a whole
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.pos, s.end = 0, n
	}
	if len(s.buf)-s.end < readChunk {
		if s.end >= maxRecordBytes {
			s.capped = true
			return nil
		}
		nb := make([]byte, s.end+2*readChunk)
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	limit := s.end + readChunk
	for {
		n, err := s.r.Read(s.buf[s.end:limit])
		s.end += n
		if err == io.EOF {
			s.eof = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to read the file: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}

// next reads the next record. On stRecord, fields, recLine and high describe
// it; on stTooLong, recLine is the line of the skipped record.
func (s *scanner) next() (scanStatus, error) {
	for {
		st := s.scan()
		if st != stMore {
			return st, nil
		}
		if s.capped {
			// The record is longer than maxRecordBytes even without
			// multi-line quotes: skip to the end of its line.
			return stTooLong, s.skipLine()
		}
		if err := s.fill(); err != nil {
			return stEOF, err
		}
	}
}

// scan is next without reading: it returns stMore, having consumed
// nothing, when the buffered input does not hold the whole next record.
func (s *scanner) scan() scanStatus {
	if s.skipLF {
		if s.pos == s.end && !s.eof {
			return stMore
		}
		if s.pos < s.end && s.buf[s.pos] == '\n' {
			s.pos++
		}
		s.skipLF = false
	}
	if s.fastRecord() {
		if s.recEnd-s.recStart > maxRecordBytes {
			return stTooLong
		}
		return stRecord
	}
	st := s.scanRecord()
	if st != stMore {
		s.capped = false
		if st == stRecord && s.recEnd-s.recStart > maxRecordBytes {
			return stTooLong
		}
	}
	return st
}

// skipLine discards input up to and including the next line end.
func (s *scanner) skipLine() error {
	s.recLine = s.line
	s.capped = false
	for {
		for i := s.pos; i < s.end; i++ {
			c := s.buf[i]
			if c == '\n' || c == '\r' {
				s.pos = i + 1
				s.line++
				if c == '\r' {
					if s.pos < s.end {
						if s.buf[s.pos] == '\n' {
							s.pos++
						}
					} else {
						s.skipLF = true
					}
				}
				return nil
			}
		}
		s.base += int64(s.end)
		s.pos, s.end = 0, 0
		if s.eof {
			return nil
		}
		if err := s.fill(); err != nil {
			return err
		}
	}
}

// atEnd reports whether the buffer end is the end of input for a quoted
// field: the real end of input, or a buffer that cannot grow.
func (s *scanner) atEnd() bool { return s.eof || s.capped }

// SWAR constants: a byte-wise "has zero byte" test on 8 bytes at a time.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// zeroBytes marks (in the high bit of each byte) the zero bytes of v; the
// lowest marked byte is exact, higher ones may be false positives.
func zeroBytes(v uint64) uint64 { return (v - swarLo) &^ v & swarHi }

// below returns the bytes of w (little-endian) before byte k, k < 8.
func below(w uint64, k int) uint64 { return w & (1<<(8*k) - 1) }

// scanUnquoted returns the end of an unquoted field starting at i, and
// whether any of its bytes is >= 0x80. Only the field's own bytes count:
// whether a record is UTF-8 must not depend on where the buffer ends.
func (s *scanner) scanUnquoted(buf []byte, i int) (int, bool) {
	n := len(buf)
	dm := uint64(s.delim) * swarLo
	var acc uint64
	for i+8 <= n {
		w := binary.LittleEndian.Uint64(buf[i:])
		m := zeroBytes(w^dm) | zeroBytes(w^(swarLo*'\n')) | zeroBytes(w^(swarLo*'\r'))
		if m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			acc |= below(w, k)
			return i + k, acc&swarHi != 0
		}
		acc |= w
		i += 8
	}
	unq := &s.unq
	var a byte
	for i < n && unq[buf[i]] == clsNone {
		a |= buf[i]
		i++
	}
	return i, acc&swarHi != 0 || a >= 0x80
}

// exactZero marks (in the high bit of each byte) exactly the zero bytes of v.
func exactZero(v uint64) uint64 {
	const m = 0x7F7F7F7F7F7F7F7F
	t := (v & m) + m
	return ^(t | v | m)
}

// fastRecord tokenizes a record none of whose fields starts with a quote,
// eight bytes at a time. It returns false, having consumed nothing, for any
// record it does not handle (a quoted field, or one that reaches the last
// 8 bytes of the buffer); scanRecord then does the work.
func (s *scanner) fastRecord() bool {
	buf := s.buf[:s.end]
	n := len(buf)
	i := s.pos
	if i >= n || buf[i] == '"' {
		return false
	}
	s.fields = s.fields[:0]
	s.hiFields = s.hiFields[:0]
	s.escFields = s.escFields[:0]
	delim := s.delim
	dm := uint64(delim) * swarLo
	fs := i
	// acc gathers the bytes of the current field in the words before the
	// current one (and harmlessly those of the record's earlier fields);
	// the current word counts only up to the field's end, so that no byte
	// after the record's line end is ever taken for one of its own.
	var acc uint64
	for i+8 <= n {
		w := binary.LittleEndian.Uint64(buf[i:])
		m := exactZero(w^dm) | exactZero(w^(swarLo*'\n')) | exactZero(w^(swarLo*'\r'))
		for m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			pos := i + k
			m &= m - 1
			if (acc|below(w, k))&swarHi != 0 {
				s.hiFields = append(s.hiFields, len(s.fields))
			}
			s.fields = append(s.fields, buf[fs:pos])
			acc = 0
			c := buf[pos]
			if c == delim {
				fs = pos + 1
				if fs >= n || buf[fs] == '"' {
					return false
				}
				continue
			}
			next := pos + 1
			if c == '\r' {
				if next >= n {
					return false
				}
				if buf[next] == '\n' {
					next++
				}
			}
			s.finish(pos, next, 0)
			return true
		}
		acc |= w
		i += 8
	}
	return false
}

// scanRecord tokenizes one record starting at s.pos. It returns stMore
// without consuming anything when the record is not complete in the buffer.
func (s *scanner) scanRecord() scanStatus {
	buf := s.buf[:s.end]
	n := len(buf)
	i := s.pos
	if i >= n {
		if s.eof {
			return stEOF
		}
		return stMore
	}
	s.fields = s.fields[:0]
	s.escFields = s.escFields[:0]
	s.hiFields = s.hiFields[:0]
	extraLines := int64(0)
	unq := &s.unq
	for {
		fs := i // field start
		if i < n && buf[i] == '"' {
			// Quoted field.
			j := i + 1
			escaped, lazy, raw := false, false, false
			lines := int64(0)
			var acc byte
		quoted:
			for {
				for j < n && s.quo[buf[j]] == clsNone {
					acc |= buf[j]
					j++
				}
				if j >= n {
					if !s.atEnd() {
						return stMore
					}
					// Never closed: re-read as unquoted text.
					s.noMultiline = true
					raw = true
					s.reach = max(s.reach, j+1)
					break quoted
				}
				switch s.quo[buf[j]] {
				case clsQuote:
					if j+1 >= n && !s.atEnd() {
						return stMore
					}
					if j+1 < n && buf[j+1] == '"' {
						escaped = true
						j += 2
						continue
					}
					if j+1 >= n || unq[buf[j+1]] != clsNone {
						// Closing quote: followed by a delimiter, line end or EOF.
						if escaped || lazy {
							s.escFields = append(s.escFields, len(s.fields))
						}
						if acc >= 0x80 {
							s.hiFields = append(s.hiFields, len(s.fields))
						}
						s.fields = append(s.fields, buf[fs+1:j])
						extraLines += lines
						i = j + 1
						break quoted
					}
					// A stray quote: keep it as a literal character.
					lazy = true
					j++
				case clsLF, clsCR:
					if lazy || s.noMultiline {
						raw = true
						s.reach = max(s.reach, j+1)
						break quoted
					}
					if buf[j] == '\r' && j+1 < n && buf[j+1] == '\n' {
						j++
					} else if buf[j] == '\r' && j+1 >= n && !s.atEnd() {
						return stMore
					}
					lines++
					j++
				}
			}
			if raw {
				var hi bool
				i, hi = s.scanUnquoted(buf, fs)
				if i >= n && !s.eof {
					return stMore
				}
				if hi {
					s.hiFields = append(s.hiFields, len(s.fields))
				}
				s.fields = append(s.fields, buf[fs:i])
			}
		} else {
			var hi bool
			i, hi = s.scanUnquoted(buf, i)
			if i >= n && !s.eof {
				return stMore
			}
			if hi {
				s.hiFields = append(s.hiFields, len(s.fields))
			}
			s.fields = append(s.fields, buf[fs:i])
		}
		// After a field: a delimiter, a line end, or the end of input.
		if i >= n {
			if !s.eof {
				return stMore
			}
			s.finish(i, n, extraLines)
			return stRecord
		}
		switch unq[buf[i]] {
		case clsDelim:
			i++
			continue
		case clsLF:
			s.finish(i, i+1, extraLines)
			return stRecord
		case clsCR:
			next := i + 1
			if next < n {
				if buf[next] == '\n' {
					next++
				}
				s.finish(i, next, extraLines)
				return stRecord
			}
			s.finish(i, next, extraLines)
			if !s.eof {
				s.skipLF = true
			}
			return stRecord
		}
	}
}

// finish completes a record whose content ends at end; the next record
// starts at next.
func (s *scanner) finish(end, next int, extraLines int64) {
	s.recStart, s.recEnd = s.pos, end
	s.recLine = s.line
	s.line += 1 + extraLines
	s.pos = next
	if len(s.escFields) > 0 {
		s.unescape()
	}
	s.high = len(s.hiFields) > 0
	s.valid = true
	if s.bufValid {
		return
	}
	for _, k := range s.hiFields {
		if !utf8.Valid(s.fields[k]) {
			s.valid = false
			break
		}
	}
}

// unescape replaces the fields listed in escFields by their undoubled
// copies in s.esc (never in place: the input stays as read).
func (s *scanner) unescape() {
	need := 0
	for _, k := range s.escFields {
		need += len(s.fields[k])
	}
	if cap(s.esc) < need {
		s.esc = make([]byte, 0, max(need, 2*cap(s.esc)))
	}
	s.esc = s.esc[:0]
	for _, k := range s.escFields {
		start := len(s.esc)
		s.esc = appendUnescaped(s.esc, s.fields[k])
		s.fields[k] = s.esc[start:len(s.esc):len(s.esc)]
	}
}

// appendUnescaped appends f with each "" undoubled.
func appendUnescaped(dst, f []byte) []byte {
	for r := 0; r < len(f); r++ {
		c := f[r]
		dst = append(dst, c)
		if c == '"' && r+1 < len(f) && f[r+1] == '"' {
			r++
		}
	}
	return dst
}

// errNoHeader is returned by peekHeaderLine when the input has no non-blank line.
var errNoHeader = errors.New("the file is empty: no header line")

// peekHeaderLine returns the first non-blank line (without consuming it) so
// that the delimiter can be sniffed before tokenizing, and skips the blank
// lines before it. The line must fit in maxRecordBytes.
func (s *scanner) peekHeaderLine() ([]byte, error) {
	for {
		if s.skipLF {
			if s.pos == s.end && !s.eof {
				if err := s.fill(); err != nil {
					return nil, err
				}
				continue
			}
			if s.pos < s.end && s.buf[s.pos] == '\n' {
				s.pos++
			}
			s.skipLF = false
		}
		// Skip blank lines.
	blank:
		for s.pos < s.end && !s.skipLF {
			switch s.buf[s.pos] {
			case '\n':
				s.pos++
				s.line++
				continue
			case '\r':
				s.pos++
				s.line++
				if s.pos == s.end {
					s.skipLF = true
				} else if s.buf[s.pos] == '\n' {
					s.pos++
				}
				continue
			}
			break blank
		}
		if s.skipLF {
			continue
		}
		for i := s.pos; i < s.end; i++ {
			if c := s.buf[i]; c == '\n' || c == '\r' {
				return s.buf[s.pos:i], nil
			}
		}
		if s.eof {
			if s.pos == s.end {
				return nil, errNoHeader
			}
			return s.buf[s.pos:s.end], nil
		}
		if s.end-s.pos >= maxRecordBytes {
			return nil, fmt.Errorf("the first line is longer than %d bytes: not a DistroKid export", maxRecordBytes)
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}
