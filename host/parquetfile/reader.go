package parquetfile

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// DefaultBatchRows is the batch size used when ReadOptions.BatchRows is zero.
const DefaultBatchRows = 8192

// minFileSize is the smallest possible Parquet file: "PAR1", a 4-byte footer
// length and "PAR1".
const minFileSize = 12

// julianDayOfEpoch is the Julian day number of 1970-01-01, the day count an
// INT96 timestamp starts from.
const julianDayOfEpoch = 2_440_588

// ReadOptions configure a Reader. The zero value reads every column in
// batches of DefaultBatchRows rows.
type ReadOptions struct {
	// BatchRows is the number of rows of every batch but the last;
	// DefaultBatchRows when zero.
	BatchRows int
	// Columns, when set, projects the file onto these columns, in this
	// order. Only the projected columns are read (their pages only), and
	// only they must have a supported type. Nil reads every column in file
	// order.
	Columns []string
}

// Reader streams a Parquet file with flat columns back into sdk.RecordBatch
// values. It reads column by column, page by page: each projected column
// holds one decoded page and its chunk's dictionary at a time, so memory is
// bounded by a page (about 256 KiB for our files, a few MiB for other
// writers' defaults) plus a dictionary per column, plus the batch itself,
// whatever the size of the file or its row groups.
//
// Types map back as follows (the inverse of SchemaFor, widened to what other
// writers such as DuckDB, Spark and pyarrow produce):
//
//	BYTE_ARRAY (STRING, ENUM, JSON)                        → TypeString
//	INT64, INT64 (INTEGER(64, signed))                     → TypeInt64
//	INT32, INT32 (INTEGER(8|16|32, signed or unsigned))    → TypeInt64
//	DOUBLE, FLOAT (widened)                                → TypeFloat64
//	BOOLEAN                                                → TypeBool
//	INT32 (DATE)                                           → TypeDate
//	INT64 (TIMESTAMP(MILLIS|MICROS|NANOS)), INT96          → TypeTimestamp, in µs
//	DECIMAL(p ≤ 18, s) on INT32, INT64, FIXED_LEN_BYTE_ARRAY
//	  or BYTE_ARRAY                                        → TypeDecimal(p, s)
//
// OPTIONAL columns are Nullable, REQUIRED ones are not. Timestamps that are
// not adjusted to UTC (DuckDB's TIMESTAMP, Spark's TIMESTAMP_NTZ) are read as
// if their wall clock were UTC. NANOS timestamps are floored to the
// microsecond. Strings are not checked for valid UTF-8. Nested, repeated and
// other columns are rejected with an error naming the column and its type,
// unless a projection leaves them out.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	file      *parquet.File
	schema    sdk.Schema
	cols      []readColumn
	batch     sdk.RecordBatch
	batchRows int

	rowGroups []parquet.RowGroup
	rowGroup  int   // index of the current row group; -1 before the first
	groupLeft int64 // rows of the current row group not yet read
	row       int64 // rows returned so far
	err       error
	closed    bool
}

// conversion says how a column's physical values become batch values.
type conversion uint8

const (
	convString        conversion = iota // BYTE_ARRAY → Bytes/Offsets
	convInt64                           // INT64 → Int64s
	convInt32ToInt64                    // INT32 → Int64s
	convUint32ToInt64                   // INT32 holding a UINT32 → Int64s
	convInt32                           // INT32 → Int32s (DATE)
	convDouble                          // DOUBLE → Float64s
	convFloat                           // FLOAT → Float64s
	convBool                            // BOOLEAN → Bools
	convMillis                          // INT64 milliseconds → Int64s µs
	convNanos                           // INT64 nanoseconds → Int64s µs
	convInt96                           // INT96 (nanos of day, Julian day) → Int64s µs
	convDecimalFixed                    // FIXED_LEN_BYTE_ARRAY big-endian → Int64s
	convDecimalBytes                    // BYTE_ARRAY big-endian → Int64s
)

