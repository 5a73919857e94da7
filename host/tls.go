package host

import (
	"time"

	"google.golang.org/grpc"

	"github.com/metastore/metastore/etcdapi"
)

// authConfig is the member's authentication settings.
func (c *Config) authConfig() etcdapi.AuthConfig {
	return etcdapi.AuthConfig{
		Token: etcdapi.TokenOptions{
			Spec:      c.AuthToken,
			SimpleTTL: time.Duration(c.AuthTokenTTL) * time.Second,
		},
		BcryptCost: c.BcryptCost,
	}
}

// authServerOptions are the gRPC server options authentication adds: the
// checks etcd makes at its gRPC layer, after the metrics interceptors so
// refused calls are counted.
func authServerOptions(api *etcdapi.Server) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(api.AuthUnaryInterceptor()),
		grpc.ChainStreamInterceptor(api.AuthStreamInterceptor()),
	}
}
