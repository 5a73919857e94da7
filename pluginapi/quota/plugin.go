package quota

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	quotav1 "github.com/metastore/metastore/pluginapi/quota/proto/v1"
)

// ProtocolVersion is the plugin protocol version this package speaks:
// proto/v1.
const ProtocolVersion = 1

// PluginName is the name the policy is dispensed under.
const PluginName = "quota"

// Handshake is the go-plugin handshake of quota policy plugins. The cookie
// is not a secret: it keeps a plugin of another kind from being started as
// a quota policy.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "METASTORE_PLUGIN_QUOTA",
	MagicCookieValue: "4f1c8a2e9d6b47e3a05c7b18e2d94f60",
}

// VersionedPlugins returns the go-plugin plugin sets by protocol version.
// A plugin passes its policy; a host passes nil.
func VersionedPlugins(impl Policy) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &pluginrpc.Binding[Policy]{
		Impl:      impl,
		Register:  func(s *grpc.Server, impl Policy) { quotav1.RegisterQuotaPolicyServer(s, NewGRPCServer(impl)) },
		NewClient: func(cc *grpc.ClientConn) any { return NewGRPCClient(cc) },
	}}}
}

// Serve serves impl as a quota policy plugin and returns when the host
// stops the plugin. It is the whole main of a plugin binary:
//
//	func main() { quota.Serve(mypolicy.New()) }
//
// The plugin logs hclog JSON on stderr and must print nothing on stdout.
func Serve(impl Policy) {
	name := "quota"
	if info, err := impl.Info(context.Background()); err == nil && info.Name != "" {
		name = "quota." + info.Name
	}
	pluginrpc.Serve(pluginrpc.ServeConfig{
		Handshake: Handshake,
		Plugins:   VersionedPlugins(impl),
		Logger:    pluginrpc.NewLogger(name),
		Cleanup:   func() {},
	})
}

// PluginProcess is a running quota policy plugin, as Launch started it.
type PluginProcess struct {
	*pluginrpc.Process
	policy Policy
}

// Launch starts the plugin cfg describes and returns it once its policy
// answers. Kill ends it. A policy whose process died returns
// ErrUnavailable from every call; launch a new one.
func Launch(cfg pluginrpc.ClientConfig) (*PluginProcess, error) {
	cfg.Handshake = Handshake
	cfg.Plugins = VersionedPlugins(nil)
	proc, raw, err := pluginrpc.Launch(cfg, "quota", PluginName)
	if err != nil {
		return nil, err
	}
	return &PluginProcess{Process: proc, policy: raw.(Policy)}, nil
}

// Policy is the plugin's policy; it is also a Configurer.
func (p *PluginProcess) Policy() Policy { return p.policy }
