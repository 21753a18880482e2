package distrokid

// The parallel parser: Parse with Workers > 1 after the header.
//
// The calling goroutine reads the decoded input in blocks, cuts each block
// into chunks at line ends and hands the chunks to workers, which tokenize
// and parse them speculatively: a worker assumes that its chunk starts at a
// record boundary, in the scanner state (noMultiline) known when the chunk
// was cut, and numbers lines from the chunk's start. The calling goroutine
// then merges the chunks' results in file order, accepting a chunk only
// when the parse so far ended exactly where the chunk starts, in the same
// state; it then adds the line the parse so far ended on to the chunk's
// line numbers (source_line, problems, first repairs). Anything else (a chunk cut inside a
// multi-line quoted field, the bytes between two blocks when a partial line
// is too long to carry, a record a worker would not vouch for, the end of a
// failed read) is parsed there by the sequential scanner itself, fed the
// same reads it would have had, until the parse reaches the start of a
// chunk again. The outcome is therefore the sequential one by construction;
// the speculation only decides how much of the work runs in parallel.
//
// Why an accepted chunk is exact: a worker scans with the sequential code
// (scanner.scan) over the chunk's bytes, with no more input after them
// (eof only for the chunk that ends the input). The tokenizer's decisions
// depend only on the bytes it has looked at and, once it reaches the end of
// its buffer, on whether more may come; a worker stops (stMore) instead of
// deciding there, so every record it completes is the one the sequential
// scanner completes from the same start, and its last record ends exactly at
// the chunk's end if and only if the chunk's end is a record boundary. The
// one exception is the sequential scanner's cap on a record in progress
// (more than readChunk bytes buffered: the record is then cut short or
// skipped); a worker therefore stops before any record for which tokenizing
// looked at more than maxSpan bytes, and the sequential scanner handles it.
// The fields' byte classes (UTF-8 or not) depend only on the record's own
// bytes (see scanUnquoted and fastRecord).
//
// Why the sequential fallback is exact: the sequential scanner's behaviour
// depends on its input bytes, on where its reads ended (they decide when it
// caps a long record) and on whether it has read the end of input. The
// reader here reads the same way (one Read of readChunk bytes at a time, as
// scanner.fill does) and records where each read ended; the fallback
// scanner starts at a record with the input from there to the end of the
// read that holds it, then gets the following reads one by one. The
// sequential scanner may hold more input at that record, when an earlier
// record needed it, but that makes no difference: it caps a record only at
// a read end more than readChunk bytes past the record's start, and at such
// a read end it would have capped the earlier records as well, instead of
// reading on; likewise it reads the end of input early only within
// readChunk bytes of it.
//
// Line numbers are exact because the scanner counts them record by record,
// from the record's bytes alone. Per-parser state is merged exactly: problems in file order
// under the cap, repair counts with the line of the first repair, the
// UTF-8/windows-1252 record counts; the date caches only speed parsing up.
// Rows are copied into one batch of BatchRows rows, so batches are cut where
// the sequential parser cuts them, and no rows are added after the first
// problem.

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/segmentio/asm/utf8"
)

// tuning holds the sizes of the parallel parser; a zero field takes its
// default. Tests shrink them to force chunk and block boundaries everywhere.
type tuning struct {
	chunkBytes int // input bytes per chunk handed to a worker
	blockBytes int // input bytes read into a block before it is cut (at most readChunk)
	carryBytes int // longest partial line carried into the next block (negative: none)
	maxSpan    int // most bytes a worker may look at for one record (at most readChunk/2)
	maxBlocks  int // blocks read ahead of the merged rows
	maxChunks  int // chunks cut ahead of the merged rows, before another block is read

	stats *parallelStats // if set, filled in at the end (for tests)
}

// parallelStats counts what the parallel parser did, for tests.
type parallelStats struct {
	chunks   int // chunks cut
	merged   int // chunks accepted
	replays  int // times the sequential scanner took over
	replayed int // records it parsed
	blocks   int // blocks read
}

// Defaults of tuning.
const (
	defaultChunkBytes = 256 << 10
	defaultCarryBytes = 64 << 10
	defaultMaxSpan    = 64 << 10
)

