package folder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bedrot-label/bedrot/host/storage"
)

// TempDir is the folder under the root that holds in-progress writes. Keys
// may not start with it.
const TempDir = ".tmp"

const (
	dirPerm  = 0o755
	filePerm = 0o644
)

// Store is a storage.Store over a local folder. It is safe for concurrent use
// by several goroutines; several processes may share a root as long as they
// write different keys.
type Store struct {
	root string // absolute, cleaned
	tmp  string // root/.tmp
}

var (
	_ storage.Store      = (*Store)(nil)
	_ storage.LocalFiles = (*Store)(nil)
)

// New opens the folder store rooted at root, creating the folder and its
// temporary area if needed. A relative root is made absolute.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("failed to open folder store: root folder is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve folder store root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fmt.Errorf("failed to create folder store root: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("failed to open folder store root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("failed to open folder store: root %q is not a folder", abs)
	}
	s := &Store{root: abs, tmp: filepath.Join(abs, TempDir)}
	if err := os.MkdirAll(s.tmp, dirPerm); err != nil {
		return nil, fmt.Errorf("failed to create folder store temp area: %w", err)
	}
	return s, nil
}

// Root returns the store's absolute root folder.
func (s *Store) Root() string { return s.root }

// Location returns the root folder.
func (s *Store) Location() string { return s.root }

// LocalPath returns the file that holds key (which need not exist), or ""
// for an invalid key (see storage.ValidateKey) or one in the temp area, so
// no key names a path outside the root.
func (s *Store) LocalPath(key string) string {
	if validKey(key) != nil {
		return ""
	}
	return s.path(key)
}

func (s *Store) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// validKey applies storage.ValidateKey and reserves the temp area.
func validKey(key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if key == TempDir || strings.HasPrefix(key, TempDir+"/") {
		return fmt.Errorf("%w %q: %q is reserved for in-progress writes", storage.ErrInvalidKey, key, TempDir+"/")
	}
	return nil
}

// Put writes r to a temporary file, fsyncs it and renames it to key, so the
// object appears whole or not at all. On any failure, including a cancelled
// ctx or an error from r (returned wrapped), the temporary file is removed
// and an older object under key is left as it was.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (n int64, err error) {
	if err := validKey(key); err != nil {
		return 0, fmt.Errorf("failed to put object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("failed to put object %q: %w", key, err)
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if errors.Is(err, fs.ErrNotExist) {
		// Someone removed the temp area; recreate it once.
		if err = os.MkdirAll(s.tmp, dirPerm); err == nil {
			f, err = os.CreateTemp(s.tmp, "put-*")
		}
	}
	if err != nil {
		return 0, fmt.Errorf("failed to create temporary file for %q: %w", key, err)
	}
	tmpName := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmpName)
		}
	}()

	// Large writes: landing payloads run to hundreds of MB (see direct.go).
	if c, ok := r.(storage.Chunker); ok {
		n, err = writeChunks(ctx, f, c)
	} else {
		n, err = copyToFile(ctx, f, ctxReader{ctx: ctx, r: r})
	}
	if err != nil {
		return 0, fmt.Errorf("failed to write object %q: %w", key, err)
	}
	if err = f.Chmod(filePerm); err != nil {
		return 0, fmt.Errorf("failed to set permissions of object %q: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return 0, fmt.Errorf("failed to sync object %q: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return 0, fmt.Errorf("failed to close object %q: %w", key, err)
	}
	if err = ctx.Err(); err != nil {
		return 0, fmt.Errorf("failed to put object %q: %w", key, err)
	}
	if err = s.rename(tmpName, key); err != nil {
		return 0, err
	}
	return n, nil
}

