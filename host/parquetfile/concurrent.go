package parquetfile

import (
	"fmt"
	"sync"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/parquet-go/parquet-go"
)

// Concurrent row groups (Options.Concurrency N > 1).
//
// Write, on the caller's goroutine, validates each batch and cuts its rows
// into segments, one per row group they belong to, at the rows where a
// sequential Writer would end its row groups (RowGroupBytes aside). Each row
// group has a parquet.ConcurrentRowGroupWriter of its own (begun with
// pw.BeginRowGroup; pw's own row group stays empty) and a rowEncoder with
// its own column state. Segments queue on their row group, and a goroutine
// encodes them in order: it is started when the queue gets rows and ends
// when the queue is empty, so a Writer dropped without Close leaves no
// goroutine waiting for rows.
//
// Once a row group is sealed (full, or at Close) its goroutine flushes the
// last pages, waits until the previous row group is done, commits its own
// to the file and closes its done channel. Commits are therefore serial and
// in file order, each as soon as every earlier row group is committed, and
// the done channel of the last row group begun means every one is done.
//
// A row group holds one of N slots from the time it begins until it is
// committed, so at most N are in flight and Write blocks for a slot. The
// slot returns with the committed row group's encoder (column writers,
// dictionaries, buffers), which the next row group reuses. Write also
// blocks while the batch data handed over but not yet encoded exceeds a
// budget (see budget), so what the Writer retains of the caller's batches
// is bounded whatever the speed of the caller.

// concurrent is the state of a Writer with Options.Concurrency > 1. The
// Writer's goroutine owns it, but for slots, fail and the pending count
// (under mu), which the row groups' goroutines share.
type concurrent struct {
	pw    *parquet.Writer
	cols  []column           // per-field parameters for new encoders
	slots chan *groupEncoder // a free slot, with a reusable encoder or nil
	fail  failure

	cur        *rowGroup       // the row group receiving rows; nil between row groups
	lastDone   <-chan struct{} // done of the last row group begun
	groupBytes int64           // batch bytes handed to cur (see Options.RowGroupBytes)

	// pending is the batch data handed to row groups and not yet encoded;
	// Write waits while it exceeds budget().
	mu      sync.Mutex
	cond    sync.Cond // signalled when pending decreases or a row group fails
	pending int64

	extra         int64 // row groups in flight beyond the first: N-1
	rowGroupRows  int64
	rowGroupBytes int64
	seenRows      int64 // rows accepted so far
	seenBytes     int64 // their batch data

	fixedRowBytes int64 // batch bytes of a row but its string data
	stringCols    []int // indexes of the string columns
}

func newConcurrent(pw *parquet.Writer, cols []column, n int, rowGroupRows, rowGroupBytes int64) *concurrent {
	c := &concurrent{
		pw:            pw,
		cols:          cols,
		slots:         make(chan *groupEncoder, n),
		fail:          failure{done: make(chan struct{})},
		extra:         int64(n - 1),
		rowGroupRows:  rowGroupRows,
		rowGroupBytes: rowGroupBytes,
	}
	c.cond.L = &c.mu
	for range n {
		c.slots <- nil
	}
	none := make(chan struct{})
	close(none)
	c.lastDone = none
	for i, col := range cols {
		switch col.field.Type {
		case sdk.TypeString:
			c.fixedRowBytes += 4 // its offset
			c.stringCols = append(c.stringCols, i)
		case sdk.TypeDate:
			c.fixedRowBytes += 4
		case sdk.TypeBool:
			c.fixedRowBytes++
		default:
			c.fixedRowBytes += 8
		}
	}
	return c
}

// err returns the first error of any row group, or nil.
func (c *concurrent) err() error { return c.fail.get() }

