package s3store_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/miniotest"
	s3store "github.com/bedrot-label/bedrot/host/storage/s3"
	"github.com/bedrot-label/bedrot/host/storage/storagetest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

func config(srv *miniotest.Server, bucket, prefix string) s3store.Config {
	return s3store.Config{
		Endpoint:  srv.Endpoint,
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
		Bucket:    bucket,
		Prefix:    prefix,
	}
}

func newStore(t *testing.T, prefix string) *s3store.Store {
	t.Helper()
	srv := miniotest.Require(t)
	s, err := s3store.New(t.Context(), config(srv, srv.NewBucket(t), prefix))
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Exercise(t, func(t *testing.T) storage.Store { return newStore(t, "") })
}

func TestConformanceWithPrefix(t *testing.T) {
	t.Parallel()
	storagetest.Exercise(t, func(t *testing.T) storage.Store { return newStore(t, "lake/main") })
}

func TestPrefixIsolation(t *testing.T) {
	t.Parallel()
	srv := miniotest.Require(t)
	bucket := srv.NewBucket(t)
	ctx := t.Context()
	// Objects beside the store's prefix, including one whose name merely
	// starts with it.
	for _, name := range []string{"lake2/raw/x", "lakeside", "other/raw/x"} {
		_, err := srv.Client().PutObject(ctx, bucket, name, strings.NewReader("x"), 1, minio.PutObjectOptions{})
		require.NoError(t, err)
	}
	for _, prefix := range []string{"lake", "lake/", "/lake/"} {
		s, err := s3store.New(ctx, config(srv, bucket, prefix))
		require.NoError(t, err)
		require.Equal(t, "lake/", s.Prefix())
		require.Equal(t, "s3://"+bucket+"/lake", s.Location())
	}
	s, err := s3store.New(ctx, config(srv, bucket, "lake"))
	require.NoError(t, err)
	_, err = s.Put(ctx, "raw/x", strings.NewReader("mine"))
	require.NoError(t, err)

	info, err := srv.Client().StatObject(ctx, bucket, "lake/raw/x", minio.StatObjectOptions{})
	require.NoError(t, err, "the key lives under the prefix")
	require.Equal(t, int64(4), info.Size)

	var keys []string
	require.NoError(t, s.List(ctx, "", func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}))
	require.Equal(t, []string{"raw/x"}, keys)
	_, err = s.Stat(ctx, "other/raw/x")
	require.ErrorIs(t, err, storage.ErrNotFound)

	_, err = s3store.New(ctx, config(srv, bucket, "a/../b"))
	require.ErrorIs(t, err, storage.ErrInvalidKey)
}

func TestBucket(t *testing.T) {
	t.Parallel()
	srv := miniotest.Require(t)
	ctx := t.Context()
	name := fmt.Sprintf("made-by-store-%d", len(t.Name()))

	_, err := s3store.New(ctx, config(srv, name, ""))
	require.ErrorContains(t, err, "does not exist")

	cfg := config(srv, name, "")
	cfg.CreateBucket = true
	s, err := s3store.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = srv.Client().RemoveBucketWithOptions(context.Background(), name, minio.RemoveBucketOptions{ForceDelete: true})
	})
	require.Equal(t, name, s.Bucket())
	require.Equal(t, "s3://"+name+"/", s.Location())
	// Opening again, with CreateBucket, finds the bucket.
	_, err = s3store.New(ctx, cfg)
	require.NoError(t, err)
}

func TestEndpointForms(t *testing.T) {
	t.Parallel()
	srv := miniotest.Require(t)
	bucket := srv.NewBucket(t)
	for _, ep := range []string{srv.Endpoint, "http://" + srv.Endpoint, "http://" + srv.Endpoint + "/"} {
		cfg := config(srv, bucket, "")
		cfg.Endpoint = ep
		_, err := s3store.New(t.Context(), cfg)
		require.NoError(t, err, ep)
	}
	for _, ep := range []string{"", "ftp://host", "http://host/path", "user:pw@host"} {
		cfg := config(srv, bucket, "")
		cfg.Endpoint = ep
		_, err := s3store.New(t.Context(), cfg)
		require.Error(t, err, ep)
	}
}

func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	srv := miniotest.Require(t)
	bucket := srv.NewBucket(t)
	const secret = "wrong-secret-that-must-not-leak"

	cfg := config(srv, bucket, "p")
	cfg.SecretKey = secret
	_, err := s3store.New(t.Context(), cfg)
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		require.NotContains(t, fmt.Sprintf(format, cfg), secret, format)
	}

	s, err := s3store.New(t.Context(), config(srv, bucket, "p"))
	require.NoError(t, err)
	require.NotContains(t, s.Location(), srv.SecretKey)
	_, err = s.Stat(t.Context(), "missing")
	require.NotContains(t, err.Error(), srv.SecretKey)
}

// failAfter yields n bytes, then an error.
type failAfter struct{ n int }

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrClosedPipe
	}
	p = p[:min(len(p), f.n)]
	clear(p)
	f.n -= len(p)
	return len(p), nil
}

// A failed multipart upload is aborted, not left behind taking space.
func TestFailedUploadLeavesNoParts(t *testing.T) {
	t.Parallel()
	srv := miniotest.Require(t)
	bucket := srv.NewBucket(t)
	s, err := s3store.New(t.Context(), config(srv, bucket, ""))
	require.NoError(t, err)

	_, err = s.Put(t.Context(), "big/fail", &failAfter{n: 3 * s3store.PartSize})
	require.ErrorIs(t, err, io.ErrClosedPipe)

	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelOnRead{r: &failAfter{n: 1 << 40}, after: 2 * s3store.PartSize, cancel: cancel}
	_, err = s.Put(ctx, "big/cancel", r)
	require.ErrorIs(t, err, context.Canceled)

	core := minio.Core{Client: srv.Client()}
	res, err := core.ListMultipartUploads(t.Context(), bucket, "", "", "", "", 1000)
	require.NoError(t, err)
	require.Empty(t, res.Uploads, "dangling multipart uploads")
}

type cancelOnRead struct {
	r      io.Reader
	after  int
	cancel context.CancelFunc
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	if c.after <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.after -= n
	return n, err
}

// BenchmarkPut measures a 64 MiB streamed upload; B/op shows the memory a
// Put allocates (bounded by two PartSize buffers).
func BenchmarkPut(b *testing.B) {
	srv, err := miniotest.Shared()
	require.NoError(b, err)
	s, err := s3store.New(b.Context(), config(srv, srv.NewBucket(b), ""))
	require.NoError(b, err)
	const size = 64 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		_, err := s.Put(b.Context(), "bench/object", io.LimitReader(zeros{}, size))
		require.NoError(b, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
