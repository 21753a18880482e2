package parquetfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	simdutf8 "github.com/segmentio/asm/utf8"
)

// DefaultRowGroupRows is the row-group size used when Options.RowGroupRows is zero.
const DefaultRowGroupRows = 256 * 1024

// DefaultRowGroupBytes is the row-group byte bound used when
// Options.RowGroupBytes is zero. A row group's pages are held in memory
// (compressed) until the group is complete, so this bounds the writer's memory.
const DefaultRowGroupBytes = 64 << 20

// DefaultDictionaryMaxBytes bounds the dictionary of a string column within
// one row group (the parquet-mr and Arrow default); past it the column falls
// back to PLAIN pages for the rest of the row group.
const DefaultDictionaryMaxBytes = 1 << 20

// DefaultCreatedBy is the created_by footer value used when Options.CreatedBy is empty.
const DefaultCreatedBy = "bedrot"

// pageBytes is parquet-go's page buffer size: a column writer cuts a page
// once it holds about this many bytes.
const pageBytes = parquet.DefaultPageBufferSize

// writeChunkRows is how many rows are handed to parquet-go per column call. It
// bounds the scratch buffer (24 bytes a value) and the size of one data page.
const writeChunkRows = 4096

// Compression selects the codec of every column chunk.
type Compression int

const (
	// CompressionZstd is zstd at its default level (≈ zstd -3). The default.
	CompressionZstd Compression = iota
	// CompressionZstdFastest is zstd at its fastest level (≈ zstd -1).
	CompressionZstdFastest
	// CompressionSnappy is snappy, for consumers that cannot read zstd.
	CompressionSnappy
	// CompressionNone writes uncompressed pages.
	CompressionNone
)

var snappyCodec = snappy.Codec{}

// codec returns a new codec instance; zstd codecs hold per-Writer state,
// sized for concurrency pages compressed at once.
func (c Compression) codec(concurrency int) (compress.Codec, error) {
	switch c {
	case CompressionZstd:
		return newZstdCodec(zstd.SpeedDefault, concurrency), nil
	case CompressionZstdFastest:
		return newZstdCodec(zstd.SpeedFastest, concurrency), nil
	case CompressionSnappy:
		return &snappyCodec, nil
	case CompressionNone:
		return &parquet.Uncompressed, nil
	default:
		return nil, fmt.Errorf("unknown compression %d", int(c))
	}
}

// Options configure a Writer. The zero value is usable.
type Options struct {
	// RowGroupRows caps the rows of one row group; DefaultRowGroupRows when zero.
	RowGroupRows int64
	// RowGroupBytes ends a row group early once it reaches this many bytes;
	// DefaultRowGroupBytes when zero. It bounds memory for wide or
	// text-heavy rows, checked every few thousand rows. A sequential Writer
	// counts the row group's encoded, compressed size. A concurrent one
	// (Concurrency > 1) decides where a row group ends before encoding it,
	// so it counts the batch data handed to the row group instead: string
	// bytes plus 8 bytes a 64-bit value, 4 a date or string offset and 1 a
	// bool, which is larger, so its row groups are smaller for the same
	// bound.
	RowGroupBytes int64
	// Compression is the codec of every column; zstd when zero.
	Compression Compression
	// KeyValue is written to the footer's key/value metadata, e.g.
	// bedrot.run_id, bedrot.source, bedrot.schema.
	KeyValue map[string]string
	// CreatedBy is the footer's created_by, conventionally
	// "<app> version <version> (build <commit>)"; DefaultCreatedBy when empty.
	CreatedBy string
	// DictionaryMaxBytes bounds each string column's dictionary per row
	// group; DefaultDictionaryMaxBytes when zero, unbounded when negative.
	DictionaryMaxBytes int64
	// Concurrency is how many row groups are encoded at once, each on a
	// goroutine of its own. 0 or 1 encodes on the caller's goroutine: Write
	// copies the batch into the file's current row group before returning.
	//
	// With N > 1, Write validates the batch, hands its rows to the
	// goroutine encoding the current row group and returns without copying
	// it: the batch is retained until it is encoded, so the caller must
	// not modify the batch or the slices it holds after Write, nor reuse
	// them. Row groups are cut at RowGroupRows rows as with N ≤ 1, and the
	// file is the same byte for byte unless RowGroupBytes ends a row group
	// (it counts differently, see RowGroupBytes). Write blocks
	// while N row groups are in flight, and while more than N-1 halves of a
	// row group's batch data (as RowGroupBytes counts it) wait to be
	// encoded. So memory holds at most that much of the caller's batches
	// plus N row groups of compressed pages (a sequential Writer holds one),
	// whatever the speed of the caller. Each
	// row group is committed to the file, in order, once it and every
	// earlier one are encoded. An encoding or output error surfaces from a
	// later Write or from Close. Call Close even after an error, or when
	// giving up on the file, before the io.Writer is reused or discarded:
	// until Close returns, other goroutines may still write row groups to
	// it.
	Concurrency int
}

