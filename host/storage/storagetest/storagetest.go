package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/storage"
)

// Exercise runs the conformance suite. newStore must return an empty store
// of its own for each call (a fresh folder, a fresh bucket); every sub-test
// calls it once and runs in parallel with the others.
func Exercise(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"LargeObject", testLargeObject},
		{"ObjectReading", testObjectReading},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"OddKeys", testOddKeys},
		{"ListOrderAndPrefixes", testList},
		{"ListStopsOnCallbackError", testListStops},
		{"Delete", testDelete},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentPutsSameKey", testConcurrentSameKey},
		{"FailingReader", testFailingReader},
		{"PutFromChunker", testPutFromChunker},
		{"ContextCancelled", testContextCancelled},
		{"CancelDuringPut", testCancelDuringPut},
		{"InvalidKeys", testInvalidKeys},
		{"Location", testLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// put stores data under key and checks the byte count.
func put(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	n, err := s.Put(t.Context(), key, bytes.NewReader(data))
	require.NoError(t, err, "put %q", key)
	require.Equal(t, int64(len(data)), n, "put %q: byte count", key)
}

// get reads key whole.
func get(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	obj, err := s.Open(t.Context(), key)
	require.NoError(t, err, "open %q", key)
	defer func() { require.NoError(t, obj.Close()) }()
	data, err := io.ReadAll(obj)
	require.NoError(t, err, "read %q", key)
	require.Equal(t, int64(len(data)), obj.Size(), "size of %q", key)
	return data
}

// listKeys lists prefix and returns the keys in the order List gave them.
func listKeys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := s.List(t.Context(), prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	})
	require.NoError(t, err, "list %q", prefix)
	return keys
}

func requireNotFound(t *testing.T, s storage.Store, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	require.ErrorIs(t, err, storage.ErrNotFound, "stat %q", key)
	_, err = s.Open(t.Context(), key)
	require.ErrorIs(t, err, storage.ErrNotFound, "open %q", key)
}

func testRoundTrip(t *testing.T, s storage.Store) {
	binary := make([]byte, 3*256)
	for i := range binary {
		binary[i] = byte(i)
	}
	cases := map[string][]byte{
		"landing/empty/_metadata.json":                           {},
		"raw/source=distrokid/date=2026-11-26/part-0000.parquet": []byte("PAR1 hello PAR1"),
		"raw/source=distrokid/date=2026-11-26/binary.bin":        binary,
		"single": []byte("top-level key"),
	}
	before := time.Now().Add(-time.Minute)
	for key, data := range cases {
		put(t, s, key, data)
	}
	for key, data := range cases {
		require.Equal(t, data, get(t, s, key), "content of %q", key)
		oi, err := s.Stat(t.Context(), key)
		require.NoError(t, err)
		require.Equal(t, key, oi.Key)
		require.Equal(t, int64(len(data)), oi.Size)
		require.True(t, oi.ModTime.After(before) && oi.ModTime.Before(time.Now().Add(time.Minute)),
			"mod time of %q is %s, want about now", key, oi.ModTime)
	}
}

// patternReader yields n deterministic pseudo-random bytes without holding
// them.
type patternReader struct {
	rng *rand.ChaCha8
	n   int64
}

func newPattern(seed byte, n int64) *patternReader {
	return &patternReader{rng: rand.NewChaCha8([32]byte{seed}), n: n}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	n, _ := p.rng.Read(b)
	p.n -= int64(n)
	return n, nil
}

func patternHash(seed byte, n int64) [32]byte {
	h := sha256.New()
	_, _ = io.Copy(h, newPattern(seed, n))
	return [32]byte(h.Sum(nil))
}