func (t tuning) withDefaults(workers int) tuning {
	if t.chunkBytes <= 0 {
		t.chunkBytes = defaultChunkBytes
	}
	if t.blockBytes <= 0 || t.blockBytes > readChunk {
		t.blockBytes = readChunk
	}
	switch {
	case t.carryBytes == 0:
		t.carryBytes = defaultCarryBytes
	case t.carryBytes < 0:
		t.carryBytes = 0
	}
	if t.maxSpan <= 0 || t.maxSpan > readChunk/2 {
		t.maxSpan = defaultMaxSpan
	}
	if t.maxBlocks <= 0 {
		t.maxBlocks = workers + 2
	}
	t.maxBlocks = max(t.maxBlocks, 2)
	if t.maxChunks <= 0 {
		t.maxChunks = 2*workers + 2
	}
	return t
}

// piece is one read of the decoded input, at input offsets [start, end)
// (offset 0 is the first byte after the header).
type piece struct {
	start, end int64
	err        error // io.EOF or the error the read returned with its bytes
}

// block holds consecutive reads, after the partial line carried over from
// the previous block.
type block struct {
	mem    []byte  // the whole buffer
	buf    []byte  // the bytes held: mem[:n]
	off    int64   // input offset of buf[0]
	pieces []piece // the reads whose bytes follow the carried line
	chunks int     // chunks cut from this block not yet merged or dropped
	pooled bool    // mem goes back to the pool when released
}

func (b *block) end() int64 { return b.off + int64(len(b.buf)) }

// chunk is a run of whole lines handed to a worker.
type chunk struct {
	blk     *block
	data    []byte
	off     int64 // input offset of data[0]
	noMulti bool  // the scanner state assumed at data[0]
	final   bool  // data ends the input
	res     *chunkResult
	done    chan struct{} // closed when res is filled
}

// chunkResult is what a worker made of a chunk: the records from the
// chunk's start up to end, their rows (up to the chunk's first problem) and
// tally, and the scanner state at end.
type chunkResult struct {
	t          tally
	b          batch
	end        int64 // input offset where the worker stopped
	endLine    int64 // lines from the chunk's start to end
	endNoMulti bool
	eof        bool // the records run to the end of input
}

// pipeline is the state of a parallel parse, owned by the calling goroutine.
type pipeline struct {
	p      *parser
	r      io.Reader // the decoded input, past what the header's scanner holds
	tune   tuning
	jobs   chan *chunk
	wg     sync.WaitGroup
	stop   atomic.Bool // workers skip the chunks left (the parse failed)
	noRows atomic.Bool // a problem was found: no more rows are needed

	blocks  []*block // read and not yet released, in input order
	free    [][]byte // released block buffers
	results []*chunkResult
	queue   []*chunk // cut and not yet merged or dropped, in input order

	readEnd  int64 // input offset after the last byte read
	readDone bool  // the end of input or an error was read

	// The chunker: what follows the last chunk.
	tail  []byte // bytes after the last chunk, to carry into the next block
	inGap bool   // the bytes after the last chunk were too long to carry

	// The parse: every record before pos has been merged.
	pos     int64
	line    int64
	noMulti bool

	rs *scanner // the sequential scanner of the fallback

	stats parallelStats
}

// runParallel parses the records after the header with p.opts.Workers
// workers; see the top of this file.
func (p *parser) runParallel() error {
	sc := p.sc
	// As next does first: a \r that ended the header at the end of the
	// buffer may be the first half of a \r\n.
	if sc.skipLF {
		if sc.pos == sc.end && !sc.eof {
			if err := sc.fill(); err != nil {
				return fmt.Errorf("failed to read %s: %w", p.name, err)
			}
		}
		if sc.pos < sc.end && sc.buf[sc.pos] == '\n' {
			sc.pos++
		}
		sc.skipLF = false
	}
	pl := &pipeline{p: p, r: sc.r, tune: p.opts.tune.withDefaults(p.opts.Workers)}
	pl.line, pl.noMulti = sc.line, sc.noMultiline
	// Block 0 is what the header's scanner holds past the header.
	b0 := &block{buf: sc.buf[sc.pos:sc.end]}
	pl.readEnd = int64(len(b0.buf))
	pl.readDone = sc.eof
	// Its bytes count as one read that ended before offset 0: the fallback
	// scanner holds all of them when it starts at offset 0, as the header's
	// scanner does, and never asks for them.
	var err0 error
	if sc.eof {
		err0 = io.EOF
	}
	b0.pieces = []piece{{-1, pl.readEnd, err0}}
	pl.jobs = make(chan *chunk, 64)
	for i := 0; i < p.opts.Workers; i++ {
		w := &worker{pl: pl}
		w.sc.delim, w.sc.unq, w.sc.quo = sc.delim, sc.unq, sc.quo
		w.rec.init(&p.cols, p.opts.MaxProblems)
		pl.wg.Add(1)
		go w.run()
	}
	pl.blocks = append(pl.blocks, b0)
	pl.cut(b0)
	err := pl.run()
	if err != nil {
		pl.stop.Store(true)
	}
	close(pl.jobs)
	pl.wg.Wait()
	if pl.tune.stats != nil {
		*pl.tune.stats = pl.stats
	}
	return err
}

