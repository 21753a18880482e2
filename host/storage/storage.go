// Package storage is the lake's object store: a flat namespace of keys
// ("raw/source=distrokid/date=2026-11-26/part-….parquet") holding immutable
// bytes. Two backends implement Store: a local folder (the embedded default)
// and S3-compatible object storage through minio-go (MinIO in production and
// in tests). storagetest holds the conformance suite both must pass.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when a key does not exist.
var ErrNotFound = errors.New("object not found")

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Object is an open object: readable sequentially and at offsets.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the object's length in bytes.
	Size() int64
}

// Store is an object store. Keys use "/" separators, never start with "/",
// and never contain "..". Implementations are safe for concurrent use.
type Store interface {
	// Put stores everything r yields under key, replacing any object there.
	// Readers never see a partial object: it appears whole when Put returns
	// nil, or not at all. It returns the number of bytes stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open opens an object for reading. It returns ErrNotFound (wrapped) for a
	// missing key.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes an object, or returns ErrNotFound (wrapped).
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, recursing into "folders". An error from fn stops
	// the listing and is returned.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes an object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Location names the store for humans, e.g. "/srv/lake" or
	// "s3://bucket/prefix".
	Location() string
}

// LocalFiles is implemented by stores whose objects are plain files on this
// machine (the folder backend). Readers that want a path rather than a stream,
// such as DuckDB reading Parquet, find it by type assertion.
type LocalFiles interface {
	// LocalPath returns the file that holds key (which need not exist), or
	// "" for a key that ValidateKey rejects, so that no key can name a path
	// outside the store.
	LocalPath(key string) string
}

// Chunker is implemented by a reader whose bytes lie in memory already,
// such as a memory-mapped file. NextChunk returns the next bytes in place,
// valid until the following call, and io.EOF (with no bytes) after the
// last. A Store given a Chunker to Put may write its chunks without copying
// them into buffers of its own; one that reads it as an io.Reader gets the
// same bytes.
type Chunker interface {
	io.Reader
	NextChunk() ([]byte, error)
}
