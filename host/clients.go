package host

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/metastore/metastore/etcdapi/codec"
	"github.com/metastore/metastore/host/metrics"
)

// grpcOverheadBytes is the room gRPC framing gets above --max-request-bytes,
// as etcd allows, so that a request just under the limit is not cut off by
// the transport before the server can answer "request is too large".
const grpcOverheadBytes = 512 * 1024

// clientListeners serves the client API on every --listen-client-urls.
type clientListeners struct {
	lg      *zap.Logger
	server  *grpc.Server
	health  *health.Server
	lis     []net.Listener
	schemes []string // of each listener's URL
	http    *clientHTTP
}

// serveClients serves m's gRPC API and, on the same ports, its HTTP
// endpoints.
func serveClients(lg *zap.Logger, cfg Config, m *Member) (*clientListeners, error) {
	urls, err := parseClientURLs(cfg.ListenClientURLs)
	if err != nil {
		return nil, err
	}
	mm := m.newMetrics()
	c := &clientListeners{lg: lg, server: newGRPCServer(cfg, lg, mm, slices.Concat(mm.Requests.ServerOptions(), auditServerOptions(m.audit, m.api), authServerOptions(m.api))...), health: health.NewServer()}
	for _, u := range urls {
		l, err := listenClientURL(lg, cfg, u)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.lis = append(c.lis, l)
		c.schemes = append(c.schemes, u.Scheme)
	}
	api := m.api
	pb.RegisterKVServer(c.server, api.KV())
	pb.RegisterMaintenanceServer(c.server, api.Maintenance())
	pb.RegisterWatchServer(c.server, api.Watch())
	pb.RegisterLeaseServer(c.server, api.Lease())
	pb.RegisterClusterServer(c.server, api.Cluster())
	pb.RegisterAuthServer(c.server, api.Auth())
	healthpb.RegisterHealthServer(c.server, c.health)
	c.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	mm.GRPC.InitializeMetrics(c.server)
	c.http, err = serveHTTP(lg, cfg, m, mm, c.server, c.lis)
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func newGRPCServer(cfg Config, lg *zap.Logger, mm *metrics.Registry, extra ...grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(mm.GRPC.UnaryServerInterceptor(), slowReadInterceptor(lg, cfg.warningApplyDuration())),
		grpc.ChainStreamInterceptor(mm.GRPC.StreamServerInterceptor()),
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes + grpcOverheadBytes),
		grpc.MaxSendMsgSize(math.MaxInt32),
		// etcd's messages, the large and frequent replies written without
		// protobuf's reflection (etcdapi/codec).
		grpc.ForceServerCodecV2(codec.New()),
	}, slices.Concat(cfg.grpcServerOptions(), extra)...)...)
}

func (c *clientListeners) urls() []string {
	out := make([]string, len(c.lis))
	for i, l := range c.lis {
		out[i] = c.schemes[i] + "://" + l.Addr().String()
	}
	return out
}

// stop marks the member NOT_SERVING, stops accepting connections, lets
// in-flight HTTP requests and then gRPC calls finish for a moment, then
// closes every connection.
func (c *clientListeners) stop() {
	c.health.Shutdown()
	for _, l := range c.lis {
		_ = l.Close()
	}
	if c.http != nil {
		c.http.shutdown()
	}
	done := make(chan struct{})
	go func() {
		c.server.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		c.server.Stop()
	}
	if c.http != nil {
		c.http.close()
	}
}

// parseClientURLs parses --listen-client-urls or --advertise-client-urls:
// http and https URLs with a host and a port, or, as etcd, unix and unixs
// URLs whose host and path name a unix socket (unix://localhost:2379 is
// the socket "localhost:2379" in the working directory).
func parseClientURLs(s string) ([]url.URL, error) {
	var out []url.URL
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		switch u.Scheme {
		case "http", "https":
			one, err := parseURLs(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, one...)
		case "unix", "unixs":
			if u.Host+u.Path == "" {
				return nil, fmt.Errorf("URL %q: a unix socket path is required", raw)
			}
			out = append(out, *u)
		default:
			return nil, fmt.Errorf("URL %q: scheme %q is not supported (use http, https, unix or unixs)", raw, u.Scheme)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no URL given")
	}
	return out, nil
}
