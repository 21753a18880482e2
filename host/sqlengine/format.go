package sqlengine

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/width"
)

// Format is an output format of Write.
type Format string

// Output formats.
const (
	// FormatTable is an aligned text table for people, psql-style, with a
	// row count at the end. NULL shows as NULL.
	FormatTable Format = "table"
	// FormatCSV is RFC 4180 CSV with a header row. NULL is an empty field.
	FormatCSV Format = "csv"
	// FormatJSON is one JSON array of objects, one object per row, keys in
	// column order, written as the rows arrive.
	FormatJSON Format = "json"
	// FormatNDJSON is newline-delimited JSON: one object per row and line.
	FormatNDJSON Format = "ndjson"
)

// Formats lists the output formats.
var Formats = []Format{FormatTable, FormatCSV, FormatJSON, FormatNDJSON}

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown output format %q: use table, csv, json or ndjson", s)
}

// Table layout.
const (
	// tableSampleRows is how many rows the table buffers to size its
	// columns; later rows wider than their column push the line out.
	tableSampleRows = 1000
	// tableMaxCell bounds a table cell, in terminal columns; longer values
	// end in "…" (CSV and JSON always hold them whole).
	tableMaxCell = 64
)

// Write renders rows to w in format f and returns how many rows it wrote.
// CSV and JSON stream each row as it arrives; the table buffers its first
// 1000 rows to size its columns, then streams. Values render as follows:
// numbers exactly (decimals with their full scale), DATE as 2026-11-26,
// TIMESTAMP as 2026-11-26T10:00:00.5, TIMESTAMPTZ in UTC with a Z, NaN and
// infinities as NaN, Infinity and -Infinity (strings in JSON), lists,
// structs and maps as JSON. Duplicate column names get _1, _2, … suffixes
// in JSON so that every key is unique.
func Write(w io.Writer, f Format, rows *Rows) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case FormatTable:
		err = writeTable(bw, rows)
	case FormatCSV:
		err = writeCSV(bw, rows)
	case FormatJSON, FormatNDJSON:
		err = writeJSON(bw, rows, f == FormatNDJSON)
	default:
		_, err = ParseFormat(string(f))
	}
	if err == nil {
		err = rows.Err()
	}
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("failed to write the result: %w", ferr)
	}
	return rows.Count(), err
}

func writeCSV(w *bufio.Writer, rows *Rows) error {
	cw := csv.NewWriter(w)
	cols := rows.Columns()
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("failed to write the result: %w", err)
	}
	for rows.Next() {
		for i, v := range rows.Values() {
			rec[i], _ = text(v, cols[i].Type)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("failed to write the result: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("failed to write the result: %w", err)
	}
	return nil
}

// jsonKeys returns the columns' names as JSON keys, made unique.
func jsonKeys(cols []Column) [][]byte {
	seen := map[string]bool{}
	for _, c := range cols {
		seen[c.Name] = true
	}
	used := map[string]bool{}
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		name := c.Name
		for n := 1; used[name]; n++ {
			if cand := c.Name + "_" + strconv.Itoa(n); !seen[cand] && !used[cand] {
				name = cand
			}
		}
		used[name] = true
		keys[i] = append(appendJSONString(nil, name), ':')
	}
	return keys
}

func writeJSON(w *bufio.Writer, rows *Rows, ndjson bool) error {
	cols := rows.Columns()
	keys := jsonKeys(cols)
	var buf []byte
	if !ndjson {
		buf = append(buf, '[')
	}
	first := true
	for rows.Next() {
		if !ndjson {
			if !first {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
		}
		first = false
		buf = append(buf, '{')
		for i, v := range rows.Values() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[i]...)
			buf = appendJSON(buf, v, cols[i].Type)
		}
		buf = append(buf, '}')
		if ndjson {
			buf = append(buf, '\n')
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("failed to write the result: %w", err)
		}
		buf = buf[:0]
	}
	if !ndjson {
		if !first {
			buf = append(buf, '\n')
		}
		buf = append(buf, ']', '\n')
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("failed to write the result: %w", err)
	}
	return nil
}

