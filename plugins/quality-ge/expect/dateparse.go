package expect

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// parseDateutil parses a date/time string the way python-dateutil's
// parser.parse (default options: not fuzzy, month first) accepts it, for
// the forms seen in data: ISO 8601 and its variants, "Jan 01 2000 12:00:01",
// "01/02/2020", "2 January 2020 3pm", compact "20200102", with an optional
// zone name or offset. Missing fields default to today's date at midnight,
// as dateutil's do. ok is false where dateutil raises.
func parseDateutil(s string) (time.Time, bool) {
	toks := dateLex(s)
	if len(toks) == 0 {
		return time.Time{}, false
	}
	var (
		ymd                  []int
		ymdLen               []int // digits of each ymd entry (0 for a month name)
		monthIdx             = -1
		hour, minute, second = -1, -1, -1
		micro                int
		offset               = 0
		hasTZ                bool
		ampm                 = -1
		found                bool
	)
	num := func(t string) (int, bool) {
		if t == "" || t[0] < '0' || t[0] > '9' {
			return 0, false
		}
		n, err := strconv.Atoi(t)
		return n, err == nil
	}
	addYMD := func(v, digits int) bool {
		if len(ymd) >= 3 {
			return false
		}
		ymd = append(ymd, v)
		ymdLen = append(ymdLen, digits)
		found = true
		return true
	}
	parseClock := func(i int) (int, bool) {
		// toks[i] is hours, toks[i+1] == ":".
		h, _ := num(toks[i])
		if i+2 >= len(toks) {
			return 0, false
		}
		m, ok := num(toks[i+2])
		if !ok {
			return 0, false
		}
		hour, minute, found = h, m, true
		i += 3
		if i+1 < len(toks) && toks[i] == ":" {
			sec, frac, ok := splitSeconds(toks[i+1])
			if !ok {
				return 0, false
			}
			second, micro = sec, frac
			i += 2
		}
		return i, true
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		low := strings.ToLower(t)
		if n, ok := num(t); ok {
			next := ""
			if i+1 < len(toks) {
				next = toks[i+1]
			}
			digits := len(t)
			switch {
			case strings.Contains(t, "."):
				// "12.5" seconds after a minute, e.g. "10:30 12.5" is rare; a
				// decimal number on its own is not a date part.
				if hour >= 0 && minute >= 0 && second < 0 {
					sec, frac, ok := splitSeconds(t)
					if !ok {
						return time.Time{}, false
					}
					second, micro = sec, frac
					i++
					continue
				}
				return time.Time{}, false
			case next == ":":
				j, ok := parseClock(i)
				if !ok {
					return time.Time{}, false
				}
				i = j
				continue
			case len(ymd) == 0 && (digits == 8 || digits == 12 || digits == 14) && next != "-" && next != "/":
				y, _ := strconv.Atoi(t[:4])
				m, _ := strconv.Atoi(t[4:6])
				d, _ := strconv.Atoi(t[6:8])
				addYMD(y, 4)
				addYMD(m, 2)
				addYMD(d, 2)
				if digits >= 12 {
					hour, _ = strconv.Atoi(t[8:10])
					minute, _ = strconv.Atoi(t[10:12])
				}
				if digits == 14 {
					second, _ = strconv.Atoi(t[12:14])
				}
				i++
				continue
			case len(ymd) == 0 && digits == 6 && next != "-" && next != "/":
				for k := 0; k < 6; k += 2 {
					v, _ := strconv.Atoi(t[k : k+2])
					addYMD(v, 2)
				}
				i++
				continue
			case len(ymd) > 0 && (digits == 6 || digits == 4) && hour < 0 && next != "-" && next != "/" && (digits == 6 || len(ymd) == 3):
				// HHMMSS or HHMM after a date.
				hour, _ = strconv.Atoi(t[:2])
				minute, _ = strconv.Atoi(t[2:4])
				if digits == 6 {
					second, _ = strconv.Atoi(t[4:6])
				}
				found = true
				i++
				continue
			case (next == "-" || next == "/" || next == ".") && len(ymd) == 0:
				sep := next
				if !addYMD(n, digits) {
					return time.Time{}, false
				}
				i += 2
				for k := 0; k < 2 && i < len(toks); k++ {
					part := toks[i]
					if v, ok := num(part); ok {
						addYMD(v, len(part))
					} else if m := monthNumber(part); m > 0 {
						monthIdx = len(ymd)
						addYMD(m, 0)
					} else {
						return time.Time{}, false
					}
					i++
					if k == 0 && i < len(toks) && toks[i] == sep {
						i++
						continue
					}
					break
				}
				continue
			case i+1 < len(toks) && isAMPM(strings.ToLower(next)) >= 0:
				hour, found = n, true
				ampm = isAMPM(strings.ToLower(next))
				i += 2
				continue
			case hasTZ || (hour >= 0 && len(ymd) == 3):
				return time.Time{}, false
			default:
				if !addYMD(n, digits) {
					// A fourth number: dateutil takes it as the hour.
					if hour < 0 {
						hour, found = n, true
						i++
						continue
					}
					return time.Time{}, false
				}
				i++
				continue
			}
		}
		switch {
		case monthNumber(low) > 0:
			monthIdx = len(ymd)
			if !addYMD(monthNumber(low), 0) {
				return time.Time{}, false
			}
		case isWeekday(low):
		case isAMPM(low) >= 0:
			if hour < 0 || hour > 12 {
				return time.Time{}, false
			}
			ampm = isAMPM(low)
		case (t == "+" || t == "-") && hour >= 0 && i+1 < len(toks):
			o, j, ok := parseOffset(toks, i)
			if !ok {
				return time.Time{}, false
			}
			offset, hasTZ = o, true
			i = j
			continue
		case low == "z" || low == "utc" || low == "gmt" || low == "ut":
			hasTZ = true
			// "UTC+3" style offsets follow the name.
		case isZoneName(t) && hour >= 0:
			hasTZ = true
		case isJump(low):
		default:
			return time.Time{}, false
		}
		i++
	}
	if !found {
		return time.Time{}, false
	}
	now := time.Now()
	year, month, day := now.Year(), int(now.Month()), now.Day()
	if y, m, d, ok := resolveYMD(ymd, ymdLen, monthIdx); ok {
		if y >= 0 {
			year = y
		}
		if m >= 0 {
			month = m
		}
		if d >= 0 {
			day = d
		}
	} else {
		return time.Time{}, false
	}
	if ampm >= 0 {
		if hour > 12 {
			return time.Time{}, false
		}
		if ampm == 1 && hour < 12 {
			hour += 12
		} else if ampm == 0 && hour == 12 {
			hour = 0
		}
	}
	h, mi, se := max(hour, 0), max(minute, 0), max(second, 0)
	if !validDateTime(year, month, day, h, mi, se) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, h, mi, se, micro*1000, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// resolveYMD assigns year, month and day like dateutil's _ymd.resolve_ymd
// (dayfirst=False, yearfirst=False). -1 means "not given".
func resolveYMD(v, digits []int, monthIdx int) (y, m, d int, ok bool) {
	y, m, d = -1, -1, -1
	isYear := func(i int) bool { return digits[i] > 2 || v[i] > 31 }
	switch len(v) {
	case 0:
	case 1:
		switch {
		case monthIdx == 0:
			m = v[0]
		case isYear(0):
			y = v[0]
		default:
			d = v[0]
		}
	case 2:
		switch {
		case monthIdx == 0:
			m = v[0]
			if isYear(1) {
				y = v[1]
			} else {
				d = v[1]
			}
		case monthIdx == 1:
			m = v[1]
			if isYear(0) {
				y = v[0]
			} else {
				d = v[0]
			}
		case isYear(0):
			y, m = v[0], v[1]
		case isYear(1):
			m, y = v[0], v[1]
		default:
			m, d = v[0], v[1]
		}
	case 3:
		switch monthIdx {
		case 0:
			m = v[0]
			if isYear(1) && !isYear(2) {
				y, d = v[1], v[2]
			} else {
				d, y = v[1], v[2]
			}
		case 1:
			m = v[1]
			if isYear(0) {
				y, d = v[0], v[2]
			} else {
				d, y = v[0], v[2]
			}
		case 2:
			m = v[2]
			if isYear(0) {
				y, d = v[0], v[1]
			} else {
				d, y = v[0], v[1]
			}
		default:
			switch {
			case isYear(0):
				y, m, d = v[0], v[1], v[2]
			case v[0] > 12:
				d, m, y = v[0], v[1], v[2]
			default:
				m, d, y = v[0], v[1], v[2]
			}
		}
	default:
		return 0, 0, 0, false
	}
	if y >= 0 && y < 100 {
		for k := range v {
			if v[k] == y && digits[k] <= 2 {
				y = convertYear(y)
				break
			}
		}
	}
	return y, m, d, true
}

// convertYear maps a two-digit year into the century window dateutil uses:
// within 50 years of the current year.
func convertYear(y int) int {
	now := time.Now().Year()
	century := now / 100 * 100
	y += century
	if y >= now+50 {
		y -= 100
	} else if y < now-50 {
		y += 100
	}
	return y
}

func splitSeconds(t string) (sec, micro int, ok bool) {
	whole, frac, hasFrac := strings.Cut(t, ".")
	s, err := strconv.Atoi(whole)
	if err != nil {
		return 0, 0, false
	}
	if hasFrac {
		if frac == "" || len(frac) > 9 {
			return 0, 0, false
		}
		for len(frac) < 6 {
			frac += "0"
		}
		f, err := strconv.Atoi(frac[:6])
		if err != nil {
			return 0, 0, false
		}
		micro = f
	}
	return s, micro, true
}

// parseOffset reads "+05:30", "+0530" or "+05" at toks[i].
func parseOffset(toks []string, i int) (int, int, bool) {
	sign := 1
	if toks[i] == "-" {
		sign = -1
	}
	t := toks[i+1]
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
	}
	var h, m int
	switch len(t) {
	case 4:
		h, _ = strconv.Atoi(t[:2])
		m, _ = strconv.Atoi(t[2:])
	case 1, 2:
		h, _ = strconv.Atoi(t)
		if i+3 < len(toks) && toks[i+2] == ":" {
			m, _ = strconv.Atoi(toks[i+3])
			return sign * (h*3600 + m*60), i + 4, true
		}
	default:
		return 0, 0, false
	}
	return sign * (h*3600 + m*60), i + 2, true
}

