package distrokid

// This file parses field values straight from bytes, without allocating:
// dates, sale months, integers and exact decimals. Each parser returns a
// valueErr code; the message is built only when a problem is reported.

import "encoding/binary"

// valueErr says why a value was rejected. Zero means the value is fine.
type valueErr uint8

const (
	errNone valueErr = iota
	errEmpty
	errNotInteger
	errNotDecimal
	errTooManyDecimals
	errDoesNotFit
	errAmbiguousComma
	errScientific
	errNotDate
	errAmbiguousDate
	errNotSaleMonth
	errSaleMonthDay
	errNotDigits
)

// message returns a sentence describing the error for a raw value.
func (e valueErr) message(raw []byte, precision, scale int) string {
	v := quoteValue(raw)
	switch e {
	case errEmpty:
		return "value is empty"
	case errNotInteger:
		return "not an integer: " + v
	case errNotDecimal:
		return "not a decimal number: " + v
	case errTooManyDecimals:
		return "more than " + itoa(int64(scale)) + " decimal places (the value cannot be stored exactly): " + v
	case errDoesNotFit:
		if precision == 0 {
			return "value does not fit a 64-bit integer: " + v
		}
		return "value does not fit DECIMAL(" + itoa(int64(precision)) + "," + itoa(int64(scale)) + "): " + v
	case errAmbiguousComma:
		return "ambiguous number " + v + ": the comma may be a decimal comma or a thousands separator"
	case errScientific:
		return "number in scientific notation " + v + " (an Excel re-save?): the original digits are lost"
	case errNotDate:
		return "not a date (want YYYY-MM-DD): " + v
	case errAmbiguousDate:
		return "ambiguous date " + v + ": day and month order cannot be told apart"
	case errNotSaleMonth:
		return "not a sale month (want YYYY-MM): " + v
	case errSaleMonthDay:
		return "sale month " + v + " is a date that is not the first of a month"
	case errNotDigits:
		return "UPC must contain only digits: " + v
	}
	return "invalid value: " + v
}

// quoteValue renders a raw value for a problem message, cut to 64 bytes.
func quoteValue(raw []byte) string {
	const max = 64
	s := raw
	cut := false
	if len(s) > max {
		s, cut = s[:max], true
	}
	out := make([]byte, 0, len(s)+8)
	out = append(out, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20 || c == 0x7f:
			out = append(out, '\\', 'x', hexDigit(c>>4), hexDigit(c&15))
		default:
			out = append(out, c)
		}
	}
	out = append(out, '"')
	if cut {
		out = append(out, "…"...)
	}
	return string(out)
}

func hexDigit(c byte) byte { return "0123456789abcdef"[c] }

// itoa formats an integer without strconv's interface (kept tiny on purpose).
func itoa(v int64) string {
	var b [24]byte
	return string(appendInt(b[:0], v))
}

// appendInt appends the decimal form of v.
func appendInt(dst []byte, v int64) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	if neg {
		dst = append(dst, '-')
	}
	return append(dst, b[i:]...)
}

// trimSpace trims ASCII spaces and tabs around a value.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isDigit(c byte) bool { return c-'0' < 10 }

// looksScientific reports whether b is a number in E notation, e.g. 1.9888E+11.
func looksScientific(b []byte) bool {
	e := -1
	for i, c := range b {
		if c == 'e' || c == 'E' {
			e = i
			break
		}
	}
	if e <= 0 || e == len(b)-1 {
		return false
	}
	mant, exp := b[:e], b[e+1:]
	if exp[0] == '+' || exp[0] == '-' {
		exp = exp[1:]
	}
	if len(exp) == 0 {
		return false
	}
	for _, c := range exp {
		if !isDigit(c) {
			return false
		}
	}
	if len(mant) > 0 && (mant[0] == '-' || mant[0] == '+') {
		mant = mant[1:]
	}
	digits := 0
	for _, c := range mant {
		switch {
		case isDigit(c):
			digits++
		case c == '.' || c == ',':
		default:
			return false
		}
	}
	return digits > 0
}

