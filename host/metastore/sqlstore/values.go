package sqlstore

import (
	"strconv"
	"strings"
)

// maxRowsPerStatement bounds the rows one multi-row statement writes or
// matches, keeping parameter counts far below both dialects' limits.
const maxRowsPerStatement = 200

// valuesList returns the placeholders of n rows of cols columns:
// "($1, $2), ($3, $4)". On SQLite it returns anonymous "?" placeholders
// instead: SQLite resolves each named or numbered parameter with a linear
// search, which makes a statement with thousands of "$N" quadratic to
// prepare and bind.
func (s *store) valuesList(n, cols int) string {
	var b strings.Builder
	p := 0
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			p++
			if s.dialect == DialectSQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// inList returns the placeholders of n values, "$1, $2, $3", like
// valuesList.
func (s *store) inList(n int) string {
	return strings.TrimSuffix(strings.TrimPrefix(s.valuesList(1, n), "("), ")")
}

// param is placeholder i (1-based) in this dialect's list form: "$i" on
// PostgreSQL, "?" on SQLite (where the statement must then use only "?").
func (s *store) param(i int) string {
	if s.dialect == DialectSQLite {
		return "?"
	}
	return "$" + strconv.Itoa(i)
}

// inListFrom is n placeholders numbered from start, comma-separated.
func (s *store) inListFrom(start, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.param(start + i))
	}
	return b.String()
}
