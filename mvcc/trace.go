package mvcc

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TraceNextFlush makes the next flush of the write buffer continue the
// span sc: the flush that writes what was applied in sc to the engine is
// traced under it. Only the applier calls it, when the store traces
// (Config.Tracer); otherwise it does nothing.
func (s *Store) TraceNextFlush(sc trace.SpanContext) {
	if s.cfg.Tracer == nil || !sc.IsSampled() {
		return
	}
	s.flushTracesMu.Lock()
	s.flushTraces = append(s.flushTraces, sc)
	s.flushTracesMu.Unlock()
}

// traceFlush starts the span of a flush ("engine.flush") under the first
// span TraceNextFlush recorded since the last flush, linked to the others,
// and returns ctx with it, which the engine's ApplyBatch (and a plugin
// process behind it) continues, and the function that ends it. A flush
// that no traced apply asked for is not traced.
func (s *Store) traceFlush(ctx context.Context, ops int, index uint64) (context.Context, func(error)) {
	s.flushTracesMu.Lock()
	traces := s.flushTraces
	s.flushTraces = nil
	s.flushTracesMu.Unlock()
	if len(traces) == 0 {
		return ctx, func(error) {}
	}
	links := make([]trace.Link, 0, len(traces)-1)
	for _, sc := range traces[1:] {
		links = append(links, trace.Link{SpanContext: sc})
	}
	ctx, span := s.cfg.Tracer.Start(trace.ContextWithSpanContext(ctx, traces[0]), "engine.flush",
		trace.WithLinks(links...), trace.WithAttributes(
			attribute.Int("mvcc.ops", ops),
			attribute.Int64("mvcc.consistent_index", int64(index)),
			attribute.Bool("mvcc.sync", !s.cfg.NoSync)))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
