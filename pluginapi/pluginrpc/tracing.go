package pluginrpc

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// Tracing of a plugin process. The host turns it on by starting the plugin
// with TracingEndpointEnv (and OpenTelemetry's other OTEL_EXPORTER_OTLP_*
// and OTEL_SERVICE_NAME variables, which the exporter and the resource
// read); the plugin then continues, over OTLP/gRPC, the traces whose W3C
// trace context the host sends with a call. A plugin starts no trace of
// its own: a call without a sampled trace context is not traced.

// TracingEndpointEnv is the variable that turns a plugin's tracing on: the
// URL of the OpenTelemetry collector (OTLP/gRPC).
const TracingEndpointEnv = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"

// tracingFlushTimeout bounds how long a stopping plugin waits to hand its
// last spans to the collector.
const tracingFlushTimeout = 2 * time.Second

// TracePropagator is the trace context host and plugin exchange: W3C
// traceparent and tracestate, and baggage, as etcd's gRPC server reads.
func TracePropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// IsPluginCall reports whether a gRPC method is a call of a plugin's
// service, not one of go-plugin's own (health, stdio, broker, controller),
// which are neither traced nor counted.
func IsPluginCall(fullMethod string) bool {
	return !strings.HasPrefix(fullMethod, "/grpc.") && !strings.HasPrefix(fullMethod, "/plugin.")
}

// pluginTracing is a plugin process's tracing: the gRPC server options
// that continue the host's traces, and the shutdown that flushes them.
type pluginTracing struct {
	serverOptions []grpc.ServerOption
	shutdown      func()
}

// startTracing starts the plugin's tracing when TracingEndpointEnv is set;
// otherwise, or if the exporter cannot be built (logged), it returns a
// pluginTracing that does nothing.
func startTracing(lg hclog.Logger) pluginTracing {
	if os.Getenv(TracingEndpointEnv) == "" {
		return pluginTracing{shutdown: func() {}}
	}
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		lg.Error("tracing disabled: cannot build the OTLP exporter", "error", err)
		return pluginTracing{shutdown: func() {}}
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithProcessPID(), resource.WithProcessExecutableName())
	if err != nil {
		lg.Warn("tracing: incomplete resource", "error", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(200*time.Millisecond)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())),
	)
	handler := otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(TracePropagator()),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool { return IsPluginCall(info.FullMethodName) }),
	)
	lg.Info("tracing enabled", "endpoint", os.Getenv(TracingEndpointEnv))
	return pluginTracing{
		serverOptions: []grpc.ServerOption{grpc.StatsHandler(handler)},
		shutdown: func() {
			ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
			defer cancel()
			_ = tp.Shutdown(ctx)
		},
	}
}