// batchBytes returns the batch data of rows [lo, hi) of b that RowGroupBytes
// counts: string bytes plus a fixed width per value.
func (c *concurrent) batchBytes(b *sdk.RecordBatch, lo, hi int) int64 {
	n := int64(hi-lo) * c.fixedRowBytes
	for _, i := range c.stringCols {
		offs := b.Columns[i].Offsets
		n += int64(offs[hi] - offs[lo])
	}
	return n
}

// writeConcurrent hands the rows of a valid batch to the row groups they
// belong to, beginning row groups as needed. It walks the batch in the
// chunks of writeChunkRows rows a sequential Writer writes, ending a row
// group after the chunk that fills its rows or reaches its byte bound; the
// row group's encoder writes the same chunks, so both Writers write the
// same pages.
func (w *Writer) writeConcurrent(b *sdk.RecordBatch) error {
	c := w.conc
	for off := 0; off < b.NumRows; {
		if c.cur == nil {
			if err := c.begin(); err != nil {
				return err
			}
		}
		s, full := segment{b: b, lo: off}, false
		for off < b.NumRows && !full {
			n := min(b.NumRows-off, int(w.rowGroupRows-w.groupRows), writeChunkRows)
			s.bytes += c.batchBytes(b, off, off+n)
			off += n
			w.groupRows += int64(n)
			full = w.groupRows == w.rowGroupRows || c.groupBytes+s.bytes >= w.rowGroupBytes
		}
		s.hi = off
		c.seenRows += int64(s.hi - s.lo)
		c.seenBytes += s.bytes
		if err := c.reserve(s.bytes); err != nil {
			return err
		}
		c.groupBytes += s.bytes
		w.rows += int64(s.hi - s.lo)
		c.cur.push(s, full)
		if full {
			c.cur = nil
			c.groupBytes = 0
			w.groupRows = 0
		}
	}
	return nil
}

// budget returns how much batch data may wait to be encoded: half a row
// group's per row group in flight beyond the first. A row group's batch data
// is estimated from the rows accepted so far, and at most RowGroupBytes.
//
// The encoder of a row group only runs ahead of Write's rows while rows wait
// for it, and all of a row group's rows must be handed over before the next
// row group begins. With less than half a row group waiting, an encoder
// would sit idle while a caller faster than the encoders fills the next row
// group; with more, waiting rows only cost memory.
func (c *concurrent) budget() int64 {
	group := c.rowGroupBytes
	if c.seenRows > 0 {
		perRow := max(c.seenBytes/c.seenRows, 1)
		if c.rowGroupRows < group/perRow {
			group = c.rowGroupRows * perRow
		}
	}
	return c.extra * (group / 2)
}

// reserve waits until n more bytes of batch data fit the budget (or none is
// pending: a segment larger than the budget goes alone), then counts them
// as pending. It returns the first error of any row group instead.
func (c *concurrent) reserve(n int64) error {
	budget := c.budget()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.pending > 0 && c.pending+n > budget {
		if err := c.err(); err != nil {
			return err
		}
		c.cond.Wait()
	}
	if err := c.err(); err != nil {
		return err
	}
	c.pending += n
	return nil
}

// release uncounts n bytes of batch data once encoded or discarded.
func (c *concurrent) release(n int64) {
	c.mu.Lock()
	c.pending -= n
	c.mu.Unlock()
	c.cond.Signal()
}

// begin starts a row group once a slot is free, or returns the first error
// of any row group.
func (c *concurrent) begin() error {
	var enc *groupEncoder
	select {
	case enc = <-c.slots:
	case <-c.fail.done:
		return c.err()
	}
	if err := c.err(); err != nil {
		c.slots <- enc
		return err
	}
	if enc == nil {
		rg := c.pw.BeginRowGroup()
		enc = &groupEncoder{rg: rg, rowEncoder: newRowEncoder(c.cols, rg.ColumnWriters())}
	}
	g := &rowGroup{c: c, enc: enc, prev: c.lastDone, done: make(chan struct{})}
	c.cur, c.lastDone = g, g.done
	return nil
}