// run merges the chunks in order, reading ahead, and falls back to the
// sequential scanner where a chunk cannot be accepted.
func (pl *pipeline) run() error {
	for {
		for !pl.readDone && len(pl.blocks) < pl.tune.maxBlocks && len(pl.queue) < pl.tune.maxChunks {
			pl.readBlock()
		}
		if len(pl.queue) == 0 {
			if eof, err := pl.replay(); eof || err != nil {
				return err
			}
			continue
		}
		c := pl.queue[0]
		<-c.done
		if c.off < pl.pos {
			pl.finish(pl.pop()) // overtaken by the sequential scanner
			continue
		}
		if c.off > pl.pos || c.noMulti != pl.noMulti {
			if eof, err := pl.replay(); eof || err != nil {
				return err
			}
			continue
		}
		pl.pop()
		eof, err := pl.merge(c)
		pl.finish(c)
		if eof || err != nil {
			return err
		}
	}
}

// readBlock reads the next block, then cuts it into chunks.
func (pl *pipeline) readBlock() {
	t := &pl.tune
	var mem []byte
	if k := len(pl.free); k > 0 {
		mem, pl.free = pl.free[k-1], pl.free[:k-1]
	} else {
		// Room for the carried line and one read, and then for more reads
		// while the block holds less than blockBytes/2.
		mem = make([]byte, t.carryBytes+readChunk+t.blockBytes/2)
	}
	n := 0
	if !pl.inGap {
		if len(pl.tail) <= t.carryBytes {
			n = copy(mem, pl.tail)
		} else {
			pl.inGap = true
		}
		pl.tail = nil
	}
	b := &block{mem: mem, off: pl.readEnd - int64(n), pooled: true}
	// Read as scanner.fill does, readChunk bytes at a time, so that the
	// fallback scanner can be given the same reads; a block holds at least
	// blockBytes/2 bytes unless a read fails or ends the input.
	for got := 0; got < t.blockBytes && len(mem)-n >= readChunk; {
		k, err := pl.r.Read(mem[n : n+readChunk])
		if k > 0 || err != nil {
			b.pieces = append(b.pieces, piece{pl.readEnd, pl.readEnd + int64(k), err})
		}
		n += k
		got += k
		pl.readEnd += int64(k)
		if err != nil {
			pl.readDone = true
			break
		}
	}
	b.buf = mem[:n]
	if n <= len(mem)/8 {
		// A short block (the input's end, a failed read, or reads short of a
		// small blockBytes) keeps a buffer of its own size, and the big one
		// is used again at once: blocks kept for a long record replayed from
		// many short reads would otherwise hold 1.6 MB each.
		b.buf, b.mem, b.pooled = append([]byte(nil), b.buf...), nil, false
		pl.free = append(pl.free, mem)
	}
	pl.blocks = append(pl.blocks, b)
	pl.stats.blocks++
	pl.cut(b)
}

