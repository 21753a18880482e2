//go:build unix

package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"
)

// writeNumberedLines writes an export of at least n bytes whose lines are
// numbered, so that windows read out of order or twice show.
func writeNumberedLines(t *testing.T, n int) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.tsv")
	var content []byte
	for i := 0; len(content) < n; i++ {
		content = fmt.Appendf(content, "%d\t2026-01-01\tSpotify\t0.000012345678\r\n", i)
	}
	require.NoError(t, os.WriteFile(path, content, 0o644))
	return path, content
}

// A local payload is read through a mapping of the file, byte for byte
// (more than two windows and a part).
func TestMappedFileReadsTheWholeFile(t *testing.T) {
	t.Parallel()
	path, content := writeNumberedLines(t, 2*mapWindow+12345)
	r, err := openLocalPayload(path)
	require.NoError(t, err)
	m, ok := r.(*mappedFile)
	require.True(t, ok, "a regular file is mapped, got %T", r)
	var got []byte
	buf := make([]byte, 4<<20+3) // reads that straddle windows
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		require.LessOrEqual(t, len(m.win), mapWindow, "one window is mapped at a time")
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.NoError(t, r.Close())
	require.True(t, bytes.Equal(content, got), "the mapping gave other bytes than the file holds")

	// An empty file cannot be mapped: it is read.
	empty := filepath.Join(t.TempDir(), "empty.tsv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	r, err = openLocalPayload(empty)
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	require.Empty(t, got)
	require.NoError(t, r.Close())
}

// A file truncated while it is copied fails the copy with an error; the
// fault on its lost pages does not crash the host.
func TestMappedFileTruncatedWhileCopied(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "export.tsv")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("x"), 8<<20), 0o644))
	r, err := openLocalPayload(path)
	require.NoError(t, err)
	defer r.Close()
	buf := make([]byte, 1<<20)
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, 0))
	_, err = io.ReadFull(r, buf)
	require.ErrorIs(t, err, errShrank)
}

// The chunks a store writes in place are the file's bytes, a window at a
// time; a mapping that faults while it is hashed fails the copy.
func TestMappedFileChunks(t *testing.T) {
	t.Parallel()
	path, content := writeNumberedLines(t, 2*mapWindow+777)
	r, err := openLocalPayload(path)
	require.NoError(t, err)
	m := r.(*mappedFile)
	var got []byte
	for {
		chunk, err := m.NextChunk()
		if err == io.EOF {
			require.Empty(t, chunk)
			break
		}
		require.NoError(t, err)
		require.LessOrEqual(t, len(chunk), mapWindow)
		got = append(got, chunk...)
	}
	require.NoError(t, m.Close())
	require.True(t, bytes.Equal(content, got), "the chunks differ from the file")

	w := &objectWriter{fast: xxhash.New()}
	r, err = openLocalPayload(path)
	require.NoError(t, err)
	defer r.Close()
	h := &hashingChunker{hashingReader{r: r, w: w}, r.(*mappedFile)}
	_, err = h.NextChunk()
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, 0))
	_, err = h.NextChunk()
	require.ErrorIs(t, err, errShrank)
}
