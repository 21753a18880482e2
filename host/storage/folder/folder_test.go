package folder_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/host/storage/storagetest"
)

func newStore(t *testing.T) *folder.Store {
	t.Helper()
	s, err := folder.New(t.TempDir())
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Exercise(t, func(t *testing.T) storage.Store { return newStore(t) })
}

func TestNew(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "nested", "lake")
	s, err := folder.New(root)
	require.NoError(t, err)
	require.Equal(t, root, s.Location())
	require.DirExists(t, filepath.Join(root, folder.TempDir))

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = folder.New(file)
	require.ErrorContains(t, err, "folder store root")
	_, err = folder.New("")
	require.Error(t, err)
}

func TestLocalPathAndLayout(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	key := "raw/source=distrokid/date=2026-11-26/part-0.parquet"
	_, err := s.Put(t.Context(), key, strings.NewReader("data"))
	require.NoError(t, err)

	p := s.LocalPath(key)
	require.Equal(t, filepath.Join(s.Root(), "raw", "source=distrokid", "date=2026-11-26", "part-0.parquet"), p)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "data", string(got))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	for _, bad := range []string{"../escape", "/abs", ".tmp/x", ""} {
		require.Empty(t, s.LocalPath(bad), bad)
	}

	var lf storage.LocalFiles = s
	require.Equal(t, p, lf.LocalPath(key))
}

func TestTempAreaIsReserved(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, key := range []string{".tmp", ".tmp/x", ".tmp/a/b"} {
		_, err := s.Put(t.Context(), key, strings.NewReader("x"))
		require.ErrorIs(t, err, storage.ErrInvalidKey, key)
		require.ErrorContains(t, err, "reserved")
	}
	// Other dot-names are ordinary keys.
	_, err := s.Put(t.Context(), ".tmpx/y", strings.NewReader("x"))
	require.NoError(t, err)

	// A stray file in the temp area is not listed.
	require.NoError(t, os.WriteFile(filepath.Join(s.Root(), ".tmp", "stray"), []byte("x"), 0o644))
	var keys []string
	require.NoError(t, s.List(t.Context(), "", func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}))
	require.Equal(t, []string{".tmpx/y"}, keys)
}

// blockingReader yields some bytes, then waits for release.
type blockingReader struct {
	sent    bool
	started chan struct{}
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		close(b.started)
		return copy(p, "partial"), nil
	}
	<-b.release
	return 0, io.EOF
}

func TestPutInvisibleUntilDone(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	key := "raw/source=a/date=2026-01-01/part-0.parquet"
	r := &blockingReader{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(context.Background(), key, r)
		done <- err
	}()
	<-r.started

	_, err := s.Stat(t.Context(), key)
	require.ErrorIs(t, err, storage.ErrNotFound)
	tmp, err := os.ReadDir(filepath.Join(s.Root(), folder.TempDir))
	require.NoError(t, err)
	require.Len(t, tmp, 1, "the write in progress lives in the temp area")

	close(r.release)
	require.NoError(t, <-done)
	oi, err := s.Stat(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, int64(len("partial")), oi.Size)
	tmp, err = os.ReadDir(filepath.Join(s.Root(), folder.TempDir))
	require.NoError(t, err)
	require.Empty(t, tmp)
}

func TestDeletePrunesEmptyFolders(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	a := "raw/source=a/date=2026-01-01/part-0.parquet"
	b := "raw/source=a/date=2026-01-02/part-0.parquet"
	for _, key := range []string{a, b, "top"} {
		_, err := s.Put(ctx, key, strings.NewReader("x"))
		require.NoError(t, err)
	}

	require.NoError(t, s.Delete(ctx, a))
	require.NoDirExists(t, filepath.Join(s.Root(), "raw", "source=a", "date=2026-01-01"))
	require.DirExists(t, filepath.Join(s.Root(), "raw", "source=a", "date=2026-01-02"))

	require.NoError(t, s.Delete(ctx, b))
	require.NoDirExists(t, filepath.Join(s.Root(), "raw", "source=a"))
	require.DirExists(t, filepath.Join(s.Root(), "raw"), "a zone folder is never pruned")

	require.NoError(t, s.Delete(ctx, "top"))
	require.DirExists(t, s.Root())
	require.DirExists(t, filepath.Join(s.Root(), folder.TempDir))
}

func TestSweepTemp(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tmp := filepath.Join(s.Root(), folder.TempDir)
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"put-1", "put-2"} {
		p := filepath.Join(tmp, name)
		require.NoError(t, os.WriteFile(p, []byte("stale"), 0o600))
		require.NoError(t, os.Chtimes(p, old, old))
	}
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "put-fresh"), []byte("busy"), 0o600))

	n, err := s.SweepTemp(time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, left, 1)
	require.Equal(t, "put-fresh", left[0].Name())

	// A missing temp area is recreated by the next Put, and sweeps find nothing.
	require.NoError(t, os.RemoveAll(tmp))
	n, err = s.SweepTemp(0)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = s.Put(t.Context(), "k", strings.NewReader("x"))
	require.NoError(t, err)
}

func TestFileFolderClash(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Put(ctx, "a/b", strings.NewReader("x"))
	require.NoError(t, err)
	_, err = s.Put(ctx, "a/b/c", strings.NewReader("y"))
	require.ErrorContains(t, err, "cannot hold both")
	_, err = s.Put(ctx, "a", strings.NewReader("z"))
	require.ErrorContains(t, err, "cannot hold both")

	tmp, err := os.ReadDir(filepath.Join(s.Root(), folder.TempDir))
	require.NoError(t, err)
	require.Empty(t, tmp, "failed puts leave no temporary files")
	var keys []string
	require.NoError(t, s.List(ctx, "", func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}))
	require.Equal(t, []string{"a/b"}, keys)
}
