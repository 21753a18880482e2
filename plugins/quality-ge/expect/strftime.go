package expect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// strptime matches strings against a Python strftime format exactly as
// Python's datetime.strptime accepts them: the format becomes the same
// regular expression CPython's _strptime builds (case-insensitive, runs of
// whitespace match \s+), the match must consume the whole string, and the
// fields must make a real date and time.
type strptime struct {
	re     *regexp.Regexp
	groups []string
}

// strptimeDirectives are CPython's _strptime.TimeRE patterns (C locale).
var strptimeDirectives = map[byte]string{
	'd': `(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])`,
	'f': `(?P<f>[0-9]{1,6})`,
	'H': `(?P<H>2[0-3]|[0-1]\d|\d)`,
	'I': `(?P<I>1[0-2]|0[1-9]|[1-9])`,
	'G': `(?P<G>\d\d\d\d)`,
	'j': `(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`,
	'm': `(?P<m>1[0-2]|0[1-9]|[1-9])`,
	'M': `(?P<M>[0-5]\d|\d)`,
	'S': `(?P<S>6[0-1]|[0-5]\d|\d)`,
	'U': `(?P<U>5[0-3]|[0-4]\d|\d)`,
	'W': `(?P<W>5[0-3]|[0-4]\d|\d)`,
	'w': `(?P<w>[0-6])`,
	'u': `(?P<u>[1-7])`,
	'V': `(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)`,
	'y': `(?P<y>\d\d)`,
	'Y': `(?P<Y>\d\d\d\d)`,
	'z': `(?P<z>[+-]\d\d:?[0-5]\d(:?[0-5]\d(\.\d{1,6})?)?|(?-i:Z))`,
	'A': `(?P<A>monday|tuesday|wednesday|thursday|friday|saturday|sunday)`,
	'a': `(?P<a>mon|tue|wed|thu|fri|sat|sun)`,
	'B': `(?P<B>january|february|march|april|may|june|july|august|september|october|november|december)`,
	'b': `(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)`,
	'p': `(?P<p>am|pm)`,
	'Z': `(?P<Z>utc|gmt)`,
	'%': `%`,
}

// strptimeLocale expands the locale directives (C locale).
var strptimeLocale = map[byte]string{'c': "%a %b %d %H:%M:%S %Y", 'x': "%m/%d/%y", 'X': "%H:%M:%S"}

var whitespaceRun = regexp.MustCompile(`\s+`)

func compileStrptime(format string) (*strptime, error) {
	for k, v := range strptimeLocale {
		format = strings.ReplaceAll(format, "%"+string(k), v)
	}
	var b strings.Builder
	b.WriteString(`^(?i)`)
	seen := map[byte]bool{}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' {
			j := i
			for j < len(format) && format[j] != '%' {
				j++
			}
			lit := regexp.QuoteMeta(format[i:j])
			b.WriteString(whitespaceRun.ReplaceAllString(lit, `\s+`))
			i = j - 1
			continue
		}
		if i+1 >= len(format) {
			return nil, fmt.Errorf("stray %% at the end of %q", format)
		}
		d := format[i+1]
		pat, ok := strptimeDirectives[d]
		if !ok {
			return nil, fmt.Errorf("%q is a bad directive in format %q", "%"+string(d), format)
		}
		if d != '%' && seen[d] {
			return nil, fmt.Errorf("redefinition of group name %q in format %q", string(d), format)
		}
		seen[d] = true
		b.WriteString(pat)
		i++
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("format %q: %w", format, err)
	}
	return &strptime{re: re, groups: re.SubexpNames()}, nil
}

var monthAbbr = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// match reports whether s parses with the format.
func (p *strptime) match(s []byte) bool {
	loc := p.re.FindSubmatchIndex(s)
	if loc == nil || loc[1] != len(s) {
		return false
	}
	year, month, day, hour, minute, sec := 1900, 1, 1, 0, 0, 0
	julian := -1
	pm, twelve := -1, false
	for g, name := range p.groups {
		if name == "" || len(name) != 1 || loc[2*g] < 0 {
			continue
		}
		v := string(s[loc[2*g]:loc[2*g+1]])
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		switch name[0] {
		case 'Y':
			year = n
		case 'y':
			if n <= 68 {
				year = 2000 + n
			} else {
				year = 1900 + n
			}
		case 'm':
			month = n
		case 'B', 'b':
			low := strings.ToLower(v)
			for i, m := range monthAbbr {
				if strings.HasPrefix(low, m) {
					month = i + 1
				}
			}
		case 'd':
			day = n
		case 'H':
			hour = n
		case 'I':
			hour, twelve = n, true
		case 'p':
			if strings.EqualFold(v, "pm") {
				pm = 1
			} else {
				pm = 0
			}
		case 'M':
			minute = n
		case 'S':
			sec = n
		case 'j':
			julian = n
		}
	}
	if twelve {
		switch {
		case pm == 1 && hour != 12:
			hour += 12
		case pm != 1 && hour == 12:
			hour = 0
		}
	}
	if julian > 0 {
		t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, julian-1)
		if t.Year() != year {
			return false
		}
		month, day = int(t.Month()), t.Day()
	}
	return validDateTime(year, month, day, hour, minute, sec)
}

// validDateTime reports whether the fields make a datetime Python accepts.
func validDateTime(year, month, day, hour, minute, sec int) bool {
	if year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day
}
