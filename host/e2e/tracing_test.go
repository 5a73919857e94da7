package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/metastore/metastore/host/hosttest"
)

// otlpReceiver is an OpenTelemetry collector's trace service that keeps
// every span it receives, with the attributes of the resource (process)
// that sent it.
type otlpReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	addr string

	mu    sync.Mutex
	spans []receivedSpan
}

// receivedSpan is a span and the resource attributes of its sender.
type receivedSpan struct {
	*tracepb.Span
	resource map[string]string
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &otlpReceiver{addr: lis.Addr().String()}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return r
}

// Export implements the collector's trace service.
func (r *otlpReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, receivedSpan{Span: s, resource: res})
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func attributes(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return m
}

// trace returns the spans received of the trace id.
func (r *otlpReceiver) trace(id []byte) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if string(s.GetTraceId()) == string(id) {
			out = append(out, s)
		}
	}
	return out
}

// TestTracingOnePut puts one key, in a trace the client started, into a
// member whose engine is the bbolt storage plugin, with etcd's tracing
// flags pointing at an in-test OTLP receiver. The trace that arrives is
// connected: the gRPC request's span under the client's, the proposal
// under it, the WAL fsync and the apply under the proposal, the engine
// flush under the apply, the host's call to the plugin under the flush,
// and the plugin process's own span of that call under the host's.
func TestTracingOnePut(t *testing.T) {
	recv := startOTLPReceiver(t)
	m := startPluginMember(t, "bbolt", hosttest.WithArgs(
		"--enable-distributed-tracing",
		"--distributed-tracing-address", recv.addr,
		"--distributed-tracing-service-name", "metastore-test",
		"--distributed-tracing-instance-id", "member-1",
	))
	cli := m.Client(t)

	traceID, parentID := make([]byte, 16), make([]byte, 8)
	_, _ = rand.Read(traceID)
	_, _ = rand.Read(parentID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "traceparent",
		fmt.Sprintf("00-%s-%s-01", hex.EncodeToString(traceID), hex.EncodeToString(parentID)))
	_, err := cli.Put(ctx, "traced", "v")
	require.NoError(t, err)

	byName := map[string]receivedSpan{}
	want := []string{"etcdserverpb.KV/Put", "raft.propose", "wal.fsync", "apply", "engine.flush"}
	var pluginCalls []receivedSpan
	require.Eventually(t, func() bool {
		pluginCalls = pluginCalls[:0]
		for _, s := range recv.trace(traceID) {
			byName[s.GetName()] = s
			if strings.HasSuffix(s.GetName(), "/ApplyBatch") {
				pluginCalls = append(pluginCalls, s)
			}
		}
		for _, n := range want {
			if _, ok := byName[n]; !ok {
				return false
			}
		}
		return len(pluginCalls) == 2
	}, 20*time.Second, 100*time.Millisecond, "spans of the trace: %v", spanNames(recv.trace(traceID)))

	parentOf := func(child, parent string) {
		t.Helper()
		require.Equal(t, hex.EncodeToString(byName[parent].GetSpanId()), hex.EncodeToString(byName[child].GetParentSpanId()),
			"%s is a child of %s", child, parent)
	}
	require.Equal(t, hex.EncodeToString(parentID), hex.EncodeToString(byName["etcdserverpb.KV/Put"].GetParentSpanId()),
		"the gRPC span continues the client's trace context")
	parentOf("raft.propose", "etcdserverpb.KV/Put")
	parentOf("wal.fsync", "raft.propose")
	parentOf("apply", "raft.propose")
	parentOf("engine.flush", "apply")
	for _, n := range want {
		require.Equal(t, "metastore-test", byName[n].resource["service.name"], n)
		require.Equal(t, "member-1", byName[n].resource["service.instance.id"], n)
	}

	var client, server receivedSpan
	for _, s := range pluginCalls {
		switch s.GetKind() {
		case tracepb.Span_SPAN_KIND_CLIENT:
			client = s
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		}
	}
	require.NotNil(t, client.Span, "the host's span of the plugin call")
	require.NotNil(t, server.Span, "the plugin process's span of the call")
	require.Equal(t, hex.EncodeToString(byName["engine.flush"].GetSpanId()), hex.EncodeToString(client.GetParentSpanId()),
		"the host's plugin call is a child of the engine flush")
	require.Equal(t, hex.EncodeToString(client.GetSpanId()), hex.EncodeToString(server.GetParentSpanId()),
		"the plugin's span is a child of the host's call")
	require.Equal(t, "metastore-storage-bbolt", server.resource["process.executable.name"], "sent by the plugin process")
}

func spanNames(spans []receivedSpan) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.GetName()
	}
	return out
}