// column is the per-field state of a row group being written: the field's
// encoding parameters, its column writer and its flush accounting.
type column struct {
	field    sdk.Field
	cw       *parquet.ColumnWriter
	optional bool // OPTIONAL: definition level 1 means present
	int32Dec bool // DECIMAL stored as INT32
	maxAbs   int64

	flushBytes   int64 // STRING: flush a page after this much text (0: never)
	pendingBytes int64 // STRING: text written since the column last flushed
}

// Writer streams sdk.RecordBatches into one Parquet file. It buffers at most
// one row group, encoded and compressed page by page, so memory stays bounded
// by the row-group size rather than the file size; with Options.Concurrency
// N > 1 it encodes up to N row groups at once on other goroutines (see
// Options.Concurrency). A Writer is not safe for concurrent use.
type Writer struct {
	schema        sdk.Schema
	pw            *parquet.Writer
	codec         compress.Codec
	cols          []column    // per-field parameters; column writers unset
	enc           *rowEncoder // sequential: the rows of pw's current row group
	conc          *concurrent // concurrent: nil when Concurrency ≤ 1
	rowGroupRows  int64
	rowGroupBytes int64
	groupRows     int64
	groupStart    int64 // sequential: pw.Size() when the current row group began
	rows          int64
	err           error
	closed        bool
}

// errClosed is returned by Write and Close after Close.
var errClosed = errors.New("parquet writer is closed")

// NewWriter starts a Parquet file with schema s on w. The caller owns w: Close
// writes the footer but does not close w.
func NewWriter(w io.Writer, s sdk.Schema, opts Options) (*Writer, error) {
	ps, err := SchemaFor(s)
	if err != nil {
		return nil, fmt.Errorf("failed to create parquet writer: %w", err)
	}
	if opts.Concurrency < 0 {
		return nil, fmt.Errorf("failed to create parquet writer: concurrency %d is negative", opts.Concurrency)
	}
	concurrency := max(opts.Concurrency, 1)
	codec, err := opts.Compression.codec(concurrency)
	if err != nil {
		return nil, fmt.Errorf("failed to create parquet writer: %w", err)
	}
	rowGroupRows := opts.RowGroupRows
	if rowGroupRows <= 0 {
		rowGroupRows = DefaultRowGroupRows
	}
	rowGroupBytes := opts.RowGroupBytes
	if rowGroupBytes <= 0 {
		rowGroupBytes = DefaultRowGroupBytes
	}
	dictMax := opts.DictionaryMaxBytes
	switch {
	case dictMax == 0:
		dictMax = DefaultDictionaryMaxBytes
	case dictMax < 0:
		dictMax = 0
	}
	createdBy := opts.CreatedBy
	if createdBy == "" {
		createdBy = DefaultCreatedBy
	}
	config := parquet.DefaultWriterConfig()
	config.Schema = ps
	config.Compression = codec
	config.MaxRowsPerRowGroup = rowGroupRows
	config.DictionaryMaxBytes = dictMax
	config.CreatedBy = createdBy
	config.PageBufferSize = pageBytes
	if len(opts.KeyValue) > 0 {
		config.KeyValueMetadata = make(map[string]string, len(opts.KeyValue))
		for k, v := range opts.KeyValue {
			config.KeyValueMetadata[k] = v
		}
	}
	if err := config.Validate(); err != nil {
		return nil, fmt.Errorf("failed to create parquet writer: %w", err)
	}

	// Statistics live in the column chunks and the page index (what DuckDB,
	// Spark and Trino prune with). Repeating them in every data page header
	// would make parquet-go compute each page's bounds a second time, which
	// costs 10% of the host's CPU on a DistroKid export. It must be an option
	// after the config: a config merged into parquet-go's defaults ORs its
	// booleans with them, so DataPageStatistics=false there would be lost.
	// Row groups a concurrent Writer begins with pw.BeginRowGroup share
	// this configuration, so their page headers are bare too.
	pw := parquet.NewWriter(w, config, parquet.DataPageStatistics(false))
	cws := pw.ColumnWriters()
	if len(cws) != len(s.Fields) {
		return nil, fmt.Errorf("failed to create parquet writer: %d column writers for %d fields", len(cws), len(s.Fields))
	}
	cols := make([]column, len(s.Fields))
	for i, f := range s.Fields {
		c := column{field: f, optional: f.Nullable}
		switch f.Type {
		case sdk.TypeDecimal:
			c.int32Dec = f.Precision <= 9
			c.maxAbs = pow10(int(f.Precision)) - 1
		case sdk.TypeString:
			c.flushBytes = dictMax
		}
		cols[i] = c
	}
	wr := &Writer{
		schema:        s,
		pw:            pw,
		codec:         codec,
		cols:          cols,
		rowGroupRows:  rowGroupRows,
		rowGroupBytes: rowGroupBytes,
	}
	if concurrency > 1 {
		wr.conc = newConcurrent(pw, cols, concurrency, rowGroupRows, rowGroupBytes)
	} else {
		wr.enc = newRowEncoder(cols, cws)
	}
	return wr, nil
}

