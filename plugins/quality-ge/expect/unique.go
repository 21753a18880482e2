package expect

import (
	"container/heap"
	"hash/maphash"
	"math"
	"slices"

	"github.com/bedrot-label/bedrot/sdk"
)

// Uniqueness is tracked in a compact open-addressing table of 64-bit value
// hashes, never of the values themselves: 16 bytes per slot, at most 75%
// full, so about 21–43 bytes per distinct value.
//
// Integer-like values (int64, date, timestamp, decimal, bool) and floats are
// hashed with a bijective 64-bit mixer, so for them the table is exact.
// Strings and multi-column keys are hashed with hash/maphash (64 bits): two
// different values share a hash with probability about n²/2⁶⁵, below one in
// a million up to six million distinct values and negligible below billions
// of rows for the purpose of a quality report.

// mix64 is the splitmix64 finaliser: a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashTable maps a 64-bit hash to a 63-bit payload. A zero payload marks an
// empty slot, so payloads are stored +1.
type hashTable struct {
	keys []uint64
	vals []int64
	n    int
}

func (t *hashTable) grow() {
	size := 1024
	if len(t.keys) > 0 {
		size = len(t.keys) * 2
	}
	oldK, oldV := t.keys, t.vals
	t.keys, t.vals, t.n = make([]uint64, size), make([]int64, size), 0
	for i, v := range oldV {
		if v != 0 {
			slot := t.find(oldK[i])
			t.keys[slot], t.vals[slot] = oldK[i], v
			t.n++
		}
	}
}

// find returns the slot holding h, or the empty slot where it would go.
func (t *hashTable) find(h uint64) int {
	mask := uint64(len(t.keys) - 1)
	i := mix64(h) & mask
	for t.vals[i] != 0 && t.keys[i] != h {
		i = (i + 1) & mask
	}
	return int(i)
}

// upsert returns the slot of h, inserting it with payload val if new.
func (t *hashTable) upsert(h uint64, val int64) (slot int, existed bool) {
	if (t.n+1)*4 > len(t.keys)*3 {
		t.grow()
	}
	slot = t.find(h)
	if t.vals[slot] != 0 {
		return slot, true
	}
	t.keys[slot], t.vals[slot] = h, val
	t.n++
	return slot, false
}

// hasher hashes the cells of one column.
type hasher struct {
	seed maphash.Seed
}

func newHasher() hasher { return hasher{seed: maphash.MakeSeed()} }

// hashAt hashes non-missing cell i.
func (h hasher) hashAt(c *sdk.Column, f *sdk.Field, i int) uint64 {
	switch f.Type {
	case sdk.TypeString:
		return maphash.Bytes(h.seed, c.Bytes[c.Offsets[i]:c.Offsets[i+1]])
	case sdk.TypeFloat64:
		x := c.Float64s[i]
		if x == 0 {
			x = 0 // -0 == 0
		}
		return mix64(math.Float64bits(x))
	case sdk.TypeBool:
		if c.Bools[i] {
			return mix64(1)
		}
		return mix64(0)
	case sdk.TypeDate:
		return mix64(uint64(int64(c.Int32s[i])))
	}
	return mix64(uint64(c.Int64s[i]))
}

// rowHeap keeps the smallest row numbers seen (a max-heap of size limit):
// duplicates are discovered out of row order, and GX lists the first
// unexpected rows in row order.
type rowHeap []sample

