package sdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

// frameBytes encodes b's frame into one aligned buffer, as the host reads
// it.
func frameBytes(t *testing.T, b *RecordBatch, constants bool) []byte {
	t.Helper()
	var enc frameEncoder
	bufs, n, err := enc.encode(b, constants)
	require.NoError(t, err)
	var all bytes.Buffer
	_, err = bufs.WriteTo(&all)
	require.NoError(t, err)
	require.EqualValues(t, n, all.Len(), "announced and written sizes differ")
	require.Zero(t, n%8, "a frame is a whole number of 8-byte words")
	frame := alignedBytes(all.Len())
	copy(frame, all.Bytes())
	return frame
}

func roundTripFrame(t *testing.T, b *RecordBatch, constants bool) *RecordBatch {
	t.Helper()
	cols, err := decodeFrame(frameBytes(t, b, constants), b.NumRows)
	require.NoError(t, err)
	return &RecordBatch{Stream: b.Stream, PayloadID: b.PayloadID, NumRows: b.NumRows, Columns: cols}
}

// Every batch of the wire round-trip cases crosses the batch channel's frame
// unchanged too, constant columns or not.
func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	for name, rows := range roundTripCases() {
		for _, constants := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/constants=%v", name, constants), func(t *testing.T) {
				t.Parallel()
				want := buildWireBatch(t, rows)
				got := roundTripFrame(t, want, constants)
				require.Empty(t, batchDiff(want, got))
				require.NoError(t, got.Validate(wireSchema))
			})
		}
	}
	hand := &RecordBatch{Stream: "hand", NumRows: 3, Columns: []Column{
		{Bytes: []byte("abü"), Offsets: []uint32{0, 2, 2, 4}},
		{Int64s: []int64{-1, 0, 1}, Null: []bool{false, true, false}},
		{Float64s: []float64{negZero, nanWithPayload, 1.5}},
		{Bools: []bool{true, false, true}},
		{Int32s: []int32{-1, 7, 9}},
	}}
	require.Empty(t, batchDiff(hand, roundTripFrame(t, hand, true)))
	empty := &RecordBatch{Stream: "empty", Columns: []Column{}}
	require.Empty(t, batchDiff(empty, roundTripFrame(t, empty, false)))
}

// The host uses a frame's fixed-width buffers where they lie, and a
// constant column costs its one value.
func TestFrameInPlaceAndCompact(t *testing.T) {
	t.Parallel()
	const n = 1000
	file := Column{Offsets: make([]uint32, n+1)}
	ints := Column{Int64s: make([]int64, n)}
	odd := Column{Bytes: []byte("abc"), Offsets: make([]uint32, n+1)} // 3 bytes: the next buffer needs padding
	for i := range n {
		file.Bytes = append(file.Bytes, "DistroKid_1712345678901.tsv"...)
		file.Offsets[i+1] = uint32(len(file.Bytes))
		ints.Int64s[i] = int64(i)
		odd.Offsets[i+1] = uint32(min(i+1, 3))
	}
	b := &RecordBatch{Stream: "s", NumRows: n, Columns: []Column{file, odd, ints}}
	full, compact := frameBytes(t, b, false), frameBytes(t, b, true)
	require.GreaterOrEqual(t, len(full)-len(compact), n*(27+4)-100, "the file name column travels once")

	cols, err := decodeFrame(compact, n)
	require.NoError(t, err)
	require.Empty(t, batchDiff(b, &RecordBatch{Stream: "s", NumRows: n, Columns: cols}))
	lo, hi := uintptr(unsafe.Pointer(&compact[0])), uintptr(unsafe.Pointer(&compact[len(compact)-1]))
	for _, p := range []unsafe.Pointer{unsafe.Pointer(&cols[1].Offsets[0]), unsafe.Pointer(&cols[2].Int64s[0])} {
		require.True(t, uintptr(p) >= lo && uintptr(p) <= hi, "a fixed-width buffer was copied instead of used in place")
	}
}