// parseQuantity parses a signed integer. Thousands separators are accepted
// only in the one form that cannot be anything else for a whole number:
// commas between groups of exactly three digits after a 1–3 digit lead
// (9,608 or 1,234,567). Anything else with a comma or a dot is rejected.
// grouped reports that separators were removed.
func parseQuantity(raw []byte) (v int64, grouped bool, e valueErr) {
	b := trimSpace(raw)
	if len(b) == 0 {
		return 0, false, errEmpty
	}
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		b = b[1:]
		if len(b) == 0 {
			return 0, false, errNotInteger
		}
	}
	var u uint64
	digits, group := 0, -1 // group: digits since the last comma, -1 before any comma
	for _, c := range b {
		switch {
		case isDigit(c):
			if digits >= 18 {
				return 0, false, errDoesNotFit
			}
			u = u*10 + uint64(c-'0')
			digits++
			if group >= 0 {
				group++
			}
		case c == ',':
			if group < 0 {
				if digits == 0 || digits > 3 || b[0] == '0' {
					return 0, false, errNotInteger
				}
			} else if group != 3 {
				return 0, false, errNotInteger
			}
			group = 0
			grouped = true
		default:
			if looksScientific(raw) {
				return 0, false, errScientific
			}
			return 0, false, errNotInteger
		}
	}
	if digits == 0 || (group >= 0 && group != 3) {
		return 0, false, errNotInteger
	}
	v = int64(u)
	if neg {
		v = -v
	}
	return v, grouped, errNone
}

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// parseDecimal parses an exact decimal into an int64 scaled by 10^scale, for
// a DECIMAL(precision, scale). Excess fractional digits are accepted only if
// they are zeros (nothing is lost); a non-zero digit past the scale is
// errTooManyDecimals. A decimal comma is accepted when it cannot be a
// thousands separator (see parseQuantity for the one form that can, which is
// errAmbiguousComma here). comma reports that a decimal comma was read.
func parseDecimal(raw []byte, precision, scale int) (v int64, comma bool, e valueErr) {
	b := trimSpace(raw)
	if len(b) == 0 {
		return 0, false, errEmpty
	}
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		b = b[1:]
	}
	maxInt := precision - scale
	var ip, fp int64
	intDigits, sig, fracDigits := 0, 0, 0
	leadZero := len(b) > 0 && b[0] == '0'
	sep := byte(0)
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		if isDigit(c) {
			intDigits++
			if sig > 0 || c != '0' {
				sig++
				if sig > maxInt {
					return 0, false, errDoesNotFit
				}
			}
			ip = ip*10 + int64(c-'0')
			continue
		}
		if c == '.' || c == ',' {
			sep = c
			i++
			break
		}
		if looksScientific(raw) {
			return 0, false, errScientific
		}
		return 0, false, errNotDecimal
	}
	// Eight fractional digits at a time while they all fit the scale (the
	// 12 decimals of Earnings (USD)); the loop below does the rest and
	// reports whatever is wrong.
	for fracDigits+8 <= scale && len(b)-i >= 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if !eightDigits(x) {
			break
		}
		fp = fp*1e8 + int64(parseEightDigits(x))
		fracDigits += 8
		i += 8
	}
	for ; i < len(b); i++ {
		c := b[i]
		if !isDigit(c) {
			if looksScientific(raw) {
				return 0, false, errScientific
			}
			return 0, false, errNotDecimal
		}
		fracDigits++
		if fracDigits > scale {
			if c != '0' {
				return 0, false, errTooManyDecimals
			}
			continue
		}
		fp = fp*10 + int64(c-'0')
	}
	if intDigits == 0 && fracDigits == 0 {
		return 0, false, errNotDecimal
	}
	if sep == ',' {
		// 1,234 or -12,500 could be a thousands separator: refuse to guess.
		if fracDigits == 3 && intDigits >= 1 && intDigits <= 3 && !leadZero {
			return 0, false, errAmbiguousComma
		}
		if fracDigits == 0 {
			return 0, false, errNotDecimal
		}
		comma = true
	}
	if fracDigits > scale {
		fracDigits = scale
	}
	v = ip*pow10[scale] + fp*pow10[scale-fracDigits]
	if neg {
		v = -v
	}
	return v, comma, errNone
}

