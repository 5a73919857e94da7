package quota

import (
	"context"

	"google.golang.org/grpc"

	quotav1 "github.com/metastore/metastore/pluginapi/quota/proto/v1"
)

// grpcClient is a Policy reached over the plugin protocol. It is also a
// Configurer: a policy that takes no configuration answers Configure with
// ErrNotSupported.
type grpcClient struct{ c quotav1.QuotaPolicyClient }

var (
	_ Policy     = grpcClient{}
	_ Configurer = grpcClient{}
)

// NewGRPCClient returns the client shim over cc: a Policy and Configurer
// whose errors are the sentinels the remote policy returned.
func NewGRPCClient(cc grpc.ClientConnInterface) Policy {
	return grpcClient{c: quotav1.NewQuotaPolicyClient(cc)}
}

func (g grpcClient) Info(ctx context.Context) (InfoResponse, error) {
	r, err := g.c.Info(ctx, &quotav1.InfoRequest{})
	if err != nil {
		return InfoResponse{}, fromStatus(ctx, err)
	}
	return InfoResponse{Name: r.GetName(), Version: r.GetVersion(), Capabilities: r.GetCapabilities()}, nil
}

func (g grpcClient) Configure(ctx context.Context, req ConfigureRequest) (ConfigureResponse, error) {
	r, err := g.c.Configure(ctx, &quotav1.ConfigureRequest{Config: req.Config})
	if err != nil {
		return ConfigureResponse{}, fromStatus(ctx, err)
	}
	return ConfigureResponse{Prefixes: r.GetPrefixes()}, nil
}

func (g grpcClient) Check(ctx context.Context, req CheckRequest) (CheckResponse, error) {
	r, err := g.c.Check(ctx, checkRequestToWire(req))
	if err != nil {
		return CheckResponse{}, fromStatus(ctx, err)
	}
	return CheckResponse{Admit: r.GetAdmit(), Alarm: Alarm(r.GetAlarm()), Reason: r.GetReason()}, nil
}
