// Package tracing is the member's OpenTelemetry tracing, as etcd's
// --enable-distributed-tracing: a tracer provider exporting over
// OTLP/gRPC, the gRPC server options that continue incoming W3C trace
// contexts, and the environment that lets plugin processes continue the
// host's traces. Disabled, it is a nil *Tracing and nothing else: no
// stats handler, no tracer, nothing on the request path.
//
// It imports config and pluginapi/pluginrpc (the trace context host and
// plugins share) of ours.
package tracing