func testLargeObject(t *testing.T, s storage.Store) {
	const size = 20<<20 + 1234 // more than two S3 parts of 8 MiB, and not whole disk blocks
	key := "raw/source=big/date=2026-11-26/part-0.parquet"
	// A reader that hands out odd-sized chunks, as network readers do.
	n, err := s.Put(t.Context(), key, io.LimitReader(&choppy{r: newPattern(7, size)}, size))
	require.NoError(t, err)
	require.Equal(t, int64(size), n)

	oi, err := s.Stat(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, int64(size), oi.Size)

	obj, err := s.Open(t.Context(), key)
	require.NoError(t, err)
	defer func() { require.NoError(t, obj.Close()) }()
	require.Equal(t, int64(size), obj.Size())
	h := sha256.New()
	copied, err := io.Copy(h, obj)
	require.NoError(t, err)
	require.Equal(t, int64(size), copied)
	require.Equal(t, patternHash(7, size), [32]byte(h.Sum(nil)), "content differs")

	// A read at an offset deep inside the object, across a part boundary.
	want := make([]byte, 1<<20)
	src := newPattern(7, size)
	_, err = io.CopyN(io.Discard, src, 8<<20-512<<10)
	require.NoError(t, err)
	_, err = io.ReadFull(src, want)
	require.NoError(t, err)
	got := make([]byte, len(want))
	_, err = obj.ReadAt(got, 8<<20-512<<10)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "ReadAt across a part boundary differs")
}

// choppy returns at most 7777 bytes per Read.
type choppy struct{ r io.Reader }

func (c *choppy) Read(p []byte) (int, error) {
	if len(p) > 7777 {
		p = p[:7777]
	}
	return c.r.Read(p)
}

func testObjectReading(t *testing.T, s storage.Store) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	key := "staging/domain=x/year=2026/seek.bin"
	put(t, s, key, data)
	obj, err := s.Open(t.Context(), key)
	require.NoError(t, err)
	defer func() { require.NoError(t, obj.Close()) }()
	require.Equal(t, int64(len(data)), obj.Size())

	buf := make([]byte, 4)
	_, err = io.ReadFull(obj, buf)
	require.NoError(t, err)
	require.Equal(t, "0123", string(buf))

	// ReadAt neither uses nor moves the read offset.
	_, err = obj.ReadAt(buf, 10)
	require.NoError(t, err)
	require.Equal(t, "abcd", string(buf))
	_, err = io.ReadFull(obj, buf)
	require.NoError(t, err)
	require.Equal(t, "4567", string(buf))

	// ReadAt short of the end reports io.EOF with the bytes it got.
	long := make([]byte, 10)
	n, err := obj.ReadAt(long, int64(len(data)-3))
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 3, n)
	require.Equal(t, "xyz", string(long[:n]))
	_, err = obj.ReadAt(buf, int64(len(data)))
	require.ErrorIs(t, err, io.EOF)

	pos, err := obj.Seek(-6, io.SeekEnd)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)-6), pos)
	rest, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.Equal(t, "uvwxyz", string(rest))

	pos, err = obj.Seek(2, io.SeekStart)
	require.NoError(t, err)
	require.Equal(t, int64(2), pos)
	pos, err = obj.Seek(3, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, int64(5), pos)
	_, err = io.ReadFull(obj, buf)
	require.NoError(t, err)
	require.Equal(t, "5678", string(buf))
}

func testOverwrite(t *testing.T, s storage.Store) {
	key := "curated/mart=sales/version=v1.0/data.parquet"
	put(t, s, key, []byte("first version, longer"))
	put(t, s, key, []byte("second"))
	require.Equal(t, "second", string(get(t, s, key)))
	oi, err := s.Stat(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, int64(6), oi.Size)
	put(t, s, key, nil)
	require.Empty(t, get(t, s, key))
	require.Equal(t, []string{key}, listKeys(t, s, ""))
}

