package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

const chunkSize = 1 << 20 // the SDK's payload chunk size

var testSpec = sdk.Spec{
	Name: "shim", Version: "0.0.1", Description: "gRPC shim test source", Author: "tests",
	Params: []sdk.Param{{Name: "token", Description: "a secret", Required: true, Secret: true}, {Name: "mode", Description: "what Read does", Default: "normal"}},
}

var testStream = sdk.Stream{
	Name: "plays", Doc: "plays per track", PrimaryKey: []string{"track"}, CursorField: "day",
	Schema: sdk.Schema{Fields: []sdk.Field{
		{Name: "track", Type: sdk.TypeString, Doc: "track title"},
		{Name: "plays", Type: sdk.TypeInt64, Nullable: true},
		{Name: "day", Type: sdk.TypeDate},
		{Name: "revenue", Type: sdk.TypeDecimal, Precision: 18, Scale: 12, Nullable: true},
	}},
}

// payloadSizes are the payloads the test source sends: empty, just under,
// exactly at and across the chunk boundary.
var payloadSizes = []int{0, chunkSize - 1, chunkSize, 2*chunkSize + 12345}

// payloadBytes is deterministic, non-repeating-per-chunk content.
func payloadBytes(n int) []byte {
	b := make([]byte, n)
	var x uint32 = 2463534242
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// shimSource is a small Source whose behaviour Config["mode"] selects.
type shimSource struct {
	sdk.UnimplementedSource
}

func (shimSource) Check(ctx context.Context, cfg sdk.Config) error {
	if cfg["token"] == "" {
		return sdk.ConfigError(errors.New(`"token" is required`))
	}
	return nil
}

func (shimSource) Discover(ctx context.Context, cfg sdk.Config) ([]sdk.Stream, error) {
	if cfg["mode"] == "flaky" {
		return nil, sdk.Transient(errors.New("upstream 503"))
	}
	return []sdk.Stream{testStream}, nil
}

func (shimSource) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	out.Log(sdk.LevelDebug, "request", "streams", strings.Join(req.Streams, ","), "state", string(req.State["plays"]), "n", 3)
	switch req.Config["mode"] {
	case "ratelimited":
		return sdk.RateLimited(errors.New("quota exhausted"), time.Now().Add(45*time.Second))
	case "config":
		return sdk.ConfigError(errors.New("token revoked"))
	case "block":
		<-ctx.Done()
		return ctx.Err()
	}
	for i, n := range payloadSizes {
		p, err := out.BeginPayload(fmt.Sprintf("export-%d.tsv", i), "text/tab-separated-values")
		if err != nil {
			return err
		}
		data := payloadBytes(n)
		// Odd-sized writes so that writes straddle chunk boundaries.
		for off := 0; off < len(data); off += 65537 {
			if _, err := p.Write(data[off:min(off+65537, len(data))]); err != nil {
				return err
			}
		}
		if err := p.Close(); err != nil {
			return err
		}
		if _, err := p.Write([]byte("x")); err == nil {
			return errors.New("write after close succeeded")
		}
		var problems []sdk.Problem
		rows := int64(0)
		if i == 0 {
			problems = []sdk.Problem{{File: "export-0.tsv", Line: 1, Field: "track", Message: "empty file"}}
		} else {
			// Two batches from one builder: the first must arrive intact
			// although the builder is reset and refilled after sending it.
			bb := sdk.NewBatchBuilder("plays", testStream.Schema)
			for batch := 0; batch < 2; batch++ {
				bb.Reset("plays", p.ID())
				for r := 0; r < 3; r++ {
					bb.AppendString(0, []byte(fmt.Sprintf("track-%d-%d-%d", i, batch, r)))
					if r == 1 {
						bb.AppendNull(1)
						bb.AppendInt32(2, int32(-r))
						bb.AppendNull(3)
					} else {
						bb.AppendInt64(1, int64(batch*10+r))
						bb.AppendInt32(2, int32(-r))
						bb.AppendInt64(3, 1_500_000_000_000)
					}
					bb.EndRow()
				}
				if err := out.Batch(bb.Batch()); err != nil {
					return err
				}
				rows += int64(bb.Len())
			}
		}
		if err := p.End(rows, problems); err != nil {
			return err
		}
		if err := out.Checkpoint("plays", []byte(fmt.Sprintf(`{"files":%d}`, i+1))); err != nil {
			return err
		}
		out.Progress(int64(i+1), int64(len(payloadSizes)), "files")
	}
	if req.Config["mode"] == "rotate" {
		if err := out.UpdateConfig(map[string]string{"refresh_token": "rotated-" + req.Config["refresh_token"]}); err != nil {
			return err
		}
	}
	if req.Config["mode"] == "fail-late" {
		return fmt.Errorf("failed to list the next page: %w", sdk.Transient(errors.New("connection reset")))
	}
	return nil
}