// readColumn is the per-projected-column state of a Reader.
type readColumn struct {
	field  sdk.Field
	leaf   int // leaf column index in the file
	conv   conversion
	maxDef byte // 1 for OPTIONAL columns, 0 for REQUIRED ones

	pages   parquet.Pages
	page    parquet.Page
	data    encoding.Values // the page's dense (non-null) values, or dictionary indexes
	defs    []byte          // definition levels, one per row; nil when REQUIRED
	indexes []int32         // dictionary indexes of a dictionary-encoded page
	rows    int             // rows in the page
	rowOff  int             // next row of the page to read
	valOff  int             // next dense value of the page to read

	// The chunk's dictionary, converted once into batch values.
	dict      parquet.Dictionary
	dictLen   int
	dictI64   []int64
	dictI32   []int32
	dictF64   []float64
	dictBool  []bool
	dictBytes []byte
	dictOffs  []uint32

	nulls   []bool // backing array of the batch column's Null
	anyNull bool
}

// NewReader opens the Parquet file of the given size in f and maps its
// schema (see Reader). It reads only the footer; pages are read by Next. The
// caller keeps ownership of f, which must stay readable until the Reader is
// closed.
func NewReader(f io.ReaderAt, size int64, opts ReadOptions) (r *Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("failed to open parquet file: corrupt file: %v", p)
		}
	}()
	if size < minFileSize {
		return nil, fmt.Errorf("failed to open parquet file: it is %d bytes long, too short for a Parquet file (empty or truncated?)", size)
	}
	if opts.BatchRows < 0 {
		return nil, fmt.Errorf("failed to open parquet file: batch rows %d is negative", opts.BatchRows)
	}
	batchRows := opts.BatchRows
	if batchRows == 0 {
		batchRows = DefaultBatchRows
	}
	pf, err := parquet.OpenFile(f, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(64<<10),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to open parquet file (%d bytes; truncated or not a Parquet file?): %w", size, err)
	}
	cols, err := mapColumns(pf.Root(), opts.Columns)
	if err != nil {
		return nil, fmt.Errorf("failed to open parquet file: %w", err)
	}
	if err := checkChunks(pf, size, cols); err != nil {
		return nil, fmt.Errorf("failed to open parquet file: %w", err)
	}
	r = &Reader{
		file:      pf,
		cols:      cols,
		batchRows: batchRows,
		rowGroups: pf.RowGroups(),
		rowGroup:  -1,
	}
	r.schema.Fields = make([]sdk.Field, len(cols))
	r.batch.Columns = make([]sdk.Column, len(cols))
	for i := range cols {
		r.schema.Fields[i] = cols[i].field
	}
	return r, nil
}

// Schema returns the SDK schema of the projected columns, in batch column
// order.
func (r *Reader) Schema() sdk.Schema {
	return sdk.Schema{Fields: slices.Clone(r.schema.Fields)}
}

// NumRows returns the number of rows in the file, from its footer.
func (r *Reader) NumRows() int64 { return r.file.NumRows() }

// Lookup returns the value of a key in the footer's key/value metadata, such
// as the bedrot.run_id a Writer stored from Options.KeyValue.
func (r *Reader) Lookup(key string) (string, bool) { return r.file.Lookup(key) }