func testNotFound(t *testing.T, s storage.Store) {
	requireNotFound(t, s, "raw/never/written")
	put(t, s, "raw/source=a/date=2026-01-01/x.parquet", []byte("x"))
	// Prefixes of a key, and keys below a key, are not objects.
	requireNotFound(t, s, "raw")
	requireNotFound(t, s, "raw/source=a")
	requireNotFound(t, s, "raw/source=a/date=2026-01-01")
	requireNotFound(t, s, "raw/source=a/date=2026-01-01/x.parquet/below")
	requireNotFound(t, s, "raw/source=a/date=2026-01-01/x.parq")
}

func testOddKeys(t *testing.T, s storage.Store) {
	keys := []string{
		"raw/source=a b/date=2026-11-26/part 0.parquet",
		"raw/source=é/date=2026-11-26/日本語.parquet",
		"raw/source=x=y/k=v=w/file",
		".agent/context/current_context.json",
		"sandbox/user/a..b/-dash_+plus%25,comma;semi'quote(paren)[b]{c}~tilde!&$@#",
		"emoji/🎵.bin",
	}
	for i, key := range keys {
		put(t, s, key, []byte(fmt.Sprint(i)))
	}
	for i, key := range keys {
		require.Equal(t, fmt.Sprint(i), string(get(t, s, key)), key)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	require.Equal(t, want, listKeys(t, s, ""))
}

func testList(t *testing.T, s storage.Store) {
	keys := []string{
		"a-c",
		"a/b",
		"a0",
		"raw-x/q",
		"raw/source=a b/date=2026-01-01/z",
		"raw/source=a/date=2026-01-01/part-0.parquet",
		"raw/source=a/date=2026-01-01/part-1.parquet",
		"raw/source=a/date=2026-01-02/part-0.parquet",
		"raw/source=a/date=2026-01-02x",
		"raw/source=ab/date=2026-01-01/y",
		"raw/source=b/date=2026-01-01/x",
		"raw/source=é/date=2026-01-01/u",
		"raw0",
		"rawfile",
		"staging/domain=x/year=2026/f",
	}
	// Store in a scrambled order so that no backend gets sorted input.
	shuffled := slices.Clone(keys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for _, key := range shuffled {
		put(t, s, key, []byte(key))
	}
	require.True(t, slices.IsSorted(keys), "test keys must be sorted")

	filter := func(prefix string) []string {
		out := []string{}
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
		}
		return out
	}
	for _, prefix := range []string{
		"", "a", "a/", "raw", "raw/", "raw/source=a", "raw/source=a/",
		"raw/source=a/date=2026-01-0", "raw/source=a/date=2026-01-02",
		"raw/source=a/date=2026-01-02/", "raw/source=é", "raw/source=a b/",
		"raw/source=a/date=2026-01-01/part-0.parquet", "nothing", "nothing/", "raw/nothing/",
		"raw/source=a/date=2026-01-01/part-0.parquet/",
	} {
		require.Equal(t, filter(prefix), listKeys(t, s, prefix), "prefix %q", prefix)
	}

	var infos []storage.ObjectInfo
	require.NoError(t, s.List(t.Context(), "raw/source=b/", func(oi storage.ObjectInfo) error {
		infos = append(infos, oi)
		return nil
	}))
	require.Len(t, infos, 1)
	require.Equal(t, "raw/source=b/date=2026-01-01/x", infos[0].Key)
	require.Equal(t, int64(len(infos[0].Key)), infos[0].Size)
	require.False(t, infos[0].ModTime.IsZero())
}

func testListStops(t *testing.T, s storage.Store) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("k/%d", i), []byte("x"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(t.Context(), "k/", func(storage.ObjectInfo) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2, calls)
}

func testDelete(t *testing.T, s storage.Store) {
	key := "raw/source=a/date=2026-01-01/part-0.parquet"
	sibling := "raw/source=a/date=2026-01-02/part-0.parquet"
	put(t, s, key, []byte("x"))
	put(t, s, sibling, []byte("y"))

	require.NoError(t, s.Delete(t.Context(), key))
	requireNotFound(t, s, key)
	require.NoError(t, s.Delete(t.Context(), key), "second delete")
	require.NoError(t, s.Delete(t.Context(), "raw/never/existed"))
	require.Equal(t, []string{sibling}, listKeys(t, s, ""))

	// A key that is only a prefix of others deletes nothing.
	require.NoError(t, s.Delete(t.Context(), "raw/source=a"))
	require.Equal(t, []string{sibling}, listKeys(t, s, ""))

	// The emptied partition can be written again.
	put(t, s, key, []byte("again"))
	require.Equal(t, "again", string(get(t, s, key)))

	require.NoError(t, s.Delete(t.Context(), key))
	require.NoError(t, s.Delete(t.Context(), sibling))
	require.Empty(t, listKeys(t, s, ""))
	put(t, s, sibling, []byte("z"))
	require.Equal(t, []string{sibling}, listKeys(t, s, "raw/"))
}

func testConcurrentPuts(t *testing.T, s storage.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("raw/source=c/date=2026-01-%02d/part-%d.parquet", i%3, i)
			data := bytes.Repeat([]byte{byte(i)}, 100_000+i)
			if _, err := s.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	keys := listKeys(t, s, "raw/")
	require.Len(t, keys, n)
	require.True(t, slices.IsSorted(keys))
	for i := range n {
		key := fmt.Sprintf("raw/source=c/date=2026-01-%02d/part-%d.parquet", i%3, i)
		require.Equal(t, bytes.Repeat([]byte{byte(i)}, 100_000+i), get(t, s, key))
	}
}

func testConcurrentSameKey(t *testing.T, s storage.Store) {
	const n = 8
	key := "staging/domain=x/year=2026/same.bin"
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte('a' + i)}, 300_000)
			if _, err := s.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := get(t, s, key)
	require.Len(t, got, 300_000)
	require.Equal(t, bytes.Repeat(got[:1], len(got)), got, "object mixes writers")
	require.Equal(t, []string{key}, listKeys(t, s, ""))
}

