package sdk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// The batch channel carries a source's record batches beside its gRPC Read
// stream. gRPC still carries every message, in order; a batch's message
// only says how many bytes its columns take on the channel
// (RecordBatch.channel_bytes), and the columns follow there as one frame.
// The host creates the channel (a Unix socketpair), the plugin inherits one
// end when it is launched, and nothing else can reach it. The bytes skip
// what the gRPC connection would cost them: protobuf copies on both sides,
// HTTP/2 framing and TLS encryption and decryption, about a third of the
// CPU time of a large file-drop ingest on two cores.
//
// A frame is little-endian:
//
//	magic    uint32   "BRB1"
//	columns  uint32   number of columns
//	per column, 8 x uint32:
//	         flags    bit 0: constant (every row holds the one value sent)
//	         7 byte lengths: int64s, int32s, float64s, bools, bytes,
//	                         offsets, nulls (as the Column message's fields)
//	then, per column, its 7 buffers in that order, each padded with zeros
//	to a multiple of 8 bytes
//
// so that every buffer starts 8-byte aligned and the receiver uses the
// fixed-width ones in place.

// EnvBatchChannel names the environment variable through which a host tells
// a source plugin the file descriptor of its batch channel.
const EnvBatchChannel = "BEDROT_BATCH_CHANNEL_FD"

const (
	frameMagic     = 0x31425242 // "BRB1"
	frameHeader    = 8
	frameColHeader = 4 * (1 + numBuffers)
	flagConstant   = 1
	// maxFrameColumns bounds the header a receiver accepts.
	maxFrameColumns = 1 << 16
)

// A column's buffers, in the order of the Column message's fields 1-7 and
// of a frame.
const (
	bufInt64s = iota
	bufInt32s
	bufFloat64s
	bufBools
	bufBytes
	bufOffsets
	bufNulls
	numBuffers
)

// columnBuffers returns c's buffers as bytes, aliasing c. A constant column
// (every row holds the first row's value and nullness) gives the first
// row's value alone, as a batch of one row would hold it.
func columnBuffers(c *Column, constant bool) [numBuffers][]byte {
	var bufs [numBuffers][]byte
	if !constant {
		bufs[bufInt64s] = int64sToBytes(c.Int64s)
		bufs[bufInt32s] = int32sToBytes(c.Int32s)
		bufs[bufFloat64s] = float64sToBytes(c.Float64s)
		bufs[bufBools] = boolsToBytes(c.Bools)
		bufs[bufBytes] = c.Bytes
		bufs[bufOffsets] = uint32sToBytes(c.Offsets)
		bufs[bufNulls] = boolsToBytes(c.Null)
		return bufs
	}
	switch {
	case c.Offsets != nil:
		lo, hi := c.Offsets[0], c.Offsets[1]
		bufs[bufBytes] = c.Bytes[lo:hi]
		bufs[bufOffsets] = uint32sToBytes([]uint32{0, hi - lo})
	case c.Int64s != nil:
		bufs[bufInt64s] = int64sToBytes(c.Int64s[:1])
	case c.Int32s != nil:
		bufs[bufInt32s] = int32sToBytes(c.Int32s[:1])
	case c.Float64s != nil:
		bufs[bufFloat64s] = float64sToBytes(c.Float64s[:1])
	case c.Bools != nil:
		bufs[bufBools] = boolsToBytes(c.Bools[:1])
	}
	if c.Null != nil {
		bufs[bufNulls] = boolsToBytes(c.Null[:1])
	}
	return bufs
}

