package raft

import (
	"context"

	etcdraft "go.etcd.io/raft/v3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// sampledSpan returns the span of ctx when it is sampled, else nil.
func sampledSpan(ctx context.Context) *trace.SpanContext {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return nil
	}
	return &sc
}

// saveWAL writes rd's hard state and entries to the WAL, with an fsync when
// raft needs one. When the node traces and the entries hold traced
// proposals, the write is a span ("wal.fsync") under the first proposal's
// span, linked to the others', so that each proposal's trace shows the
// fsync that made it durable here.
func (n *Node) saveWAL(rd etcdraft.Ready) error {
	if len(n.walTraces) == 0 || len(rd.Entries) == 0 {
		return n.wal.Save(rd.HardState, rd.Entries, rd.MustSync)
	}
	traces := n.walTraces
	n.walTraces = nil
	links := make([]trace.Link, 0, len(traces)-1)
	for _, sc := range traces[1:] {
		links = append(links, trace.Link{SpanContext: sc})
	}
	_, span := n.cfg.Tracer.Start(trace.ContextWithSpanContext(context.Background(), traces[0]), "wal.fsync",
		trace.WithLinks(links...), trace.WithAttributes(
			attribute.Int("raft.entries", len(rd.Entries)),
			attribute.Bool("raft.must_sync", rd.MustSync),
			attribute.Int("raft.traced_proposals", len(traces))))
	defer span.End()
	err := n.wal.Save(rd.HardState, rd.Entries, rd.MustSync)
	if err != nil {
		span.RecordError(err)
	}
	return err
}
