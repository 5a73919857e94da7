package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/soheilhy/cmux"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// httpShutdownTimeout bounds how long in-flight HTTP requests may take to
// finish at stop; long-lived streams (an HTTP watch) are cut after it.
const httpShutdownTimeout = 2 * time.Second

// Config is what Serve serves, where, and how.
type Config struct {
	Logger *zap.Logger
	// GRPC is the client API's gRPC server, its services registered: the
	// gRPC connections of every client listener go to it.
	GRPC *grpc.Server
	// Listeners are the client listeners (--listen-client-urls); the
	// gateway dials the first.
	Listeners []net.Listener
	// MetricsURLs (--listen-metrics-urls) serve /metrics and the health
	// endpoints alone, on listeners opened by Listen.
	MetricsURLs []url.URL
	Listen      func(url.URL) (net.Listener, error)
	// Metrics serves /metrics; Health installs the health endpoints
	// (/health, /livez, /readyz, /version) on a mux.
	Metrics http.Handler
	Health  func(*http.ServeMux)
	// Pprof serves Go's runtime profiles under PprofPrefix on the client
	// listeners.
	Pprof bool
	// MaxConcurrentStreams is the HTTP/2 stream limit of each connection.
	MaxConcurrentStreams int
	// GatewayTLS is the TLS configuration the first client listener
	// serves, for the gateway to dial it with; nil when it serves plain
	// text (http and unix URLs).
	GatewayTLS *tls.Config
	// ClientCertAuth (--client-cert-auth) and AuthEnabled, which tells
	// whether auth is on, make the gateway refuse requests whose client
	// certificate names a user it cannot pass on.
	ClientCertAuth bool
	AuthEnabled    func() bool
	// Console, when set, returns the web console's handler, served under
	// /ui/, given the JSON gateway it talks to the member through.
	Console func(gateway http.Handler) http.Handler
}

// Server serves HTTP next to gRPC on every client listener, as etcd
// does: each connection is routed by its first bytes, HTTP/2 to the gRPC
// server and HTTP/1 to the HTTP handler (metrics, health, version and the
// JSON gateway). It also serves metrics and health on the metrics URLs.
type Server struct {
	lg         *zap.Logger
	srv        *http.Server
	muxes      []cmux.CMux
	gateway    *grpcGateway
	metricsSrv *http.Server
	metricsLis []net.Listener
}

// Serve starts routing each of c.Listeners between c.GRPC and the HTTP
// handler, and serves the metrics URLs. Stop it with Shutdown, then Close.
func Serve(c Config) (*Server, error) {
	lg := c.Logger
	h := &Server{lg: lg}
	gateway, err := newGRPCGateway(lg.Named("grpc-gateway"), c.GatewayTLS, c.Listeners[0].Addr(), c.ClientCertAuth, c.AuthEnabled)
	if err != nil {
		return nil, err
	}
	h.gateway = gateway
	mux := http.NewServeMux()
	mux.Handle("/metrics", c.Metrics)
	c.Health(mux)
	if c.Pprof {
		registerPprof(mux)
	}
	mux.Handle("/v3/", gateway.handler)
	if c.Console != nil {
		mux.Handle("/ui/", withRequestTLS(c.Console(gateway.handler)))
		mux.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	}
	h.srv = newHTTPServer(lg, rewriteV3beta(mux))
	h.srv.ConnContext = withTLSState
	if err := h.serveMetricsURLs(c); err != nil {
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
	h.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: c.MaxConcurrentStreams}
	for _, l := range c.Listeners {
		cm := cmux.New(l)
		httpL := cm.Match(cmux.HTTP1())
		grpcL := cm.MatchWithWriters(cmux.HTTP2MatchHeaderFieldPrefixSendSettings("content-type", "application/grpc"))
		h2L := cm.Match(cmux.Any())
		h.muxes = append(h.muxes, cm)
		go h.run("http", func() error { return h.srv.Serve(httpL) })
		go h.run("http2", func() error { return h.srv.Serve(muxSettingsAckListener{h2L}) })
		go h.run("grpc", func() error { return c.GRPC.Serve(grpcL) })
		go h.run("cmux", cm.Serve)
	}
	return h, nil
}

// serveMetricsURLs serves /metrics and the health endpoints on the
// metrics URLs, if any.
func (h *Server) serveMetricsURLs(c Config) error {
	if len(c.MetricsURLs) == 0 {
		return nil
	}
	for _, u := range c.MetricsURLs {
		l, err := c.Listen(u)
		if err != nil {
			h.closeMetrics()
			return err
		}
		h.metricsLis = append(h.metricsLis, l)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", c.Metrics)
	c.Health(mux)
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

func (h *Server) run(what string, serve func() error) {
	err := serve()
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, cmux.ErrServerClosed) &&
		!errors.Is(err, cmux.ErrListenerClosed) && !errors.Is(err, net.ErrClosed) {
		h.lg.Debug("client listener stopped", zap.String("server", what), zap.Error(err))
	}
}

// Shutdown lets in-flight HTTP requests finish (bounded by
// httpShutdownTimeout); the listeners must be closed already, so no new
// connection arrives. gRPC keeps serving meanwhile: gateway requests go
// through it.
func (h *Server) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		_ = h.srv.Close()
	}
}

// Close stops what Shutdown left: the gateway connection, the cmuxes and
// the metrics URLs.
func (h *Server) Close() {
	h.gateway.close()
	for _, cm := range h.muxes {
		cm.Close()
	}
	h.closeMetrics()
}

func (h *Server) closeMetrics() {
	if h.metricsSrv != nil {
		_ = h.metricsSrv.Close()
	}
	for _, l := range h.metricsLis {
		_ = l.Close()
	}
}
