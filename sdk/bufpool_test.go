package sdk

import "testing"

func TestDirtyPoolSizesAndReuse(t *testing.T) {
	p := &dirtyPool{}
	for _, n := range []int{0, 1, 4096, 4097, 1 << 20, 3<<20 + 5, 64 << 20} {
		b := p.Get(n)
		if len(*b) != n {
			t.Fatalf("Get(%d) has length %d", n, len(*b))
		}
		if c := cap(*b); c < n || (c > 4096 && c&(c-1) != 0) {
			t.Fatalf("Get(%d) has capacity %d, not a tier size", n, c)
		}
		p.Put(b)
	}
	huge := p.Get(64<<20 + 1)
	if len(*huge) != 64<<20+1 {
		t.Fatalf("a buffer above the largest tier has length %d", len(*huge))
	}
	p.Put(huge) // dropped, not kept in a tier it does not fit

	// A returned buffer comes back for a request of its tier (sync.Pool may
	// drop it under GC, so try a few times).
	reused := false
	for range 10 {
		b := p.Get(100 << 10)
		(*b)[0] = 42
		p.Put(b)
		if c := p.Get(90 << 10); cap(*c) == 128<<10 && (*c)[0] == 42 {
			reused = true
			break
		}
	}
	if !reused {
		t.Error("a buffer put back was never handed out again")
	}
	odd := make([]byte, 10, 5000)
	p.Put(&odd) // not a power of two: must not be handed out as a 4 KiB one
	if b := p.Get(4096); cap(*b) == 5000 {
		t.Error("a buffer of a capacity that is no tier size came back")
	}
}
