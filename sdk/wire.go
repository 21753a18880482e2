package sdk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	pluginv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/plugin/v1"
	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

// This file converts between the SDK's Go types and protocol v1 messages.
// Fixed-width columns travel as packed little-endian arrays; on little-endian
// machines (amd64, arm64) they are reinterpreted in place, without copying
// value by value.

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func int64sToBytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*8)
	}
	b := make([]byte, len(v)*8)
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[i*8:], uint64(x))
	}
	return b
}

func bytesToInt64s(b []byte) ([]int64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("int64 column has %d bytes, not a multiple of 8", len(b))
	}
	n := len(b) / 8
	if n == 0 {
		return []int64{}, nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		return unsafe.Slice((*int64)(unsafe.Pointer(&b[0])), n), nil
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[i*8:]))
	}
	return v, nil
}

func int32sToBytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
	}
	b := make([]byte, len(v)*4)
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[i*4:], uint32(x))
	}
	return b
}

func bytesToInt32s(b []byte) ([]int32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("int32 column has %d bytes, not a multiple of 4", len(b))
	}
	n := len(b) / 4
	if n == 0 {
		return []int32{}, nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n), nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return v, nil
}

func uint32sToBytes(v []uint32) []byte {
	if len(v) == 0 {
		return nil
	}
	return int32sToBytes(unsafe.Slice((*int32)(unsafe.Pointer(&v[0])), len(v)))
}

func bytesToUint32s(b []byte) ([]uint32, error) {
	v, err := bytesToInt32s(b)
	if err != nil || len(v) == 0 {
		return nil, err
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&v[0])), len(v)), nil
}

func float64sToBytes(v []float64) []byte {
	if len(v) == 0 {
		return nil
	}
	return int64sToBytes(unsafe.Slice((*int64)(unsafe.Pointer(&v[0])), len(v)))
}

func bytesToFloat64s(b []byte) ([]float64, error) {
	v, err := bytesToInt64s(b)
	if err != nil || len(v) == 0 {
		return []float64{}, err
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&v[0])), len(v)), nil
}

func boolsToBytes(v []bool) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
}

func bytesToBools(b []byte) []bool {
	if len(b) == 0 {
		return nil
	}
	v := make([]bool, len(b))
	for i, x := range b {
		v[i] = x != 0
	}
	return v
}

func batchToProto(b *RecordBatch) *sourcev1.RecordBatch {
	return batchToProtoCompact(b, false)
}

// batchToProtoCompact is batchToProto that, if constants is set, sends a
// column whose rows all hold the same value (and nullness) as that value
// once, marked constant. The message aliases the batch's buffers.
func batchToProtoCompact(b *RecordBatch, constants bool) *sourcev1.RecordBatch {
	cols := make([]*sourcev1.Column, len(b.Columns))
	for i := range b.Columns {
		c := &b.Columns[i]
		constant := constants && b.NumRows > 1 && c.isConstant(b.NumRows)
		bufs := columnBuffers(c, constant)
		cols[i] = &sourcev1.Column{
			Int64S:   bufs[bufInt64s],
			Int32S:   bufs[bufInt32s],
			Float64S: bufs[bufFloat64s],
			Bools:    bufs[bufBools],
			Bytes:    bufs[bufBytes],
			Offsets:  bufs[bufOffsets],
			Nulls:    bufs[bufNulls],
			Constant: constant,
		}
	}
	return &sourcev1.RecordBatch{Stream: b.Stream, PayloadId: b.PayloadID, NumRows: int64(b.NumRows), Columns: cols}
}

// isConstant reports whether the n rows of c (n > 1) all hold the first
// row's value and nullness. Buffers that do not have n rows (an invalid
// batch) are never constant: they travel as they are, for the receiver to
// reject.
func (c *Column) isConstant(n int) bool {
	if c.Null != nil && (len(c.Null) != n || !allSame(c.Null)) {
		return false
	}
	switch {
	case c.Offsets != nil:
		if len(c.Offsets) != n+1 || c.Int64s != nil || c.Int32s != nil || c.Float64s != nil || c.Bools != nil {
			return false
		}
		lo, hi := c.Offsets[0], c.Offsets[1]
		if hi < lo || int64(c.Offsets[n]) > int64(len(c.Bytes)) {
			return false
		}
		w := hi - lo
		for i := 1; i <= n; i++ {
			if c.Offsets[i]-c.Offsets[i-1] != w {
				return false
			}
		}
		if int64(c.Offsets[n]-lo) != int64(w)*int64(n) {
			return false // the offsets wrapped around
		}
		first := c.Bytes[lo:hi]
		for i := 1; i < n; i++ {
			o := c.Offsets[i]
			if string(c.Bytes[o:o+w]) != string(first) {
				return false
			}
		}
		return true
	case c.Int64s != nil:
		return len(c.Int64s) == n && c.Int32s == nil && c.Float64s == nil && c.Bools == nil && allSame(c.Int64s)
	case c.Int32s != nil:
		return len(c.Int32s) == n && c.Float64s == nil && c.Bools == nil && allSame(c.Int32s)
	case c.Float64s != nil:
		// Compared bit for bit: NaN payloads and -0 stay what they were.
		return len(c.Float64s) == n && c.Bools == nil &&
			allSame(unsafe.Slice((*int64)(unsafe.Pointer(&c.Float64s[0])), n))
	case c.Bools != nil:
		return len(c.Bools) == n && allSame(c.Bools)
	}
	return false
}

func allSame[T comparable](v []T) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