// wait seals the row group receiving rows, waits until every row group is
// committed or abandoned after an error, and returns the first error.
func (c *concurrent) wait() error {
	if c.cur != nil {
		c.cur.push(segment{}, true)
		c.cur = nil
	}
	<-c.lastDone
	return c.err()
}

// groupEncoder writes one row group at a time into its own
// ConcurrentRowGroupWriter, which Commit empties for the next.
type groupEncoder struct {
	rg *parquet.ConcurrentRowGroupWriter
	*rowEncoder
}

// segment is rows [lo, hi) of a batch, which hold bytes of batch data (see
// concurrent.batchBytes).
type segment struct {
	b      *sdk.RecordBatch
	lo, hi int
	bytes  int64
}

// rowGroup is a row group in flight: being filled, encoded, or waiting for
// its turn to be committed.
type rowGroup struct {
	c    *concurrent
	enc  *groupEncoder
	prev <-chan struct{} // closed once the previous row group is done
	done chan struct{}   // closed once this row group is committed or abandoned

	mu      sync.Mutex
	queue   []segment // rows to encode, in order
	running bool      // a goroutine owns the row group (and err)
	sealed  bool      // no more rows: the goroutine finishes the row group

	err error // this row group's first error
}

// push queues the rows of s (none when s.b is nil) and, with seal, ends the
// row group. It starts the row group's goroutine unless one is running.
func (g *rowGroup) push(s segment, seal bool) {
	g.mu.Lock()
	if s.b != nil {
		g.queue = append(g.queue, s)
	}
	g.sealed = g.sealed || seal
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		go g.run()
	}
}

// run encodes the queued segments until the queue is empty, then finishes
// the row group if it is sealed and otherwise ends, for push to start it
// again. After any row group's error it discards the segments instead.
func (g *rowGroup) run() {
	var segs []segment
	for {
		g.mu.Lock()
		segs, g.queue = g.queue, segs[:0]
		if len(segs) == 0 {
			sealed := g.sealed
			if !sealed {
				g.running = false
			}
			g.mu.Unlock()
			if sealed {
				g.finish()
			}
			return
		}
		g.mu.Unlock()
		for i, s := range segs {
			if g.err == nil && g.c.err() == nil {
				if err := g.enc.writeRange(s.b, s.lo, s.hi); err != nil {
					g.setErr(fmt.Errorf("failed to write batch: %w", err))
				}
			}
			g.c.release(s.bytes)
			segs[i] = segment{} // the caller's batch may be freed
		}
	}
}

// finish encodes the row group's last pages, waits until the previous row
// group is done, commits this one unless a row group failed, and frees the
// slot.
func (g *rowGroup) finish() {
	defer close(g.done)
	if g.err == nil && g.c.err() == nil {
		if err := g.enc.rg.Flush(); err != nil {
			g.setErr(fmt.Errorf("failed to write row group: %w", err))
		}
	}
	<-g.prev
	if g.err == nil && g.c.err() == nil {
		if _, err := g.enc.rg.Commit(); err != nil {
			g.setErr(fmt.Errorf("failed to write row group: %w", err))
		}
	}
	if g.err != nil || g.c.err() != nil {
		// The column writers may hold part of a row group: drop them.
		g.c.slots <- nil
		return
	}
	g.enc.endRowGroup()
	g.c.slots <- g.enc
}

func (g *rowGroup) setErr(err error) {
	g.err = err
	g.c.fail.set(err)
	g.c.mu.Lock() // Write may wait in reserve
	g.c.cond.Broadcast()
	g.c.mu.Unlock()
}

// failure records the first error of the row groups of a Writer.
type failure struct {
	once sync.Once
	done chan struct{} // closed once err is set
	err  error
}

func (f *failure) set(err error) {
	f.once.Do(func() {
		f.err = err
		close(f.done)
	})
}

// get returns the error, or nil while there is none.
func (f *failure) get() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}
