package host

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/version"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/metastore/metastore/etcdapi/codec"
	"github.com/metastore/metastore/host/audit"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/console"
	"github.com/metastore/metastore/host/health"
	"github.com/metastore/metastore/host/httpapi"
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
	health  *grpchealth.Server
	lis     []net.Listener
	schemes []string // of each listener's URL
	http    *httpapi.Server
	// stopMetrics stops the metrics' observation of the member's parts.
	stopMetrics chan struct{}
}

// serveClients serves m's gRPC API and, on the same ports, its HTTP
// endpoints.
func serveClients(lg *zap.Logger, cfg config.Config, m *Member) (*clientListeners, error) {
	urls, err := config.ParseClientURLs(cfg.ListenClientURLs)
	if err != nil {
		return nil, err
	}
	mm := m.newMetrics()
	c := &clientListeners{lg: lg, server: newGRPCServer(cfg, lg, mm, slices.Concat(m.tracing.ServerOptions(), audit.ServerOptions(m.audit, m.api), authServerOptions(m.api))...), health: grpchealth.NewServer()}
	for _, u := range urls {
		l, err := listenClientURL(lg, &cfg, u)
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
	c.http, err = serveHTTP(lg, &cfg, m, mm, c.server, c.lis)
	if err != nil {
		c.stop()
		return nil, err
	}
	c.stopMetrics = make(chan struct{})
	mm.Observe(c.stopMetrics)
	return c, nil
}

// serveHTTP serves m's HTTP endpoints on lis, next to the gRPC server
// gs, and on the metrics URLs.
func serveHTTP(lg *zap.Logger, cfg *config.Config, m *Member, mm *metrics.Registry, gs *grpc.Server, lis []net.Listener) (*httpapi.Server, error) {
	gatewayTLS, err := gatewayTLS(cfg)
	if err != nil {
		return nil, fmt.Errorf("grpc gateway: %w", err)
	}
	var metricsURLs []url.URL
	if strings.TrimSpace(cfg.ListenMetricsURLs) != "" {
		if metricsURLs, err = config.ParseURLs(cfg.ListenMetricsURLs); err != nil {
			return nil, err
		}
	}
	if cfg.EnablePprof {
		lg.Info("pprof is enabled", zap.String("path", httpapi.PprofPrefix))
	}
	hc := health.New(health.Config{
		Logger: lg,
		Status: func() (uint64, bool) {
			st := m.node.Status()
			return st.Leader, st.IsLearner
		},
		KV:             m.api.KV(),
		Alarms:         m.api,
		RequestTimeout: cfg.RequestTimeout(),
		Metrics:        mm.Health,
		Versions:       version.Versions{Server: APIVersion, Cluster: clusterVersion, Storage: storageVersion},
	})
	return httpapi.Serve(httpapi.Config{
		Logger:      lg,
		GRPC:        gs,
		Listeners:   lis,
		MetricsURLs: metricsURLs,
		Listen:      func(u url.URL) (net.Listener, error) { return listenClientURL(lg, cfg, u) },
		Metrics:     mm.Handler(),
		Health:      hc.Install,
		// As etcd, --log-level=debug serves the profiles too.
		Pprof:                cfg.EnablePprof || cfg.LogLevel == "debug",
		MaxConcurrentStreams: cfg.HTTP2MaxStreams(),
		GatewayTLS:           gatewayTLS,
		ClientCertAuth:       cfg.ClientCertAuth,
		AuthEnabled:          m.api.AuthEnabled,
		Console:              consoleHandler(lg, cfg),
	})
}

// streamWorkers is how many goroutines serve calls on the client gRPC
// server. gRPC hands calls to idle workers in turn, and the garbage
// collector shrinks an idle worker's stack, which the next call grows
// again: the more workers, the more stacks regrown. Measured on 2 cores,
// CPU per call: 64 workers cost a linearizable range 28 µs and a put
// under 500 clients 50 µs; 192 workers 31 and 49; 512 workers 34 and 47.
// 128 covers the hundred-odd concurrent calls of most clients; calls
// beyond it get a goroutine of their own.
const streamWorkers = 128

// consoleHandler returns the web console's constructor, nil when
// --enable-console is off.
func consoleHandler(lg *zap.Logger, cfg *config.Config) func(http.Handler) http.Handler {
	if !cfg.EnableConsole {
		return nil
	}
	catalog := slices.Clone(cfg.Plugins)
	members := &http.Client{Timeout: 3 * time.Second}
	if f, err := clientTLS(zap.NewNop(), cfg); err == nil && !f.Empty() {
		if tc, err := f.Client(); err == nil {
			members.Transport = &http.Transport{TLSClientConfig: tc}
		}
	}
	return func(gateway http.Handler) http.Handler {
		return console.New(console.Config{
			Logger:  lg.Named("console"),
			API:     gateway,
			Catalog: func() []config.PluginEntry { return liveCatalog(catalog) },
			Members: members,
		})
	}
}

func newGRPCServer(cfg config.Config, lg *zap.Logger, mm *metrics.Registry, extra ...grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(mm.UnaryInterceptor(), slowReadInterceptor(lg, cfg.SlowApplyThreshold())),
		grpc.ChainStreamInterceptor(mm.StreamInterceptor()),
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes + grpcOverheadBytes),
		// Calls run on goroutines that stay, with the stacks they grew,
		// instead of a new goroutine per call: growing a fresh stack to
		// the depth of a put's handlers took about 6% of its CPU. Calls
		// beyond the workers get their own goroutine, as without them.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.MaxSendMsgSize(math.MaxInt32),
		// Fixed flow-control windows, 1 MiB a stream and 16 MiB a
		// connection (gRPC starts at 64 KiB and grows them up to 16 MiB
		// by measuring bandwidth), turn off gRPC's bandwidth estimator,
		// which pings the client, and reads its ack, after nearly every
		// request of a client that waits for each answer. Measured on
		// one member, in interleaved runs beside the same load
		// generator: for a lone client's puts the generator's CPU per put
		// fell from 338–358 µs to 290–318 µs (it answers fewer pings);
		// the puts per second and the server's CPU did not move beyond
		// the runs' spread. A stream holds at most 1 MiB its handler has
		// not read, where the estimator could grow that to 16 MiB.
		grpc.InitialWindowSize(1 << 20),
		grpc.InitialConnWindowSize(1 << 24),
		// etcd's messages, the large and frequent replies written without
		// protobuf's reflection (etcdapi/codec).
		grpc.ForceServerCodecV2(codec.New(mm.Requests.PayloadCounters())),
	}, slices.Concat(grpcServerOptions(&cfg.ServerConfig), extra)...)...)
}

// grpcServerOptions are the client gRPC server's stream limit and
// keepalives. As etcd, a zero min time keeps gRPC's enforcement policy,
// and a zero interval or timeout gRPC's keepalive parameters.
func grpcServerOptions(c *config.ServerConfig) []grpc.ServerOption {
	opts := []grpc.ServerOption{grpc.MaxConcurrentStreams(uint32(c.MaxConcurrentStreams))}
	if c.GRPCKeepAliveMinTime > 0 {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             c.GRPCKeepAliveMinTime,
			PermitWithoutStream: false,
		}))
	}
	if c.GRPCKeepAliveInterval > 0 && c.GRPCKeepAliveTimeout > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:    c.GRPCKeepAliveInterval,
			Timeout: c.GRPCKeepAliveTimeout,
		}))
	}
	return opts
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
		close(c.stopMetrics)
		c.http.Shutdown()
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
		c.http.Close()
	}
}
