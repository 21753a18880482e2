package miniotest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func TestMissingBinaryFails(t *testing.T) {
	t.Parallel()
	_, err := startBinary(filepath.Join(t.TempDir(), "no-minio"))
	require.ErrorContains(t, err, "make minio")
	require.ErrorContains(t, err, BinEnv)
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	s, err := Start()
	require.NoError(t, err)
	resp, err := http.Get(s.URL() + "/minio/health/live")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.DirExists(t, s.dir)

	require.NoError(t, s.Stop())
	<-s.exited
	require.NoDirExists(t, s.dir)
	require.NoError(t, s.Stop(), "second stop")
	_, err = http.Get(s.URL() + "/minio/health/live")
	require.Error(t, err, "server still answers")
}

func TestSharedAndNewBucket(t *testing.T) {
	t.Parallel()
	s := Require(t)
	s2, err := Shared()
	require.NoError(t, err)
	require.Same(t, s, s2)

	var name string
	t.Run("Inner/With Odd_Chars", func(t *testing.T) {
		name = s.NewBucket(t)
		other := s.NewBucket(t)
		require.NotEqual(t, name, other)
		require.True(t, strings.HasPrefix(name, "t-"))
		require.LessOrEqual(t, len(name), 63)
		ok, err := s.Client().BucketExists(t.Context(), name)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = s.Client().PutObject(t.Context(), name, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{})
		require.NoError(t, err)
	})
	// MinIO may report a removed bucket for a moment longer.
	var exists bool
	var lastErr error
	require.Eventually(t, func() bool {
		exists, lastErr = s.Client().BucketExists(t.Context(), name)
		return lastErr == nil && !exists
	}, 90*time.Second, 50*time.Millisecond, "bucket outlived its test")
	if t.Failed() {
		t.Logf("bucket %s: exists %v, last error %v", name, exists, lastErr)
	}
}

func TestBinaryPath(t *testing.T) {
	t.Parallel()
	if env := os.Getenv(BinEnv); env != "" {
		require.Equal(t, env, BinaryPath())
		return
	}
	require.True(t, strings.HasSuffix(BinaryPath(), filepath.Join(".cache", "bedrot", "bin", "minio")))
}