// Next returns the next batch of rows, or io.EOF after the last one. Every
// batch has ReadOptions.BatchRows rows except the last; batches may span
// row groups. The batch and its columns' slices are reused: they are valid
// until the next call to Next or Close, so copy what must outlive them. A
// nullable column has a nil Null slice when the batch holds no null in it.
//
// After an error other than io.EOF the Reader is unusable and every later
// call returns the same error.
func (r *Reader) Next() (b *sdk.RecordBatch, err error) {
	if r.closed {
		return nil, errors.New("failed to read parquet file: reader is closed")
	}
	if r.err != nil {
		return nil, r.err
	}
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("failed to read parquet file: corrupt data after row %d: %v", r.row, p)
		}
		if err != nil && err != io.EOF {
			r.err = err
		}
	}()
	for i := range r.batch.Columns {
		c := &r.batch.Columns[i]
		c.Int64s, c.Int32s, c.Float64s, c.Bools = c.Int64s[:0], c.Int32s[:0], c.Float64s[:0], c.Bools[:0]
		c.Bytes = c.Bytes[:0]
		if r.cols[i].conv == convString {
			c.Offsets = append(c.Offsets[:0], 0)
		}
		c.Null = nil
		r.cols[i].anyNull = false
		r.cols[i].nulls = r.cols[i].nulls[:0]
	}
	r.batch.NumRows = 0
	for r.batch.NumRows < r.batchRows {
		if r.groupLeft == 0 {
			ok, err := r.nextRowGroup()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			continue
		}
		n := int(min(int64(r.batchRows-r.batch.NumRows), r.groupLeft))
		for i := range r.cols {
			if err := r.cols[i].read(&r.batch.Columns[i], n); err != nil {
				return nil, fmt.Errorf("failed to read parquet file: row group %d, column %q, rows from %d: %w",
					r.rowGroup, r.cols[i].field.Name, r.row+int64(r.batch.NumRows), err)
			}
		}
		r.batch.NumRows += n
		r.groupLeft -= int64(n)
	}
	if r.batch.NumRows == 0 {
		return nil, io.EOF
	}
	for i := range r.cols {
		if r.cols[i].anyNull {
			r.batch.Columns[i].Null = r.cols[i].nulls
		}
	}
	r.row += int64(r.batch.NumRows)
	return &r.batch, nil
}

// Close releases the pages the Reader holds. It does not close the
// underlying io.ReaderAt.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.closePages()
}

// closePages closes the page readers of the current row group.
func (r *Reader) closePages() error {
	var errs []error
	for i := range r.cols {
		c := &r.cols[i]
		c.releasePage()
		if c.pages != nil {
			if err := c.pages.Close(); err != nil {
				errs = append(errs, fmt.Errorf("column %q: %w", c.field.Name, err))
			}
			c.pages = nil
		}
		c.dict, c.dictBytes, c.dictOffs = nil, nil, nil // the dictionary dies with its chunk
	}
	return errors.Join(errs...)
}

// nextRowGroup opens the page readers of the next non-empty row group. It
// returns false after the last one.
func (r *Reader) nextRowGroup() (bool, error) {
	if r.rowGroup >= 0 {
		for i := range r.cols {
			c := &r.cols[i]
			if c.page != nil && c.rowOff < c.rows {
				return false, fmt.Errorf("failed to read parquet file: row group %d, column %q holds more values than the row group's %d rows",
					r.rowGroup, c.field.Name, r.rowGroups[r.rowGroup].NumRows())
			}
		}
	}
	if err := r.closePages(); err != nil {
		return false, fmt.Errorf("failed to read parquet file: row group %d: %w", r.rowGroup, err)
	}
	for r.rowGroup+1 < len(r.rowGroups) {
		r.rowGroup++
		rg := r.rowGroups[r.rowGroup]
		if rg.NumRows() == 0 {
			continue
		}
		chunks := rg.ColumnChunks()
		for i := range r.cols {
			r.cols[i].pages = chunks[r.cols[i].leaf].Pages()
		}
		r.groupLeft = rg.NumRows()
		return true, nil
	}
	return false, nil
}

// read appends the next n rows of the column, all within the current row
// group, to dst.
func (c *readColumn) read(dst *sdk.Column, n int) error {
	for n > 0 {
		if c.page == nil || c.rowOff == c.rows {
			if err := c.nextPage(); err != nil {
				return err
			}
			continue
		}
		k := min(n, c.rows-c.rowOff)
		dense := k
		var defs []byte
		if c.maxDef > 0 {
			defs = c.defs[c.rowOff : c.rowOff+k]
			dense = countEqual(defs, c.maxDef)
			c.appendNulls(defs, dense < k)
		}
		if err := c.decode(dst, k, dense, defs); err != nil {
			return err
		}
		c.rowOff += k
		c.valOff += dense
		n -= k
	}
	return nil
}

