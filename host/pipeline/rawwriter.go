package pipeline

import (
	"context"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// rawWriter collects one payload's rows of one stream into raw files.
type rawWriter struct {
	stream string
	schema sdk.Schema
	enc    *encoder // the file being written, nil between files
	rows   int64
	files  []metastore.File
}

func (rw *rawWriter) abort(cause error) {
	if rw.enc != nil {
		rw.enc.abort(cause)
		rw.enc = nil
	}
}

// rawEncoders is how many row groups of a raw file are encoded at once
// (parquetfile.Options.Concurrency).
const rawEncoders = 2

// encoderQueue is how many batches may wait for the encoder: enough to keep
// receiving while a row group is compressed, small enough to bound memory.
const encoderQueue = 8

// encoder writes one Parquet file on its own goroutine, so that encoding
// and compressing overlap with receiving the next batches from the plugin.
type encoder struct {
	ow    *objectWriter
	pq    *parquetfile.Writer
	queue chan *sdk.RecordBatch
	done  chan struct{}
	err   error // set by the goroutine; read after done
	rows  int64
}

func startEncoder(ctx context.Context, st storage.Store, key string, schema sdk.Schema, opts parquetfile.Options) (*encoder, error) {
	ow := newObjectWriter(ctx, st, key, digest.New())
	pq, err := parquetfile.NewWriter(ow, schema, opts)
	if err != nil {
		ow.Abort(err)
		return nil, err
	}
	e := &encoder{ow: ow, pq: pq, queue: make(chan *sdk.RecordBatch, encoderQueue), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for b := range e.queue {
			if e.err == nil {
				e.err = e.pq.Write(b)
			}
		}
	}()
	return e, nil
}

// write queues a batch. The batch must not be modified afterwards. An
// encoding error surfaces here for a later batch or from finish.
func (e *encoder) write(b *sdk.RecordBatch) error {
	select {
	case <-e.done:
		return e.err
	default:
	}
	e.queue <- b
	e.rows += int64(b.NumRows)
	return nil
}

// finish writes the footer and waits until the store holds the file.
func (e *encoder) finish() (metastore.File, error) {
	close(e.queue)
	<-e.done
	key := e.ow.key
	if e.err != nil {
		_ = e.pq.Close() // waits for row groups still being written
		e.ow.Abort(e.err)
		return metastore.File{}, fmt.Errorf("failed to write raw file %s: %w", key, e.err)
	}
	rows := e.pq.Rows()
	if err := e.pq.Close(); err != nil {
		e.ow.Abort(err)
		return metastore.File{}, fmt.Errorf("failed to finish raw file %s: %w", key, err)
	}
	if err := e.ow.Close(); err != nil {
		return metastore.File{}, fmt.Errorf("failed to write raw file %s: %w", key, err)
	}
	return metastore.File{Key: key, Size: e.ow.n, Digest: e.ow.digest(), Rows: rows}, nil
}

// abort discards the file: the store never shows it.
func (e *encoder) abort(cause error) {
	close(e.queue)
	<-e.done
	_ = e.pq.Close() // waits for row groups still being written
	e.ow.Abort(cause)
}
