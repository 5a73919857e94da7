package storage

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
)

// ProtocolVersion is the plugin protocol version this package speaks:
// proto/v1.
const ProtocolVersion = 1

// PluginName is the name the engine is dispensed under.
const PluginName = "storage"

// Handshake is the go-plugin handshake of storage engine plugins. The
// cookie is not a secret: it keeps a binary of another kind, or a plugin
// run by hand, from being mistaken for a storage engine.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "METASTORE_PLUGIN_STORAGE",
	MagicCookieValue: "4f1c2b9e7a5d4e6f8c3b1a0d9e8f7a6b",
}

// VersionedPlugins returns the go-plugin plugin sets by protocol version.
// A plugin passes its engine; a host passes nil.
func VersionedPlugins(impl Engine) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// GRPCPlugin is the go-plugin binding of Engine over gRPC.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the engine served; nil on the host side.
	Impl Engine
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the server shim for p.Impl.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	storagev1.RegisterStorageServer(s, NewGRPCServer(p.Impl))
	return nil
}

// GRPCClient returns the client shim, an Engine; it implements
// Defragmenter when the engine declares the defrag capability.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return NewGRPCClient(ctx, cc)
}
