package pipeline

import (
	"errors"
	"io"
	"os"
	"runtime/debug"
)

// A local payload is copied to landing from a read-only memory mapping of
// the file where the system allows: the bytes go from the page cache into
// the store's write buffer in one copy, where reading the file would copy
// them twice (into a read buffer, then on), and a landing copy of hundreds
// of MB is a large share of an ingest's CPU time. The mapping slides along
// the file, so that the host's resident memory holds one window of it.
//
// A file truncated while it is mapped makes reading the lost pages fault
// (SIGBUS). Every read of the mapping runs with debug.SetPanicOnFault, so
// the fault becomes an error — the file changed while it was copied — and
// not a crash.

// errShrank is the error of a read that faulted.
var errShrank = errors.New("the file shrank while it was being copied")

// mapWindow is how much of a file is mapped at a time: the mapped pages
// count in the host's resident memory until they are unmapped.
const mapWindow = 16 << 20

// mappedFile reads a file front to back through a sliding read-only
// mapping of mapWindow bytes; Close unmaps it and closes the file.
type mappedFile struct {
	f         *os.File
	size, off int64
	win       []byte // the mapping of [winOff, winOff+len(win))
	winOff    int64
}

func (m *mappedFile) Read(p []byte) (n int, err error) {
	if m.off >= m.size {
		return 0, io.EOF
	}
	if err := m.window(); err != nil {
		return 0, err
	}
	n, err = faultSafeCopy(p, m.win[m.off-m.winOff:])
	m.off += int64(n)
	return n, err
}

// NextChunk implements storage.Chunker: the rest of the current window of
// the mapping, in place (until the next call). Reading it may fault if the
// file shrinks (use faultSafe); a write syscall given it fails instead.
func (m *mappedFile) NextChunk() ([]byte, error) {
	if m.off >= m.size {
		return nil, io.EOF
	}
	if err := m.window(); err != nil {
		return nil, err
	}
	chunk := m.win[m.off-m.winOff:]
	m.off += int64(len(chunk))
	return chunk, nil
}

// window maps the window that holds m.off, unless it is mapped already.
func (m *mappedFile) window() error {
	if m.win != nil && m.off < m.winOff+int64(len(m.win)) {
		return nil
	}
	if err := m.unmap(); err != nil {
		return err
	}
	m.winOff = m.off - m.off%mapWindow
	var err error
	m.win, err = mapRange(m.f, m.winOff, int(min(mapWindow, m.size-m.winOff)))
	return err
}

func (m *mappedFile) unmap() error {
	if m.win == nil {
		return nil
	}
	err := unmapRange(m.win)
	m.win = nil
	return err
}

func (m *mappedFile) Close() error {
	err := m.unmap()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// faultSafeCopy copies src to dst, returning errShrank instead of crashing
// if src faults.
func faultSafeCopy(dst, src []byte) (n int, err error) {
	err = faultSafe(func() { n = copy(dst, src) })
	return n, err
}

// faultSafe runs fn, which reads a mapping, and returns errShrank if the
// mapping faulted (the file shrank) instead of crashing.
func faultSafe(fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			err = errShrank
		}
	}()
	fn()
	return nil
}