// connect serves src through the real gRPC server and returns the host's
// clients.
func connect(t *testing.T, newSource func() sdk.Source) (*sdk.SourceClient, *sdk.InfoClient) {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, sdk.PluginSets(sdk.Plugin{Spec: testSpec, NewSource: newSource})[sdk.ProtocolVersion])
	t.Cleanup(func() {
		// Stop the server first: GRPCClient.Close asks a live server to
		// stop itself, and go-plugin's GRPCServer.Stop is not safe to call
		// twice concurrently.
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(sdk.KindSource)
	require.NoError(t, err)
	src, ok := raw.(*sdk.SourceClient)
	require.True(t, ok, "dispensed %T", raw)
	raw, err = client.Dispense(sdk.KindPlugin)
	require.NoError(t, err)
	info, ok := raw.(*sdk.InfoClient)
	require.True(t, ok, "dispensed %T", raw)
	return src, info
}

// connectChannel is connect with a batch channel between the two ends, as
// bedrot launches a source plugin.
func connectChannel(t *testing.T, newSource func() sdk.Source) *sdk.SourceClient {
	t.Helper()
	host, pluginEnd, err := sdk.NewBatchChannel()
	require.NoError(t, err)
	conn, err := net.FileConn(pluginEnd)
	pluginEnd.Close()
	require.NoError(t, err)
	t.Cleanup(func() { host.Close(); conn.Close() })
	client, server := plugin.TestPluginGRPCConn(t, false, sdk.PluginSetsWithChannel(sdk.Plugin{Spec: testSpec, NewSource: newSource}, conn)[sdk.ProtocolVersion])
	t.Cleanup(func() {
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(sdk.KindSource)
	require.NoError(t, err)
	src := raw.(*sdk.SourceClient)
	src.SetBatchChannel(host)
	return src
}

// transports are the two ways batches reach the host: inline in the gRPC
// stream, and on a batch channel.
var transports = map[string]func(*testing.T, func() sdk.Source) *sdk.SourceClient{
	"inline": func(t *testing.T, newSource func() sdk.Source) *sdk.SourceClient {
		src, _ := connect(t, newSource)
		return src
	},
	"channel": connectChannel,
}

func newShim() sdk.Source { return shimSource{} }

func TestGRPCInfo(t *testing.T) {
	t.Parallel()
	_, ic := connect(t, newShim)
	info, err := ic.GetInfo(context.Background())
	require.NoError(t, err)
	require.Equal(t, testSpec, info.Spec)
	require.Equal(t, []string{sdk.KindSource}, info.Kinds)
}

func TestGRPCCheckAndDiscover(t *testing.T) {
	t.Parallel()
	src, _ := connect(t, newShim)
	ctx := context.Background()

	require.NoError(t, src.Check(ctx, sdk.Config{"token": "t"}))
	err := src.Check(ctx, sdk.Config{})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, `"token" is required`)

	streams, err := src.Discover(ctx, sdk.Config{"token": "t"})
	require.NoError(t, err)
	require.Equal(t, []sdk.Stream{testStream}, streams)

	_, err = src.Discover(ctx, sdk.Config{"mode": "flaky"})
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err))
	require.ErrorContains(t, err, "upstream 503")
}

