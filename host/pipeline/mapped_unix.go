//go:build unix

package pipeline

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps f's current content read-only.
func mapFile(f *os.File) (*mappedFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size == 0 || !fi.Mode().IsRegular() || int64(int(size)) != size {
		return nil, errors.New("not a mappable file")
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	// Read once, front to back.
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	return &mappedFile{data: data, unmap: func() error { return unix.Munmap(data) }}, nil
}
