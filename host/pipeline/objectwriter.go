package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/bedrot-label/bedrot/host/storage"
)

// objectWriter streams bytes into a new object while hashing them. The
// object becomes visible only when Close succeeds.
type objectWriter struct {
	key  string
	pw   *io.PipeWriter
	bw   *bufio.Writer
	done chan error
	h    hash.Hash
	n    int64
}

func newObjectWriter(ctx context.Context, st storage.Store, key string) *objectWriter {
	pr, pw := io.Pipe()
	w := &objectWriter{key: key, pw: pw, done: make(chan error, 1), h: sha256.New()}
	w.bw = bufio.NewWriterSize(pw, 1<<20)
	go func() {
		_, err := st.Put(ctx, key, pr)
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

func (w *objectWriter) Write(b []byte) (int, error) {
	w.h.Write(b)
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
