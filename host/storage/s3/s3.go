package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/bedrot-label/bedrot/host/storage"
)

// PartSize is the size of the parts of a multipart upload and of the buffer
// that decides whether an input fits a single PUT. A Put holds at most two
// such buffers (its own and minio-go's), so about 16 MiB per upload.
const PartSize = 8 << 20

// Config says where the store lives and how to reach it.
type Config struct {
	// Endpoint is "host:port", or a URL "http://host:port" or
	// "https://host:port" whose scheme then decides TLS instead of UseSSL.
	Endpoint string
	// AccessKey and SecretKey are the static credentials.
	AccessKey string
	SecretKey string
	// Bucket holds the objects.
	Bucket string
	// Prefix, if set, is put in front of every key ("lake" or "lake/" both
	// store key "raw/x" as "lake/raw/x").
	Prefix string
	// Region is the bucket's region; empty lets the client discover it.
	Region string
	// UseSSL selects HTTPS for an Endpoint without a scheme.
	UseSSL bool
	// CreateBucket makes New create a missing bucket instead of failing.
	CreateBucket bool
}

// String describes the Config without its secret key, so a Config printed
// with %v or %+v in a log line does not leak it.
func (c Config) String() string {
	secret := ""
	if c.SecretKey != "" {
		secret = "REDACTED"
	}
	return fmt.Sprintf("{Endpoint:%s AccessKey:%s SecretKey:%s Bucket:%s Prefix:%s Region:%s UseSSL:%t CreateBucket:%t}",
		c.Endpoint, c.AccessKey, secret, c.Bucket, c.Prefix, c.Region, c.UseSSL, c.CreateBucket)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return "s3store.Config" + c.String() }

// Store is a storage.Store over one S3 bucket (and prefix). It is safe for
// concurrent use.
type Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

var _ storage.Store = (*Store)(nil)

// New connects to the endpoint and checks that the bucket exists (creating it
// if cfg.CreateBucket is set), which also proves the credentials work.
func New(ctx context.Context, cfg Config) (*Store, error) {
	endpoint, secure, err := parseEndpoint(cfg.Endpoint, cfg.UseSSL)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		return nil, errors.New("failed to open s3 store: bucket is empty")
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := storage.ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("failed to open s3 store: bad prefix: %w", err)
		}
		prefix += "/"
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create s3 client for %s: %w", endpoint, err)
	}
	s := &Store{client: client, bucket: cfg.Bucket, prefix: prefix}
	if err := s.ensureBucket(ctx, cfg.CreateBucket, cfg.Region); err != nil {
		return nil, err
	}
	return s, nil
}

func parseEndpoint(raw string, useSSL bool) (string, bool, error) {
	switch {
	case raw == "":
		return "", false, errors.New("failed to open s3 store: endpoint is empty")
	case strings.HasPrefix(raw, "http://"):
		raw, useSSL = strings.TrimPrefix(raw, "http://"), false
	case strings.HasPrefix(raw, "https://"):
		raw, useSSL = strings.TrimPrefix(raw, "https://"), true
	case strings.Contains(raw, "://"):
		return "", false, fmt.Errorf("failed to open s3 store: endpoint %q: scheme must be http or https", raw)
	}
	raw = strings.TrimSuffix(raw, "/")
	if raw == "" || strings.Contains(raw, "/") || strings.Contains(raw, "@") {
		return "", false, fmt.Errorf("failed to open s3 store: endpoint %q must be host[:port]", raw)
	}
	return raw, useSSL, nil
}

func (s *Store) ensureBucket(ctx context.Context, create bool, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("failed to check s3 bucket %q at %s: %w", s.bucket, s.client.EndpointURL().Host, err)
	}
	if ok {
		return nil
	}
	if !create {
		return fmt.Errorf("failed to open s3 store: bucket %q does not exist at %s", s.bucket, s.client.EndpointURL().Host)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil {
		switch minio.ToErrorResponse(err).Code {
		case "BucketAlreadyOwnedByYou", "BucketAlreadyExists":
			return nil // created concurrently
		}
		return fmt.Errorf("failed to create s3 bucket %q: %w", s.bucket, err)
	}
	return nil
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the normalised key prefix: "" or ending in "/".
func (s *Store) Prefix() string { return s.prefix }

// Location returns "s3://bucket/prefix" (no endpoint, no credentials).
func (s *Store) Location() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

// name validates key and returns its object name under the prefix.
func (s *Store) name(key string) (string, error) {
	if err := storage.ValidateKey(key); err != nil {
		return "", err
	}
	if len(s.prefix)+len(key) > storage.MaxKeyLen {
		return "", fmt.Errorf("%w %.40q…: with prefix %q longer than %d bytes",
			storage.ErrInvalidKey, key, s.prefix, storage.MaxKeyLen)
	}
	return s.prefix + key, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, PartSize); return &b }}

