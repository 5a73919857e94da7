package httpapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/http"

	gw "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/tmc/grpc-websocket-proxy/wsproxy"
	etcdgw "go.etcd.io/etcd/api/v3/etcdserverpb/gw"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/metastore/metastore/host/tlsconf"
)

// grpcGateway is etcd's HTTP/JSON API (/v3/kv/range, /v3/watch, ...): the
// same generated gateway etcd serves, talking to this member's own gRPC
// server over a loopback connection, as etcd's does, so that requests see
// exactly the gRPC API's behaviour, errors and auth.
type grpcGateway struct {
	conn    *grpc.ClientConn
	handler http.Handler
}

// newGRPCGateway connects to the gRPC server listening on addr, the first
// of --listen-client-urls, which serves tc (nil: plain text); with
// clientCertAuth, authEnabled tells whether auth is on.
func newGRPCGateway(lg *zap.Logger, tc *tls.Config, addr net.Addr, clientCertAuth bool, authEnabled func() bool) (*grpcGateway, error) {
	creds := gatewayCredentials(tc)
	target := loopbackTarget(addr)
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, fmt.Errorf("grpc gateway: connect to %s: %w", target, err)
	}
	// etcd's marshaling: proto field names, unset fields left out, unknown
	// request fields ignored.
	mux := gw.NewServeMux(gw.WithMarshalerOption(gw.MIMEWildcard, &gw.HTTPBodyMarshaler{
		Marshaler: &gw.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		},
	}))
	for _, register := range []func(context.Context, *gw.ServeMux, *grpc.ClientConn) error{
		etcdgw.RegisterKVHandler,
		etcdgw.RegisterWatchHandler,
		etcdgw.RegisterLeaseHandler,
		etcdgw.RegisterClusterHandler,
		etcdgw.RegisterMaintenanceHandler,
		etcdgw.RegisterAuthHandler,
	} {
		if err := register(context.Background(), mux, conn); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("grpc gateway: %w", err)
		}
	}
	// Streams (watch, lease keep-alive) also work over websockets; a
	// websocket request is always a POST to the gateway.
	h := wsproxy.WebsocketProxy(mux,
		wsproxy.WithRequestMutator(func(_ *http.Request, out *http.Request) *http.Request {
			out.Method = http.MethodPost
			return out
		}),
		wsproxy.WithMaxRespBodyBufferSize(math.MaxInt32),
		wsproxy.WithLogger(wsproxyLogger{lg}),
	)
	if clientCertAuth {
		h = refuseNamedCertificates(h, authEnabled)
	}
	return &grpcGateway{conn: conn, handler: h}, nil
}

// refuseNamedCertificates refuses, with etcd's status and text, gateway
// requests over TLS whose verified client certificate has a common name,
// while auth is on: the gateway cannot pass the certificate on, so the name
// would silently not be the request's user.
func refuseNamedCertificates(next http.Handler, authEnabled func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := requestTLS(r); st != nil && authEnabled() {
			for _, chain := range st.VerifiedChains {
				if len(chain) > 0 && chain[0].Subject.CommonName != "" {
					http.Error(w, "CommonName of client sending a request against gateway will be ignored and not used as expected", http.StatusBadRequest)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gatewayCredentials are how the gateway reaches the member's gRPC server
// on the first client URL, which serves tc: in plain text on an http or
// unix URL (tc nil); on an https or unixs URL over TLS, presenting the
// member's own certificate (which --client-cert-auth then requires to be
// valid for client auth, as etcd's gateway does) and trusting the member
// it dials without checking its certificate's names, since it dials its
// own listener; with the listener's TLS versions and cipher suites, as
// etcd's gateway. The certificate names no user: the member ignores the
// client certificate of gateway requests and takes their identity from
// their token.
func gatewayCredentials(tc *tls.Config) credentials.TransportCredentials {
	if tc == nil {
		return insecure.NewCredentials()
	}
	dial := &tls.Config{
		Certificates:       tc.Certificates,
		MinVersion:         tc.MinVersion,
		MaxVersion:         tc.MaxVersion,
		CipherSuites:       tc.CipherSuites,
		InsecureSkipVerify: true, // its own loopback listener
	}
	return credentials.NewTLS(dial)
}

// tlsStateKey is the context key of a request's TLS connection state.
type tlsStateKey struct{}

// withTLSState is the HTTP server's ConnContext: net/http fills in a
// request's TLS state only for a *tls.Conn, and connections reach it
// wrapped by the connection multiplexer, so it is kept in the context.
func withTLSState(ctx context.Context, c net.Conn) context.Context {
	if tc := tlsconf.ConnOf(c); tc != nil {
		return context.WithValue(ctx, tlsStateKey{}, tc)
	}
	return ctx
}

// requestTLS returns the TLS state of the connection r came on, or nil.
func requestTLS(r *http.Request) *tls.ConnectionState {
	if r.TLS != nil {
		return r.TLS
	}
	if tc, ok := r.Context().Value(tlsStateKey{}).(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// withRequestTLS sets each request's TLS field from the connection it came
// on, which the connection multiplexer hides from net/http.
func withRequestTLS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r.TLS = requestTLS(r)
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackTarget turns a listener's address into one to dial: a wildcard
// host becomes the loopback address; a unix socket is dialled at its path.
func loopbackTarget(addr net.Addr) string {
	if addr.Network() == "unix" {
		return "unix:" + addr.String()
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "passthrough:///" + net.JoinHostPort(host, port)
}

func (g *grpcGateway) close() { _ = g.conn.Close() }

// wsproxyLogger passes the websocket proxy's logs to zap.
type wsproxyLogger struct{ lg *zap.Logger }

func (l wsproxyLogger) Warnln(args ...any)  { l.lg.Warn(fmt.Sprint(args...)) }
func (l wsproxyLogger) Debugln(args ...any) { l.lg.Debug(fmt.Sprint(args...)) }
