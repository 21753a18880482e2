// Command bedrot-source-legacy is the DistroKid source, named "legacy", as a
// plugin built before payload digests were BLAKE3 would serve it: its PayloadBegin names
// no digest algorithm and its PayloadClose carries the payload's SHA-256
// (with the XXH64 of a local payload, which came earlier) instead of a
// BLAKE3 digest. The parsing is today's; a stream interceptor rewrites the
// payload messages on their way out. It also sends its batches inline in
// the gRPC stream, as plugins did before the batch channel. The host must
// land such payloads with their SHA-256 as the digest, deduplicate them by
// it and check them with SHA-256 when it scrubs.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/bedrot-label/bedrot/plugins/distrokid"
	"github.com/bedrot-label/bedrot/sdk"
	sourcev1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/source/v1"
)

func main() {
	spec := distrokid.Spec()
	spec.Name, spec.Version = "legacy", "0.0.9"
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.PluginSets(sdk.Plugin{Spec: spec, NewSource: distrokid.NewSource}),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, sdk.ServerOptions()...)
			return grpc.NewServer(append(opts, grpc.StreamInterceptor(legacyDigests))...)
		},
	})
}

// legacyDigests rewrites the payload messages of a Read stream.
func legacyDigests(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &legacyStream{ServerStream: ss, payloads: map[string]*payload{}})
}

type payload struct {
	sum       hash.Hash
	localPath string
}

type legacyStream struct {
	grpc.ServerStream
	payloads map[string]*payload
}

func (s *legacyStream) SendMsg(m any) error {
	r, ok := m.(*sourcev1.ReadResponse)
	if !ok {
		return s.ServerStream.SendMsg(m)
	}
	switch msg := r.Message.(type) {
	case *sourcev1.ReadResponse_PayloadBegin:
		b := msg.PayloadBegin
		b.DigestAlgorithm = ""
		s.payloads[b.Id] = &payload{sum: sha256.New(), localPath: b.LocalPath}
	case *sourcev1.ReadResponse_PayloadChunk:
		s.payloads[msg.PayloadChunk.Id].sum.Write(msg.PayloadChunk.Data)
	case *sourcev1.ReadResponse_PayloadClose:
		c := msg.PayloadClose
		p := s.payloads[c.Id]
		if p.localPath != "" {
			if err := hashFile(p.sum, p.localPath); err != nil {
				return err
			}
		}
		c.Sha256, c.Digest = hex.EncodeToString(p.sum.Sum(nil)), ""
		delete(s.payloads, c.Id)
	}
	return s.ServerStream.SendMsg(m)
}

func hashFile(h hash.Hash, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}