// failAfter yields n pattern bytes, then err.
type failAfter struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func testFailingReader(t *testing.T, s storage.Store) {
	boom := errors.New("source broke")
	// Before the end of the first S3 part, and after several parts.
	for _, size := range []int64{0, 1 << 20, 17 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := fmt.Sprintf("landing/fail/%d/new.bin", size)
			_, err := s.Put(t.Context(), key, &failAfter{r: newPattern(1, size), n: size, err: boom})
			require.ErrorIs(t, err, boom)
			requireNotFound(t, s, key)
			require.Empty(t, listKeys(t, s, fmt.Sprintf("landing/fail/%d/", size)))

			old := fmt.Sprintf("landing/fail/%d/old.bin", size)
			put(t, s, old, []byte("old content"))
			_, err = s.Put(t.Context(), old, &failAfter{r: newPattern(1, size), n: size, err: boom})
			require.ErrorIs(t, err, boom)
			require.Equal(t, "old content", string(get(t, s, old)))
			require.Equal(t, []string{old}, listKeys(t, s, fmt.Sprintf("landing/fail/%d/", size)))
		})
	}
}

// chunker hands out pattern bytes in chunks of the given sizes, each in a
// page-aligned buffer of its own (as a mapped file's windows are), and
// fails with err, if set, after them.
type chunker struct {
	sizes []int
	pat   *patternReader
	err   error
	rest  []byte // what Read has not returned of the last chunk
}

