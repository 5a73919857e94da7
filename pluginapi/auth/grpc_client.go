package auth

import (
	"context"

	"google.golang.org/grpc"

	authv1 "github.com/metastore/metastore/pluginapi/auth/proto/v1"
)

// grpcClient is a Provider reached over the plugin protocol.
type grpcClient struct{ c authv1.AuthProviderClient }

var _ Provider = grpcClient{}

// NewGRPCClient returns the client shim over cc: a Provider whose errors
// are the sentinels the remote provider returned.
func NewGRPCClient(cc grpc.ClientConnInterface) Provider {
	return grpcClient{c: authv1.NewAuthProviderClient(cc)}
}

func (g grpcClient) Info(ctx context.Context) (InfoResponse, error) {
	r, err := g.c.Info(ctx, &authv1.InfoRequest{})
	if err != nil {
		return InfoResponse{}, fromStatus(ctx, err)
	}
	return InfoResponse{Name: r.GetName(), Version: r.GetVersion(), Capabilities: r.GetCapabilities()}, nil
}

func (g grpcClient) Authenticate(ctx context.Context, req AuthenticateRequest) (AuthenticateResponse, error) {
	r, err := g.c.Authenticate(ctx, &authv1.AuthenticateRequest{User: req.User, Password: req.Password})
	if err != nil {
		return AuthenticateResponse{}, fromStatus(ctx, err)
	}
	return AuthenticateResponse{Identity: identityFromWire(r.GetIdentity())}, nil
}

func (g grpcClient) VerifyToken(ctx context.Context, req VerifyTokenRequest) (VerifyTokenResponse, error) {
	r, err := g.c.VerifyToken(ctx, &authv1.VerifyTokenRequest{Token: req.Token})
	if err != nil {
		return VerifyTokenResponse{}, fromStatus(ctx, err)
	}
	return VerifyTokenResponse{Identity: identityFromWire(r.GetIdentity())}, nil
}
