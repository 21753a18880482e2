package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/bedrot-label/bedrot/sdk/digest"
	pluginv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/plugin/v1"
	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
	"google.golang.org/grpc"
)

// This file is the host side of protocol v1: what a host gets when it
// dispenses a plugin kind from a go-plugin client. Plugin authors do not
// need it.

// InfoClient calls a plugin's PluginService.
type InfoClient struct {
	c pluginv1.PluginServiceClient
}

// Info is what a plugin says about itself.
type Info struct {
	Spec  Spec
	Kinds []string
}

// GetInfo asks the plugin for its spec and kinds.
func (c *InfoClient) GetInfo(ctx context.Context) (Info, error) {
	resp, err := c.c.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return Info{}, errorFromStatus(err)
	}
	return Info{Spec: specFromProto(resp.GetSpec()), Kinds: resp.GetKinds()}, nil
}

// SourceClient calls a source plugin.
type SourceClient struct {
	c sourcev1.SourceServiceClient
	// channel holds the host's end of the plugin's batch channel until a
	// Read takes it.
	channel *channelSlot
}

// Check asks the source to verify its configuration.
func (c *SourceClient) Check(ctx context.Context, cfg Config) error {
	_, err := c.c.Check(ctx, &sourcev1.CheckRequest{Config: cfg})
	return errorFromStatus(err)
}

// Discover lists the source's streams.
func (c *SourceClient) Discover(ctx context.Context, cfg Config) ([]Stream, error) {
	resp, err := c.c.Discover(ctx, &sourcev1.DiscoverRequest{Config: cfg})
	if err != nil {
		return nil, errorFromStatus(err)
	}
	out := make([]Stream, len(resp.Streams))
	for i, s := range resp.Streams {
		out[i] = streamFromProto(s)
	}
	return out, nil
}

// Read starts reading. Receive messages until Recv returns io.EOF (the source
// finished) or another error (the source failed; classified as an *Error
// where the plugin said so).
func (c *SourceClient) Read(ctx context.Context, req ReadRequest) (*ReadStream, error) {
	ch := c.channel.take()
	st, err := c.c.Read(ctx, &sourcev1.ReadRequest{Config: req.Config, Streams: req.Streams, State: req.State, LocalPayloadRoots: req.LocalPayloadRoots,
		AcceptsConstantColumns: true, BatchChannel: ch != nil})
	if err != nil {
		if ch != nil {
			ch.Close()
		}
		return nil, errorFromStatus(err)
	}
	return newReadStream(ctx, st, ch), nil
}

func newReadStream(ctx context.Context, st grpc.ServerStreamingClient[sourcev1.ReadResponse], ch net.Conn) *ReadStream {
	rs := &ReadStream{s: st, ctx: ctx, ch: ch, offered: ch != nil}
	if ch != nil {
		// A cancelled Read unblocks a frame being read.
		rs.stop = context.AfterFunc(ctx, func() { _ = ch.SetReadDeadline(time.Unix(1, 0)) })
	}
	return rs
}

// ReadStream is the host's end of a Read.
type ReadStream struct {
	s   grpc.ServerStreamingClient[sourcev1.ReadResponse]
	ctx context.Context
	// ch is the batch channel this Read offered (nil: none); stop undoes
	// its cancellation hook.
	ch   net.Conn
	stop func() bool
	// offered: this Read offered a batch channel; onChannel counts the
	// batches that came on it.
	offered   bool
	onChannel int64
}

// BatchChannel reports whether this Read offered the plugin a batch channel,
// and how many of the batches received so far came on it.
func (r *ReadStream) BatchChannel() (offered bool, batches int64) {
	return r.offered, r.onChannel
}

// closeChannel closes the batch channel when the Read has ended.
func (r *ReadStream) closeChannel() {
	if r.ch != nil {
		r.stop()
		r.ch.Close()
		r.ch = nil
	}
}

// ReadMessage is one message of a Read; exactly one field is set.
type ReadMessage struct {
	PayloadBegin *PayloadBegin
	PayloadChunk *PayloadChunk
	PayloadClose *PayloadClose
	PayloadEnd   *PayloadEnd
	Batch        *RecordBatch
	Checkpoint   *CheckpointMessage
	Log          *LogMessage
	Progress     *ProgressMessage
	// ConfigUpdate holds new configuration values the host must store at
	// once (Emitter.UpdateConfig); they may be secret.
	ConfigUpdate map[string]string
}

// PayloadBegin starts a payload. LocalPath is set when the payload's bytes
// are a local file the host copies itself (see
// ReadRequest.LocalPayloadRoots): no PayloadChunk follows. SendsXXH64 says
// its PayloadClose carries XXH64.
type PayloadBegin struct {
	ID, Name, MediaType, LocalPath string
	SendsXXH64                     bool
	// DigestAlgorithm is the algorithm of the payload's digest (a
	// package digest name): BLAKE3, or SHA256 for plugins built before it.
	DigestAlgorithm string
}

// PayloadChunk carries payload bytes.
type PayloadChunk struct {
	ID   string
	Data []byte
}