// appendNulls records the null flags of defs; nulls is only filled once a
// batch meets its first null.
func (c *readColumn) appendNulls(defs []byte, hasNull bool) {
	if !hasNull && !c.anyNull {
		c.nulls = slices.Grow(c.nulls, len(defs))[:len(c.nulls)+len(defs)]
		return
	}
	start := len(c.nulls)
	c.nulls = slices.Grow(c.nulls, len(defs))[:start+len(defs)]
	if !c.anyNull {
		clear(c.nulls[:start])
		c.anyNull = true
	}
	out := c.nulls[start:]
	for i, d := range defs {
		out[i] = d != c.maxDef
	}
}

// nextPage releases the current page and reads the next one of the chunk.
func (c *readColumn) nextPage() error {
	c.releasePage()
	if c.pages == nil {
		return errors.New("no page reader")
	}
	p, err := c.pages.ReadPage()
	if err == io.EOF {
		return errors.New("the column chunk ends before the row group's last row (corrupt or truncated file)")
	}
	if err != nil {
		return err
	}
	c.page = p
	c.rowOff, c.valOff = 0, 0
	c.data = p.Data()
	dense := int(p.NumValues() - p.NumNulls())
	if c.maxDef > 0 {
		c.defs = p.DefinitionLevels()
		c.rows = len(c.defs)
		dense = countEqual(c.defs, c.maxDef)
	} else {
		c.defs = nil
		c.rows = int(p.NumValues())
	}
	if len(p.RepetitionLevels()) > 0 {
		return errors.New("page has repetition levels in a flat column")
	}
	c.indexes = nil
	if dense == 0 {
		// Only nulls: parquet-go may hand an indexed page without its
		// dictionary, and no value is read anyway.
		return nil
	}
	if d := p.Dictionary(); d != nil {
		if d != c.dict {
			if err := c.loadDictionary(d); err != nil {
				return err
			}
		}
		c.indexes = c.data.Int32()
		if len(c.indexes) < dense {
			return fmt.Errorf("page has %d dictionary indexes for %d values", len(c.indexes), dense)
		}
		for _, ix := range c.indexes[:dense] {
			if uint32(ix) >= uint32(c.dictLen) {
				return fmt.Errorf("page references dictionary entry %d of %d", ix, c.dictLen)
			}
		}
		return nil
	}
	if have := c.denseLen(&c.data); have < dense {
		return fmt.Errorf("page holds %d values for %d non-null rows", have, dense)
	}
	return nil
}

// releasePage hands the current page back to parquet-go's buffer pool.
func (c *readColumn) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.data, c.defs, c.indexes = encoding.Values{}, nil, nil
	c.rows, c.rowOff, c.valOff = 0, 0, 0
}

// denseLen returns how many physical values v holds.
func (c *readColumn) denseLen(v *encoding.Values) int {
	switch c.conv {
	case convString, convDecimalBytes:
		_, offs := v.ByteArray()
		return max(len(offs)-1, 0)
	case convInt64, convMillis, convNanos:
		return len(v.Int64())
	case convInt32ToInt64, convUint32ToInt64, convInt32:
		return len(v.Int32())
	case convDouble:
		return len(v.Double())
	case convFloat:
		return len(v.Float())
	case convBool:
		return len(v.Boolean()) * 8
	case convInt96:
		return len(v.Int96())
	case convDecimalFixed:
		data, size := v.FixedLenByteArray()
		if size <= 0 {
			return 0
		}
		return len(data) / size
	}
	return 0
}

// loadDictionary converts dictionary d into batch values once per chunk.
func (c *readColumn) loadDictionary(d parquet.Dictionary) error {
	v := d.Page().Data()
	n := d.Len()
	if have := c.denseLen(&v); have < n {
		return fmt.Errorf("dictionary holds %d values, announces %d", have, n)
	}
	c.dict, c.dictLen = d, n
	switch c.conv {
	case convString:
		data, offs := v.ByteArray()
		c.dictBytes, c.dictOffs = data, offs[:n+1]
		return nil
	case convInt32:
		c.dictI32 = slices.Grow(c.dictI32[:0], n)[:n]
		return c.convertInt32s(c.dictI32, &v, 0)
	case convDouble, convFloat:
		c.dictF64 = slices.Grow(c.dictF64[:0], n)[:n]
		return c.convertFloat64s(c.dictF64, &v, 0)
	case convBool:
		c.dictBool = slices.Grow(c.dictBool[:0], n)[:n]
		return c.convertBools(c.dictBool, &v, 0)
	default:
		c.dictI64 = slices.Grow(c.dictI64[:0], n)[:n]
		return c.convertInt64s(c.dictI64, &v, 0)
	}
}