func TestGRPCUnimplemented(t *testing.T) {
	t.Parallel()
	type bare struct{ sdk.UnimplementedSource }
	src, _ := connect(t, func() sdk.Source { return bare{} })
	ctx := context.Background()
	require.ErrorIs(t, src.Check(ctx, nil), sdk.ErrUnimplemented)
	_, err := src.Discover(ctx, nil)
	require.ErrorIs(t, err, sdk.ErrUnimplemented)
	rs, err := src.Read(ctx, sdk.ReadRequest{})
	require.NoError(t, err)
	_, err = rs.Recv()
	require.ErrorIs(t, err, sdk.ErrUnimplemented)
}

// received collects everything a Read sent.
type received struct {
	payloads    map[string]*bytes.Buffer
	names       map[string]string
	chunks      map[string][]int
	closes      map[string]*sdk.PayloadClose
	ends        map[string]*sdk.PayloadEnd
	batches     []*sdk.RecordBatch
	checkpoints []sdk.CheckpointMessage
	logs        []sdk.LogMessage
	progress    []sdk.ProgressMessage
	config      []map[string]string
	order       []string
	stream      *sdk.ReadStream
}

func readAll(t *testing.T, ctx context.Context, src *sdk.SourceClient, req sdk.ReadRequest) (*received, error) {
	t.Helper()
	rs, err := src.Read(ctx, req)
	require.NoError(t, err)
	got := &received{payloads: map[string]*bytes.Buffer{}, names: map[string]string{}, chunks: map[string][]int{},
		closes: map[string]*sdk.PayloadClose{}, ends: map[string]*sdk.PayloadEnd{}, stream: rs}
	for {
		m, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		switch {
		case m.PayloadBegin != nil:
			got.order = append(got.order, "begin")
			require.NotContains(t, got.payloads, m.PayloadBegin.ID)
			require.Equal(t, "text/tab-separated-values", m.PayloadBegin.MediaType)
			got.payloads[m.PayloadBegin.ID] = &bytes.Buffer{}
			got.names[m.PayloadBegin.ID] = m.PayloadBegin.Name
		case m.PayloadChunk != nil:
			got.order = append(got.order, "chunk")
			got.payloads[m.PayloadChunk.ID].Write(m.PayloadChunk.Data)
			got.chunks[m.PayloadChunk.ID] = append(got.chunks[m.PayloadChunk.ID], len(m.PayloadChunk.Data))
		case m.PayloadClose != nil:
			got.order = append(got.order, "close")
			got.closes[m.PayloadClose.ID] = m.PayloadClose
		case m.PayloadEnd != nil:
			got.order = append(got.order, "end")
			got.ends[m.PayloadEnd.ID] = m.PayloadEnd
		case m.Batch != nil:
			got.order = append(got.order, "batch")
			got.batches = append(got.batches, m.Batch)
		case m.Checkpoint != nil:
			got.order = append(got.order, "checkpoint")
			got.checkpoints = append(got.checkpoints, *m.Checkpoint)
		case m.Log != nil:
			got.order = append(got.order, "log")
			got.logs = append(got.logs, *m.Log)
		case m.Progress != nil:
			got.order = append(got.order, "progress")
			got.progress = append(got.progress, *m.Progress)
		case m.ConfigUpdate != nil:
			got.order = append(got.order, "config")
			got.config = append(got.config, m.ConfigUpdate)
		default:
			t.Fatalf("message with no field set: %+v", m)
		}
	}
}

func TestGRPCRead(t *testing.T) {
	t.Parallel()
	for name, connect := range transports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testGRPCRead(t, connect(t, newShim))
		})
	}
}