// cut hands the whole lines of a block to workers, in chunks of about
// chunkBytes, and keeps the partial line after them for the next block.
func (pl *pipeline) cut(b *block) {
	data := b.buf
	e, final := len(data), false
	if k := len(b.pieces); k > 0 && b.pieces[k-1].err != nil {
		if last := b.pieces[k-1]; last.err == io.EOF {
			final = true
		} else {
			e = int(last.start - b.off) // never parsed: the read failed
		}
	}
	start := 0
	if pl.inGap {
		// The bytes since the last chunk were not carried: start at the
		// first line end of this block.
		f := nextCut(data[:e], 0)
		if f < 0 {
			return
		}
		pl.inGap = false
		start = f
	}
	end := e
	if !final {
		end = start + lastCut(data[start:e])
	}
	for cur := start; cur < end; {
		x := end
		if end-cur > pl.tune.chunkBytes {
			if x = nextCut(data[:end], cur+pl.tune.chunkBytes); x < 0 {
				x = end
			}
		}
		pl.dispatch(b, cur, x, final && x == e)
		cur = x
	}
	pl.tail = data[end:e]
}

func (pl *pipeline) dispatch(b *block, from, to int, final bool) {
	var res *chunkResult
	if k := len(pl.results); k > 0 {
		res, pl.results = pl.results[k-1], pl.results[:k-1]
	} else {
		res = &chunkResult{}
		res.b.init(min(pl.tune.chunkBytes/128+16, 1<<14), "", len(pl.p.cols.extraKeys) > 0) // grows as needed
	}
	c := &chunk{blk: b, data: b.buf[from:to:to], off: b.off + int64(from), noMulti: pl.noMulti,
		final: final, res: res, done: make(chan struct{})}
	b.chunks++
	pl.stats.chunks++
	pl.queue = append(pl.queue, c)
	pl.jobs <- c
}

func (pl *pipeline) pop() *chunk {
	c := pl.queue[0]
	pl.queue[0] = nil
	pl.queue = pl.queue[1:]
	return c
}

// finish recycles a merged or dropped chunk's result and releases the
// blocks no longer needed.
func (pl *pipeline) finish(c *chunk) {
	c.blk.chunks--
	pl.results = append(pl.results, c.res)
	c.res = nil
	pl.release()
}

// release drops the blocks before the parse position whose chunks are all
// done with; the last block stays (its partial line is carried from it).
func (pl *pipeline) release() {
	for len(pl.blocks) > 1 {
		b := pl.blocks[0]
		if b.chunks > 0 || pl.pos < b.end() {
			return
		}
		pl.blocks[0] = nil
		pl.blocks = pl.blocks[1:]
		if b.pooled {
			pl.free = append(pl.free, b.mem)
		}
	}
}

// merge adds an accepted chunk's rows and tally to the file's. It reports
// whether the chunk ended the input.
func (pl *pipeline) merge(c *chunk) (bool, error) {
	p, res := pl.p, c.res
	t := &p.rec.t
	base := pl.line // the chunk's lines are numbered from 0
	added := 0
	if !t.hasProblems() {
		// Rows are counted as records as they are added, so that a failing
		// emit leaves Records where the sequential parser leaves it.
		for from := 0; from < res.b.n; {
			k := min(res.b.n-from, p.opts.BatchRows-p.b.n)
			p.b.appendRows(&res.b, from, from+k, base)
			from += k
			added += k
			t.records += int64(k)
			if p.b.n >= p.opts.BatchRows {
				if err := p.flush(); err != nil {
					return false, err
				}
			}
		}
	}
	res.t.records -= int64(added)
	t.merge(&res.t, p.rec.max, base)
	pl.stats.merged++
	pl.pos, pl.line, pl.noMulti = res.end, base+res.endLine, res.endNoMulti
	if t.hasProblems() {
		pl.noRows.Store(true)
	}
	if res.eof {
		return true, p.flush()
	}
	return false, nil
}

// replay parses records with the sequential scanner from pos until it
// reaches the start of a chunk it can accept, or the end of input (eof).
func (pl *pipeline) replay() (eof bool, err error) {
	p := pl.p
	rs := pl.replayScanner()
	pl.stats.replays++
	for {
		st, err := rs.next()
		if err != nil {
			return false, fmt.Errorf("failed to read %s: %w", p.name, err)
		}
		if done, err := p.take(rs, st); done || err != nil {
			return done, err
		}
		pl.stats.replayed++
		pl.pos, pl.line, pl.noMulti = rs.base+int64(rs.pos), rs.line, rs.noMultiline
		if p.rec.t.hasProblems() {
			pl.noRows.Store(true)
		}
		for len(pl.queue) > 0 && pl.queue[0].off < pl.pos {
			c := pl.pop()
			<-c.done
			pl.finish(c)
		}
		pl.release()
		if len(pl.queue) > 0 {
			c, start := pl.queue[0], pl.pos
			if rs.skipLF && pl.byteAt(start) == '\n' {
				start++ // the \n of a \r\n that a read split: the next record starts after it
			}
			if c.off == start && c.noMulti == pl.noMulti {
				pl.pos = start
				return false, nil
			}
		}
	}
}

