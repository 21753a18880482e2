package sqlengine

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

var (
	// ErrReadOnly is returned (wrapped) for a statement that is not a query.
	ErrReadOnly = errors.New("only read-only queries are allowed")
	// ErrMultipleStatements is returned (wrapped) for a text that holds more
	// than one statement. None of them is run.
	ErrMultipleStatements = errors.New("only one statement per query is allowed")
	// ErrEmptyQuery is returned for a text without a statement.
	ErrEmptyQuery = errors.New("the query is empty")
)

// allowedHint says what is allowed, for error messages.
const allowedHint = "use SELECT, WITH, FROM, VALUES, PIVOT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN or PRAGMA table_info"

// queryWords are the first keywords of statements DuckDB parses as queries.
var queryWords = map[string]bool{
	"SELECT": true, "WITH": true, "FROM": true, "VALUES": true, "TABLE": true,
	"PIVOT": true, "UNPIVOT": true, "DESCRIBE": true, "DESC": true, "SHOW": true, "SUMMARIZE": true,
}

// precheck refuses, by its first keyword, a statement that cannot be a
// query, before anything is read or downloaded. It is not the guard:
// checkStatement decides with DuckDB's parser. It admits PRAGMA, which
// DuckDB either rewrites into a SELECT (table_info) or checkStatement
// refuses.
func precheck(query string) error {
	s := skipSpace(query)
	for strings.HasPrefix(s, ";") {
		s = skipSpace(s[1:])
	}
	if s == "" {
		return ErrEmptyQuery
	}
	w, rest := keyword(skipParens(s))
	switch {
	case queryWords[w], w == "PRAGMA":
		return nil
	case w == "EXPLAIN":
		return precheckExplain(rest)
	case w == "":
		return fmt.Errorf("%w: the query does not start with a keyword; %s", ErrReadOnly, allowedHint)
	default:
		return fmt.Errorf("%w: %s statements are refused; %s", ErrReadOnly, w, allowedHint)
	}
}

// precheckExplain checks what EXPLAIN [ANALYZE] [(options)] explains: EXPLAIN
// ANALYZE runs it.
func precheckExplain(rest string) error {
	s := skipSpace(rest)
	if w, r := keyword(s); w == "ANALYZE" || w == "ANALYSE" {
		s = skipSpace(r)
	}
	if strings.HasPrefix(s, "(") {
		if w, _ := keyword(skipParens(s)); !queryWords[w] {
			s = skipSpace(skipGroup(s))
		}
	}
	w, _ := keyword(skipParens(s))
	if queryWords[w] {
		return nil
	}
	return fmt.Errorf("%w: EXPLAIN of a %s statement is refused; %s", ErrReadOnly, w, allowedHint)
}

// skipSpace skips white space and comments (-- to the end of the line, and
// /* */, which may nest).
func skipSpace(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n\f\v")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			depth, i := 0, 0
			for i < len(s) {
				switch {
				case strings.HasPrefix(s[i:], "/*"):
					depth++
					i += 2
				case strings.HasPrefix(s[i:], "*/"):
					depth--
					i += 2
				default:
					i++
				}
				if depth == 0 {
					break
				}
			}
			s = s[i:]
		default:
			return s
		}
	}
}

// skipParens skips opening parentheses and the space between them.
func skipParens(s string) string {
	s = skipSpace(s)
	for strings.HasPrefix(s, "(") {
		s = skipSpace(s[1:])
	}
	return s
}

// skipGroup skips a parenthesised group that s starts with.
func skipGroup(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[i+1:]
			}
		case '\'', '"':
			j := strings.IndexByte(s[i+1:], s[i])
			if j < 0 {
				return ""
			}
			i += j + 1
		}
	}
	return ""
}

// keyword returns the upper-cased word s starts with and the rest.
func keyword(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return strings.ToUpper(s[:i]), s[i:]
}

// statementNames names DuckDB's statement types for messages.
var statementNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE",
	duckdb.STATEMENT_TYPE_DELETE: "DELETE", duckdb.STATEMENT_TYPE_PREPARE: "PREPARE",
	duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE",
	duckdb.STATEMENT_TYPE_ALTER: "ALTER", duckdb.STATEMENT_TYPE_TRANSACTION: "transaction",
	duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ANALYZE: "ANALYZE",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE", duckdb.STATEMENT_TYPE_CREATE_FUNC: "CREATE FUNCTION",
	duckdb.STATEMENT_TYPE_DROP: "DROP", duckdb.STATEMENT_TYPE_EXPORT: "EXPORT",
	duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM",
	duckdb.STATEMENT_TYPE_CALL: "CALL", duckdb.STATEMENT_TYPE_SET: "SET",
	duckdb.STATEMENT_TYPE_LOAD: "LOAD/INSTALL", duckdb.STATEMENT_TYPE_EXTENSION: "extension",
	duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH",
	duckdb.STATEMENT_TYPE_MULTI: "multi-part",
}

// checkStatement prepares the query (DuckDB parses and binds it; nothing
// runs) and refuses it unless it is one statement of type SELECT or EXPLAIN.
func checkStatement(conn *sql.Conn, query string) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("sqlengine: unexpected DuckDB connection %T", dc)
		}
		// Conn.Prepare, unlike PrepareContext, refuses a text of several
		// statements instead of running all but the last.
		ds, err := c.Prepare(query)
		if err != nil {
			var de *duckdb.Error
			if !errors.As(err, &de) && strings.Contains(err.Error(), "multi-statement") {
				if w, _ := keyword(skipParens(query)); w == "PIVOT" || w == "UNPIVOT" {
					return fmt.Errorf("%w: a %s without an IN list makes DuckDB run a second statement to find the values; name them: %s … ON column IN ('a', 'b') …", ErrMultipleStatements, w, w)
				}
				return fmt.Errorf("%w: the text holds several statements separated by \";\"; run them one at a time", ErrMultipleStatements)
			}
			return queryError(err)
		}
		defer ds.Close()
		st, ok := ds.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("sqlengine: unexpected DuckDB statement %T", ds)
		}
		typ, err := st.StatementType()
		if err != nil {
			return fmt.Errorf("failed to read the statement's type: %w", err)
		}
		switch typ {
		case duckdb.STATEMENT_TYPE_SELECT, duckdb.STATEMENT_TYPE_EXPLAIN:
			return nil
		}
		name, ok := statementNames[typ]
		if !ok {
			name = fmt.Sprintf("type %d", typ)
		}
		return fmt.Errorf("%w: %s statements are refused; %s", ErrReadOnly, name, allowedHint)
	})
}
