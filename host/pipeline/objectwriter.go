package pipeline

import (
	"bufio"
	"context"
	"io"

	"github.com/cespare/xxhash/v2"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// objectWriter streams bytes into a new object while hashing them (with a
// digest, or XXH64 alone for a local payload checked against the plugin's
// XXH64):
// either bytes written to it, or, for a copy (newObjectCopy), bytes the
// store reads from a given reader. A written object becomes visible only
// when Close succeeds; a copied one when the copy ends (it is announced, so
// a copy that is not committed is debris for cleanup or the sweeper).
type objectWriter struct {
	key    string
	pw     *io.PipeWriter // nil for a copy
	bw     *bufio.Writer
	cancel context.CancelCauseFunc // a copy's
	done   chan error
	d      *digest.Hash   // nil when fast is set
	fast   *xxhash.Digest // see xxh64
	n      int64
}

// newObjectWriter starts a new object hashed with d.
func newObjectWriter(ctx context.Context, st storage.Store, key string, d *digest.Hash) *objectWriter {
	w := &objectWriter{key: key, d: d, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	w.pw = pw
	w.bw = bufio.NewWriterSize(pw, 1<<20)
	go func() {
		_, err := st.Put(ctx, key, pr)
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

// newObjectCopy copies r into a new object on a goroutine of its own,
// hashing what the store reads: with d, or with XXH64 alone if d is nil.
// The store reads r directly, without a pipe between; r is closed after the
// copy.
func newObjectCopy(ctx context.Context, st storage.Store, key string, r io.ReadCloser, d *digest.Hash) *objectWriter {
	w := &objectWriter{key: key, d: d, done: make(chan error, 1)}
	if d == nil {
		w.fast = xxhash.New()
	}
	ctx, w.cancel = context.WithCancelCause(ctx)
	go func() {
		hr := hashingReader{r: r, w: w}
		var src io.Reader = &hr
		if c, ok := r.(storage.Chunker); ok {
			src = &hashingChunker{hr, c}
		}
		_, err := st.Put(ctx, key, src)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		w.done <- err
	}()
	return w
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r io.Reader
	w *objectWriter
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.w.hash(p[:n])
	return n, err
}

// hashingChunker is a hashingReader that hands a store the chunks of a
// mapped file in place, hashing each (a read of the mapping that faults
// fails the copy).
type hashingChunker struct {
	hashingReader
	c storage.Chunker
}

func (h *hashingChunker) NextChunk() ([]byte, error) {
	b, err := h.c.NextChunk()
	if len(b) > 0 {
		if ferr := faultSafe(func() { h.w.hash(b) }); ferr != nil {
			return nil, ferr
		}
	}
	return b, err
}

func (w *objectWriter) hash(b []byte) {
	if w.fast != nil {
		w.fast.Write(b)
	} else {
		w.d.Write(b)
	}
	w.n += int64(len(b))
}

// xxh64 returns the XXH64 of the bytes, for an objectWriter that hashes
// with XXH64 (ok false otherwise).
func (w *objectWriter) xxh64() (sum uint64, ok bool) {
	if w.fast == nil {
		return 0, false
	}
	return w.fast.Sum64(), true
}

func (w *objectWriter) Write(b []byte) (int, error) {
	w.hash(b)
	return w.bw.Write(b)
}

// Close finishes the object and waits until the store has it (for a copy:
// until the copy ended).
func (w *objectWriter) Close() error {
	if w.pw == nil {
		err := <-w.done
		w.cancel(nil)
		return err
	}
	if err := w.bw.Flush(); err != nil {
		w.pw.CloseWithError(err)
		<-w.done
		return err
	}
	w.pw.Close()
	return <-w.done
}

// Abort discards the object: the store never makes it visible, or, for a
// copy that had ended, it is left for cleanup.
func (w *objectWriter) Abort(cause error) {
	if w.pw == nil {
		w.cancel(cause)
	} else {
		w.pw.CloseWithError(cause)
	}
	<-w.done
}

// digest returns the digest of the bytes (for an objectWriter that does not
// hash with XXH64).
func (w *objectWriter) digest() string { return w.d.String() }