// columnFromBuffers rebuilds a column of n rows from its buffers, aliasing
// them where it can.
func columnFromBuffers(bufs [numBuffers][]byte, constant bool, n int) (Column, error) {
	var c Column
	var err error
	if len(bufs[bufInt64s]) > 0 {
		if c.Int64s, err = bytesToInt64s(bufs[bufInt64s]); err != nil {
			return c, err
		}
	}
	if len(bufs[bufInt32s]) > 0 {
		if c.Int32s, err = bytesToInt32s(bufs[bufInt32s]); err != nil {
			return c, err
		}
	}
	if len(bufs[bufFloat64s]) > 0 {
		if c.Float64s, err = bytesToFloat64s(bufs[bufFloat64s]); err != nil {
			return c, err
		}
	}
	c.Bools = bytesToBools(bufs[bufBools])
	c.Bytes = bufs[bufBytes]
	if len(bufs[bufOffsets]) > 0 {
		if c.Offsets, err = bytesToUint32s(bufs[bufOffsets]); err != nil {
			return c, err
		}
	}
	if len(bufs[bufNulls]) > 0 {
		c.Null = bytesToBools(bufs[bufNulls])
	}
	if constant {
		if err := expandConstant(&c, n); err != nil {
			return c, err
		}
	}
	return c, nil
}

// padding is what follows a buffer to the next multiple of 8 bytes.
var padding [8]byte

func padTo8(n int) int { return (8 - n%8) % 8 }

// frameEncoder builds frames; it reuses its header between batches.
type frameEncoder struct {
	hdr  []byte
	bufs net.Buffers
}

// encode returns b's frame as buffers that alias b (valid until b changes)
// and its length. With constants set, a column whose rows all hold one
// value is sent as that value.
func (f *frameEncoder) encode(b *RecordBatch, constants bool) (net.Buffers, int64, error) {
	hdrLen := frameHeader + frameColHeader*len(b.Columns)
	f.hdr = append(f.hdr[:0], make([]byte, hdrLen)...)
	hdr := f.hdr
	binary.LittleEndian.PutUint32(hdr, frameMagic)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(b.Columns)))
	f.bufs = append(f.bufs[:0], hdr)
	total := int64(hdrLen)
	for i := range b.Columns {
		c := &b.Columns[i]
		constant := constants && b.NumRows > 1 && c.isConstant(b.NumRows)
		h := hdr[frameHeader+frameColHeader*i:]
		if constant {
			binary.LittleEndian.PutUint32(h, flagConstant)
		}
		for j, buf := range columnBuffers(c, constant) {
			if len(buf) > math.MaxUint32 {
				return nil, 0, fmt.Errorf("column %d holds a buffer of %d bytes", i, len(buf))
			}
			binary.LittleEndian.PutUint32(h[4+4*j:], uint32(len(buf)))
			if len(buf) == 0 {
				continue
			}
			f.bufs = append(f.bufs, buf)
			if pad := padTo8(len(buf)); pad > 0 {
				f.bufs = append(f.bufs, padding[:pad])
			}
			total += int64(len(buf) + padTo8(len(buf)))
		}
	}
	if total > maxMessage {
		return nil, 0, fmt.Errorf("a batch of %d rows takes %d bytes, more than the %d a batch may: emit smaller batches", b.NumRows, total, maxMessage)
	}
	return f.bufs, total, nil
}

