package parquetfile

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdWindow is the zstd window of our page codec. Pages are compressed one
// by one and are about PageBufferSize (256 KiB) long, so a larger window
// (parquet-go's codec uses the 8 MiB default) only costs memory.
const zstdWindow = 1 << 20

// errCodecClosed is returned by a zstdCodec used after close.
var errCodecClosed = errors.New("zstd codec is closed")

// zstdCodec is a parquet compress.Codec for ZSTD pages, like parquet-go's
// own but with a window sized for pages and one encoder per Writer, so its
// few MiB of state are released with the Writer instead of pooled forever.
// The encoder holds one compression state per row group a Writer encodes at
// once (Options.Concurrency): a page compressed while the others are busy
// does not wait for them.
type zstdCodec struct {
	level       zstd.EncoderLevel
	concurrency int // compression states, at least 1

	encOnce sync.Once
	enc     *zstd.Encoder
	encErr  error

	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error
}

// newZstdCodec returns a codec compressing at level, with concurrency
// states (at least one) for pages compressed at once.
func newZstdCodec(level zstd.EncoderLevel, concurrency int) *zstdCodec {
	return &zstdCodec{level: level, concurrency: max(concurrency, 1)}
}

// String implements compress.Codec.
func (c *zstdCodec) String() string { return "ZSTD" }

// CompressionCodec implements compress.Codec.
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

// Encode implements compress.Codec. It is safe for concurrent use: up to
// the codec's concurrency calls compress at once, others wait for a state.
func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.encOnce.Do(func() {
		c.enc, c.encErr = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(c.level),
			zstd.WithEncoderConcurrency(c.concurrency),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
	})
	if c.encErr != nil {
		return dst[:0], fmt.Errorf("failed to create zstd encoder: %w", c.encErr)
	}
	if c.enc == nil {
		return dst[:0], errCodecClosed
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode implements compress.Codec. It is safe for concurrent use.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.decOnce.Do(func() {
		c.dec, c.decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	})
	if c.decErr != nil {
		return dst[:0], fmt.Errorf("failed to create zstd decoder: %w", c.decErr)
	}
	if c.dec == nil {
		return dst[:0], errCodecClosed
	}
	out, err := c.dec.DecodeAll(src, dst[:0])
	if err != nil {
		return out, fmt.Errorf("failed to decode zstd page: %w", err)
	}
	return out, nil
}

// close releases the encoder and decoder state; Encode and Decode fail
// afterwards. Nothing may be compressing or decompressing meanwhile.
func (c *zstdCodec) close() {
	if c.enc != nil {
		_ = c.enc.Close()
		c.enc = nil
	}
	if c.dec != nil {
		c.dec.Close()
		c.dec = nil
	}
}
