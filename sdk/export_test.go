package sdk

import (
	"net"

	"github.com/hashicorp/go-plugin"
)

// PluginSetsWithChannel is PluginSets whose source sends the batches of the
// first Read that asks for it on conn, as a plugin launched with a batch
// channel does.
func PluginSetsWithChannel(p Plugin, conn net.Conn) map[int]plugin.PluginSet {
	sets := PluginSets(p)
	slot := &channelSlot{}
	slot.put(conn)
	sets[ProtocolVersion][KindSource] = &sourceGRPCPlugin{newSource: p.NewSource, channel: slot}
	return sets
}
