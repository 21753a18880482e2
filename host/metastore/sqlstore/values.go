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