func TestFrameMalformed(t *testing.T) {
	t.Parallel()
	good := frameBytes(t, buildWireBatch(t, wireRows), false)
	rows := len(wireRows)
	mutate := func(f func([]byte) []byte) []byte {
		c := alignedBytes(len(good))
		copy(c, good)
		return f(c)
	}
	cases := map[string]struct {
		frame []byte
		msg   string
	}{
		"not a frame":     {mutate(func(b []byte) []byte { b[0] = 'x'; return b }), "out of step"},
		"short":           {good[:4], "out of step"},
		"header overruns": {good[:16], "too short for the header"},
		"too many columns": {mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[4:], maxFrameColumns+1)
			return b
		}), "at most"},
		"unknown flags": {mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[frameHeader:], 6)
			return b
		}), "unknown flags"},
		"buffer overruns": {mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[frameHeader+4+4*bufBytes:], 1<<30)
			return b
		}), "overruns the frame"},
		"trailing bytes": {append(mutate(func(b []byte) []byte { return b }), make([]byte, 8)...), "after its last column"},
		"bad int64s": {mutate(func(b []byte) []byte {
			// Column 1 (int64): claim 4 fewer bytes; the padding keeps the
			// layout, the length is not a multiple of 8.
			h := b[frameHeader+frameColHeader:]
			binary.LittleEndian.PutUint32(h[4+4*bufInt64s:], binary.LittleEndian.Uint32(h[4+4*bufInt64s:])-4)
			return b
		}), "column 1: int64 column"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeFrame(tc.frame, rows)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// socketPairConns returns two connected stream sockets.
func socketPairConns(t *testing.T) (host, plugin net.Conn) {
	t.Helper()
	host, pf, err := NewBatchChannel()
	require.NoError(t, err)
	plugin, err = net.FileConn(pf)
	pf.Close()
	require.NoError(t, err)
	t.Cleanup(func() { host.Close(); plugin.Close() })
	return host, plugin
}

// A frame the plugin does not finish, or announces wrongly, fails the
// Read with what went wrong, and the channel is closed.
func TestReadStreamChannelFailures(t *testing.T) {
	t.Parallel()
	t.Run("plugin gone mid-frame", func(t *testing.T) {
		t.Parallel()
		host, plugin := socketPairConns(t)
		r := newReadStream(context.Background(), nil, host)
		frame := frameBytes(t, buildWireBatch(t, wireRows), false)
		_, err := plugin.Write(frame[:40])
		require.NoError(t, err)
		plugin.Close()
		_, err = r.batch(&sourcev1.RecordBatch{NumRows: int64(len(wireRows)), ChannelBytes: int64(len(frame))})
		require.ErrorContains(t, err, fmt.Sprintf("gave 40 of the batch's %d bytes", len(frame)))
		require.Nil(t, r.ch, "a channel out of step is closed")
	})
	t.Run("not offered", func(t *testing.T) {
		t.Parallel()
		r := newReadStream(context.Background(), nil, nil)
		_, err := r.batch(&sourcev1.RecordBatch{NumRows: 1, ChannelBytes: 64})
		require.ErrorContains(t, err, "did not offer")
	})
	t.Run("inline and channel", func(t *testing.T) {
		t.Parallel()
		host, _ := socketPairConns(t)
		r := newReadStream(context.Background(), nil, host)
		_, err := r.batch(&sourcev1.RecordBatch{NumRows: 1, ChannelBytes: 64, Columns: []*sourcev1.Column{{}}})
		require.ErrorContains(t, err, "both inline and on the batch channel")
	})
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		host, _ := socketPairConns(t)
		r := newReadStream(context.Background(), nil, host)
		_, err := r.batch(&sourcev1.RecordBatch{NumRows: 1, ChannelBytes: maxMessage + 8})
		require.ErrorContains(t, err, "at most")
	})
	t.Run("cancelled while waiting for a frame", func(t *testing.T) {
		t.Parallel()
		host, _ := socketPairConns(t)
		ctx, cancel := context.WithCancel(context.Background())
		r := newReadStream(ctx, nil, host)
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := r.batch(&sourcev1.RecordBatch{NumRows: 1, ChannelBytes: 64})
		require.ErrorContains(t, err, "gave 0 of the batch's 64 bytes")
		require.ErrorIs(t, err, context.Canceled)
	})
}
