package parquetfile

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdWindow is the zstd window of our page codec. Pages are compressed one
// by one and are about PageBufferSize (256 KiB) long, so a larger window
// (parquet-go's codec uses the 8 MiB default) only costs memory.
const zstdWindow = 1 << 20

// zstdCodec is a parquet compress.Codec for ZSTD pages, like parquet-go's
// own but with a window sized for pages and one encoder per Writer, so its
// few MiB of state are released with the Writer instead of pooled forever.
type zstdCodec struct {
	level zstd.EncoderLevel

	encOnce sync.Once
	enc     *zstd.Encoder
	encErr  error

	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error
}

func newZstdCodec(level zstd.EncoderLevel) *zstdCodec { return &zstdCodec{level: level} }

// String implements compress.Codec.
func (c *zstdCodec) String() string { return "ZSTD" }

// CompressionCodec implements compress.Codec.
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

// Encode implements compress.Codec. It is safe for concurrent use.
func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.encOnce.Do(func() {
		c.enc, c.encErr = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(c.level),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
	})
	if c.encErr != nil {
		return dst[:0], fmt.Errorf("failed to create zstd encoder: %w", c.encErr)
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
	out, err := c.dec.DecodeAll(src, dst[:0])
	if err != nil {
		return out, fmt.Errorf("failed to decode zstd page: %w", err)
	}
	return out, nil
}

// close releases the encoder and decoder state.
func (c *zstdCodec) close() {
	if c.enc != nil {
		_ = c.enc.Close()
	}
	if c.dec != nil {
		c.dec.Close()
	}
}
