package plugin

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/host/config"
)

// pluginMetrics counts and times the calls the host makes to plugin
// processes, of every kind, at the gRPC connection they share, and counts
// plugin restarts. They live as long as the process, not a member: a
// member restarted after a storage plugin failure keeps counting.
type pluginMetrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	restarts *prometheus.CounterVec

	mu       sync.Mutex
	launched map[string]bool // kind/name of every plugin started so far
}

var processPluginMetrics = sync.OnceValue(func() *pluginMetrics {
	labels := []string{"kind", "name", "method"}
	return &pluginMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metastore", Subsystem: "plugin", Name: "calls_total",
			Help: "Calls the host made to plugin processes, by plugin kind, name and method.",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metastore", Subsystem: "plugin", Name: "errors_total",
			Help: "Calls to plugin processes that returned an error, by plugin kind, name and method.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "metastore", Subsystem: "plugin", Name: "call_duration_seconds",
			Help:    "The latency distributions of calls to plugin processes; a stream counts until its end.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16), // 50 µs to 1.6 s
		}, labels),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metastore", Subsystem: "plugin", Name: "restarts_total",
			Help: "Plugin processes started again after the previous one of the same kind and name died.",
		}, []string{"kind", "name"}),
		launched: map[string]bool{},
	}
})

// Collectors are the metrics of this process's plugin calls and restarts,
// for a member's registry.
func Collectors() []prometheus.Collector {
	pm := processPluginMetrics()
	return []prometheus.Collector{pm.calls, pm.errors, pm.duration, pm.restarts}
}

// observeLaunch records that the plugin of entry is being started,
// counting a restart when one of its kind and name ran before in this
// process, and returns the dial options that count and time its calls.
func observeLaunch(entry config.PluginEntry) []grpc.DialOption {
	pm := processPluginMetrics()
	key := entry.Kind + "/" + entry.Name
	pm.mu.Lock()
	// The first launch serves the restart count at 0, so that a rate or
	// increase over it sees the first restart.
	restarts := pm.restarts.WithLabelValues(entry.Kind, entry.Name)
	if pm.launched[key] {
		restarts.Inc()
		recordRestart(entry)
	}
	pm.launched[key] = true
	pm.mu.Unlock()
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(pm.unaryInterceptor(entry.Kind, entry.Name)),
		grpc.WithChainStreamInterceptor(pm.streamInterceptor(entry.Kind, entry.Name)),
	}
}

// pluginMethod is the method label of a plugin call: the method's name
// within its service ("ApplyBatch"). It is "" for go-plugin's own
// services (health, stdio, broker, controller), which are not counted.
func pluginMethod(fullMethod string) string {
	if strings.HasPrefix(fullMethod, "/grpc.") || strings.HasPrefix(fullMethod, "/plugin.") {
		return ""
	}
	return fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
}

// record counts and times one call. Its error count is served from the
// first call on, at 0 until one fails, so that a rate over it sees the
// first failure.
func (pm *pluginMetrics) record(kind, name, method string, start time.Time, err error) {
	pm.calls.WithLabelValues(kind, name, method).Inc()
	pm.duration.WithLabelValues(kind, name, method).Observe(time.Since(start).Seconds())
	failed := pm.errors.WithLabelValues(kind, name, method)
	if err != nil {
		failed.Inc()
	}
}

func (pm *pluginMetrics) unaryInterceptor(kind, name string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, fullMethod string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		method := pluginMethod(fullMethod)
		if method == "" {
			return invoker(ctx, fullMethod, req, reply, cc, opts...)
		}
		start := time.Now()
		err := invoker(ctx, fullMethod, req, reply, cc, opts...)
		pm.record(kind, name, method, start, err)
		return err
	}
}

func (pm *pluginMetrics) streamInterceptor(kind, name string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, fullMethod string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		method := pluginMethod(fullMethod)
		if method == "" {
			return streamer(ctx, desc, cc, fullMethod, opts...)
		}
		start := time.Now()
		cs, err := streamer(ctx, desc, cc, fullMethod, opts...)
		if err != nil {
			pm.record(kind, name, method, start, err)
			return nil, err
		}
		return &observedStream{ClientStream: cs, oneReply: !desc.ServerStreams,
			done: func(err error) { pm.record(kind, name, method, start, err) }}, nil
	}
}

// observedStream records its call once, when a receive ends the stream:
// io.EOF, or the one reply of a client stream, is a success, any other
// error a failure. A stream its caller abandons without reading to the
// end is not recorded.
type observedStream struct {
	grpc.ClientStream
	oneReply bool
	once     sync.Once
	done     func(error)
}

func (s *observedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || s.oneReply {
		s.once.Do(func() {
			if errors.Is(err, io.EOF) {
				s.done(nil)
			} else {
				s.done(err)
			}
		})
	}
	return err
}