// eightDigits reports whether the 8 bytes of x (little-endian) are all
// ASCII digits.
func eightDigits(x uint64) bool {
	const hi, six = 0xF0F0F0F0F0F0F0F0, 0x0606060606060606
	return x&hi == 0x3030303030303030 && (x+six)&hi == 0x3030303030303030
}

// parseEightDigits returns the number the 8 ASCII digits of x spell, the
// first digit in the lowest byte (simdjson's parse_eight_digits_unrolled).
func parseEightDigits(x uint64) uint32 {
	x = (x & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8
	x = (x & 0x00FF00FF00FF00FF) * 6553601 >> 16
	return uint32((x & 0x0000FFFF0000FFFF) * 42949672960001 >> 32)
}

// daysFromCivil returns days since 1970-01-01 for a proleptic Gregorian date
// (Howard Hinnant's algorithm); y must be positive.
func daysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func validDate(y, m, d int) bool {
	return y >= 1900 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// num reads 1..max digits at b[i:], returning the value and the next index.
func num(b []byte, i, min, max int) (v, next int, ok bool) {
	n := 0
	for i+n < len(b) && n < max && isDigit(b[i+n]) {
		v = v*10 + int(b[i+n]-'0')
		n++
	}
	if n < min || (i+n < len(b) && isDigit(b[i+n])) {
		return 0, i, false
	}
	return v, i + n, true
}

// dateParts splits a date into numbers and separators: YYYY-MM-DD,
// YYYY/MM/DD, a/b/YYYY, D.M.YYYY. kind is 'i' for ISO order (year first),
// '/' for a/b/YYYY (order unknown) and '.' for D.M.YYYY.
func dateParts(b []byte) (a, m, c int, kind byte, ok bool) {
	if len(b) >= 8 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3]) && (b[4] == '-' || b[4] == '/') {
		sep := b[4]
		y, i, ok1 := num(b, 0, 4, 4)
		mo, i, ok2 := num(b, i+1, 1, 2)
		if !ok1 || !ok2 || i >= len(b) || b[i] != sep {
			return 0, 0, 0, 0, false
		}
		d, i, ok3 := num(b, i+1, 1, 2)
		if !ok3 || !timeTail(b[i:]) {
			return 0, 0, 0, 0, false
		}
		return y, mo, d, 'i', true
	}
	x, i, ok1 := num(b, 0, 1, 2)
	if !ok1 || i >= len(b) || (b[i] != '/' && b[i] != '.') {
		return 0, 0, 0, 0, false
	}
	sep := b[i]
	yy, i, ok2 := num(b, i+1, 1, 2)
	if !ok2 || i >= len(b) || b[i] != sep {
		return 0, 0, 0, 0, false
	}
	y, i, ok3 := num(b, i+1, 4, 4)
	if !ok3 || !timeTail(b[i:]) {
		return 0, 0, 0, 0, false
	}
	if sep == '.' {
		return x, yy, y, '.', true
	}
	return x, yy, y, '/', true
}

// timeTail accepts nothing, or a midnight time Excel appends (" 00:00",
// " 00:00:00", "T00:00:00").
func timeTail(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != ' ' && b[0] != 'T' {
		return false
	}
	for _, c := range b[1:] {
		if c != '0' && c != ':' {
			return false
		}
	}
	return len(b) >= 6
}

// parseDate parses a calendar date. ISO YYYY-MM-DD is the format DistroKid
// writes; Excel re-saves are repaired when the reading is unambiguous:
// YYYY/MM/DD, D.M.YYYY, and a/b/YYYY when a > 12 (day first), b > 12
// (month first) or a == b. repaired reports a non-ISO input.
func parseDate(raw []byte) (days int32, repaired bool, e valueErr) {
	b := trimSpace(raw)
	if len(b) == 0 {
		return 0, false, errEmpty
	}
	a, m, c, kind, ok := dateParts(b)
	if !ok {
		return 0, false, errNotDate
	}
	var y, mo, d int
	switch kind {
	case 'i':
		y, mo, d = a, m, c
		repaired = len(b) != 10 || b[4] != '-'
	case '.':
		y, mo, d = c, m, a
		repaired = true
	default:
		repaired = true
		y = c
		switch {
		case a == m:
			mo, d = a, a
		case a > 12 && m <= 12:
			mo, d = m, a
		case m > 12 && a <= 12:
			mo, d = a, m
		default:
			return 0, false, errAmbiguousDate
		}
	}
	if !validDate(y, mo, d) {
		return 0, false, errNotDate
	}
	return daysFromCivil(y, mo, d), repaired, errNone
}