// dateLex splits like dateutil's _timelex: runs of digits (with a decimal
// point inside), runs of letters, and single other characters; spaces
// separate tokens and are dropped.
func dateLex(s string) []string {
	var toks []string
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r >= '0' && r <= '9':
			j := i
			dot := false
			for j < len(rs) && ((rs[j] >= '0' && rs[j] <= '9') || (rs[j] == '.' && !dot && j+1 < len(rs) && rs[j+1] >= '0' && rs[j+1] <= '9' && i > 0 && rs[i-1] == ':')) {
				if rs[j] == '.' {
					dot = true
				}
				j++
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		case unicode.IsLetter(r):
			j := i
			for j < len(rs) && unicode.IsLetter(rs[j]) {
				j++
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		default:
			toks = append(toks, string(r))
			i++
		}
	}
	// Seconds with a fraction ("05.123") arrive as "05", ".", "123".
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		if toks[i] == "." && len(out) > 0 && i+1 < len(toks) && isDigits(out[len(out)-1]) && isDigits(toks[i+1]) &&
			len(out) >= 2 && out[len(out)-2] == ":" {
			out[len(out)-1] += "." + toks[i+1]
			i++
			continue
		}
		out = append(out, toks[i])
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

func monthNumber(low string) int {
	low = strings.ToLower(low)
	for i, m := range monthNames {
		if low == m || low == m[:3] || (m == "september" && low == "sept") {
			return i + 1
		}
	}
	return 0
}

func isWeekday(low string) bool {
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		if low == d || low == d[:3] || (d == "tuesday" && low == "tues") || (d == "thursday" && low == "thurs") {
			return true
		}
	}
	return false
}

// isAMPM returns 0 for am, 1 for pm, -1 otherwise.
func isAMPM(low string) int {
	switch low {
	case "am", "a":
		return 0
	case "pm", "p":
		return 1
	}
	return -1
}

func isZoneName(t string) bool {
	if len(t) < 3 || len(t) > 5 {
		return false
	}
	for _, c := range t {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// isJump lists dateutil's JUMP words and separators.
func isJump(low string) bool {
	switch low {
	case ",", ".", "-", "/", ";", "'", "at", "on", "and", "ad", "m", "t", "of", "st", "nd", "rd", "th", "the":
		return true
	}
	return false
}