// replayScanner returns a sequential scanner that starts at pos as the
// sequential parser's own scanner would: it holds the input from pos to the
// end of the read that holds pos, and then gets the following reads as they
// were made.
func (pl *pipeline) replayScanner() *scanner {
	if pl.rs == nil {
		sc := pl.p.sc
		pl.rs = newScanner(nil, 0)
		pl.rs.delim, pl.rs.unq, pl.rs.quo = sc.delim, sc.unq, sc.quo
	}
	rs := pl.rs
	stop, eof, n := pl.pos, false, 0
	if b, x := pl.pieceAround(pl.pos); b != nil {
		stop, eof = x.end, x.err == io.EOF
		n = copy(rs.buf, b.buf[pl.pos-b.off:x.end-b.off])
	}
	rs.pos, rs.end, rs.base = 0, n, pl.pos
	rs.eof, rs.capped, rs.skipLF = eof, false, false
	rs.line, rs.noMultiline = pl.line, pl.noMulti
	rs.r = &pieceReader{pl: pl, next: stop, done: eof}
	return rs
}

// byteAt returns the input byte at off, or 0 if it has not been read.
func (pl *pipeline) byteAt(off int64) byte {
	for _, b := range pl.blocks {
		if b.off <= off && off < b.end() {
			return b.buf[off-b.off]
		}
	}
	return 0
}

// pieceAround returns the read with start < off <= end, and its block.
func (pl *pipeline) pieceAround(off int64) (*block, piece) {
	// Reads are contiguous and in order, blocks too: the read is the last
	// one that starts before off, in the last block whose first read does.
	i := sort.Search(len(pl.blocks), func(i int) bool { return pl.blocks[i].pieces[0].start >= off }) - 1
	if i < 0 {
		return nil, piece{}
	}
	b := pl.blocks[i]
	j := sort.Search(len(b.pieces), func(j int) bool { return b.pieces[j].start >= off }) - 1
	if x := b.pieces[j]; off <= x.end {
		return b, x
	}
	return nil, piece{}
}

// pieceAt returns the read that starts at off, and its block.
func (pl *pipeline) pieceAt(off int64) (*block, piece, bool) {
	i := sort.Search(len(pl.blocks), func(i int) bool { return pl.blocks[i].pieces[0].start > off }) - 1
	if i < 0 {
		return nil, piece{}, false
	}
	b := pl.blocks[i]
	j, ok := slices.BinarySearchFunc(b.pieces, off, func(x piece, off int64) int { return cmp.Compare(x.start, off) })
	if !ok {
		return nil, piece{}, false
	}
	return b, b.pieces[j], true
}

// pieceReader gives the fallback scanner the recorded reads, in order,
// reading more blocks when it needs them.
type pieceReader struct {
	pl   *pipeline
	next int64 // input offset of the next read to give
	done bool
}

func (r *pieceReader) Read(dst []byte) (int, error) {
	for !r.done {
		if b, x, ok := r.pl.pieceAt(r.next); ok && (x.end > x.start || x.err != nil) {
			n := copy(dst, b.buf[x.start-b.off:x.end-b.off])
			r.next = x.end
			r.done = x.err != nil
			return n, x.err
		}
		if r.pl.readDone {
			break
		}
		r.pl.readBlock()
	}
	return 0, io.EOF
}

// worker parses chunks.
type worker struct {
	pl  *pipeline
	sc  scanner
	rec recorder
}

func (w *worker) run() {
	defer w.pl.wg.Done()
	for c := range w.pl.jobs {
		if !w.pl.stop.Load() {
			w.parse(c)
		}
		close(c.done)
	}
}

