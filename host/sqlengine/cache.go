package sqlengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// downloadWorkers is how many files a query downloads at once.
const downloadWorkers = 4

// cache keeps local copies of object-store files for DuckDB (see the package
// documentation for its layout and locking).
type cache struct {
	dir   string
	max   int64
	store storage.Store
}

// acquired is a query's hold on its cached files.
type acquired struct {
	paths   map[string]string // key → path DuckDB reads
	stats   CacheStats
	release func()
}

// need is one file a query needs, and where the cache keeps it.
type need struct {
	file metastore.File
	path string // under objects/
}

func (c *cache) objectPath(f metastore.File) (string, error) {
	if err := storage.ValidateKey(f.Key); err != nil {
		return "", fmt.Errorf("dataset %s lists a bad key: %w", f.Dataset, err)
	}
	algo, err := digest.Algorithm(f.Digest)
	if err != nil {
		return "", fmt.Errorf("dataset %s lists %s with a bad checksum (the cache keys files by it): %w", f.Dataset, f.Key, err)
	}
	// A file's folder is its digest's hex digits, after its algorithm's
	// name but for SHA-256 (the cache's first layout).
	sum := strings.ToLower(digest.Hex(f.Digest))
	dir := filepath.Join(c.dir, "objects", sum[:2], sum)
	if algo != digest.SHA256 {
		dir = filepath.Join(c.dir, "objects", algo, sum[:2], sum)
	}
	return filepath.Join(dir, filepath.FromSlash(f.Key)), nil
}

// acquire makes every file available locally: it takes the cache lock,
// evicts what the bound requires, downloads what is missing, links the files
// into a folder of the query's own, and lets the lock go. release removes
// that folder.
func (c *cache) acquire(ctx context.Context, files []metastore.File) (*acquired, error) {
	needs := make([]need, 0, len(files))
	seen := map[string]bool{}
	for _, f := range files {
		p, err := c.objectPath(f)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			needs = append(needs, need{file: f, path: p})
		}
	}
	for _, d := range []string{"objects", "tmp", "queries"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("failed to create the query cache folder %s: %w", c.dir, err)
		}
	}
	unlock, err := lockPath(ctx, filepath.Join(c.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("failed to lock the query cache %s: %w", c.dir, err)
	}
	defer unlock()

	c.sweep()
	a := &acquired{paths: make(map[string]string, len(needs))}
	var missing []need
	var missingBytes int64
	for _, n := range needs {
		if fi, err := os.Stat(n.path); err == nil && fi.Size() == n.file.Size {
			a.stats.Hits++
			continue
		}
		missing = append(missing, n)
		missingBytes += n.file.Size
	}
	if err := c.evict(seen, missingBytes, &a.stats); err != nil {
		return nil, err
	}
	if err := c.download(ctx, missing); err != nil {
		return nil, err
	}
	a.stats.Downloaded = len(missing)
	a.stats.DownloadedBytes = missingBytes

	// The query's own folder of links, and the lock that says it is alive.
	id := randomID()
	qdir := filepath.Join(c.dir, "queries", id)
	releaseQuery, err := lockPath(ctx, qdir+".lock")
	if err != nil {
		return nil, fmt.Errorf("failed to register the query in the cache: %w", err)
	}
	a.release = func() {
		_ = os.RemoveAll(qdir)
		_ = os.Remove(qdir + ".lock")
		releaseQuery()
	}
	now := time.Now()
	for _, n := range needs {
		// The modification time is the recency of the LRU.
		if err := os.Chtimes(n.path, now, now); err != nil {
			a.release()
			return nil, fmt.Errorf("failed to use the cached copy of %s: %w", n.file.Key, err)
		}
		link := filepath.Join(qdir, filepath.FromSlash(n.file.Key))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			a.release()
			return nil, fmt.Errorf("failed to create the query's folder: %w", err)
		}
		if err := os.Link(n.path, link); err != nil {
			// Without hard links the query reads the cache entry itself,
			// which a concurrent query of another process could evict.
			link = n.path
		}
		a.paths[n.file.Key] = link
	}
	return a, nil
}