// Rows returns the number of rows written so far; with Concurrency > 1,
// the rows Write accepted, some of which may still be being encoded.
func (w *Writer) Rows() int64 { return w.rows }

// Write appends the batch's rows. It validates the batch against the schema
// first and writes nothing when it is invalid; the writer stays usable.
//
// With Concurrency ≤ 1 the batch is copied: the caller may reuse it as soon
// as Write returns. With Concurrency > 1 it is not: the caller must leave
// the batch and its slices untouched after Write, since another goroutine
// encodes it later (see Options.Concurrency), and an encoding or output
// error of earlier batches may be returned by this Write.
//
// After an error other than a validation error the writer is unusable and
// every later call fails.
func (w *Writer) Write(b *sdk.RecordBatch) error {
	if w.closed {
		return fmt.Errorf("failed to write batch: %w", errClosed)
	}
	if w.err != nil {
		return w.err
	}
	if w.conc != nil {
		if err := w.conc.err(); err != nil {
			w.err = err
			return err
		}
	}
	if b != nil && b.NumRows == 0 {
		return nil
	}
	if err := w.validate(b); err != nil {
		return fmt.Errorf("failed to write batch: %w", err)
	}
	if w.conc != nil {
		if err := w.writeConcurrent(b); err != nil {
			w.err = err
			return err
		}
		return nil
	}
	for off := 0; off < b.NumRows; {
		n := min(b.NumRows-off, int(w.rowGroupRows-w.groupRows), writeChunkRows)
		if err := w.enc.writeRows(b, off, off+n); err != nil {
			w.err = fmt.Errorf("failed to write batch: %w", err)
			return w.err
		}
		off += n
		w.rows += int64(n)
		w.groupRows += int64(n)
		if w.groupRows == w.rowGroupRows || w.pw.Size()-w.groupStart >= w.rowGroupBytes {
			if err := w.pw.Flush(); err != nil {
				w.err = fmt.Errorf("failed to write row group: %w", err)
				return w.err
			}
			w.groupRows = 0
			w.groupStart = w.pw.Size()
			w.enc.endRowGroup()
		}
	}
	return nil
}

// Close flushes the last row group and writes the footer. With Concurrency
// > 1 it first waits until every row group is encoded and committed (or,
// after an error, abandoned), and returns the first error of any of them:
// once it returns, nothing writes to the io.Writer any more. It does not
// close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.closed {
		return fmt.Errorf("failed to close parquet writer: %w", errClosed)
	}
	w.closed = true
	if z, ok := w.codec.(*zstdCodec); ok {
		defer z.close()
	}
	if w.conc != nil {
		// Every row group must be done before the codec is released.
		if err := w.conc.wait(); err != nil && w.err == nil {
			w.err = err
		}
	}
	if w.err != nil {
		return w.err
	}
	if err := w.pw.Close(); err != nil {
		w.err = fmt.Errorf("failed to close parquet writer: %w", err)
		return w.err
	}
	return nil
}