func testGRPCRead(t *testing.T, src *sdk.SourceClient) *sdk.ReadStream {
	got, err := readAll(t, context.Background(), src, sdk.ReadRequest{
		Config:  sdk.Config{"token": "t"},
		Streams: []string{"plays", "other"},
		State:   map[string][]byte{"plays": []byte(`{"files":0}`)},
	})
	require.NoError(t, err)

	// The request arrived whole; keyvals arrive as strings.
	require.Equal(t, sdk.LogMessage{Level: sdk.LevelDebug, Message: "request",
		KeyVals: []string{"streams", "plays,other", "state", `{"files":0}`, "n", "3"}}, got.logs[0])

	require.Len(t, got.payloads, len(payloadSizes))
	for i, n := range payloadSizes {
		id := fmt.Sprintf("p%d", i+1)
		require.Equal(t, fmt.Sprintf("export-%d.tsv", i), got.names[id])
		want := payloadBytes(n)
		require.Equal(t, len(want), got.payloads[id].Len(), "payload %s", id)
		require.True(t, bytes.Equal(want, got.payloads[id].Bytes()), "payload %s bytes differ", id)
		require.Equal(t, &sdk.PayloadClose{ID: id, Size: int64(n), Digest: digest.Of(want)}, got.closes[id])
		wantChunks := (n + chunkSize - 1) / chunkSize
		require.Len(t, got.chunks[id], wantChunks, "payload %s chunks %v", id, got.chunks[id])
		for j, c := range got.chunks[id] {
			require.LessOrEqual(t, c, chunkSize)
			require.Positive(t, c)
			if j < wantChunks-1 {
				require.Equal(t, chunkSize, c, "only the last chunk may be short")
			}
		}
	}
	require.Equal(t, &sdk.PayloadEnd{ID: "p1", Records: 0, Problems: []sdk.Problem{{File: "export-0.tsv", Line: 1, Field: "track", Message: "empty file"}}}, got.ends["p1"])
	for i := 2; i <= len(payloadSizes); i++ {
		require.Equal(t, &sdk.PayloadEnd{ID: fmt.Sprintf("p%d", i), Records: 6, Problems: []sdk.Problem{}}, got.ends[fmt.Sprintf("p%d", i)])
	}

	// Batches: two per non-empty payload, contents intact despite the
	// builder being reused.
	require.Len(t, got.batches, 2*(len(payloadSizes)-1))
	for k, b := range got.batches {
		i, batch := k/2+1, k%2
		require.Equal(t, "plays", b.Stream)
		require.Equal(t, fmt.Sprintf("p%d", i+1), b.PayloadID)
		require.NoError(t, b.Validate(testStream.Schema))
		require.Equal(t, 3, b.NumRows)
		for r := 0; r < 3; r++ {
			require.Equal(t, fmt.Sprintf("track-%d-%d-%d", i, batch, r), b.Columns[0].String(r))
			require.Equal(t, r == 1, b.Columns[1].IsNull(r))
			require.Equal(t, r == 1, b.Columns[3].IsNull(r))
			require.Equal(t, int32(-r), b.Columns[2].Int32s[r])
			if r != 1 {
				require.Equal(t, int64(batch*10+r), b.Columns[1].Int64s[r])
				require.Equal(t, int64(1_500_000_000_000), b.Columns[3].Int64s[r])
			}
		}
	}

	require.Len(t, got.checkpoints, len(payloadSizes))
	for i, cp := range got.checkpoints {
		require.Equal(t, sdk.CheckpointMessage{Stream: "plays", State: []byte(fmt.Sprintf(`{"files":%d}`, i+1))}, cp)
	}
	require.Len(t, got.progress, len(payloadSizes))
	require.Equal(t, sdk.ProgressMessage{Done: 4, Total: 4, Unit: "files"}, got.progress[3])

	// Per payload: begin, chunks, close, batches, end, checkpoint, progress.
	require.Equal(t, []string{"log", "begin", "close", "end", "checkpoint", "progress", "begin", "chunk", "close",
		"batch", "batch", "end", "checkpoint", "progress"}, got.order[:14])
	return got.stream
}

func TestGRPCReadConfigUpdate(t *testing.T) {
	t.Parallel()
	src, _ := connect(t, newShim)
	got, err := readAll(t, context.Background(), src, sdk.ReadRequest{Config: sdk.Config{"mode": "rotate", "refresh_token": "rt-1"}})
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"refresh_token": "rotated-rt-1"}}, got.config)
	require.Equal(t, "config", got.order[len(got.order)-1], "the update arrives where the source sent it")
}

