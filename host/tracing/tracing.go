package tracing

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// Tracer names of the member's parts, the instrumentation scope of their
// spans.
const (
	ScopeRaft    = "github.com/metastore/metastore/raft"
	ScopeEtcdAPI = "github.com/metastore/metastore/etcdapi"
	ScopeMVCC    = "github.com/metastore/metastore/mvcc"
)

// shutdownTimeout bounds how long a stopping member waits to hand its last
// spans to the collector.
const shutdownTimeout = 5 * time.Second

// Tracing is a member's tracing. A nil *Tracing is tracing disabled; its
// methods then return nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider
	cfg      config.Config
}

// Start starts tracing as cfg says, or returns nil when
// cfg.EnableDistributedTracing is false. As etcd, it samples
// cfg.DistributedTracingSamplingRate traces per million of those the member
// starts, and always follows an incoming sampled trace context; spans go to
// the collector at cfg.DistributedTracingAddress without TLS, with the
// service name and, when set, instance id of cfg.
func Start(ctx context.Context, lg *zap.Logger, cfg config.Config) (*Tracing, error) {
	if !cfg.EnableDistributedTracing {
		return nil, nil
	}
	exp, err := otlptracegrpc.New(ctx,
		otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithEndpoint(cfg.DistributedTracingAddress),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter to %s: %w", cfg.DistributedTracingAddress, err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.DistributedTracingServiceName)}
	// The instance id must be unique, so an empty one is left unset.
	if cfg.DistributedTracingInstanceID != "" {
		attrs = append(attrs, attribute.String("service.instance.id", cfg.DistributedTracingInstanceID))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sampler(cfg.DistributedTracingSamplingRate))),
	)
	lg.Info("distributed tracing enabled",
		zap.String("address", cfg.DistributedTracingAddress),
		zap.String("service-name", cfg.DistributedTracingServiceName),
		zap.String("service-instance-id", cfg.DistributedTracingInstanceID),
		zap.Int("sampling-rate", cfg.DistributedTracingSamplingRate))
	return &Tracing{provider: tp, cfg: cfg}, nil
}

// sampler samples rate root traces per million.
func sampler(rate int) sdktrace.Sampler {
	if rate <= 0 {
		return sdktrace.NeverSample()
	}
	return sdktrace.TraceIDRatioBased(float64(rate) / config.MaxTracingSamplingRate)
}

// Tracer returns the tracer of scope, or nil when t is nil: the parts of
// the member trace only when their tracer is not nil.
func (t *Tracing) Tracer(scope string) trace.Tracer {
	if t == nil {
		return nil
	}
	return t.provider.Tracer(scope)
}

// ServerOptions are the client gRPC server's options that trace each
// request, continuing its incoming W3C trace context; none when t is nil.
func (t *Tracing) ServerOptions() []grpc.ServerOption {
	if t == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.provider),
		otelgrpc.WithPropagators(pluginrpc.TracePropagator()),
	))}
}

// PluginDialOptions are the options of the host's connections to plugin
// processes that trace each plugin call and send its trace context along;
// none when t is nil.
func (t *Tracing) PluginDialOptions() []grpc.DialOption {
	if t == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(t.provider),
		otelgrpc.WithPropagators(pluginrpc.TracePropagator()),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool { return pluginrpc.IsPluginCall(info.FullMethodName) }),
	))}
}

// PluginEnv is the environment that turns a plugin process's tracing on,
// sending its spans to the member's collector under the member's service
// name; none when t is nil.
func (t *Tracing) PluginEnv() []string {
	if t == nil {
		return nil
	}
	return []string{
		pluginrpc.TracingEndpointEnv + "=http://" + t.cfg.DistributedTracingAddress,
		"OTEL_EXPORTER_OTLP_TRACES_INSECURE=true",
		"OTEL_SERVICE_NAME=" + t.cfg.DistributedTracingServiceName,
	}
}

// Shutdown sends the spans not yet sent and stops the exporter.
func (t *Tracing) Shutdown() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = t.provider.Shutdown(ctx)
}
