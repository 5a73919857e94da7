package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GRPCServer are the gRPC server metrics etcd serves through
// go-grpc-prometheus: grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total and the
// grpc_server_handling_seconds histogram, with their labels, help texts
// and counting rules (a unary call counts its reply as sent even when it
// failed; a stream counts every receive and send it tried).
//
// They are go-grpc-middleware's prometheus provider's metrics, counted
// here because that provider looks each metric up by its label values on
// every call: hashing and checking four labels for five metrics took
// about 6% of a put's CPU under load. Each method's metrics are looked up
// once instead, when the server's methods are known (InitializeMetrics).
type GRPCServer struct {
	started, handled, received, sent *prometheus.CounterVec
	seconds                          *prometheus.HistogramVec

	// methods are the metrics of every method InitializeMetrics saw; it
	// is not written after the server starts serving.
	methods map[string]*methodMetrics
	// others are those of methods found later (a server not initialized).
	mu     sync.Mutex
	others map[string]*methodMetrics
}

// methodMetrics are one method's metrics.
type methodMetrics struct {
	typ, service, method    string
	started, received, sent prometheus.Counter
	seconds                 prometheus.Observer
	handled                 [codes.Unauthenticated + 1]prometheus.Counter // by code
	handledBy               *prometheus.CounterVec                        // codes beyond gRPC's
}

func newGRPCServer() *GRPCServer {
	labels := []string{"grpc_type", "grpc_service", "grpc_method"}
	return &GRPCServer{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_started_total", Help: "Total number of RPCs started on the server.",
		}, labels),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total", Help: "Total number of RPCs completed on the server, regardless of success or failure.",
		}, append(labels[:3:3], "grpc_code")),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_received_total", Help: "Total number of RPC stream messages received on the server.",
		}, labels),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_sent_total", Help: "Total number of gRPC stream messages sent by the server.",
		}, labels),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
			Buckets: prometheus.DefBuckets,
		}, labels),
		methods: map[string]*methodMetrics{},
		others:  map[string]*methodMetrics{},
	}
}

// Describe and Collect make the metrics a prometheus.Collector.
func (g *GRPCServer) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range g.collectors() {
		c.Describe(ch)
	}
}

func (g *GRPCServer) Collect(ch chan<- prometheus.Metric) {
	for _, c := range g.collectors() {
		c.Collect(ch)
	}
}

func (g *GRPCServer) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.started, g.handled, g.received, g.sent, g.seconds}
}

// InitializeMetrics creates every metric of every method the server
// serves, at zero, as go-grpc-prometheus does, so that they are scraped
// before the first call. Call it after registering the services and
// before serving.
func (g *GRPCServer) InitializeMetrics(s *grpc.Server) {
	for service, info := range s.GetServiceInfo() {
		for _, mi := range info.Methods {
			g.methods["/"+service+"/"+mi.Name] = g.newMethod(methodType(mi.IsClientStream, mi.IsServerStream), service, mi.Name)
		}
	}
}

func methodType(clientStream, serverStream bool) string {
	switch {
	case !clientStream && !serverStream:
		return "unary"
	case clientStream && !serverStream:
		return "client_stream"
	case !clientStream && serverStream:
		return "server_stream"
	}
	return "bidi_stream"
}

func (g *GRPCServer) newMethod(typ, service, method string) *methodMetrics {
	m := &methodMetrics{
		typ: typ, service: service, method: method,
		started:   g.started.WithLabelValues(typ, service, method),
		received:  g.received.WithLabelValues(typ, service, method),
		sent:      g.sent.WithLabelValues(typ, service, method),
		seconds:   g.seconds.WithLabelValues(typ, service, method),
		handledBy: g.handled,
	}
	for c := range m.handled {
		m.handled[c] = g.handled.WithLabelValues(typ, service, method, codes.Code(c).String())
	}
	return m
}

// method returns the metrics of a method, by its full name.
func (g *GRPCServer) method(fullMethod, typ string) *methodMetrics {
	if m := g.methods[fullMethod]; m != nil && m.typ == typ {
		return m
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	key := typ + " " + fullMethod
	m := g.others[key]
	if m == nil {
		service, method := splitMethod(fullMethod)
		m = g.newMethod(typ, service, method)
		g.others[key] = m
	}
	return m
}

// splitMethod splits "/service/method" as go-grpc-prometheus does.
func splitMethod(fullMethod string) (service, method string) {
	if len(fullMethod) > 0 && fullMethod[0] == '/' {
		fullMethod = fullMethod[1:]
	}
	for i := 0; i < len(fullMethod); i++ {
		if fullMethod[i] == '/' {
			return fullMethod[:i], fullMethod[i+1:]
		}
	}
	return "unknown", "unknown"
}

// done counts a finished call by the code of its error, as gRPC itself
// turns the error into a status (context errors included).
func (m *methodMetrics) done(err error, start time.Time) {
	code := codes.OK
	if err != nil {
		s, ok := status.FromError(err)
		if !ok {
			s = status.FromContextError(err)
		}
		code = s.Code()
	}
	if int(code) < len(m.handled) {
		m.handled[code].Inc()
	} else {
		m.handledBy.WithLabelValues(m.typ, m.service, m.method, code.String()).Inc()
	}
	m.seconds.Observe(time.Since(start).Seconds())
}

// monitoredStream counts a stream's messages.
type monitoredStream struct {
	grpc.ServerStream
	m *methodMetrics
}

func (s monitoredStream) SendMsg(msg any) error {
	err := s.ServerStream.SendMsg(msg)
	s.m.sent.Inc()
	return err
}

func (s monitoredStream) RecvMsg(msg any) error {
	err := s.ServerStream.RecvMsg(msg)
	s.m.received.Inc()
	return err
}

// UnaryInterceptor feeds the gRPC server metrics and the client traffic
// metrics (Requests) of a unary call, in one interceptor: each link of
// gRPC's interceptor chain costs every call a closure.
func (mm *Registry) UnaryInterceptor() grpc.UnaryServerInterceptor {
	g, rm := mm.GRPC, mm.Requests
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m := g.method(info.FullMethod, "unary")
		start := time.Now()
		m.started.Inc()
		m.received.Inc()
		resp, err := rm.unary(ctx, req, info, handler, start)
		m.sent.Inc()
		m.done(err, start)
		return resp, err
	}
}

// StreamInterceptor is UnaryInterceptor's counterpart for streams.
func (mm *Registry) StreamInterceptor() grpc.StreamServerInterceptor {
	g, rm := mm.GRPC, mm.Requests
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		m := g.method(info.FullMethod, methodType(info.IsClientStream, info.IsServerStream))
		start := time.Now()
		m.started.Inc()
		err := rm.stream(srv, monitoredStream{ServerStream: ss, m: m}, info, handler)
		m.done(err, start)
		return err
	}
}
