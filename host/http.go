package host

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/soheilhy/cmux"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/metrics"
)

// httpShutdownTimeout bounds how long in-flight HTTP requests may take to
// finish at stop; long-lived streams (an HTTP watch) are cut after it.
const httpShutdownTimeout = 2 * time.Second

// clientHTTP serves HTTP next to gRPC on every client listener, as etcd
// does: each connection is routed by its first bytes, HTTP/2 to the gRPC
// server and HTTP/1 to the HTTP handler (metrics, health, version and the
// JSON gateway). It also serves metrics and health on --listen-metrics-urls.
type clientHTTP struct {
	lg         *zap.Logger
	srv        *http.Server
	muxes      []cmux.CMux
	gateway    *grpcGateway
	metricsSrv *http.Server
	metricsLis []net.Listener
	stopc      chan struct{}
}

// serveHTTP starts routing each of lis between gs and the HTTP handler, and
// serves the metrics URLs. gs must have its services registered.
func serveHTTP(lg *zap.Logger, cfg config.Config, m *Member, mm *metrics.Registry, gs *grpc.Server, lis []net.Listener) (*clientHTTP, error) {
	h := &clientHTTP{lg: lg, stopc: make(chan struct{})}
	gateway, err := newGRPCGateway(lg.Named("grpc-gateway"), cfg, lis[0].Addr(), m.api.AuthEnabled)
	if err != nil {
		return nil, err
	}
	h.gateway = gateway
	hc := &healthChecker{lg: lg, m: m, metrics: mm.Health}
	mux := http.NewServeMux()
	mux.Handle("/metrics", mm.Handler())
	hc.install(mux)
	servePprof(lg, &cfg, mux)
	mux.Handle("/v3/", gateway.handler)
	h.srv = newHTTPServer(lg, rewriteV3beta(mux))
	h.srv.ConnContext = withTLSState
	if err := h.serveMetricsURLs(cfg, mm, hc); err != nil {
		h.gateway.close()
		return nil, err
	}
	// HTTP/2 carries both gRPC and, from clients such as curl on an https
	// URL, the JSON gateway: as etcd, a connection goes to gRPC by its
	// first request's content-type. The matcher answers with SETTINGS
	// first, as some gRPC clients wait for them before sending headers.
	// The HTTP server then speaks HTTP/2 without TLS of its own (TLS, if
	// any, was ended by the listener under the mux), on connections that
	// hide the mux's SETTINGS from it (http2conn.go).
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	h.srv.Protocols = &protocols
	h.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: cfg.HTTP2MaxStreams()}
	for _, l := range lis {
		cm := cmux.New(l)
		httpL := cm.Match(cmux.HTTP1())
		grpcL := cm.MatchWithWriters(cmux.HTTP2MatchHeaderFieldPrefixSendSettings("content-type", "application/grpc"))
		h2L := cm.Match(cmux.Any())
		h.muxes = append(h.muxes, cm)
		go h.run("http", func() error { return h.srv.Serve(httpL) })
		go h.run("http2", func() error { return h.srv.Serve(muxSettingsAckListener{h2L}) })
		go h.run("grpc", func() error { return gs.Serve(grpcL) })
		go h.run("cmux", cm.Serve)
	}
	mm.Observe(h.stopc)
	return h, nil
}

// serveMetricsURLs serves /metrics and the health endpoints on
// --listen-metrics-urls, if any.
func (h *clientHTTP) serveMetricsURLs(cfg config.Config, mm *metrics.Registry, hc *healthChecker) error {
	if strings.TrimSpace(cfg.ListenMetricsURLs) == "" {
		return nil
	}
	urls, err := config.ParseURLs(cfg.ListenMetricsURLs)
	if err != nil {
		return err
	}
	for _, u := range urls {
		l, err := listenClientURL(h.lg, &cfg, u)
		if err != nil {
			h.closeMetrics()
			return err
		}
		h.metricsLis = append(h.metricsLis, l)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", mm.Handler())
	hc.install(mux)
	h.metricsSrv = newHTTPServer(h.lg, mux)
	for _, l := range h.metricsLis {
		go h.run("metrics", func() error { return h.metricsSrv.Serve(l) })
	}
	return nil
}

func newHTTPServer(lg *zap.Logger, handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Minute,
		ErrorLog:          zap.NewStdLog(lg.WithOptions(zap.IncreaseLevel(zap.ErrorLevel))),
	}
}

// rewriteV3beta serves the old /v3beta/ paths as /v3/, as etcd does.
func rewriteV3beta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/v3beta/"); ok {
			r.URL.Path = "/v3/" + rest
		}
		next.ServeHTTP(w, r)
	})
}

func (h *clientHTTP) run(what string, serve func() error) {
	err := serve()
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, cmux.ErrServerClosed) &&
		!errors.Is(err, cmux.ErrListenerClosed) && !errors.Is(err, net.ErrClosed) {
		h.lg.Debug("client listener stopped", zap.String("server", what), zap.Error(err))
	}
}

// shutdown lets in-flight HTTP requests finish (bounded by
// httpShutdownTimeout); the listeners must be closed already, so no new
// connection arrives. gRPC keeps serving meanwhile: gateway requests go
// through it.
func (h *clientHTTP) shutdown() {
	close(h.stopc)
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		_ = h.srv.Close()
	}
}

// close stops what shutdown left: the gateway connection, the cmuxes and
// the metrics URLs.
func (h *clientHTTP) close() {
	h.gateway.close()
	for _, cm := range h.muxes {
		cm.Close()
	}
	h.closeMetrics()
}

func (h *clientHTTP) closeMetrics() {
	if h.metricsSrv != nil {
		_ = h.metricsSrv.Close()
	}
	for _, l := range h.metricsLis {
		_ = l.Close()
	}
}
