package sdk

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/bedrot-label/bedrot/sdk/digest"
	pluginv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/plugin/v1"
	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

// payloadChunkSize is how many payload bytes travel in one message.
const payloadChunkSize = 1 << 20

// sourceServer adapts a Source to the gRPC SourceService (plugin side).
type sourceServer struct {
	sourcev1.UnimplementedSourceServiceServer
	src Source
	// channel holds the batch channel the host passed, until a Read takes
	// it.
	channel *channelSlot
}

func (s *sourceServer) Check(ctx context.Context, req *sourcev1.CheckRequest) (*sourcev1.CheckResponse, error) {
	if err := s.src.Check(ctx, Config(req.Config)); err != nil {
		return nil, errorToStatus(err)
	}
	return &sourcev1.CheckResponse{}, nil
}

func (s *sourceServer) Discover(ctx context.Context, req *sourcev1.DiscoverRequest) (*sourcev1.DiscoverResponse, error) {
	streams, err := s.src.Discover(ctx, Config(req.Config))
	if err != nil {
		return nil, errorToStatus(err)
	}
	resp := &sourcev1.DiscoverResponse{}
	for _, st := range streams {
		resp.Streams = append(resp.Streams, streamToProto(st))
	}
	return resp, nil
}

func (s *sourceServer) Read(req *sourcev1.ReadRequest, stream grpc.ServerStreamingServer[sourcev1.ReadResponse]) error {
	// Batches of a few MB cross a Unix socket whose default send buffer
	// (about 200 KiB) holds a fraction of one: the gRPC writer would wait
	// for the host to drain it several times per batch, and each wait costs
	// a scheduler round trip in both processes (measured: 15-25% of the
	// wall time of a DistroKid ingest on 2 cores).
	raiseSendBuffers(bulkSendBuffer, "")
	em := &streamEmitter{stream: stream, roots: req.LocalPayloadRoots, constants: req.AcceptsConstantColumns}
	if req.BatchChannel {
		if conn := s.channel.take(); conn != nil {
			var closeChannel func()
			em.channel, closeChannel = openChannel(stream.Context(), conn)
			defer closeChannel()
		}
	}
	err := s.src.Read(stream.Context(), ReadRequest{Config: Config(req.Config), Streams: req.Streams, State: req.State, LocalPayloadRoots: req.LocalPayloadRoots}, em)
	return errorToStatus(err)
}

// bulkSendBuffer is the send buffer asked for on a connection that carries
// record batches: room for about two.
const bulkSendBuffer = 4 << 20

// RaiseSendBuffer gives the host's connection to the plugin listening at
// addr (a Unix socket, as go-plugin serves on Unix-like systems) a send
// buffer that holds whole record batches, for the kinds the host streams
// batches to (validators): see Read on the plugin side for why. Call it
// once the connection is up; it does nothing for other addresses.
func RaiseSendBuffer(addr net.Addr) {
	if addr == nil || addr.Network() != "unix" {
		return
	}
	raiseSendBuffers(bulkSendBuffer, addr.String())
}

// streamEmitter sends a Source's output over the Read stream.
type streamEmitter struct {
	mu     sync.Mutex
	stream grpc.ServerStreamingServer[sourcev1.ReadResponse]
	nextID int
	roots  []string // ReadRequest.LocalPayloadRoots
	// constants: the host reads constant columns (ReadRequest.
	// accepts_constant_columns), so a column whose rows all hold one value
	// travels as that value.
	constants bool
	// channel, when the host offered one, carries the batches' columns.
	channel *channelWriter
}

func (e *streamEmitter) send(m *sourcev1.ReadResponse) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.stream.Send(m); err != nil {
		return fmt.Errorf("failed to send to host: %w", err)
	}
	return nil
}

func (e *streamEmitter) BeginPayload(name, mediaType string) (Payload, error) {
	return e.begin(name, mediaType, "")
}

// BeginFilePayload implements FilePayloadEmitter: a file under the roots
// the host offered is named, not sent.
func (e *streamEmitter) BeginFilePayload(path, name, mediaType string) (Payload, error) {
	abs, err := filepath.Abs(path)
	if err != nil || !WithinRoots(abs, e.roots) {
		abs = ""
	}
	return e.begin(name, mediaType, abs)
}

func (e *streamEmitter) begin(name, mediaType, localPath string) (Payload, error) {
	e.mu.Lock()
	e.nextID++
	id := "p" + strconv.Itoa(e.nextID)
	e.mu.Unlock()
	local := localPath != ""
	err := e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_PayloadBegin{PayloadBegin: &sourcev1.PayloadBegin{Id: id, Name: name, MediaType: mediaType,
		LocalPath: localPath, SendsXxh64: local, DigestAlgorithm: digest.BLAKE3}}})
	if err != nil {
		return nil, err
	}
	return newStreamPayload(e, id, local), nil
}

func (e *streamEmitter) Batch(b *RecordBatch) error {
	if e.channel == nil {
		return e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_Batch{Batch: batchToProtoCompact(b, e.constants)}})
	}
	// The announcement and the frame go out together: the host reads the
	// frame when it reaches the announcement, so frames stay in step with
	// the messages around them.
	e.mu.Lock()
	defer e.mu.Unlock()
	frame, n, err := e.channel.enc.encode(b, e.constants)
	if err != nil {
		return err
	}
	if err := e.stream.Send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_Batch{Batch: &sourcev1.RecordBatch{
		Stream: b.Stream, PayloadId: b.PayloadID, NumRows: int64(b.NumRows), ChannelBytes: n}}}); err != nil {
		return fmt.Errorf("failed to send to host: %w", err)
	}
	if _, err := frame.WriteTo(e.channel.conn); err != nil {
		return fmt.Errorf("failed to send a batch to the host on the batch channel: %w", err)
	}
	return nil
}

func (e *streamEmitter) Checkpoint(stream string, state []byte) error {
	return e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_Checkpoint{Checkpoint: &sourcev1.Checkpoint{Stream: stream, State: state}}})
}

func (e *streamEmitter) UpdateConfig(values map[string]string) error {
	return e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_ConfigUpdate{ConfigUpdate: &sourcev1.ConfigUpdate{Values: values}}})
}

func (e *streamEmitter) Log(level LogLevel, msg string, keyvals ...any) {
	kv := make([]string, len(keyvals))
	for i, v := range keyvals {
		kv[i] = fmt.Sprint(v)
	}
	_ = e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_Log{Log: &sourcev1.Log{Level: sourcev1.LogLevel(level), Message: msg, Keyvals: kv}}})
}

func (e *streamEmitter) Progress(done, total int64, unit string) {
	_ = e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_Progress{Progress: &sourcev1.Progress{Done: done, Total: total, Unit: unit}}})
}

// payloadQueue is how many full chunks may wait for the payload's sender.
const payloadQueue = 4

// streamPayload buffers payload bytes into chunks. A goroutine of its own
// hashes and sends full chunks, so that a source parsing the bytes it
// streams is not held up by hashing, encryption and flow control. A local
// payload (the host copies the file itself) is hashed and counted as it is
// written, and nothing else; its XXH64 lets the host check its copy cheaply.
type streamPayload struct {
	e      *streamEmitter
	id     string
	local  bool
	h      *digest.Hash
	fast   *xxhash.Digest // local payloads only
	buf    []byte
	size   int64
	closed bool
	queue  chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // set by the sender; read after done or through failed
	failed chan struct{}
}

func newStreamPayload(e *streamEmitter, id string, local bool) *streamPayload {
	p := &streamPayload{e: e, id: id, local: local, h: digest.New()}
	if local {
		// Nothing to send: Write hashes as it goes, without copying the
		// bytes for a sender.
		p.fast = xxhash.New()
		return p
	}
	p.buf = make([]byte, 0, payloadChunkSize)
	p.queue, p.free = make(chan []byte, payloadQueue), make(chan []byte, payloadQueue+1)
	p.done, p.failed = make(chan struct{}), make(chan struct{})
	go p.send()
	return p
}