// rename moves a finished temporary file to key's path, creating parent
// folders. A concurrent Delete may prune a parent folder between MkdirAll and
// Rename, so ENOENT is retried a few times.
func (s *Store) rename(tmpName, key string) error {
	dst := s.path(key)
	dir := filepath.Dir(dst)
	var err error
	for range 5 {
		if err = os.MkdirAll(dir, dirPerm); err != nil {
			if errors.Is(err, syscall.ENOTDIR) {
				return fmt.Errorf("failed to put object %q: a key on its path is an object, and the folder store cannot hold both \"a\" and \"a/b\": %w", key, err)
			}
			return fmt.Errorf("failed to create folder for object %q: %w", key, err)
		}
		err = os.Rename(tmpName, dst)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return fmt.Errorf("failed to put object %q: it is a folder of other keys, and the folder store cannot hold both \"a\" and \"a/b\": %w", key, err)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("failed to move object %q into place: %w", key, err)
		}
	}
	if err != nil {
		return fmt.Errorf("failed to move object %q into place: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("failed to sync folder of object %q: %w", key, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil // some file systems cannot sync folders
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// object is an open file that knows its size.
type object struct {
	*os.File
	size int64
}

// Size returns the object's length in bytes when it was opened.
func (o *object) Size() int64 { return o.size }

// Open opens key's file. The returned Object is an *os.File underneath; ctx
// only bounds the open itself.
func (s *Store) Open(ctx context.Context, key string) (storage.Object, error) {
	if err := validKey(key); err != nil {
		return nil, fmt.Errorf("failed to open object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to open object %q: %w", key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, fmt.Errorf("failed to open object %q: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = storage.ErrNotFound // a folder is a prefix, not an object
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("failed to open object %q: %w", key, err)
	}
	return &object{File: f, size: fi.Size()}, nil
}

// Stat describes key's file.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := validKey(key); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("failed to stat object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("failed to stat object %q: %w", key, err)
	}
	fi, err := os.Stat(s.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("failed to stat object %q: %w", key, notFound(err))
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// notFound makes a missing file (or a path through a file) ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	return err
}

// List walks the folder in lexical key order. Entries of each folder are
// sorted as keys sort, a sub-folder "a" sorting as "a/", so that "a-b" comes
// before "a/x" and "a/x" before "a0". The walk starts at the deepest folder
// the prefix names and skips the temp area and anything that is not a
// regular file.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := storage.ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("failed to list objects: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to list objects under %q: %w", prefix, err)
	}
	dirKey := "" // "" or a key prefix ending in "/"
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey = prefix[:i+1]
	}
	err := s.walk(ctx, dirKey, prefix, fn)
	if err != nil {
		return fmt.Errorf("failed to list objects under %q: %w", prefix, err)
	}
	return nil
}

type entry struct {
	name string // file name
	sort string // key-order name: folders get a trailing "/"
	dir  bool
}

func (s *Store) walk(ctx context.Context, dirKey, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(s.path(dirKey))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil // nothing under this prefix, or pruned meanwhile
		}
		return err
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		e := entry{name: de.Name(), sort: de.Name(), dir: de.IsDir()}
		if e.dir {
			e.sort += "/"
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.sort, b.sort) })
	for _, e := range entries {
		key := dirKey + e.sort
		if dirKey == "" && e.name == TempDir {
			continue
		}
		if e.dir {
			if strings.HasPrefix(key, prefix) || strings.HasPrefix(prefix, key) {
				if err := s.walk(ctx, key, prefix, fn); err != nil {
					return err
				}
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		fi, err := os.Lstat(s.path(key))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if err := fn(storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes key's file, then removes parent folders left empty, stopping
// at the key's first segment (a zone folder such as "raw/" is never
// removed). A missing key is not an error; a key that names a folder (a
// prefix of other keys) is not an object and is left alone.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("failed to delete object: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to delete object %q: %w", key, err)
	}
	p := s.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("failed to delete object %q: %w", key, err)
	}
	if fi.IsDir() {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to delete object %q: %w", key, err)
	}
	s.prune(key)
	return nil
}

// prune removes empty parent folders of key, deepest first, keeping the
// first segment. It stops at the first folder that is not empty (or that a
// concurrent Put has just refilled).
func (s *Store) prune(key string) {
	dir := key
	for {
		i := strings.LastIndexByte(dir, '/')
		if i < 0 {
			return
		}
		dir = dir[:i]
		if !strings.Contains(dir, "/") {
			return // the first segment stays
		}
		if err := os.Remove(s.path(dir)); err != nil {
			return
		}
	}
}

// SweepTemp removes temporary files under <root>/.tmp/ last modified more
// than olderThan ago: leftovers of writes that a crash interrupted. A write in
// progress keeps touching its file, so a grace period well above the longest
// pause between two reads of a Put source (say an hour) leaves it alone. It
// returns how many files it removed.
func (s *Store) SweepTemp(olderThan time.Duration) (int, error) {
	des, err := os.ReadDir(s.tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("failed to read temp area: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	var errs []error
	for _, de := range des {
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.ModTime().Before(cutoff) {
			continue
		}
		p := filepath.Join(s.tmp, de.Name())
		if fi.IsDir() {
			err = os.RemoveAll(p)
		} else {
			err = os.Remove(p)
		}
		switch {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("failed to sweep temp area: %w", err)
	}
	return removed, nil
}

// ctxReader stops a copy once ctx is done.
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
