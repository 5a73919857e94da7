package pluginrpc

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Binding is the go-plugin binding of one plugin kind over gRPC, gRPC
// only: Register serves Impl on the plugin's server, NewClient wraps the
// host's connection in the kind's client shim. Impl is nil on the host.
type Binding[T any] struct {
	plugin.NetRPCUnsupportedPlugin
	Impl      T
	Register  func(*grpc.Server, T)
	NewClient func(*grpc.ClientConn) any
}

var _ plugin.GRPCPlugin = (*Binding[any])(nil)

// GRPCServer registers the server shim for b.Impl.
func (b *Binding[T]) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	b.Register(s, b.Impl)
	return nil
}

// GRPCClient returns the client shim.
func (b *Binding[T]) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return b.NewClient(cc), nil
}
