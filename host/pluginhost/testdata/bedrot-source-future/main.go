// Command bedrot-source-future is a test plugin that speaks only a future
// protocol version (2), to test the host's version-mismatch error.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	hs := sdk.Handshake
	hs.ProtocolVersion = 2
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]plugin.PluginSet{2: sdk.PluginSets(sdk.Plugin{Spec: sdk.Spec{Name: "future", Version: "2.0.0"}})[sdk.ProtocolVersion]},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
