// Package csvfile reads a CSV file as SDK record batches, so that a file can
// be validated (`bedrot quality run --suite S FILE.csv`) before it is
// ingested. Column types are inferred the way pandas' read_csv does for the
// common cases — integers, floats, booleans, ISO dates, else text — from a
// first pass over the whole file; empty cells are nulls. The file is read
// twice and never held in memory.
package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// BatchRows is how many rows a batch holds.
const BatchRows = 8192

// Reader streams a CSV file's rows as record batches.
type Reader struct {
	path   string
	f      *os.File
	r      *csv.Reader
	schema sdk.Schema
	b      *sdk.BatchBuilder
	line   int64
	rows   int64
}

// kind is what a column's values have all been so far, narrowest first.
type kind int

const (
	kindNone kind = iota // only empty cells
	kindBool
	kindInt
	kindFloat
	kindDate
	kindText
)

func classify(v string) kind {
	switch strings.ToLower(v) {
	case "true", "false":
		return kindBool
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return kindInt
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return kindFloat
	}
	if _, err := time.Parse(time.DateOnly, v); err == nil {
		return kindDate
	}
	return kindText
}

// widen combines what a column was with what a value is.
func widen(a, b kind) kind {
	switch {
	case a == kindNone:
		return b
	case b == kindNone || a == b:
		return a
	case (a == kindInt && b == kindFloat) || (a == kindFloat && b == kindInt):
		return kindFloat
	}
	return kindText
}

func newCSV(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// Open infers the file's schema and returns a Reader positioned at its
// first row.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	header, kinds, err := infer(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	var s sdk.Schema
	for i, name := range header {
		fl := sdk.Field{Name: name, Nullable: true}
		switch kinds[i] {
		case kindBool:
			fl.Type = sdk.TypeBool
		case kindInt:
			fl.Type = sdk.TypeInt64
		case kindFloat:
			fl.Type = sdk.TypeFloat64
		case kindDate:
			fl.Type = sdk.TypeDate
		default:
			fl.Type = sdk.TypeString
		}
		s.Fields = append(s.Fields, fl)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	rd := &Reader{path: path, f: f, r: newCSV(skipBOM(f)), schema: s, b: sdk.NewBatchBuilder("csv", s)}
	if _, err := rd.r.Read(); err != nil { // the header
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rd.line = 1
	return rd, nil
}

// skipBOM drops a UTF-8 byte order mark.
func skipBOM(r io.Reader) io.Reader {
	var bom [3]byte
	n, _ := io.ReadFull(r, bom[:])
	if n == 3 && bytes.Equal(bom[:], []byte{0xEF, 0xBB, 0xBF}) {
		return r
	}
	return io.MultiReader(bytes.NewReader(bom[:n]), r)
}

func infer(f *os.File, path string) ([]string, []kind, error) {
	cr := newCSV(skipBOM(f))
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s is empty: a CSV file needs a header line", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	header := make([]string, len(rec))
	seen := map[string]bool{}
	for i, h := range rec {
		h = strings.TrimSpace(h)
		if h == "" || seen[h] {
			return nil, nil, fmt.Errorf("%s:1: column %d: header %q is empty or repeated", path, i+1, h)
		}
		seen[h] = true
		header[i] = h
	}
	kinds := make([]kind, len(header))
	for line := int64(2); ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return header, kinds, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) != len(header) {
			return nil, nil, fmt.Errorf("%s:%d: %d fields, but the header has %d", path, line, len(rec), len(header))
		}
		for i, v := range rec {
			if kinds[i] != kindText && v != "" {
				kinds[i] = widen(kinds[i], classify(v))
			}
		}
	}
}

// Schema is the inferred schema: every column nullable.
func (r *Reader) Schema() sdk.Schema { return r.schema }

// Rows is how many rows Next has returned so far.
func (r *Reader) Rows() int64 { return r.rows }

// Next returns the next batch (valid until the next call), or io.EOF.
func (r *Reader) Next() (*sdk.RecordBatch, error) {
	r.b.Reset("csv", "")
	for r.b.Len() < BatchRows {
		rec, err := r.r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.path, err)
		}
		r.line++
		for i, v := range rec {
			if v == "" {
				r.b.AppendNull(i)
				continue
			}
			if err := r.append(i, v); err != nil {
				return nil, fmt.Errorf("%s:%d: column %q: %w (the file changed while it was read)", r.path, r.line, r.schema.Fields[i].Name, err)
			}
		}
		r.b.EndRow()
	}
	if r.b.Len() == 0 {
		return nil, io.EOF
	}
	r.rows += int64(r.b.Len())
	return r.b.Batch(), nil
}

func (r *Reader) append(i int, v string) error {
	switch r.schema.Fields[i].Type {
	case sdk.TypeBool:
		r.b.AppendBool(i, strings.EqualFold(v, "true"))
	case sdk.TypeInt64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		r.b.AppendInt64(i, n)
	case sdk.TypeFloat64:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		r.b.AppendFloat64(i, x)
	case sdk.TypeDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return err
		}
		r.b.AppendInt32(i, sdk.DaysSinceEpoch(d))
	default:
		r.b.AppendString(i, []byte(v))
	}
	return nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }
