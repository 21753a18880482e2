package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	agentv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/agent/v1"
)

// lakeClient is the agent's Lake: a LakeService client dialled through the
// GRPCBroker (plugin side).
type lakeClient struct {
	c agentv1.LakeServiceClient
}

func (l *lakeClient) ListDatasets(ctx context.Context, prefix string) ([]DatasetInfo, error) {
	resp, err := l.c.ListDatasets(ctx, &agentv1.ListDatasetsRequest{Prefix: prefix})
	if err != nil {
		return nil, agentErrorFromStatus(err)
	}
	out := make([]DatasetInfo, len(resp.Datasets))
	for i, d := range resp.Datasets {
		out[i] = DatasetInfo{Name: d.Name, Zone: d.Zone, Rows: d.Rows, Files: d.Files}
	}
	return out, nil
}

func (l *lakeClient) ReadDataset(ctx context.Context, req ReadDatasetRequest) (TableReader, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := l.c.ReadDataset(ctx, &agentv1.ReadDatasetRequest{Name: req.Name, Columns: req.Columns, Limit: req.Limit})
	if err != nil {
		cancel()
		return nil, agentErrorFromStatus(err)
	}
	return newTableStream(st, cancel)
}

func (l *lakeClient) Query(ctx context.Context, sql string, limit int64) (TableReader, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := l.c.Query(ctx, &agentv1.QueryRequest{Sql: sql, Limit: limit})
	if err != nil {
		cancel()
		return nil, agentErrorFromStatus(err)
	}
	return newTableStream(st, cancel)
}

func (l *lakeClient) PutObject(ctx context.Context, zone, key, contentType string, body io.Reader) (ObjectInfo, error) {
	st, err := l.c.PutObject(ctx)
	if err != nil {
		return ObjectInfo{}, agentErrorFromStatus(err)
	}
	send := func(m *agentv1.PutObjectRequest) error {
		if err := st.Send(m); err != nil {
			if errors.Is(err, io.EOF) {
				// The host ended the call; its status says why.
				_, err = st.CloseAndRecv()
			}
			return agentErrorFromStatus(err)
		}
		return nil
	}
	if err := send(&agentv1.PutObjectRequest{Message: &agentv1.PutObjectRequest_Start{Start: &agentv1.PutObjectStart{Zone: zone, Key: key, ContentType: contentType}}}); err != nil {
		return ObjectInfo{}, err
	}
	buf := make([]byte, payloadChunkSize)
	for {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			if err := send(&agentv1.PutObjectRequest{Message: &agentv1.PutObjectRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return ObjectInfo{}, err
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return ObjectInfo{}, fmt.Errorf("failed to read the object's body for %s/%s: %w", zone, key, rerr)
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return ObjectInfo{}, agentErrorFromStatus(err)
	}
	return ObjectInfo{Zone: resp.Zone, Key: resp.Key, Size: resp.Size, SHA256: resp.Sha256}, nil
}

func (l *lakeClient) SearchKnowledge(ctx context.Context, query string, limit int) ([]KnowledgeEntry, error) {
	resp, err := l.c.SearchKnowledge(ctx, &agentv1.SearchKnowledgeRequest{Query: query, Limit: int64(limit)})
	if err != nil {
		return nil, agentErrorFromStatus(err)
	}
	return knowledgeListFromProto(resp.Entries), nil
}

func (l *lakeClient) AddKnowledge(ctx context.Context, e KnowledgeEntry) (string, error) {
	if err := e.Validate(); err != nil {
		return "", ConfigError(err)
	}
	resp, err := l.c.AddKnowledge(ctx, &agentv1.AddKnowledgeRequest{Entry: knowledgeToProto(e)})
	if err != nil {
		return "", agentErrorFromStatus(err)
	}
	return resp.Id, nil
}

// tableStream reads a ReadDataset or Query answer.
type tableStream struct {
	s      grpc.ServerStreamingClient[agentv1.TableMessage]
	cancel context.CancelFunc
	schema Schema
}

func newTableStream(s grpc.ServerStreamingClient[agentv1.TableMessage], cancel context.CancelFunc) (*tableStream, error) {
	m, err := s.Recv()
	if err != nil {
		cancel()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the lake ended the answer before its schema")
		}
		return nil, agentErrorFromStatus(err)
	}
	sc := m.GetSchema()
	if sc == nil {
		cancel()
		return nil, errors.New("the lake's answer must begin with its schema")
	}
	return &tableStream{s: s, cancel: cancel, schema: schemaFromProto(sc)}, nil
}

func (t *tableStream) Schema() Schema { return t.schema }

func (t *tableStream) Next() (*RecordBatch, error) {
	m, err := t.s.Recv()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, agentErrorFromStatus(err)
	}
	pb := m.GetBatch()
	if pb == nil {
		return nil, errors.New("the lake sent a second schema in one answer")
	}
	return batchFromProto(pb)
}

func (t *tableStream) Close() error {
	t.cancel()
	return nil
}

// lakeServer adapts a host's LakeServer to the gRPC LakeService (host side).
type lakeServer struct {
	agentv1.UnimplementedLakeServiceServer
	impl   LakeServer
	caller LakeCaller
}

func (s *lakeServer) ctx(ctx context.Context) context.Context { return WithLakeCaller(ctx, s.caller) }

func (s *lakeServer) ListDatasets(ctx context.Context, req *agentv1.ListDatasetsRequest) (*agentv1.ListDatasetsResponse, error) {
	ds, err := s.impl.ListDatasets(s.ctx(ctx), req.Prefix)
	if err != nil {
		return nil, agentErrorToStatus(err)
	}
	resp := &agentv1.ListDatasetsResponse{}
	for _, d := range ds {
		resp.Datasets = append(resp.Datasets, &agentv1.Dataset{Name: d.Name, Zone: d.Zone, Rows: d.Rows, Files: d.Files})
	}
	return resp, nil
}

func (s *lakeServer) ReadDataset(req *agentv1.ReadDatasetRequest, stream grpc.ServerStreamingServer[agentv1.TableMessage]) error {
	tr, err := s.impl.ReadDataset(s.ctx(stream.Context()), ReadDatasetRequest{Name: req.Name, Columns: req.Columns, Limit: req.Limit})
	if err != nil {
		return agentErrorToStatus(err)
	}
	return agentErrorToStatus(sendTable(tr, stream))
}

func (s *lakeServer) Query(req *agentv1.QueryRequest, stream grpc.ServerStreamingServer[agentv1.TableMessage]) error {
	tr, err := s.impl.Query(s.ctx(stream.Context()), req.Sql, req.Limit)
	if err != nil {
		return agentErrorToStatus(err)
	}
	return agentErrorToStatus(sendTable(tr, stream))
}

// sendTable sends a reader's schema and batches, then closes it.
func sendTable(tr TableReader, stream grpc.ServerStreamingServer[agentv1.TableMessage]) error {
	defer tr.Close()
	if err := stream.Send(&agentv1.TableMessage{Message: &agentv1.TableMessage_Schema{Schema: schemaToProto(tr.Schema())}}); err != nil {
		return err
	}
	for {
		b, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&agentv1.TableMessage{Message: &agentv1.TableMessage_Batch{Batch: batchToProto(b)}}); err != nil {
			return err
		}
	}
}

func (s *lakeServer) PutObject(stream grpc.ClientStreamingServer[agentv1.PutObjectRequest, agentv1.PutObjectResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return agentErrorToStatus(fmt.Errorf("failed to receive the start of the object: %w", err))
	}
	st := first.GetStart()
	if st == nil {
		return agentErrorToStatus(ConfigError(errors.New("a PutObject stream must begin with PutObjectStart")))
	}
	body := &chunkReader{stream: stream}
	info, err := s.impl.PutObject(s.ctx(stream.Context()), st.Zone, st.Key, st.ContentType, body)
	if err != nil {
		return agentErrorToStatus(err)
	}
	return stream.SendAndClose(&agentv1.PutObjectResponse{Zone: info.Zone, Key: info.Key, Size: info.Size, Sha256: info.SHA256})
}

// chunkReader reads an object's bytes from the PutObject stream.
type chunkReader struct {
	stream grpc.ClientStreamingServer[agentv1.PutObjectRequest, agentv1.PutObjectResponse]
	buf    []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		m, err := r.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("failed to receive the object's bytes: %w", err)
		}
		if m.GetStart() != nil {
			return 0, errors.New("the agent sent a second PutObjectStart in one object")
		}
		r.buf = m.GetChunk()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (s *lakeServer) SearchKnowledge(ctx context.Context, req *agentv1.SearchKnowledgeRequest) (*agentv1.SearchKnowledgeResponse, error) {
	es, err := s.impl.SearchKnowledge(s.ctx(ctx), req.Query, int(req.Limit))
	if err != nil {
		return nil, agentErrorToStatus(err)
	}
	return &agentv1.SearchKnowledgeResponse{Entries: knowledgeListToProto(es)}, nil
}

func (s *lakeServer) AddKnowledge(ctx context.Context, req *agentv1.AddKnowledgeRequest) (*agentv1.AddKnowledgeResponse, error) {
	e := knowledgeFromProto(req.GetEntry())
	// The author is the calling run's agent, whatever the agent claims.
	e.Author = s.caller.AgentID
	if err := e.Validate(); err != nil {
		return nil, agentErrorToStatus(ConfigError(err))
	}
	id, err := s.impl.AddKnowledge(s.ctx(ctx), e)
	if err != nil {
		return nil, agentErrorToStatus(err)
	}
	return &agentv1.AddKnowledgeResponse{Id: id}, nil
}
