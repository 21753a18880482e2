package sdk

import (
	"context"
	"fmt"

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
	st, err := c.c.Read(ctx, &sourcev1.ReadRequest{Config: req.Config, Streams: req.Streams, State: req.State, LocalPayloadRoots: req.LocalPayloadRoots,
		AcceptsConstantColumns: true})
	if err != nil {
		return nil, errorFromStatus(err)
	}
	return &ReadStream{s: st}, nil
}

// ReadStream is the host's end of a Read.
type ReadStream struct {
	s grpc.ServerStreamingClient[sourcev1.ReadResponse]
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
// ReadRequest.LocalPayloadRoots): no PayloadChunk follows.
type PayloadBegin struct{ ID, Name, MediaType, LocalPath string }

// PayloadChunk carries payload bytes.
type PayloadChunk struct {
	ID   string
	Data []byte
}

// PayloadClose says a payload's bytes are complete.
type PayloadClose struct {
	ID     string
	Size   int64
	SHA256 string
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
		return ReadMessage{}, errorFromStatus(err)
	}
	switch v := m.Message.(type) {
	case *sourcev1.ReadResponse_PayloadBegin:
		return ReadMessage{PayloadBegin: &PayloadBegin{ID: v.PayloadBegin.Id, Name: v.PayloadBegin.Name, MediaType: v.PayloadBegin.MediaType, LocalPath: v.PayloadBegin.LocalPath}}, nil
	case *sourcev1.ReadResponse_PayloadChunk:
		return ReadMessage{PayloadChunk: &PayloadChunk{ID: v.PayloadChunk.Id, Data: v.PayloadChunk.Data}}, nil
	case *sourcev1.ReadResponse_PayloadClose:
		return ReadMessage{PayloadClose: &PayloadClose{ID: v.PayloadClose.Id, Size: v.PayloadClose.Size, SHA256: v.PayloadClose.Sha256}}, nil
	case *sourcev1.ReadResponse_PayloadEnd:
		return ReadMessage{PayloadEnd: &PayloadEnd{ID: v.PayloadEnd.Id, Records: v.PayloadEnd.Records, Problems: problemsFromProto(v.PayloadEnd.Problems)}}, nil
	case *sourcev1.ReadResponse_Batch:
		b, err := batchFromProto(v.Batch)
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