// sweep removes what dead queries and downloads left behind. The caller
// holds the cache lock, so no download is in progress and every query folder
// whose lock can be taken belongs to a process that is gone.
func (c *cache) sweep() {
	tmp := filepath.Join(c.dir, "tmp")
	if entries, err := os.ReadDir(tmp); err == nil {
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
	qroot := filepath.Join(c.dir, "queries")
	entries, err := os.ReadDir(qroot)
	if err != nil {
		return
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".lock")
		if e.IsDir() || !ok {
			if e.IsDir() {
				if _, err := os.Stat(filepath.Join(qroot, e.Name()+".lock")); errors.Is(err, fs.ErrNotExist) {
					_ = os.RemoveAll(filepath.Join(qroot, e.Name()))
				}
			}
			continue
		}
		unlock, ok := tryLockPath(filepath.Join(qroot, e.Name()))
		if !ok {
			continue
		}
		_ = os.RemoveAll(filepath.Join(qroot, name))
		_ = os.Remove(filepath.Join(qroot, e.Name()))
		unlock()
	}
}

// evict removes the least recently used cache entries not in keep until
// incoming more bytes fit under the bound.
func (c *cache) evict(keep map[string]bool, incoming int64, st *CacheStats) error {
	type entry struct {
		path string
		size int64
		mod  time.Time
	}
	var entries []entry
	var total int64
	root := filepath.Join(c.dir, "objects")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		total += fi.Size()
		if !keep[p] {
			entries = append(entries, entry{p, fi.Size(), fi.ModTime()})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to read the query cache %s: %w", c.dir, err)
	}
	slices.SortFunc(entries, func(a, b entry) int { return a.mod.Compare(b.mod) })
	for _, e := range entries {
		if total+incoming <= c.max {
			break
		}
		if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("failed to evict %s from the query cache: %w", e.path, err)
		}
		removeEmptyParents(filepath.Dir(e.path), root)
		total -= e.size
		st.Evicted++
		st.EvictedBytes += e.size
	}
	return nil
}

// removeEmptyParents removes dir and its parents up to (not including) root
// while they are empty.
func removeEmptyParents(dir, root string) {
	for dir != root && strings.HasPrefix(dir, root) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// download fetches the files, a few at a time.
func (c *cache) download(ctx context.Context, needs []need) error {
	if len(needs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan need)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(downloadWorkers, len(needs)) {
		wg.Go(func() {
			for n := range work {
				if err := c.fetch(ctx, n); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, n := range needs {
		select {
		case work <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// fetch copies one file into the cache, checking its size and SHA-256
// against the manifest before it becomes visible under objects/.
func (c *cache) fetch(ctx context.Context, n need) (err error) {
	f := n.file
	obj, err := c.store.Open(ctx, f.Key)
	if err != nil {
		return fmt.Errorf("failed to fetch %s of dataset %s from %s: %w", f.Key, f.Dataset, c.store.Location(), err)
	}
	defer obj.Close()
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "fetch-*")
	if err != nil {
		return fmt.Errorf("failed to create a file in the query cache: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h, err := digest.For(f.Digest)
	if err != nil {
		return fmt.Errorf("dataset %s lists %s with a bad checksum: %w", f.Dataset, f.Key, err)
	}
	size, err := io.Copy(io.MultiWriter(tmp, h), obj)
	if err != nil {
		return fmt.Errorf("failed to fetch %s of dataset %s from %s: %w", f.Key, f.Dataset, c.store.Location(), err)
	}
	if sum := h.String(); size != f.Size || !digest.Equal(sum, f.Digest) {
		return fmt.Errorf("%s of dataset %s in %s does not match its manifest (%d bytes with checksum %s, the manifest says %d bytes with checksum %s): the stored file changed or is damaged",
			f.Key, f.Dataset, c.store.Location(), size, sum, f.Size, f.Digest)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("failed to write the cached copy of %s: %w", f.Key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write the cached copy of %s: %w", f.Key, err)
	}
	if err := os.MkdirAll(filepath.Dir(n.path), 0o755); err != nil {
		return fmt.Errorf("failed to create a folder in the query cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), n.path); err != nil {
		return fmt.Errorf("failed to store the cached copy of %s: %w", f.Key, err)
	}
	return nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
