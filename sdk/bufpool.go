package sdk

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// Buffer tiers of the plugin connection's pool: powers of two from 4 KiB
// (an HTTP/2 frame's worth) to 64 MiB (the largest message).
const (
	poolMinShift = 12
	poolMaxShift = 26
)

// dirtyPool is the gRPC buffer pool of plugin connections, on both ends. It
// is gRPC's own tiered design minus the zeroing: gRPC's default pool clears
// every buffer it hands out, which for record batches of a few MB each was
// 3-4% of the CPU of an ingest, in both processes. Every buffer gRPC takes
// from a pool is filled before it is read (frames are read in full, messages
// marshalled in full), and both processes belong to the same run, so there
// is nothing a stale byte could leak to.
type dirtyPool struct {
	tiers [poolMaxShift - poolMinShift + 1]sync.Pool
}

var _ mem.BufferPool = (*dirtyPool)(nil)

// connPool is shared by every plugin connection of the process.
var connPool = &dirtyPool{}

// UseBufferPool makes the pool of plugin connections the process-wide
// default gRPC buffer pool, which is also the one gRPC's proto codec
// marshals and unmarshals whole messages in (no dial or server option
// reaches it). Serve calls it; a host calls it once at start, before any
// gRPC connection exists, when plugins are its only gRPC peers.
func UseBufferPool() {
	experimental.SetDefaultBufferPool(connPool)
}

// Get returns a buffer of length n, from the smallest tier that holds it.
func (p *dirtyPool) Get(n int) *[]byte {
	shift := max(poolMinShift, bits.Len(uint(max(n, 1)-1)))
	if shift > poolMaxShift {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[shift-poolMinShift].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<shift)
	return &b
}

// Put keeps a buffer whose capacity is exactly one of the tiers' sizes.
func (p *dirtyPool) Put(b *[]byte) {
	c := cap(*b)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	shift := bits.Len(uint(c)) - 1
	if shift < poolMinShift || shift > poolMaxShift {
		return
	}
	p.tiers[shift-poolMinShift].Put(b)
}
