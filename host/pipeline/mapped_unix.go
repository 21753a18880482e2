//go:build unix

package pipeline

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile prepares f, a regular file of at least one byte, for reading
// through a mapping.
func mapFile(f *os.File) (*mappedFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 || !fi.Mode().IsRegular() {
		return nil, errors.New("not a mappable file")
	}
	m := &mappedFile{f: f, size: fi.Size()}
	// Map the first window now: a file that cannot be mapped is read.
	if m.win, err = mapRange(f, 0, int(min(mapWindow, m.size))); err != nil {
		return nil, err
	}
	return m, nil
}

// mapRange maps n bytes of f from off (a multiple of the page size)
// read-only.
func mapRange(f *os.File, off int64, n int) ([]byte, error) {
	b, err := unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	_ = unix.Madvise(b, unix.MADV_SEQUENTIAL) // read once, front to back
	return b, nil
}

func unmapRange(b []byte) error { return unix.Munmap(b) }