// validate checks what parquet-go would not: column shapes, nulls in
// REQUIRED columns, decimals within their precision and UTF-8 strings.
func (w *Writer) validate(b *sdk.RecordBatch) error {
	if b == nil {
		return errors.New("batch is nil")
	}
	if err := b.Validate(w.schema); err != nil {
		return err
	}
	for i := range w.cols {
		c := &w.cols[i]
		col := &b.Columns[i]
		switch c.field.Type {
		case sdk.TypeDecimal:
			if r := outOfRange(col.Int64s, c.maxAbs); r >= 0 {
				return fmt.Errorf("column %q row %d: unscaled value %d does not fit %s", c.field.Name, r, col.Int64s[r], c.field.TypeString())
			}
		case sdk.TypeString:
			if b.NumRows > 0 && col.Offsets[0] > col.Offsets[b.NumRows] {
				return fmt.Errorf("column %q: string offsets decrease", c.field.Name)
			}
			if r := invalidUTF8(col.Bytes, col.Offsets[:b.NumRows+1]); r >= 0 {
				return fmt.Errorf("column %q row %d: string is not valid UTF-8 or its offsets are out of order", c.field.Name, r)
			}
		}
	}
	return nil
}

// outOfRange returns the first index whose |v| exceeds maxAbs, or -1.
func outOfRange(vs []int64, maxAbs int64) int {
	bad := false
	for _, v := range vs {
		bad = bad || v > maxAbs || v < -maxAbs
	}
	if !bad {
		return -1
	}
	for i, v := range vs {
		if v > maxAbs || v < -maxAbs {
			return i
		}
	}
	return -1
}

// invalidUTF8 returns the first row whose string is not valid UTF-8 or whose
// offsets go backwards, or -1. The common cases take one pass over the
// buffer: pure ASCII needs only the offsets checked; otherwise, if the whole
// buffer is valid UTF-8 and no value starts on a continuation byte, every
// value is valid.
func invalidUTF8(data []byte, offsets []uint32) int {
	base, end := offsets[0], offsets[len(offsets)-1]
	data = data[base:end]
	ascii := isASCII(data)
	if ascii || simdutf8.Valid(data) {
		prev := base
		for i, o := range offsets[1:] {
			if o < prev || o > end {
				return i
			}
			if !ascii && o > prev && data[prev-base]&0xC0 == 0x80 {
				return i
			}
			prev = o
		}
		return -1
	}
	for i := 0; i+1 < len(offsets); i++ {
		lo, hi := offsets[i], offsets[i+1]
		if hi < lo || hi > end || !utf8.Valid(data[lo-base:hi-base]) {
			return i
		}
	}
	return -1
}