func TestGRPCReadErrors(t *testing.T) {
	t.Parallel()
	for name, connect := range transports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testGRPCReadErrors(t, connect(t, newShim))
		})
	}
}

func testGRPCReadErrors(t *testing.T, src *sdk.SourceClient) {
	ctx := context.Background()

	got, err := readAll(t, ctx, src, sdk.ReadRequest{Config: sdk.Config{"mode": "ratelimited"}})
	var e *sdk.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, sdk.KindRateLimited, e.Kind)
	require.WithinDuration(t, time.Now().Add(45*time.Second), e.RetryAt, time.Second)
	require.ErrorContains(t, err, "quota exhausted")
	require.Len(t, got.logs, 1, "messages sent before the error arrive")

	_, err = readAll(t, ctx, src, sdk.ReadRequest{Config: sdk.Config{"mode": "config"}})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, "token revoked")

	got, err = readAll(t, ctx, src, sdk.ReadRequest{Config: sdk.Config{"mode": "fail-late"}})
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err))
	require.ErrorContains(t, err, "connection reset")
	require.Len(t, got.checkpoints, len(payloadSizes), "everything before the failure arrives")
}

func TestGRPCReadCancel(t *testing.T) {
	t.Parallel()
	src, _ := connect(t, newShim)
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := src.Read(ctx, sdk.ReadRequest{Config: sdk.Config{"mode": "block"}})
	require.NoError(t, err)
	m, err := rs.Recv()
	require.NoError(t, err)
	require.NotNil(t, m.Log)
	cancel()
	_, err = rs.Recv()
	require.ErrorIs(t, err, context.Canceled)
}

// fileSource sends the file named in its config as a file payload.
type fileSource struct{ sdk.UnimplementedSource }

func (fileSource) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	path := req.Config["file"]
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	p, err := sdk.BeginFilePayload(out, path, filepath.Base(path), "text/tab-separated-values")
	if err != nil {
		return err
	}
	if _, err := p.Write(b); err != nil {
		return err
	}
	return p.End(1, nil)
}

// A file under the roots the host offers is named, not sent; otherwise it
// is streamed as any payload. Size and BLAKE3 digest come either way, and
// the XXH64 of a named file too.
func TestGRPCFilePayload(t *testing.T) {
	t.Parallel()
	src, _ := connect(t, func() sdk.Source { return fileSource{} })
	dir := t.TempDir()
	path := filepath.Join(dir, "export.tsv")
	content := payloadBytes(3<<20 + 5)
	require.NoError(t, os.WriteFile(path, content, 0o644))
	sum := digest.Of(content)

	for name, roots := range map[string][]string{"local": {dir}, "streamed": nil, "elsewhere": {filepath.Join(dir, "sub")}} {
		t.Run(name, func(t *testing.T) {
			rs, err := src.Read(context.Background(), sdk.ReadRequest{Config: sdk.Config{"file": path}, LocalPayloadRoots: roots})
			require.NoError(t, err)
			var begin *sdk.PayloadBegin
			var closed *sdk.PayloadClose
			var streamed bytes.Buffer
			for {
				m, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				switch {
				case m.PayloadBegin != nil:
					begin = m.PayloadBegin
				case m.PayloadChunk != nil:
					streamed.Write(m.PayloadChunk.Data)
				case m.PayloadClose != nil:
					closed = m.PayloadClose
				}
			}
			require.NotNil(t, begin)
			require.NotNil(t, closed)
			require.EqualValues(t, len(content), closed.Size)
			require.Equal(t, sum, closed.Digest)
			require.Equal(t, digest.BLAKE3, begin.DigestAlgorithm)
			if name == "local" {
				require.Equal(t, path, begin.LocalPath)
				require.Zero(t, streamed.Len(), "a local payload's bytes must not be sent")
				require.True(t, begin.SendsXXH64)
				require.Equal(t, xxhash.Sum64(content), closed.XXH64, "the fast checksum of a local payload")
			} else {
				require.Empty(t, begin.LocalPath)
				require.False(t, begin.SendsXXH64)
				require.Zero(t, closed.XXH64)
				require.True(t, bytes.Equal(content, streamed.Bytes()), "streamed bytes differ")
			}
		})
	}
}