func (p *streamPayload) send() {
	defer close(p.done)
	for chunk := range p.queue {
		if p.err == nil {
			p.h.Write(chunk)
			p.err = p.e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_PayloadChunk{PayloadChunk: &sourcev1.PayloadChunk{Id: p.id, Data: chunk}}})
			if p.err != nil {
				close(p.failed)
			}
		}
		select {
		case p.free <- chunk[:0]:
		default:
		}
	}
}

func (p *streamPayload) ID() string { return p.id }

// Digest is the payload's BLAKE3 digest; it is complete after Close.
func (p *streamPayload) Digest() string {
	if !p.closed {
		return ""
	}
	return p.h.String()
}

func (p *streamPayload) Write(b []byte) (int, error) {
	if p.closed {
		return 0, fmt.Errorf("payload %s: write after close", p.id)
	}
	n := len(b)
	p.size += int64(n)
	if p.local {
		p.h.Write(b)
		p.fast.Write(b)
		return n, nil
	}
	for len(b) > 0 {
		room := min(payloadChunkSize-len(p.buf), len(b))
		p.buf = append(p.buf, b[:room]...)
		b = b[room:]
		if len(p.buf) == payloadChunkSize {
			if err := p.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush hands the current chunk to the sender and takes a free buffer.
func (p *streamPayload) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	select {
	case p.queue <- p.buf:
	case <-p.failed:
		return p.err
	}
	select {
	case p.buf = <-p.free:
	default:
		p.buf = make([]byte, 0, payloadChunkSize)
	}
	return nil
}

func (p *streamPayload) Close() error {
	if p.closed {
		return nil
	}
	var err error
	if !p.local {
		err = p.flush()
		close(p.queue)
		<-p.done
	}
	p.closed = true
	if err != nil {
		return err
	}
	if p.err != nil {
		return p.err
	}
	c := &sourcev1.PayloadClose{Id: p.id, Size: p.size, Digest: p.Digest()}
	if p.fast != nil {
		c.Xxh64 = p.fast.Sum64()
	}
	return p.e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_PayloadClose{PayloadClose: c}})
}

func (p *streamPayload) End(records int64, problems []Problem) error {
	if !p.closed {
		if err := p.Close(); err != nil {
			return err
		}
	}
	return p.e.send(&sourcev1.ReadResponse{Message: &sourcev1.ReadResponse_PayloadEnd{PayloadEnd: &sourcev1.PayloadEnd{Id: p.id, Records: records, Problems: problemsToProto(problems)}}})
}

// infoServer serves PluginService.
type infoServer struct {
	pluginv1.UnimplementedPluginServiceServer
	spec  Spec
	kinds []string
}

func (s *infoServer) GetInfo(context.Context, *pluginv1.GetInfoRequest) (*pluginv1.GetInfoResponse, error) {
	return &pluginv1.GetInfoResponse{Spec: specToProto(s.spec), Kinds: s.kinds}, nil
}

// infoGRPCPlugin is the go-plugin glue for PluginService.
type infoGRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server *infoServer
}

func (p *infoGRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterPluginServiceServer(s, p.server)
	return nil
}

func (p *infoGRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &InfoClient{c: pluginv1.NewPluginServiceClient(c)}, nil
}

// sourceGRPCPlugin is the go-plugin glue for SourceService.
type sourceGRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	newSource func() Source
	channel   *channelSlot // the batch channel the process inherited
}

func (p *sourceGRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	sourcev1.RegisterSourceServiceServer(s, &sourceServer{src: p.newSource(), channel: p.channel})
	return nil
}

func (p *sourceGRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &SourceClient{c: sourcev1.NewSourceServiceClient(c)}, nil
}
