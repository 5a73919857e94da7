package auth

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	authv1 "github.com/metastore/metastore/pluginapi/auth/proto/v1"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// ProtocolVersion is the plugin protocol version this package speaks:
// proto/v1.
const ProtocolVersion = 1

// PluginName is the name the provider is dispensed under.
const PluginName = "auth"

// Handshake is the go-plugin handshake of auth provider plugins. The
// cookie is not a secret: it keeps a plugin of another kind from being
// started as an auth provider.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "METASTORE_PLUGIN_AUTH",
	MagicCookieValue: "9b2e6d41c7a84f0e8d35a1c6b07f2e94",
}

// VersionedPlugins returns the go-plugin plugin sets by protocol version.
// A plugin passes its provider; a host passes nil.
func VersionedPlugins(impl Provider) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &pluginrpc.Binding[Provider]{
		Impl:      impl,
		Register:  func(s *grpc.Server, impl Provider) { authv1.RegisterAuthProviderServer(s, NewGRPCServer(impl)) },
		NewClient: func(cc *grpc.ClientConn) any { return NewGRPCClient(cc) },
	}}}
}

// Serve serves impl as an auth provider plugin and returns when the host
// stops the plugin. It is the whole main of a plugin binary:
//
//	func main() { auth.Serve(myprovider.New(...)) }
//
// The plugin logs hclog JSON on stderr and must print nothing on stdout.
func Serve(impl Provider) {
	name := "auth"
	if info, err := impl.Info(context.Background()); err == nil && info.Name != "" {
		name = "auth." + info.Name
	}
	pluginrpc.Serve(pluginrpc.ServeConfig{
		Handshake: Handshake,
		Plugins:   VersionedPlugins(impl),
		Logger:    pluginrpc.NewLogger(name),
		Cleanup:   func() {},
	})
}

// PluginProcess is a running auth provider plugin, as Launch started it.
type PluginProcess struct {
	*pluginrpc.Process
	provider Provider
}

// Launch starts the plugin cfg describes and returns it once its provider
// answers. Kill ends it. A provider whose process died returns
// ErrUnavailable from every call; launch a new one.
func Launch(cfg pluginrpc.ClientConfig) (*PluginProcess, error) {
	cfg.Handshake = Handshake
	cfg.Plugins = VersionedPlugins(nil)
	proc, raw, err := pluginrpc.Launch(cfg, "auth", PluginName)
	if err != nil {
		return nil, err
	}
	return &PluginProcess{Process: proc, provider: raw.(Provider)}, nil
}

// Provider is the plugin's provider.
func (p *PluginProcess) Provider() Provider { return p.provider }
