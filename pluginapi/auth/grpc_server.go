package auth

import (
	"context"
	"time"

	authv1 "github.com/metastore/metastore/pluginapi/auth/proto/v1"
)

// grpcServer serves a Provider over the plugin protocol.
type grpcServer struct {
	authv1.UnimplementedAuthProviderServer
	impl Provider
}

// NewGRPCServer returns the server shim of impl.
func NewGRPCServer(impl Provider) authv1.AuthProviderServer { return &grpcServer{impl: impl} }

func (s *grpcServer) Info(ctx context.Context, _ *authv1.InfoRequest) (*authv1.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &authv1.InfoResponse{Name: info.Name, Version: info.Version, Capabilities: info.Capabilities}, nil
}

func (s *grpcServer) Authenticate(ctx context.Context, r *authv1.AuthenticateRequest) (*authv1.AuthenticateResponse, error) {
	resp, err := s.impl.Authenticate(ctx, AuthenticateRequest{User: r.GetUser(), Password: r.GetPassword()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &authv1.AuthenticateResponse{Identity: identityToWire(resp.Identity)}, nil
}

func (s *grpcServer) VerifyToken(ctx context.Context, r *authv1.VerifyTokenRequest) (*authv1.VerifyTokenResponse, error) {
	resp, err := s.impl.VerifyToken(ctx, VerifyTokenRequest{Token: r.GetToken()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &authv1.VerifyTokenResponse{Identity: identityToWire(resp.Identity)}, nil
}

func identityToWire(id Identity) *authv1.Identity {
	w := &authv1.Identity{User: id.User, Groups: id.Groups, AuthRevision: id.AuthRevision}
	if !id.Expires.IsZero() {
		w.ExpiresUnixNano = id.Expires.UnixNano()
	}
	return w
}

func identityFromWire(w *authv1.Identity) Identity {
	id := Identity{User: w.GetUser(), Groups: w.GetGroups(), AuthRevision: w.GetAuthRevision()}
	if n := w.GetExpiresUnixNano(); n != 0 {
		id.Expires = time.Unix(0, n)
	}
	return id
}