// decode appends k rows, of which dense are non-null, to dst. defs holds the
// rows' definition levels (nil when REQUIRED).
func (c *readColumn) decode(dst *sdk.Column, k, dense int, defs []byte) error {
	if dense == 0 {
		// k nulls: no value of the page is read (an all-null page may
		// hold dictionary indexes without its dictionary).
		switch c.conv {
		case convString:
			for range k {
				dst.Offsets = append(dst.Offsets, uint32(len(dst.Bytes)))
			}
		case convInt32:
			dst.Int32s = append(dst.Int32s, make([]int32, k)...)
		case convDouble, convFloat:
			dst.Float64s = append(dst.Float64s, make([]float64, k)...)
		case convBool:
			dst.Bools = append(dst.Bools, make([]bool, k)...)
		default:
			dst.Int64s = append(dst.Int64s, make([]int64, k)...)
		}
		return nil
	}
	if c.conv == convString {
		return c.decodeStrings(dst, k, dense, defs)
	}
	var err error
	switch c.conv {
	case convInt32:
		dst.Int32s, err = decodeInto(c, dst.Int32s, k, dense, defs, c.dictI32, c.convertInt32s)
	case convDouble, convFloat:
		dst.Float64s, err = decodeInto(c, dst.Float64s, k, dense, defs, c.dictF64, c.convertFloat64s)
	case convBool:
		dst.Bools, err = decodeInto(c, dst.Bools, k, dense, defs, c.dictBool, c.convertBools)
	default:
		dst.Int64s, err = decodeInto(c, dst.Int64s, k, dense, defs, c.dictI64, c.convertInt64s)
	}
	return err
}

// decodeInto appends k values to out: the dense non-null values, gathered
// from dict or converted from the page, then spread over the rows with zero
// values at nulls.
func decodeInto[T any](c *readColumn, out []T, k, dense int, defs []byte, dict []T,
	convert func(dst []T, v *encoding.Values, off int) error) ([]T, error) {
	start := len(out)
	out = slices.Grow(out, k)[:start+k]
	dst := out[start:]
	if c.indexes != nil {
		for i, ix := range c.indexes[c.valOff : c.valOff+dense] {
			dst[i] = dict[ix]
		}
	} else if err := convert(dst[:dense], &c.data, c.valOff); err != nil {
		return out, err
	}
	if dense < k {
		spread(dst, defs, c.maxDef, dense)
	}
	return out, nil
}

// spread moves the first dense values of dst to the rows whose definition
// level is maxDef, and zeroes the others. It works backwards, in place.
func spread[T any](dst []T, defs []byte, maxDef byte, dense int) {
	var zero T
	j := dense - 1
	for i := len(dst) - 1; i > j; i-- {
		if defs[i] == maxDef {
			dst[i] = dst[j]
			j--
		} else {
			dst[i] = zero
		}
	}
}