// decodeFrame rebuilds the columns of a batch of n rows from its frame. The
// columns alias the frame, which must be 8-byte aligned for the
// fixed-width buffers to be used in place.
func decodeFrame(frame []byte, n int) ([]Column, error) {
	if len(frame) < frameHeader || binary.LittleEndian.Uint32(frame) != frameMagic {
		return nil, errors.New("the batch channel is out of step: the bytes there are not a batch frame")
	}
	ncols := binary.LittleEndian.Uint32(frame[4:])
	if ncols > maxFrameColumns {
		return nil, fmt.Errorf("frame of %d columns (at most %d)", ncols, maxFrameColumns)
	}
	pos := frameHeader + frameColHeader*int(ncols)
	if pos > len(frame) {
		return nil, fmt.Errorf("frame of %d bytes is too short for the header of its %d columns", len(frame), ncols)
	}
	cols := make([]Column, ncols)
	for i := range cols {
		h := frame[frameHeader+frameColHeader*i:]
		flags := binary.LittleEndian.Uint32(h)
		if flags&^flagConstant != 0 {
			return nil, fmt.Errorf("column %d: unknown flags %#x (newer protocol?)", i, flags)
		}
		var bufs [numBuffers][]byte
		for j := range bufs {
			l := int64(binary.LittleEndian.Uint32(h[4+4*j:]))
			end := int64(pos) + l
			if end+int64(padTo8(int(l))) > int64(len(frame)) {
				return nil, fmt.Errorf("column %d: a buffer of %d bytes overruns the frame of %d bytes", i, l, len(frame))
			}
			bufs[j] = frame[pos:end:end]
			pos = int(end) + padTo8(int(l))
		}
		var err error
		if cols[i], err = columnFromBuffers(bufs, flags&flagConstant != 0, n); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	if pos != len(frame) {
		return nil, fmt.Errorf("frame of %d bytes has %d bytes after its last column", len(frame), len(frame)-pos)
	}
	return cols, nil
}

// alignedBytes returns n zeroed bytes starting at an 8-byte boundary.
func alignedBytes(n int) []byte {
	if n == 0 {
		return nil
	}
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// readFrame reads the frame of a batch that announced size bytes.
func readFrame(ch net.Conn, size int64, rows int) ([]Column, error) {
	if size < frameHeader || size > maxMessage {
		return nil, fmt.Errorf("a batch on the batch channel of %d bytes (at least %d, at most %d)", size, frameHeader, maxMessage)
	}
	frame := alignedBytes(int(size))
	if got, err := io.ReadFull(ch, frame); err != nil {
		return nil, fmt.Errorf("the batch channel gave %d of the batch's %d bytes: %w", got, size, err)
	}
	return decodeFrame(frame, rows)
}

// channelSlot holds a batch channel until a Read takes it: the channel
// serves one Read.
type channelSlot struct {
	mu   sync.Mutex
	conn net.Conn
}

func (s *channelSlot) put(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = c
}

func (s *channelSlot) take() net.Conn {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conn
	s.conn = nil
	return c
}

// inherited is the batch channel this plugin process was launched with.
var inherited channelSlot

// inheritBatchChannel opens the batch channel the host passed (Serve calls
// it). Without one, or if it is not a Unix stream socket, batches travel
// inline in the gRPC stream.
func inheritBatchChannel() {
	v := os.Getenv(EnvBatchChannel)
	if v == "" {
		return
	}
	_ = os.Unsetenv(EnvBatchChannel)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "batch-channel")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return
	}
	if _, ok := conn.(*net.UnixConn); !ok {
		conn.Close()
		return
	}
	inherited.put(conn)
}

// channelWriter sends frames on the plugin's end of a batch channel.
type channelWriter struct {
	conn net.Conn
	enc  frameEncoder
}

// openChannel makes em send batches on conn for the life of ctx (the Read):
// a cancelled Read unblocks a write the host no longer reads. The returned
// func closes the channel.
func openChannel(ctx context.Context, conn net.Conn) (*channelWriter, func()) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	return &channelWriter{conn: conn}, func() { stop(); conn.Close() }
}

// GiveBatchChannel passes plugin, the plugin's end of a batch channel, to
// the plugin command cmd before it starts: as an inherited file, whose
// descriptor cmd's environment names (EnvBatchChannel).
func GiveBatchChannel(cmd *exec.Cmd, plugin *os.File) {
	cmd.ExtraFiles = append(cmd.ExtraFiles, plugin)
	// ExtraFiles[i] is the child's descriptor 3+i.
	cmd.Env = append(cmd.Env, EnvBatchChannel+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
}

// SetBatchChannel hands the client the host's end of the plugin's batch
// channel (see NewBatchChannel). The next Read offers it to the plugin;
// the Read's stream closes it when it ends.
func (c *SourceClient) SetBatchChannel(conn net.Conn) {
	if c.channel == nil {
		c.channel = &channelSlot{}
	}
	c.channel.put(conn)
}
