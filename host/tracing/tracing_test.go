package tracing

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/host/config"
)

// Disabled, tracing is nothing at all: no tracer for the parts, no gRPC
// stats handler, no plugin dial option or environment.
func TestDisabledInstallsNothing(t *testing.T) {
	tr, err := Start(context.Background(), zaptest.NewLogger(t), config.Config{})
	require.NoError(t, err)
	require.Nil(t, tr)
	require.Nil(t, tr.Tracer(ScopeRaft))
	require.Empty(t, tr.ServerOptions())
	require.Empty(t, tr.PluginDialOptions())
	require.Empty(t, tr.PluginEnv())
	tr.Shutdown()
}

// As etcd, the sampling rate applies to the traces a member starts; a
// sampled incoming trace context is always followed.
func TestSampling(t *testing.T) {
	sampledParent := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	tests := map[string]struct {
		rate       int
		ctx        context.Context
		wantSample bool
	}{
		"rate 0, no parent":         {0, context.Background(), false},
		"rate 0, sampled parent":    {0, sampledParent, true},
		"a million, no parent":      {config.MaxTracingSamplingRate, context.Background(), true},
		"a million, sampled parent": {config.MaxTracingSamplingRate, sampledParent, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			tr, err := Start(context.Background(), zaptest.NewLogger(t), config.Config{
				EnableDistributedTracing:       true,
				DistributedTracingAddress:      "127.0.0.1:1",
				DistributedTracingServiceName:  "etcd",
				DistributedTracingSamplingRate: tt.rate,
			})
			require.NoError(t, err)
			defer func() {
				// Nothing listens at the address: give up exporting at once.
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				_ = tr.provider.Shutdown(ctx)
			}()
			_, span := tr.Tracer(ScopeEtcdAPI).Start(tt.ctx, "x")
			require.Equal(t, tt.wantSample, span.SpanContext().IsSampled())
			span.End()
			require.Len(t, tr.ServerOptions(), 1)
			require.Len(t, tr.PluginDialOptions(), 1)
			require.Contains(t, tr.PluginEnv(), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:1")
		})
	}
}