// decodeStrings appends k string rows to dst.
func (c *readColumn) decodeStrings(dst *sdk.Column, k, dense int, defs []byte) error {
	base := len(dst.Bytes)
	if c.indexes != nil {
		ixs := c.indexes[c.valOff : c.valOff+dense]
		total := 0
		for _, ix := range ixs {
			total += int(c.dictOffs[ix+1] - c.dictOffs[ix])
		}
		if err := checkStringBytes(base + total); err != nil {
			return err
		}
		bytes := slices.Grow(dst.Bytes, total)
		offs := slices.Grow(dst.Offsets, k)
		if defs == nil || dense == k {
			for _, ix := range ixs {
				bytes = append(bytes, c.dictBytes[c.dictOffs[ix]:c.dictOffs[ix+1]]...)
				offs = append(offs, uint32(len(bytes)))
			}
		} else {
			j := 0
			for _, d := range defs {
				if d == c.maxDef {
					ix := ixs[j]
					j++
					bytes = append(bytes, c.dictBytes[c.dictOffs[ix]:c.dictOffs[ix+1]]...)
				}
				offs = append(offs, uint32(len(bytes)))
			}
		}
		dst.Bytes, dst.Offsets = bytes, offs
		return nil
	}
	data, srcOffs := c.data.ByteArray()
	src := srcOffs[c.valOff : c.valOff+dense+1]
	lo, hi := src[0], src[dense]
	if lo > hi || int(hi) > len(data) {
		return fmt.Errorf("string offsets [%d, %d) are outside the page's %d bytes", lo, hi, len(data))
	}
	if err := checkStringBytes(base + int(hi-lo)); err != nil {
		return err
	}
	dst.Bytes = append(dst.Bytes, data[lo:hi]...)
	shift := uint32(base) - lo // wraps around; the sums below do too
	offs := slices.Grow(dst.Offsets, k)
	if defs == nil || dense == k {
		for _, o := range src[1:] {
			offs = append(offs, o+shift)
		}
	} else {
		j := 1
		for _, d := range defs {
			if d == c.maxDef {
				j++
			}
			offs = append(offs, src[j-1]+shift)
		}
	}
	for i := len(offs) - k; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return errors.New("string offsets decrease")
		}
	}
	dst.Offsets = offs
	return nil
}

// checkStringBytes fails when a batch's string bytes outgrow the uint32
// offsets of sdk.Column.
func checkStringBytes(n int) error {
	if n > math.MaxUint32 {
		return errors.New("a batch holds more than 4 GiB of text; use a smaller BatchRows")
	}
	return nil
}

// convertInt64s converts len(dst) physical values of v, from value off on,
// into int64 batch values.
func (c *readColumn) convertInt64s(dst []int64, v *encoding.Values, off int) error {
	n := len(dst)
	switch c.conv {
	case convInt64:
		copy(dst, v.Int64()[off:off+n])
	case convInt32ToInt64:
		for i, x := range v.Int32()[off : off+n] {
			dst[i] = int64(x)
		}
	case convUint32ToInt64:
		for i, x := range v.Uint32()[off : off+n] {
			dst[i] = int64(x)
		}
	case convMillis:
		const lim = math.MaxInt64 / 1000
		for i, x := range v.Int64()[off : off+n] {
			if x > lim || x < -lim {
				return fmt.Errorf("timestamp %d ms is out of the range of int64 microseconds", x)
			}
			dst[i] = x * 1000
		}
	case convNanos:
		for i, x := range v.Int64()[off : off+n] {
			us := x / 1000
			if x%1000 < 0 {
				us-- // floor, so that instants before 1970 keep their order
			}
			dst[i] = us
		}
	case convInt96:
		for i, x := range v.Int96()[off : off+n] {
			nanos := int64(uint64(x[1])<<32 | uint64(x[0]))
			days := int64(int32(x[2])) - julianDayOfEpoch
			if nanos < 0 || nanos >= 86400*1e9 {
				return fmt.Errorf("INT96 timestamp has %d nanoseconds in its day", nanos)
			}
			dst[i] = days*86400*1e6 + nanos/1000
		}
	case convDecimalFixed:
		data, size := v.FixedLenByteArray()
		for i := range dst {
			b := data[(off+i)*size : (off+i+1)*size]
			x, err := bigEndianInt64(b)
			if err != nil {
				return err
			}
			dst[i] = x
		}
	case convDecimalBytes:
		data, offs := v.ByteArray()
		for i := range dst {
			lo, hi := offs[off+i], offs[off+i+1]
			if lo > hi || int(hi) > len(data) {
				return fmt.Errorf("decimal offsets [%d, %d) are outside the page's %d bytes", lo, hi, len(data))
			}
			x, err := bigEndianInt64(data[lo:hi])
			if err != nil {
				return err
			}
			dst[i] = x
		}
	default:
		return fmt.Errorf("internal error: conversion %d to int64", c.conv)
	}
	return nil
}

