package apply

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// applyTraced applies r as applyRequest does, in a span ("apply") under
// its proposal's when this member traced the proposal, and asks the store
// to trace the flush that writes it to the engine under that span.
func (a *Applier) applyTraced(index uint64, r *pb.InternalRaftRequest) Result {
	sc, ok := a.traceOf(r.GetHeader().GetID())
	if !ok {
		return a.applyRequest(index, r)
	}
	_, span := a.tracer.Start(trace.ContextWithSpanContext(context.Background(), sc), "apply",
		trace.WithAttributes(attribute.Int64("raft.index", int64(index))))
	defer span.End()
	a.store.TraceNextFlush(span.SpanContext())
	res := a.applyRequest(index, r)
	if res.Err != nil {
		span.RecordError(res.Err)
	}
	return res
}