// parse parses a chunk's records until the end of the chunk, or until the
// first record it cannot vouch for (one not wholly in the chunk, or one
// whose tokenizing looked at more than maxSpan bytes).
func (w *worker) parse(c *chunk) {
	s, res := &w.sc, c.res
	s.buf, s.pos, s.end, s.eof = c.data, 0, len(c.data), c.final
	s.line, s.noMultiline, s.skipLF, s.capped = 0, c.noMulti, false, false
	s.bufValid = utf8.Valid(c.data)
	w.rec.t = tally{problems: res.t.problems[:0]}
	res.b.reset()
	b := &res.b
	if w.pl.noRows.Load() {
		b = nil
	}
	maxSpan := w.pl.tune.maxSpan
	for {
		pos, line, noMulti := s.pos, s.line, s.noMultiline
		s.reach = 0
		st := s.scan()
		if st == stEOF {
			res.end, res.endLine, res.endNoMulti, res.eof = c.off+int64(s.pos), s.line, s.noMultiline, true
			break
		}
		if st == stMore || max(s.reach, s.pos)-s.recStart > maxSpan {
			res.end, res.endLine, res.endNoMulti, res.eof = c.off+int64(pos), line, noMulti, false
			break
		}
		w.rec.record(s, b) // st is stRecord: a longer record exceeds maxSpan
	}
	res.t = w.rec.t
}

// appendRows appends rows [from, to) of src, a batch of the same stream,
// adding lineBase to their source_line. The columns finish writes are
// skipped.
func (b *batch) appendRows(src *batch, from, to int, lineBase int64) {
	for i := range b.rb.Columns {
		if i == ColSourceFile || (i == ColExtraColumns && !src.hasExtra) {
			continue
		}
		d, s := &b.rb.Columns[i], &src.rb.Columns[i]
		switch {
		case s.Offsets != nil:
			lo, hi := s.Offsets[from], s.Offsets[to]
			shift := uint32(len(d.Bytes)) - lo // modulo 2³², like the offsets
			d.Bytes = append(d.Bytes, s.Bytes[lo:hi]...)
			d.Offsets = slices.Grow(d.Offsets, to-from)
			for _, o := range s.Offsets[from+1 : to+1] {
				d.Offsets = append(d.Offsets, o+shift)
			}
		case s.Int32s != nil:
			d.Int32s = append(d.Int32s, s.Int32s[from:to]...)
		case i == ColSourceLine:
			d.Int64s = slices.Grow(d.Int64s, to-from)
			for _, v := range s.Int64s[from:to] {
				d.Int64s = append(d.Int64s, v+lineBase)
			}
		default:
			d.Int64s = append(d.Int64s, s.Int64s[from:to]...)
		}
		if nulls := src.null[i]; nulls != nil {
			part := nulls[from:to]
			b.null[i] = append(b.null[i], part...)
			if src.hasNull[i] && !b.hasNull[i] && slices.Contains(part, true) {
				b.hasNull[i] = true
			}
		}
	}
	b.n += to - from
}

// nextCut returns the first position x >= from at which a line ends in d: d[x-1] is a
// \n, or a \r that d shows is not followed by \n. It returns -1 if there is none.
func nextCut(d []byte, from int) int {
	j := max(from-1, 0)
	k := indexLineEnd(d[j:])
	if k < 0 {
		return -1
	}
	j += k
	switch {
	case d[j] == '\n':
		return j + 1
	case j+1 >= len(d):
		return -1 // a \r whose \n may be in the next block
	case d[j+1] == '\n':
		return j + 2
	}
	return j + 1
}

// lastCut returns the last position at which a line ends in d (see
// nextCut), or 0.
func lastCut(d []byte) int {
	for j := len(d) - 1; j >= 0; j-- {
		switch d[j] {
		case '\n':
			return j + 1
		case '\r':
			if j+1 < len(d) {
				return j + 1
			}
		}
	}
	return 0
}

// indexLineEnd returns the index of the first \n or \r in b, or -1.
func indexLineEnd(b []byte) int {
	const window = 4 << 10 // bounds the search for \r in a file of \n, and back
	for w := 0; w < len(b); w += window {
		win := b[w:min(w+window, len(b))]
		lf := bytes.IndexByte(win, '\n')
		lim := len(win)
		if lf >= 0 {
			lim = lf
		}
		if cr := bytes.IndexByte(win[:lim], '\r'); cr >= 0 {
			return w + cr
		}
		if lf >= 0 {
			return w + lf
		}
	}
	return -1
}
