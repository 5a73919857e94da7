package host

import (
	"time"

	"google.golang.org/grpc"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/plugin"
	"github.com/metastore/metastore/pluginapi/auth"
)

// authConfig is the member's authentication settings of c; p is the auth
// provider plugin, or nil.
func authConfig(c *config.Config, p *plugin.AuthProvider) etcdapi.AuthConfig {
	var provider auth.Provider // a nil *plugin.AuthProvider stays a nil interface
	if p != nil {
		provider = p
	}
	return etcdapi.AuthConfig{
		Token: etcdapi.TokenOptions{
			Spec:      c.AuthToken,
			SimpleTTL: time.Duration(c.AuthTokenTTL) * time.Second,
		},
		BcryptCost:     c.BcryptCost,
		ClientCertAuth: c.ClientCertAuth,
		Provider:       provider,
	}
}

// authServerOptions are the gRPC server options authentication adds: the
// TLS state of each connection, and the checks etcd makes at its gRPC
// layer, after the metrics interceptors so refused calls are counted.
func authServerOptions(api *etcdapi.Server) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(handshakenTLS{}),
		grpc.ChainUnaryInterceptor(api.AuthUnaryInterceptor()),
		grpc.ChainStreamInterceptor(api.AuthStreamInterceptor()),
	}
}