func (c *chunker) NextChunk() ([]byte, error) {
	if len(c.sizes) == 0 {
		if c.err != nil {
			return nil, c.err
		}
		return nil, io.EOF
	}
	n := c.sizes[0]
	c.sizes = c.sizes[1:]
	raw := make([]byte, n+4096)
	off := (4096 - int(uintptr(unsafe.Pointer(&raw[0]))%4096)) % 4096
	b := raw[off : off+n]
	if _, err := io.ReadFull(c.pat, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *chunker) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		b, err := c.NextChunk()
		if len(b) == 0 {
			return 0, err
		}
		c.rest = b
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// A store writes what a Chunker holds (in place, or read as any reader),
// and nothing of one that fails.
func testPutFromChunker(t *testing.T, s storage.Store) {
	sizes := []int{4 << 20, 4 << 20, 1 << 20, 12345} // whole blocks, then a tail
	total := int64(0)
	for _, n := range sizes {
		total += int64(n)
	}
	key := "landing/chunks/export.tsv"
	n, err := s.Put(t.Context(), key, &chunker{sizes: sizes, pat: newPattern(7, total)})
	require.NoError(t, err)
	require.Equal(t, total, n)
	require.Equal(t, patternHash(7, total), sha256.Sum256(get(t, s, key)))

	boom := errors.New("mapping faulted")
	_, err = s.Put(t.Context(), "landing/chunks/broken.tsv", &chunker{sizes: sizes[:2], pat: newPattern(7, total), err: boom})
	require.ErrorIs(t, err, boom)
	requireNotFound(t, s, "landing/chunks/broken.tsv")
}

func testContextCancelled(t *testing.T, s storage.Store) {
	key := "raw/source=a/date=2026-01-01/x"
	put(t, s, key, []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := s.Put(ctx, "raw/cancelled", strings.NewReader("data"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Open(ctx, key)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Stat(ctx, key)
	require.ErrorIs(t, err, context.Canceled)
	err = s.List(ctx, "", func(storage.ObjectInfo) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Delete(ctx, key), context.Canceled)

	requireNotFound(t, s, "raw/cancelled")
	require.Equal(t, "x", string(get(t, s, key)), "a cancelled delete removed the object")
}

// cancelAfter yields pattern bytes and cancels ctx once n have gone.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

func testCancelDuringPut(t *testing.T, s storage.Store) {
	for _, at := range []int64{1 << 20, 12 << 20} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			key := fmt.Sprintf("landing/cancel/%d.bin", at)
			put(t, s, key, []byte("old"))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := s.Put(ctx, key, &cancelAfter{r: newPattern(2, 20<<20), n: at, cancel: cancel})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, "old", string(get(t, s, key)))
		})
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	bad := []string{
		"", "/abs", "trailing/", "a//b", "..", ".", "a/../b", "a/./b", "../escape",
		"nul\x00byte", "new\nline", "back\\slash", "\xff\xfe",
		strings.Repeat("k/", storage.MaxKeyLen/2) + "k", strings.Repeat("s", storage.MaxSegmentLen+1),
	}
	ctx := t.Context()
	for _, key := range bad {
		_, err := s.Put(ctx, key, strings.NewReader("x"))
		require.ErrorIs(t, err, storage.ErrInvalidKey, "put %q", key)
		_, err = s.Open(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "open %q", key)
		_, err = s.Stat(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "stat %q", key)
		require.ErrorIs(t, s.Delete(ctx, key), storage.ErrInvalidKey, "delete %q", key)
	}
	for _, prefix := range []string{"/abs", "a//", "../", "a/../b", "nul\x00"} {
		err := s.List(ctx, prefix, func(storage.ObjectInfo) error { return nil })
		require.ErrorIs(t, err, storage.ErrInvalidKey, "list %q", prefix)
	}
	require.Empty(t, listKeys(t, s, ""))
	// The longest segments are fine (three of them leave room for an S3
	// store's prefix).
	seg := strings.Repeat("s", storage.MaxSegmentLen)
	long := seg + "/" + seg + "/" + seg
	put(t, s, long, []byte("x"))
	require.Equal(t, "x", string(get(t, s, long)))
}

func testLocation(t *testing.T, s storage.Store) {
	require.NotEmpty(t, s.Location())
}