// cell is one rendered table cell.
type cell struct {
	s string
	w int // terminal columns
}

func writeTable(w *bufio.Writer, rows *Rows) error {
	cols := rows.Columns()
	right := make([]bool, len(cols))
	widths := make([]int, len(cols))
	header := make([]cell, len(cols))
	for i, c := range cols {
		right[i] = numericType(c.Type)
		header[i] = tableCell(c.Name)
		widths[i] = header[i].w
	}
	readRow := func() []cell {
		vals := rows.Values()
		r := make([]cell, len(vals))
		for i, v := range vals {
			s, ok := text(v, cols[i].Type)
			if !ok {
				s = "NULL"
			}
			r[i] = tableCell(s)
		}
		return r
	}
	var sample [][]cell
	for len(sample) < tableSampleRows && rows.Next() {
		r := readRow()
		for i, c := range r {
			widths[i] = max(widths[i], c.w)
		}
		sample = append(sample, r)
	}
	var line []byte
	emit := func(r []cell, alignRight []bool) error {
		line = line[:0]
		for i, c := range r {
			if i > 0 {
				line = append(line, " | "...)
			}
			pad := max(widths[i]-c.w, 0)
			if alignRight != nil && alignRight[i] {
				line = append(line, strings.Repeat(" ", pad)...)
				line = append(line, c.s...)
			} else {
				line = append(line, c.s...)
				if i < len(r)-1 {
					line = append(line, strings.Repeat(" ", pad)...)
				}
			}
		}
		line = append(line, '\n')
		_, err := w.Write(line)
		return err
	}
	if err := emit(header, right); err != nil {
		return fmt.Errorf("failed to write the result: %w", err)
	}
	sep := make([]string, len(cols))
	for i := range cols {
		sep[i] = strings.Repeat("-", widths[i])
	}
	if _, err := w.WriteString(strings.Join(sep, "-+-") + "\n"); err != nil {
		return fmt.Errorf("failed to write the result: %w", err)
	}
	for _, r := range sample {
		if err := emit(r, right); err != nil {
			return fmt.Errorf("failed to write the result: %w", err)
		}
	}
	for rows.Next() {
		if err := emit(readRow(), right); err != nil {
			return fmt.Errorf("failed to write the result: %w", err)
		}
	}
	if rows.Err() != nil {
		return nil // Write reports it
	}
	noun := "rows"
	if rows.Count() == 1 {
		noun = "row"
	}
	if _, err := fmt.Fprintf(w, "(%d %s)\n", rows.Count(), noun); err != nil {
		return fmt.Errorf("failed to write the result: %w", err)
	}
	return nil
}

// tableCell makes s fit one line of a table cell: control characters are
// escaped and a value wider than tableMaxCell ends in "…".
func tableCell(s string) cell {
	type part struct {
		s string
		w int
	}
	parts := make([]part, 0, len(s))
	total := 0
	for _, r := range s {
		p := part{string(r), runeWidth(r)}
		switch {
		case r == '\n':
			p = part{`\n`, 2}
		case r == '\r':
			p = part{`\r`, 2}
		case r == '\t':
			p = part{`\t`, 2}
		case r < 0x20 || r == 0x7f:
			p = part{fmt.Sprintf(`\x%02X`, r), 4}
		}
		parts = append(parts, p)
		total += p.w
	}
	var sb strings.Builder
	cols := 0
	for _, p := range parts {
		if total > tableMaxCell && cols+p.w > tableMaxCell-1 {
			sb.WriteString("…")
			return cell{sb.String(), cols + 1}
		}
		sb.WriteString(p.s)
		cols += p.w
	}
	return cell{sb.String(), cols}
}

// runeWidth is the terminal width of r: 2 for East Asian wide characters.
func runeWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// numericType reports whether DuckDB type t is a number (right-aligned).
func numericType(t string) bool {
	t = strings.ToUpper(t)
	if strings.HasPrefix(t, "DECIMAL") {
		return true
	}
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
		"UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BIGNUM", "VARINT":
		return true
	}
	return false
}
