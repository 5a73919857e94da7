package host

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"

	gw "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/tmc/grpc-websocket-proxy/wsproxy"
	etcdgw "go.etcd.io/etcd/api/v3/etcdserverpb/gw"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
)

// grpcGateway is etcd's HTTP/JSON API (/v3/kv/range, /v3/watch, ...): the
// same generated gateway etcd serves, talking to this member's own gRPC
// server over a loopback connection, as etcd's does, so that requests see
// exactly the gRPC API's behaviour, errors and auth.
type grpcGateway struct {
	conn    *grpc.ClientConn
	handler http.Handler
}

// newGRPCGateway connects to the gRPC server listening on addr.
func newGRPCGateway(lg *zap.Logger, addr net.Addr) (*grpcGateway, error) {
	target := loopbackTarget(addr)
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
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
	return &grpcGateway{conn: conn, handler: h}, nil
}

// loopbackTarget turns a listener's address into one to dial: a wildcard
// host becomes the loopback address.
func loopbackTarget(addr net.Addr) string {
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