// isASCII reports whether b holds only 7-bit bytes, 32 bytes at a time. It
// stops at the first block with a high bit.
func isASCII(b []byte) bool {
	const hi = 0x8080808080808080
	for len(b) >= 32 {
		if (binary.LittleEndian.Uint64(b)|binary.LittleEndian.Uint64(b[8:])|
			binary.LittleEndian.Uint64(b[16:])|binary.LittleEndian.Uint64(b[24:]))&hi != 0 {
			return false
		}
		b = b[32:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// rowEncoder writes batch rows into the column writers of one row group at
// a time: the parquet.Writer's own for a sequential Writer, or those of a
// ConcurrentRowGroupWriter, which it keeps across the row groups it writes.
type rowEncoder struct {
	cols   []column
	values []parquet.Value // scratch for one chunk of one column
}

// newRowEncoder returns an encoder of the fields of cols (whose column
// writers are ignored) into the column writers cws, one per field.
func newRowEncoder(cols []column, cws []*parquet.ColumnWriter) *rowEncoder {
	e := &rowEncoder{cols: slices.Clone(cols), values: make([]parquet.Value, writeChunkRows)}
	for i := range e.cols {
		e.cols[i].cw = cws[i]
		e.cols[i].pendingBytes = 0
	}
	return e
}

// endRowGroup resets the per-row-group column state once the row group's
// pages have been flushed to the file.
func (e *rowEncoder) endRowGroup() {
	for i := range e.cols {
		e.cols[i].pendingBytes = 0
	}
}

// writeRange writes rows [lo, hi) of b in chunks of writeChunkRows rows, as
// a sequential Writer hands them over.
func (e *rowEncoder) writeRange(b *sdk.RecordBatch, lo, hi int) error {
	for lo < hi {
		n := min(hi-lo, writeChunkRows)
		if err := e.writeRows(b, lo, lo+n); err != nil {
			return err
		}
		lo += n
	}
	return nil
}

// writeRows writes rows [lo, hi) of b, at most writeChunkRows, to every column.
func (e *rowEncoder) writeRows(b *sdk.RecordBatch, lo, hi int) error {
	vals := e.values[:hi-lo]
	for i := range e.cols {
		c := &e.cols[i]
		col := &b.Columns[i]
		switch c.field.Type {
		case sdk.TypeString:
			offs := col.Offsets[lo : hi+1]
			data := col.Bytes
			for j := range vals {
				vals[j] = parquet.ByteArrayValue(data[offs[j]:offs[j+1]])
			}
		case sdk.TypeInt64, sdk.TypeTimestamp:
			for j, v := range col.Int64s[lo:hi] {
				vals[j] = parquet.Int64Value(v)
			}
		case sdk.TypeDecimal:
			if c.int32Dec {
				for j, v := range col.Int64s[lo:hi] {
					vals[j] = parquet.Int32Value(int32(v))
				}
			} else {
				for j, v := range col.Int64s[lo:hi] {
					vals[j] = parquet.Int64Value(v)
				}
			}
		case sdk.TypeDate:
			for j, v := range col.Int32s[lo:hi] {
				vals[j] = parquet.Int32Value(v)
			}
		case sdk.TypeFloat64:
			for j, v := range col.Float64s[lo:hi] {
				vals[j] = parquet.DoubleValue(v)
			}
		case sdk.TypeBool:
			for j, v := range col.Bools[lo:hi] {
				vals[j] = parquet.BooleanValue(v)
			}
		}
		if c.optional {
			// Present values carry definition level 1, nulls level 0.
			// REQUIRED columns ignore levels, so they skip this pass.
			if col.Null == nil {
				for j := range vals {
					vals[j].SetDefinitionLevel(1)
				}
			} else {
				null := parquet.NullValue()
				for j, isNull := range col.Null[lo:hi] {
					if isNull {
						vals[j] = null
					} else {
						vals[j].SetDefinitionLevel(1)
					}
				}
			}
		}
		if err := c.write(vals, col, lo); err != nil {
			return fmt.Errorf("column %q: %w", c.field.Name, err)
		}
	}
	clear(vals) // drop pointers into the caller's batch
	return nil
}

// write hands vals (rows lo… of col) to the column writer. parquet-go cuts
// a page only between calls and checks DictionaryMaxBytes only when it cuts
// one, and a page of dictionary indexes holds 64k rows whatever their size.
// So long strings go in slices of about a page each, and a string column
// flushes its page itself after every flushBytes of text: pages, and the
// dictionary before it falls back to PLAIN, stay near their nominal sizes.
func (c *column) write(vals []parquet.Value, col *sdk.Column, lo int) error {
	if c.field.Type != sdk.TypeString {
		_, err := c.cw.WriteRowValues(vals)
		return err
	}
	offs := col.Offsets[lo : lo+len(vals)+1]
	for start, n := 0, len(vals); start < n; {
		end := n
		if offs[n]-offs[start] > pageBytes {
			end = start + 1
			for end < n && offs[end+1]-offs[start] <= pageBytes {
				end++
			}
		}
		if _, err := c.cw.WriteRowValues(vals[start:end]); err != nil {
			return err
		}
		c.pendingBytes += int64(offs[end] - offs[start])
		if c.flushBytes > 0 && c.pendingBytes >= c.flushBytes {
			if err := c.cw.Flush(); err != nil {
				return err
			}
			c.pendingBytes = 0
		}
		start = end
	}
	return nil
}

// pow10 returns 10^n for 0 ≤ n ≤ 18.
func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