// Put streams r to key. An input that ends within PartSize bytes is sent as
// one PUT; a longer one as a multipart upload that S3 publishes only on
// completion and that minio-go aborts on failure (even when ctx is the cause).
// An error from r is returned wrapped.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	name, err := s.name(key)
	if err != nil {
		return 0, fmt.Errorf("failed to put object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("failed to put object %q: %w", key, err)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp

	cr := ctxReader{ctx: ctx, r: r}
	n, err := io.ReadFull(cr, buf)
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    PartSize,
		NumThreads:  1,
	}
	var info minio.UploadInfo
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// The whole input fits one part: a single PUT.
		info, err = s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(buf[:n]), int64(n), opts)
	case err != nil:
		return 0, fmt.Errorf("failed to read object %q: %w", key, err)
	default:
		// More to come: multipart of unknown length.
		body := io.MultiReader(bytes.NewReader(buf[:n]), cr)
		info, err = s.client.PutObject(ctx, s.bucket, name, body, -1, opts)
	}
	if err != nil {
		return 0, s.fail(ctx, "failed to put object %q", key, err)
	}
	return info.Size, nil
}

// fail wraps a minio-go error: a cancelled ctx wins, a missing key becomes
// storage.ErrNotFound.
func (s *Store) fail(ctx context.Context, format, key string, err error) error {
	msg := fmt.Sprintf(format, key)
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%s: %w (%w)", msg, ctxErr, err)
	}
	if isNotFound(err) {
		return fmt.Errorf("%s: %w: %w", msg, storage.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func isNotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == minio.NoSuchKey ||
		(resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket)
}

// object is a *minio.Object that knows its size.
type object struct {
	*minio.Object
	size int64
}

// Size returns the object's length in bytes when it was opened.
func (o *object) Size() int64 { return o.size }

// Open opens key for reading. It asks S3 for the object's size at once, so a
// missing key fails here with storage.ErrNotFound rather than on first read.
// Reads issue ranged GETs bound to ctx: keep ctx alive until the Object is
// closed.
func (s *Store) Open(ctx context.Context, key string) (storage.Object, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, fmt.Errorf("failed to open object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to open object %q: %w", key, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.fail(ctx, "failed to open object %q", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, s.fail(ctx, "failed to open object %q", key, err)
	}
	return &object{Object: obj, size: info.Size}, nil
}

// Stat describes key.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	name, err := s.name(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("failed to stat object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("failed to stat object %q: %w", key, err)
	}
	info, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return storage.ObjectInfo{}, s.fail(ctx, "failed to stat object %q", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// List lists recursively in S3's order, which is lexical by UTF-8 bytes, as
// Go compares strings. Folder markers (names ending in "/", made by other
// tools) are skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := storage.ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("failed to list objects: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to list objects under %q: %w", prefix, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing if fn fails
	objects := s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.prefix + prefix,
		Recursive: true,
	})
	for o := range objects {
		if o.Err != nil {
			return s.fail(ctx, "failed to list objects under %q", prefix, o.Err)
		}
		key, ok := strings.CutPrefix(o.Key, s.prefix)
		if !ok || key == "" || strings.HasSuffix(key, "/") {
			continue
		}
		if err := fn(storage.ObjectInfo{Key: key, Size: o.Size, ModTime: o.LastModified}); err != nil {
			return fmt.Errorf("failed to list objects under %q: %w", prefix, err)
		}
	}
	// The iterator ends silently when ctx is cancelled.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to list objects under %q: %w", prefix, err)
	}
	return nil
}

// Delete removes key; S3 treats a missing key as success.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return fmt.Errorf("failed to delete object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to delete object %q: %w", key, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if isNotFound(err) {
			return nil
		}
		return s.fail(ctx, "failed to delete object %q", key, err)
	}
	return nil
}

// ctxReader stops an upload once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