func (h rowHeap) Len() int           { return len(h) }
func (h rowHeap) Less(i, j int) bool { return h[i].row > h[j].row }
func (h rowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rowHeap) Push(x any)        { *h = append(*h, x.(sample)) }
func (h *rowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// dupTracker finds the rows whose key occurs more than once: GX's
// uniqueness expectations report every occurrence of a duplicated value,
// the first one included.
type dupTracker struct {
	mapCore
	table hashTable
	heap  rowHeap
	// firstIdx keeps index-column values of first occurrences, only when
	// unexpected_index_column_names is asked for (keyed by row).
	firstIdx map[int64][]Value
	// valueOf reads the reported value of row i of a batch.
	valueOf func(b *sdk.RecordBatch, i int) Value
}

const dupSeen = -1 // payload once a key's first occurrence was reported

// see records key h at row i of b (global row number row).
func (d *dupTracker) see(h uint64, row int64, b *sdk.RecordBatch, i int) {
	slot, existed := d.table.upsert(h, row+1)
	if !existed {
		if len(d.idxCols) > 0 {
			if d.firstIdx == nil {
				d.firstIdx = map[int64][]Value{}
			}
			d.firstIdx[row] = d.indexValues(b, i)
		}
		return
	}
	first := d.table.vals[slot]
	if first != dupSeen {
		d.table.vals[slot] = dupSeen
		d.unexpected += 2
		if d.limit() != 0 {
			val := d.valueOf(b, i)
			d.offer(sample{row: first - 1, v: val, idx: d.firstIdx[first-1]})
			d.offer(sample{row: row, v: val, idx: d.indexValues(b, i)})
		}
		return
	}
	d.unexpected++
	if d.limit() != 0 {
		d.offer(sample{row: row, v: d.valueOf(b, i), idx: d.indexValues(b, i)})
	}
}

func (d *dupTracker) offer(s sample) {
	l := d.limit()
	if l < 0 || len(d.heap) < l {
		heap.Push(&d.heap, s)
		return
	}
	if s.row < d.heap[0].row {
		d.heap[0] = s
		heap.Fix(&d.heap, 0)
	}
}

func (d *dupTracker) finishDup() outcome {
	d.samples = slices.Clone([]sample(d.heap))
	slices.SortFunc(d.samples, func(a, b sample) int {
		switch {
		case a.row < b.row:
			return -1
		case a.row > b.row:
			return 1
		}
		return 0
	})
	return d.finishMap()
}

// uniqueEval implements expect_column_values_to_be_unique.
type uniqueEval struct {
	dupTracker
	col int
	f   *sdk.Field
	h   hasher
}

func compileUnique(c *compileCtx) (evaluator, error) {
	col, f, err := c.column("column")
	if err != nil {
		return nil, err
	}
	core, err := newMapCore(c, f.Name)
	if err != nil {
		return nil, err
	}
	e := &uniqueEval{dupTracker: dupTracker{mapCore: core}, col: col, f: f, h: newHasher()}
	e.valueOf = func(b *sdk.RecordBatch, i int) Value { return valueAt(&b.Columns[col], f, i) }
	return e, nil
}

func (e *uniqueEval) add(b *sdk.RecordBatch, base int64) {
	c := &b.Columns[e.col]
	n := b.NumRows
	e.elements += int64(n)
	for i := 0; i < n; i++ {
		if isNullAt(c, e.f, i) {
			continue
		}
		e.considered++
		e.see(e.h.hashAt(c, e.f, i), base+int64(i), b, i)
	}
}

func (e *uniqueEval) finish() outcome { return e.finishDup() }

// compoundEval implements expect_compound_columns_to_be_unique: the key is
// the row's values of column_list; a missing value is part of the key
// (pandas' duplicated() treats missing values as equal).
type compoundEval struct {
	dupTracker
	cols   []int
	fields []*sdk.Field
	names  []string
	ignore string
	h      hasher
}

func compileCompoundUnique(c *compileCtx) (evaluator, error) {
	e := &compoundEval{ignore: c.kwString("ignore_row_if", "all_values_are_missing"), h: newHasher()}
	list, _ := c.kw("column_list").([]any)
	for _, x := range list {
		name, _ := x.(string)
		i, f, err := c.columnNamed(name)
		if err != nil {
			return nil, err
		}
		e.cols = append(e.cols, i)
		e.fields = append(e.fields, f)
		e.names = append(e.names, name)
	}
	core, err := newMapCore(c, e.names...)
	if err != nil {
		return nil, err
	}
	e.mapCore = core
	e.valueOf = e.record
	return e, nil
}

const nullHash = 0x9e3779b97f4a7c15

func (e *compoundEval) add(b *sdk.RecordBatch, base int64) {
	n := b.NumRows
	e.elements += int64(n)
	for i := 0; i < n; i++ {
		var h uint64 = 0x2545f4914f6cdd1d
		missing := 0
		for k, ci := range e.cols {
			c := &b.Columns[ci]
			x := uint64(nullHash)
			if isNullAt(c, e.fields[k], i) {
				missing++
			} else {
				x = e.h.hashAt(c, e.fields[k], i)
			}
			h = mix64(h ^ x + uint64(k))
		}
		switch {
		case e.ignore == "all_values_are_missing" && missing == len(e.cols):
			continue
		case e.ignore == "any_value_is_missing" && missing > 0:
			continue
		}
		e.considered++
		e.see(h, base+int64(i), b, i)
	}
}

func (e *compoundEval) record(b *sdk.RecordBatch, i int) Value {
	v := Value{Kind: KindRecord, Names: e.names, L: make([]Value, len(e.cols))}
	for k, ci := range e.cols {
		v.L[k] = valueAt(&b.Columns[ci], e.fields[k], i)
	}
	return v
}

func (e *compoundEval) finish() outcome { return e.finishDup() }