// Limits on what a constant column may expand to: a message is at most
// maxMessage bytes, and a constant column must not let a few bytes of it
// claim gigabytes of the receiver's memory.
const (
	maxConstantRows  = 1 << 20
	maxConstantBytes = maxMessage
)

// expandConstant rebuilds the n rows of a constant column from the one the
// message holds.
func expandConstant(c *Column, n int) error {
	if n < 0 || n > maxConstantRows {
		return fmt.Errorf("constant column of %d rows (at most %d)", n, maxConstantRows)
	}
	var err error
	switch {
	case c.Offsets != nil:
		if have := len(c.Offsets) - 1; have != 1 {
			return errNotOneValue(have)
		}
		lo, hi := c.Offsets[0], c.Offsets[1]
		if hi < lo || int(hi) > len(c.Bytes) {
			return fmt.Errorf("constant string column has offsets %d..%d for %d bytes", lo, hi, len(c.Bytes))
		}
		w := int(hi - lo)
		if int64(w)*int64(n) > maxConstantBytes {
			return fmt.Errorf("constant string column of %d rows of %d bytes exceeds %d bytes", n, w, maxConstantBytes)
		}
		c.Bytes = bytes.Repeat(c.Bytes[lo:hi], n)
		c.Offsets = make([]uint32, n+1)
		for i := range c.Offsets {
			c.Offsets[i] = uint32(i * w)
		}
	case c.Int64s != nil:
		c.Int64s, err = expandOne(c.Int64s, n)
	case c.Int32s != nil:
		c.Int32s, err = expandOne(c.Int32s, n)
	case c.Float64s != nil:
		c.Float64s, err = expandOne(c.Float64s, n)
	case c.Bools != nil:
		c.Bools, err = expandOne(c.Bools, n)
	}
	if err != nil {
		return err
	}
	if c.Null != nil {
		if c.Null, err = expandOne(c.Null, n); err != nil {
			return fmt.Errorf("nulls: %w", err)
		}
	}
	return nil
}

func errNotOneValue(have int) error {
	return fmt.Errorf("constant column holds %d values, not 1", have)
}

// expandOne returns n copies of v's only value.
func expandOne[T any](v []T, n int) ([]T, error) {
	if len(v) != 1 {
		return nil, errNotOneValue(len(v))
	}
	out := make([]T, n)
	for i := range out {
		out[i] = v[0]
	}
	return out, nil
}

// batchFromProto rebuilds a batch. The result aliases the message's buffers.
func batchFromProto(p *sourcev1.RecordBatch) (*RecordBatch, error) {
	b := &RecordBatch{Stream: p.Stream, PayloadID: p.PayloadId, NumRows: int(p.NumRows), Columns: make([]Column, len(p.Columns))}
	for i, pc := range p.Columns {
		var err error
		b.Columns[i], err = columnFromBuffers([numBuffers][]byte{pc.Int64S, pc.Int32S, pc.Float64S, pc.Bools, pc.Bytes, pc.Offsets, pc.Nulls}, pc.Constant, b.NumRows)
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	return b, nil
}

func schemaToProto(s Schema) *sourcev1.Schema {
	fields := make([]*sourcev1.Field, len(s.Fields))
	for i, f := range s.Fields {
		fields[i] = &sourcev1.Field{Name: f.Name, Type: sourcev1.Type(f.Type), Nullable: f.Nullable, Precision: f.Precision, Scale: f.Scale, Doc: f.Doc}
	}
	return &sourcev1.Schema{Fields: fields}
}

func schemaFromProto(p *sourcev1.Schema) Schema {
	var s Schema
	for _, f := range p.GetFields() {
		s.Fields = append(s.Fields, Field{Name: f.Name, Type: Type(f.Type), Nullable: f.Nullable, Precision: f.Precision, Scale: f.Scale, Doc: f.Doc})
	}
	return s
}

func streamToProto(s Stream) *sourcev1.Stream {
	return &sourcev1.Stream{Name: s.Name, Doc: s.Doc, Schema: schemaToProto(s.Schema), PrimaryKey: s.PrimaryKey, CursorField: s.CursorField}
}

func streamFromProto(p *sourcev1.Stream) Stream {
	return Stream{Name: p.Name, Doc: p.Doc, PrimaryKey: p.PrimaryKey, CursorField: p.CursorField, Schema: schemaFromProto(p.GetSchema())}
}

func specToProto(s Spec) *pluginv1.Spec {
	p := &pluginv1.Spec{Name: s.Name, Version: s.Version, Description: s.Description, Author: s.Author}
	for _, pa := range s.Params {
		p.Params = append(p.Params, &pluginv1.Param{Name: pa.Name, Description: pa.Description, Required: pa.Required, Secret: pa.Secret, Default: pa.Default})
	}
	return p
}

func specFromProto(p *pluginv1.Spec) Spec {
	s := Spec{Name: p.GetName(), Version: p.GetVersion(), Description: p.GetDescription(), Author: p.GetAuthor()}
	for _, pa := range p.GetParams() {
		s.Params = append(s.Params, Param{Name: pa.Name, Description: pa.Description, Required: pa.Required, Secret: pa.Secret, Default: pa.Default})
	}
	return s
}

func problemsToProto(ps []Problem) []*sourcev1.Problem {
	out := make([]*sourcev1.Problem, len(ps))
	for i, p := range ps {
		out[i] = &sourcev1.Problem{File: p.File, Line: p.Line, Field: p.Field, Message: p.Message}
	}
	return out
}

func problemsFromProto(ps []*sourcev1.Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem{File: p.File, Line: p.Line, Field: p.Field, Message: p.Message}
	}
	return out
}
