package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/zeebo/xxh3"

	"github.com/bedrot-label/bedrot/host/storage"
)

// objectWriter streams bytes into a new object while hashing them (SHA-256,
// or XXH3 alone for a local payload checked against the plugin's XXH3). The
// object becomes visible only when Close succeeds.
type objectWriter struct {
	key  string
	pw   *io.PipeWriter
	bw   *bufio.Writer
	done chan error
	h    hash.Hash    // SHA-256, nil when fast is set
	fast *xxh3.Hasher // XXH3-64
	n    int64
}

func newObjectWriter(ctx context.Context, st storage.Store, key string) *objectWriter {
	return startObjectWriter(ctx, st, key, &objectWriter{key: key, h: sha256.New()})
}

// newFastObjectWriter is an objectWriter that hashes with XXH3 only.
func newFastObjectWriter(ctx context.Context, st storage.Store, key string) *objectWriter {
	return startObjectWriter(ctx, st, key, &objectWriter{key: key, fast: xxh3.New()})
}

func startObjectWriter(ctx context.Context, st storage.Store, key string, w *objectWriter) *objectWriter {
	pr, pw := io.Pipe()
	w.pw, w.done = pw, make(chan error, 1)
	w.bw = bufio.NewWriterSize(pw, 1<<20)
	go func() {
		_, err := st.Put(ctx, key, pr)
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

func (w *objectWriter) Write(b []byte) (int, error) {
	if w.fast != nil {
		w.fast.Write(b)
	} else {
		w.h.Write(b)
	}
	w.n += int64(len(b))
	return w.bw.Write(b)
}

// Close finishes the object and waits until the store has it.
func (w *objectWriter) Close() error {
	if err := w.bw.Flush(); err != nil {
		w.pw.CloseWithError(err)
		<-w.done
		return err
	}
	w.pw.Close()
	return <-w.done
}

// Abort discards the object: the store never makes it visible.
func (w *objectWriter) Abort(cause error) {
	w.pw.CloseWithError(cause)
	<-w.done
}

func (w *objectWriter) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }
