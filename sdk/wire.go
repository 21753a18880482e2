package sdk

import (
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
	cols := make([]*sourcev1.Column, len(b.Columns))
	for i := range b.Columns {
		c := &b.Columns[i]
		pc := &sourcev1.Column{
			Int64S:   int64sToBytes(c.Int64s),
			Int32S:   int32sToBytes(c.Int32s),
			Float64S: float64sToBytes(c.Float64s),
			Bools:    boolsToBytes(c.Bools),
			Bytes:    c.Bytes,
			Offsets:  uint32sToBytes(c.Offsets),
		}
		if c.Null != nil {
			pc.Nulls = boolsToBytes(c.Null)
		}
		cols[i] = pc
	}
	return &sourcev1.RecordBatch{Stream: b.Stream, PayloadId: b.PayloadID, NumRows: int64(b.NumRows), Columns: cols}
}

// batchFromProto rebuilds a batch. The result aliases the message's buffers.
func batchFromProto(p *sourcev1.RecordBatch) (*RecordBatch, error) {
	b := &RecordBatch{Stream: p.Stream, PayloadID: p.PayloadId, NumRows: int(p.NumRows), Columns: make([]Column, len(p.Columns))}
	for i, pc := range p.Columns {
		c := &b.Columns[i]
		var err error
		if len(pc.Int64S) > 0 {
			if c.Int64s, err = bytesToInt64s(pc.Int64S); err != nil {
				return nil, fmt.Errorf("column %d: %w", i, err)
			}
		}
		if len(pc.Int32S) > 0 {
			if c.Int32s, err = bytesToInt32s(pc.Int32S); err != nil {
				return nil, fmt.Errorf("column %d: %w", i, err)
			}
		}
		if len(pc.Float64S) > 0 {
			if c.Float64s, err = bytesToFloat64s(pc.Float64S); err != nil {
				return nil, fmt.Errorf("column %d: %w", i, err)
			}
		}
		c.Bools = bytesToBools(pc.Bools)
		c.Bytes = pc.Bytes
		if len(pc.Offsets) > 0 {
			if c.Offsets, err = bytesToUint32s(pc.Offsets); err != nil {
				return nil, fmt.Errorf("column %d: %w", i, err)
			}
		}
		if len(pc.Nulls) > 0 {
			c.Null = bytesToBools(pc.Nulls)
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