// PayloadClose says a payload's bytes are complete.
type PayloadClose struct {
	ID   string
	Size int64
	// Digest is the plugin's digest of the bytes, as package digest writes
	// it: "blake3:" and hex, or the bare hex SHA-256 of older plugins.
	Digest string
	// XXH64 is the XXH64 of the bytes, when PayloadBegin.SendsXXH64.
	XXH64 uint64
}

// PayloadEnd finishes a payload with its row count and problems.
type PayloadEnd struct {
	ID       string
	Records  int64
	Problems []Problem
}

// CheckpointMessage is a stream state checkpoint.
type CheckpointMessage struct {
	Stream string
	State  []byte
}

// LogMessage is a log line from the plugin.
type LogMessage struct {
	Level   LogLevel
	Message string
	KeyVals []string
}

// ProgressMessage reports progress.
type ProgressMessage struct {
	Done, Total int64
	Unit        string
}

// Recv returns the next message.
func (r *ReadStream) Recv() (ReadMessage, error) {
	m, err := r.s.Recv()
	if err != nil {
		r.closeChannel()
		return ReadMessage{}, errorFromStatus(err)
	}
	switch v := m.Message.(type) {
	case *sourcev1.ReadResponse_PayloadBegin:
		pb := v.PayloadBegin
		algo := cmp.Or(pb.DigestAlgorithm, digest.SHA256)
		return ReadMessage{PayloadBegin: &PayloadBegin{ID: pb.Id, Name: pb.Name, MediaType: pb.MediaType, LocalPath: pb.LocalPath, SendsXXH64: pb.SendsXxh64, DigestAlgorithm: algo}}, nil
	case *sourcev1.ReadResponse_PayloadChunk:
		return ReadMessage{PayloadChunk: &PayloadChunk{ID: v.PayloadChunk.Id, Data: v.PayloadChunk.Data}}, nil
	case *sourcev1.ReadResponse_PayloadClose:
		pc := v.PayloadClose
		// A plugin sends the digest of the algorithm it named at the
		// payload's begin; older plugins send a SHA-256 alone.
		return ReadMessage{PayloadClose: &PayloadClose{ID: pc.Id, Size: pc.Size, Digest: cmp.Or(pc.Digest, pc.Sha256), XXH64: pc.Xxh64}}, nil
	case *sourcev1.ReadResponse_PayloadEnd:
		return ReadMessage{PayloadEnd: &PayloadEnd{ID: v.PayloadEnd.Id, Records: v.PayloadEnd.Records, Problems: problemsFromProto(v.PayloadEnd.Problems)}}, nil
	case *sourcev1.ReadResponse_Batch:
		b, err := r.batch(v.Batch)
		if err != nil {
			return ReadMessage{}, fmt.Errorf("plugin sent a malformed batch: %w", err)
		}
		return ReadMessage{Batch: b}, nil
	case *sourcev1.ReadResponse_Checkpoint:
		return ReadMessage{Checkpoint: &CheckpointMessage{Stream: v.Checkpoint.Stream, State: v.Checkpoint.State}}, nil
	case *sourcev1.ReadResponse_Log:
		return ReadMessage{Log: &LogMessage{Level: LogLevel(v.Log.Level), Message: v.Log.Message, KeyVals: v.Log.Keyvals}}, nil
	case *sourcev1.ReadResponse_ConfigUpdate:
		return ReadMessage{ConfigUpdate: v.ConfigUpdate.Values}, nil
	case *sourcev1.ReadResponse_Progress:
		return ReadMessage{Progress: &ProgressMessage{Done: v.Progress.Done, Total: v.Progress.Total, Unit: v.Progress.Unit}}, nil
	}
	return ReadMessage{}, fmt.Errorf("plugin sent an unknown message type %T (newer protocol?)", m.Message)
}

// batch rebuilds a batch sent inline or, for a batch that announced its
// frame, read from the batch channel. A frame that cannot be read whole
// leaves the channel out of step: it is closed, and the Read fails.
func (r *ReadStream) batch(p *sourcev1.RecordBatch) (*RecordBatch, error) {
	if p.ChannelBytes == 0 {
		return batchFromProto(p)
	}
	if r.ch == nil {
		return nil, errors.New("it announced a frame on the batch channel, which this Read did not offer")
	}
	if len(p.Columns) > 0 {
		return nil, errors.New("it sent columns both inline and on the batch channel")
	}
	if p.NumRows < 0 || p.NumRows > math.MaxInt32 {
		return nil, fmt.Errorf("batch of %d rows", p.NumRows)
	}
	cols, err := readFrame(r.ch, p.ChannelBytes, int(p.NumRows))
	if err != nil {
		r.closeChannel()
		if cause := context.Cause(r.ctx); cause != nil {
			return nil, fmt.Errorf("%w (%w)", err, cause)
		}
		return nil, err
	}
	r.onChannel++
	return &RecordBatch{Stream: p.Stream, PayloadID: p.PayloadId, NumRows: int(p.NumRows), Columns: cols}, nil
}