func TestWithinRoots(t *testing.T) {
	t.Parallel()
	roots := []string{"/data/inbox", "/data/export.tsv", "relative/dir"}
	for path, want := range map[string]bool{
		"/data/inbox":              true,
		"/data/inbox/a.tsv":        true,
		"/data/inbox/2026/b.tsv":   true,
		"/data/export.tsv":         true,
		"/data/export.tsv/x":       true, // a file has no children; harmless
		"/data/inbox2/a.tsv":       false,
		"/data/other.tsv":          false,
		"/data/inbox/../x.tsv":     false, // not clean
		"/data":                    false,
		"relative/dir/a.tsv":       false, // not absolute
		"/relative/dir/a.tsv":      false,
		"/data/inbox/..hidden.tsv": true,
	} {
		require.Equal(t, want, sdk.WithinRoots(path, roots), path)
	}
}

// A host that offers a batch channel to a plugin without one (an older SDK)
// gets its batches inline; a plugin with one whose host does not offer it
// sends them inline too.
func TestGRPCReadChannelOnOneSide(t *testing.T) {
	t.Parallel()
	t.Run("host only", func(t *testing.T) {
		t.Parallel()
		src, _ := connect(t, newShim)
		host, pluginEnd, err := sdk.NewBatchChannel()
		require.NoError(t, err)
		pluginEnd.Close()
		src.SetBatchChannel(host)
		rs := testGRPCRead(t, src)
		offered, onChannel := rs.BatchChannel()
		require.True(t, offered)
		require.Zero(t, onChannel, "a plugin without the channel sends its batches inline")
		_, err = host.Read(make([]byte, 1))
		require.ErrorIs(t, err, net.ErrClosed, "the Read's end closes the channel")
	})
	t.Run("plugin only", func(t *testing.T) {
		t.Parallel()
		src := connectChannel(t, newShim)
		rs := testGRPCRead(t, src) // takes the channel
		offered, onChannel := rs.BatchChannel()
		require.True(t, offered)
		require.EqualValues(t, 2*(len(payloadSizes)-1), onChannel, "every batch came on the channel")
		rs = testGRPCRead(t, src) // offers none: the channel served one Read
		offered, onChannel = rs.BatchChannel()
		require.False(t, offered)
		require.Zero(t, onChannel)
	})
}

// floodSource sends batches until sending fails, then reports the error.
type floodSource struct {
	sdk.UnimplementedSource
	done chan error
}

func (s floodSource) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	bb := sdk.NewBatchBuilder("plays", testStream.Schema)
	for {
		bb.Reset("plays", "")
		for r := range 4096 {
			bb.AppendString(0, fmt.Appendf(nil, "track %d", r))
			bb.AppendInt64(1, int64(r))
			bb.AppendInt32(2, int32(r))
			bb.AppendInt64(3, int64(r))
			bb.EndRow()
		}
		if err := out.Batch(bb.Batch()); err != nil {
			s.done <- err
			return err
		}
	}
}

// A host that cancels a Read and stops reading the channel does not leave
// the plugin blocked writing to it.
func TestGRPCReadChannelCancelUnblocksPlugin(t *testing.T) {
	t.Parallel()
	done := make(chan error, 1)
	src := connectChannel(t, func() sdk.Source { return floodSource{done: done} })
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := src.Read(ctx, sdk.ReadRequest{})
	require.NoError(t, err)
	m, err := rs.Recv()
	require.NoError(t, err)
	require.NotNil(t, m.Batch)
	require.Equal(t, "track 4095", m.Batch.Columns[0].String(4095))
	cancel()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the plugin is still blocked sending batches after the host cancelled the Read")
	}
}