var monthNames = [12]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// monthName matches an English month name or its 3-letter abbreviation
// (case-insensitive) at the start of b; it returns the month and length.
func monthName(b []byte) (int, int) {
	n := 0
	for n < len(b) && (b[n]|0x20) >= 'a' && (b[n]|0x20) <= 'z' {
		n++
	}
	if n < 3 {
		return 0, 0
	}
	var w [9]byte
	if n > len(w) {
		return 0, 0
	}
	for i := 0; i < n; i++ {
		w[i] = b[i] | 0x20
	}
	full := [12]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	for i, abbr := range monthNames {
		if n == 3 && string(w[:3]) == abbr {
			return i + 1, n
		}
		if string(w[:n]) == full[i] || (n == 4 && string(w[:4]) == "sept" && i == 8) {
			return i + 1, n
		}
	}
	return 0, 0
}

// parseSaleMonth parses a sale month into the day number of its first day.
// DistroKid writes YYYY-MM. Excel re-saves are repaired: YYYY-MM-01 (and
// other ISO/dotted/slashed dates that fall on the 1st), Jan-26 / Jan 2026 /
// January 2026, and a/b/YYYY where one of a, b is 1 (Excel turns a month
// into its first day, so the other number is the month whatever the
// locale's order). repaired reports a non-YYYY-MM input.
func parseSaleMonth(raw []byte) (days int32, repaired bool, e valueErr) {
	b := trimSpace(raw)
	if len(b) == 0 {
		return 0, false, errEmpty
	}
	// YYYY-MM or YYYY-M, or YYYY/MM.
	if len(b) >= 6 && len(b) <= 7 && isDigit(b[0]) && (b[4] == '-' || b[4] == '/') {
		y, _, ok1 := num(b, 0, 4, 4)
		m, i, ok2 := num(b, 5, 1, 2)
		if ok1 && ok2 && i == len(b) && validDate(y, m, 1) {
			return daysFromCivil(y, m, 1), len(b) != 7 || b[4] != '-', errNone
		}
		return 0, false, errNotSaleMonth
	}
	if mo, n := monthName(b); mo > 0 {
		rest := b[n:]
		if len(rest) > 1 && (rest[0] == '-' || rest[0] == ' ' || rest[0] == '/' || rest[0] == '.') {
			rest = rest[1:]
			y, i, ok := num(rest, 0, 2, 4)
			if ok && i == len(rest) && (i == 2 || i == 4) {
				if i == 2 {
					y += 2000
				}
				if validDate(y, mo, 1) {
					return daysFromCivil(y, mo, 1), true, errNone
				}
			}
		}
		return 0, false, errNotSaleMonth
	}
	a, m, c, kind, ok := dateParts(b)
	if !ok {
		return 0, false, errNotSaleMonth
	}
	var y, mo int
	switch kind {
	case 'i':
		y, mo = a, m
		if c != 1 {
			return 0, false, errSaleMonthDay
		}
	case '.':
		y, mo = c, m
		if a != 1 {
			return 0, false, errSaleMonthDay
		}
	default:
		y = c
		switch {
		case a == 1:
			mo = m
		case m == 1:
			mo = a
		default:
			return 0, false, errSaleMonthDay
		}
	}
	if !validDate(y, mo, 1) {
		return 0, false, errNotSaleMonth
	}
	return daysFromCivil(y, mo, 1), true, errNone
}

// checkUPC validates a UPC/EAN as written: digits only (leading zeros are
// significant and kept). Scientific notation is named as such.
func checkUPC(b []byte) valueErr {
	for _, c := range b {
		if !isDigit(c) {
			if looksScientific(b) {
				return errScientific
			}
			return errNotDigits
		}
	}
	return errNone
}