// bigEndianInt64 decodes a big-endian two's complement integer, as DECIMAL
// stores it in byte arrays.
func bigEndianInt64(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, errors.New("decimal value has no bytes")
	}
	// Bytes beyond the last eight must only extend the sign.
	for len(b) > 8 {
		ext := byte(0)
		if b[len(b)-8]&0x80 != 0 {
			ext = 0xFF
		}
		if b[0] != ext {
			return 0, fmt.Errorf("decimal value of %d bytes does not fit 64 bits", len(b))
		}
		b = b[1:]
	}
	x := int64(int8(b[0])) // sign-extends
	for _, c := range b[1:] {
		x = x<<8 | int64(c)
	}
	return x, nil
}

// convertInt32s converts DATE values.
func (c *readColumn) convertInt32s(dst []int32, v *encoding.Values, off int) error {
	copy(dst, v.Int32()[off:off+len(dst)])
	return nil
}

// convertFloat64s converts DOUBLE and FLOAT values.
func (c *readColumn) convertFloat64s(dst []float64, v *encoding.Values, off int) error {
	if c.conv == convDouble {
		copy(dst, v.Double()[off:off+len(dst)])
		return nil
	}
	for i, x := range v.Float()[off : off+len(dst)] {
		dst[i] = float64(x)
	}
	return nil
}

// convertBools unpacks BOOLEAN bits (least significant bit first).
func (c *readColumn) convertBools(dst []bool, v *encoding.Values, off int) error {
	bits := v.Boolean()
	for i := range dst {
		j := off + i
		dst[i] = bits[j>>3]>>(j&7)&1 != 0
	}
	return nil
}

// countEqual counts the bytes of b equal to x.
func countEqual(b []byte, x byte) int {
	n := 0
	for _, v := range b {
		if v == x {
			n++
		}
	}
	return n
}

