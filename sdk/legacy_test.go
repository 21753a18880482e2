package sdk_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

// legacySource serves Read as a plugin built before payload digests were
// BLAKE3 does: PayloadBegin names no digest algorithm and PayloadClose
// carries the SHA-256 alone.
type legacySource struct {
	sourcev1.UnimplementedSourceServiceServer
	data []byte
}

func (s legacySource) Read(_ *sourcev1.ReadRequest, stream grpc.ServerStreamingServer[sourcev1.ReadResponse]) error {
	sum := sha256.Sum256(s.data)
	for _, m := range []*sourcev1.ReadResponse{
		{Message: &sourcev1.ReadResponse_PayloadBegin{PayloadBegin: &sourcev1.PayloadBegin{Id: "p1", Name: "old.tsv"}}},
		{Message: &sourcev1.ReadResponse_PayloadChunk{PayloadChunk: &sourcev1.PayloadChunk{Id: "p1", Data: s.data}}},
		{Message: &sourcev1.ReadResponse_PayloadClose{PayloadClose: &sourcev1.PayloadClose{Id: "p1", Size: int64(len(s.data)), Sha256: hex.EncodeToString(sum[:])}}},
	} {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// legacyPlugin serves legacySource and gives the host the SDK's client.
type legacyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	client plugin.GRPCPlugin
	src    legacySource
}

func (p legacyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	sourcev1.RegisterSourceServiceServer(s, p.src)
	return nil
}

func (p legacyPlugin) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return p.client.GRPCClient(ctx, b, c)
}

// The host reads an older plugin's payload digest as the SHA-256 it is.
func TestLegacyPayloadDigestIsSHA256(t *testing.T) {
	t.Parallel()
	sdkSet := sdk.PluginSets(sdk.Plugin{Spec: testSpec, NewSource: func() sdk.Source { return nil }})[sdk.ProtocolVersion]
	data := []byte("Reporting Date\tSale Month\n2025-01-01\t2024-11\n")
	client, server := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{
		sdk.KindSource: legacyPlugin{client: sdkSet[sdk.KindSource].(plugin.GRPCPlugin), src: legacySource{data: data}},
	})
	t.Cleanup(func() { server.Stop(); _ = client.Close() })
	raw, err := client.Dispense(sdk.KindSource)
	require.NoError(t, err)
	rs, err := raw.(*sdk.SourceClient).Read(context.Background(), sdk.ReadRequest{})
	require.NoError(t, err)
	var begin *sdk.PayloadBegin
	var closed *sdk.PayloadClose
	for {
		m, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if m.PayloadBegin != nil {
			begin = m.PayloadBegin
		}
		if m.PayloadClose != nil {
			closed = m.PayloadClose
		}
	}
	require.Equal(t, digest.SHA256, begin.DigestAlgorithm)
	sum := sha256.Sum256(data)
	require.Equal(t, hex.EncodeToString(sum[:]), closed.Digest)
	h, err := digest.For(closed.Digest)
	require.NoError(t, err)
	h.Write(data)
	require.Equal(t, closed.Digest, h.String(), "the host checks it with SHA-256")
}
