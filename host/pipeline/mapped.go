package pipeline

import (
	"errors"
	"io"
	"runtime/debug"
)

// A local payload is copied to landing from a read-only memory mapping of
// the file where the system allows: the bytes go from the page cache into
// the store's write buffer in one copy, where reading the file would copy
// them twice (into a read buffer, then on), and a landing copy of hundreds
// of MB is a large share of an ingest's CPU time.
//
// A file truncated while it is mapped makes reading the lost pages fault
// (SIGBUS). Every read of the mapping runs with debug.SetPanicOnFault, so
// the fault becomes an error — the file changed while it was copied — and
// not a crash.

// errShrank is the error of a read that faulted.
var errShrank = errors.New("the file shrank while it was copied to landing")

// mappedFile reads a mapping from its start; Close unmaps it.
type mappedFile struct {
	data  []byte
	off   int
	unmap func() error
}

func (m *mappedFile) Read(p []byte) (n int, err error) {
	if m.off >= len(m.data) {
		return 0, io.EOF
	}
	n, err = faultSafeCopy(p, m.data[m.off:])
	m.off += n
	return n, err
}

func (m *mappedFile) Close() error {
	if m.unmap == nil {
		return nil
	}
	err := m.unmap()
	m.unmap = nil
	return err
}

// faultSafeCopy copies src to dst, returning errShrank instead of crashing
// if src faults.
func faultSafeCopy(dst, src []byte) (n int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			n, err = 0, errShrank
		}
	}()
	return copy(dst, src), nil
}
