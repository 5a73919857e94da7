package etcdapi

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traceProposal starts the span of proposal id ("raft.propose", from the
// proposal until its result is applied), under the span of ctx, and
// records it for the applier when it is sampled. It returns ctx with the
// span, which raft's WAL span continues, and the function that ends it.
// Only called when s.tracer is set.
func (s *Server) traceProposal(ctx context.Context, id uint64) (context.Context, func()) {
	ctx, span := s.tracer.Start(ctx, "raft.propose", trace.WithAttributes(attribute.Int64("raft.proposal_id", int64(id))))
	sc := span.SpanContext()
	if !sc.IsSampled() {
		return ctx, func() { span.End() }
	}
	s.traces.Store(id, sc)
	return ctx, func() {
		s.traces.Delete(id)
		span.End()
	}
}

// proposalTrace returns the span of the traced proposal id in flight on
// this member, for the applier.
func (s *Server) proposalTrace(id uint64) (trace.SpanContext, bool) {
	v, ok := s.traces.Load(id)
	if !ok {
		return trace.SpanContext{}, false
	}
	return v.(trace.SpanContext), true
}
