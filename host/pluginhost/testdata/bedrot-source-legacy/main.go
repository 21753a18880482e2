// Command bedrot-source-legacy is the DistroKid source, named "legacy", as a
// plugin built before payload digests were BLAKE3 would serve it: its
// PayloadBegin names no digest algorithm and its PayloadClose carries the
// payload's SHA-256 instead of a BLAKE3 digest. Like plugins older still,
// it streams the payload's bytes (it ignores the host's local payload
// roots) and sends its batches inline in the gRPC stream, not on the batch
// channel. It also forgets its state (the files it ingested), so that the
// host's own check of the landing digests decides whether an export is new.
// The parsing is today's; a stream interceptor rewrites the messages on
// their way in and out. The host must verify such payloads with SHA-256,
// land them with their SHA-256 as the digest, know them again by it and
// check them with SHA-256 when it scrubs.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

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

// legacyDigests rewrites the messages of a Read stream.
func legacyDigests(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &legacyStream{ServerStream: ss, payloads: map[string]hash.Hash{}})
}

type legacyStream struct {
	grpc.ServerStream
	payloads map[string]hash.Hash // SHA-256 of each open payload, by id
}

func (s *legacyStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if r, ok := m.(*sourcev1.ReadRequest); ok {
		r.State, r.LocalPayloadRoots = nil, nil
	}
	return nil
}

func (s *legacyStream) SendMsg(m any) error {
	r, ok := m.(*sourcev1.ReadResponse)
	if !ok {
		return s.ServerStream.SendMsg(m)
	}
	switch msg := r.Message.(type) {
	case *sourcev1.ReadResponse_PayloadBegin:
		msg.PayloadBegin.DigestAlgorithm = ""
		s.payloads[msg.PayloadBegin.Id] = sha256.New()
	case *sourcev1.ReadResponse_PayloadChunk:
		s.payloads[msg.PayloadChunk.Id].Write(msg.PayloadChunk.Data)
	case *sourcev1.ReadResponse_PayloadClose:
		c := msg.PayloadClose
		c.Sha256, c.Digest = hex.EncodeToString(s.payloads[c.Id].Sum(nil)), ""
		delete(s.payloads, c.Id)
	}
	return s.ServerStream.SendMsg(m)
}