// mapColumns maps the file's top-level columns, or the projected ones, to
// SDK fields.
func mapColumns(root *parquet.Column, projection []string) ([]readColumn, error) {
	top := root.Columns()
	if projection == nil {
		cols := make([]readColumn, 0, len(top))
		for _, col := range top {
			c, err := mapColumn(col)
			if err != nil {
				return nil, err
			}
			cols = append(cols, c)
		}
		if len(cols) == 0 {
			return nil, errors.New("the file has no columns")
		}
		return cols, nil
	}
	if len(projection) == 0 {
		return nil, errors.New("the projection names no columns")
	}
	cols := make([]readColumn, 0, len(projection))
	seen := make(map[string]struct{}, len(projection))
	for _, name := range projection {
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("column %q is projected twice", name)
		}
		seen[name] = struct{}{}
		col := root.Column(name)
		if col == nil {
			names := make([]string, len(top))
			for i, c := range top {
				names[i] = c.Name()
			}
			return nil, fmt.Errorf("column %q is not in the file (its columns: %s)", name, strings.Join(names, ", "))
		}
		c, err := mapColumn(col)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// mapColumn maps one top-level column to an SDK field and a conversion.
func mapColumn(col *parquet.Column) (readColumn, error) {
	name := col.Name()
	unsupported := func(what string) (readColumn, error) {
		return readColumn{}, fmt.Errorf("column %q has unsupported type %s; only flat columns of string, integer, floating-point, boolean, date, timestamp and decimal(p ≤ 18) types can be read", name, what)
	}
	if !col.Leaf() {
		what := "group"
		if lt := col.Type().LogicalType(); lt != nil && lt.Value != nil {
			what = lt.String()
		}
		return unsupported(fmt.Sprintf("%s (nested)", what))
	}
	typ := col.Type()
	kind := typ.Kind()
	var lt format.LogicalTypeValue
	if l := typ.LogicalType(); l != nil {
		lt = l.Value
	}
	what := kind.String()
	if lt != nil {
		what += " (" + lt.String() + ")"
	}
	if col.Repeated() {
		return unsupported("repeated " + what)
	}
	if col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
		return unsupported(what + " (nested)")
	}
	c := readColumn{field: sdk.Field{Name: name, Nullable: col.Optional()}, leaf: col.Index()}
	if col.Optional() {
		c.maxDef = 1
	}
	ok := true
	switch lt := lt.(type) {
	case nil:
		switch kind {
		case parquet.Int64:
			c.field.Type, c.conv = sdk.TypeInt64, convInt64
		case parquet.Int32:
			c.field.Type, c.conv = sdk.TypeInt64, convInt32ToInt64
		case parquet.Double:
			c.field.Type, c.conv = sdk.TypeFloat64, convDouble
		case parquet.Float:
			c.field.Type, c.conv = sdk.TypeFloat64, convFloat
		case parquet.Boolean:
			c.field.Type, c.conv = sdk.TypeBool, convBool
		case parquet.Int96:
			c.field.Type, c.conv = sdk.TypeTimestamp, convInt96
		default:
			ok = false
		}
	case *format.StringType, *format.EnumType, *format.JsonType:
		c.field.Type, c.conv = sdk.TypeString, convString
		ok = kind == parquet.ByteArray
	case *format.IntType:
		c.field.Type = sdk.TypeInt64
		switch {
		case kind == parquet.Int64 && lt.IsSigned:
			c.conv = convInt64
		case kind == parquet.Int32 && lt.IsSigned:
			c.conv = convInt32ToInt64
		case kind == parquet.Int32:
			c.conv = convUint32ToInt64
		default:
			ok = false // UINT64 does not fit int64
		}
	case *format.DateType:
		c.field.Type, c.conv = sdk.TypeDate, convInt32
		ok = kind == parquet.Int32
	case *format.TimestampType:
		c.field.Type = sdk.TypeTimestamp
		switch lt.Unit.Value.(type) {
		case *format.MilliSeconds:
			c.conv = convMillis
		case *format.MicroSeconds:
			c.conv = convInt64
		case *format.NanoSeconds:
			c.conv = convNanos
		default:
			ok = false
		}
		ok = ok && kind == parquet.Int64
	case *format.DecimalType:
		if lt.Precision < 1 || lt.Precision > maxDecimalPrecision || lt.Scale < 0 || lt.Scale > lt.Precision {
			return unsupported(what)
		}
		c.field.Type, c.field.Precision, c.field.Scale = sdk.TypeDecimal, lt.Precision, lt.Scale
		switch kind {
		case parquet.Int64:
			c.conv = convInt64
		case parquet.Int32:
			c.conv = convInt32ToInt64
		case parquet.FixedLenByteArray:
			c.conv = convDecimalFixed
			ok = typ.Length() > 0
		case parquet.ByteArray:
			c.conv = convDecimalBytes
		default:
			ok = false
		}
	default:
		ok = false
	}
	if !ok {
		return unsupported(what)
	}
	return c, nil
}

// checkChunks checks that every projected column chunk lies within the file
// and has one value per row, so that a truncated file fails when it is
// opened rather than half-way through.
func checkChunks(pf *parquet.File, size int64, cols []readColumn) error {
	for g, rg := range pf.Metadata().RowGroups {
		for i := range cols {
			c := &cols[i]
			if c.leaf >= len(rg.Columns) {
				return fmt.Errorf("row group %d has %d column chunks, column %q is leaf %d", g, len(rg.Columns), c.field.Name, c.leaf)
			}
			md := &rg.Columns[c.leaf].MetaData
			start := md.DataPageOffset
			if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
				start = md.DictionaryPageOffset
			}
			if rg.NumRows > 0 && (start < 4 || md.TotalCompressedSize <= 0 || start+md.TotalCompressedSize > size-8) {
				return fmt.Errorf("row group %d, column %q: its chunk (%d bytes at offset %d) lies outside the %d-byte file (truncated or corrupt?)",
					g, c.field.Name, md.TotalCompressedSize, start, size)
			}
			if md.NumValues != rg.NumRows {
				return fmt.Errorf("row group %d, column %q: its chunk holds %d values for %d rows (corrupt file?)", g, c.field.Name, md.NumValues, rg.NumRows)
			}
		}
	}
	return nil
}
