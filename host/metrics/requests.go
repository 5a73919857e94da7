package metrics

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Requests are etcd's metrics MetaStore counts from the client
// traffic this member serves: requests by client API version, payload
// bytes, the KV operations (etcd_mvcc_*) and the lease calls
// (etcd_debugging_lease_*). etcd counts its mvcc writes and lease grants
// and revocations as every member applies them; here they count the
// calls this member answered, so a cluster's sum over its members is the
// cluster's total.
type Requests struct {
	clientRequests *prometheus.CounterVec
	sentBytes      prometheus.Counter
	receivedBytes  prometheus.Counter

	mvccRange, mvccPut, mvccDelete, mvccTxn prometheus.Counter

	leaseGranted, leaseRevoked, leaseRenewed prometheus.Counter
	leaseTTL                                 prometheus.Histogram

	putBytes        prometheus.Counter // etcd's is a gauge that only grows
	watchStreams    prometheus.Gauge
	watchEvents     prometheus.Counter
	defragInflight  prometheus.Gauge
	learnerPromotes prometheus.Counter
	durations       map[string]prometheus.Histogram // by gRPC method
}

func newRequests() *Requests {
	counter := func(ns, sub, name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	return &Requests{
		clientRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "client_requests_total",
			Help: "The total number of client requests per client version.",
		}, []string{"type", "client_api_version"}),
		sentBytes:     counter("etcd", "network", "client_grpc_sent_bytes_total", "The total number of bytes sent to grpc clients."),
		receivedBytes: counter("etcd", "network", "client_grpc_received_bytes_total", "The total number of bytes received from grpc clients."),
		mvccRange:     counter("etcd", "mvcc", "range_total", "Total number of ranges seen by this member."),
		mvccPut:       counter("etcd", "mvcc", "put_total", "Total number of puts seen by this member."),
		mvccDelete:    counter("etcd", "mvcc", "delete_total", "Total number of deletes seen by this member."),
		mvccTxn:       counter("etcd", "mvcc", "txn_total", "Total number of txns seen by this member."),
		leaseGranted:  counter("etcd_debugging", "lease", "granted_total", "The total number of granted leases."),
		leaseRevoked:  counter("etcd_debugging", "lease", "revoked_total", "The total number of revoked leases."),
		leaseRenewed:  counter("etcd_debugging", "lease", "renewed_total", "The number of renewed leases seen by the leader."),
		leaseTTL: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "etcd_debugging", Subsystem: "lease", Name: "ttl_total",
			Help:    "Bucketed histogram of lease TTLs.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 24), // 1 s to 3 months
		}),
		putBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "etcd_debugging", Subsystem: "mvcc", Name: "total_put_size_in_bytes",
			Help: "The total size of put kv pairs seen by this member."}),
		watchStreams: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "etcd_debugging", Subsystem: "mvcc", Name: "watch_stream_total",
			Help: "Total number of watch streams."}),
		watchEvents: counter("etcd_debugging", "mvcc", "events_total", "Total number of events sent by this member."),
		defragInflight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "etcd", Subsystem: "disk", Name: "defrag_inflight",
			Help: "Whether or not defrag is active on the member. 1 means active, 0 means not."}),
		learnerPromotes: counter("etcd", "server", "learner_promote_successes", "The total number of successful learner promotions while this member is leader."),
		durations: map[string]prometheus.Histogram{
			"/etcdserverpb.Maintenance/Defragment": histogram("etcd", "disk", "backend_defrag_duration_seconds",
				"The latency distribution of backend defragmentation.", prometheus.ExponentialBuckets(.1, 2, 13)),
			"/etcdserverpb.Maintenance/Snapshot": histogram("etcd", "disk", "backend_snapshot_duration_seconds",
				"The latency distribution of backend snapshots.", prometheus.ExponentialBuckets(.01, 2, 17)),
			"/etcdserverpb.Maintenance/Hash": histogram("etcd", "mvcc", "hash_duration_seconds",
				"The latency distribution of storage hash operation.", prometheus.ExponentialBuckets(.01, 2, 15)),
			"/etcdserverpb.Maintenance/HashKV": histogram("etcd", "mvcc", "hash_rev_duration_seconds",
				"The latency distribution of storage hash by revision operation.", prometheus.ExponentialBuckets(.01, 2, 15)),
		},
	}
}

func histogram(ns, sub, name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, Buckets: buckets})
}

func (rm *Requests) collectors() []prometheus.Collector {
	out := []prometheus.Collector{rm.clientRequests, rm.sentBytes, rm.receivedBytes,
		rm.mvccRange, rm.mvccPut, rm.mvccDelete, rm.mvccTxn,
		rm.leaseGranted, rm.leaseRevoked, rm.leaseRenewed, rm.leaseTTL,
		rm.putBytes, rm.watchStreams, rm.watchEvents, rm.defragInflight, rm.learnerPromotes}
	for _, h := range rm.durations {
		out = append(out, h)
	}
	return out
}

// PayloadCounters are the counters of the bytes of the messages sent to
// and received from clients, which etcd counts at its codec, and so does
// MetaStore's (etcdapi/codec).
func (rm *Requests) PayloadCounters() (sent, received prometheus.Counter) {
	return rm.sentBytes, rm.receivedBytes
}

// clientAPIVersion is the version the client's metadata names, as etcd
// reads it.
func clientAPIVersion(ctx context.Context) (string, bool) {
	// The one value first: FromIncomingContext copies all the metadata,
	// which cost every request about 450 bytes.
	if vs := metadata.ValueFromIncomingContext(ctx, rpctypes.MetadataClientAPIVersionKey); len(vs) > 0 && utf8.ValidString(vs[0]) {
		return vs[0], true
	}
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return "", false
	}
	ver := "unknown"
	if vs := md.Get(rpctypes.MetadataClientAPIVersionKey); len(vs) > 0 && utf8.ValidString(vs[0]) {
		ver = vs[0]
	}
	return ver, true
}

// unary counts a unary call that started at start; Registry's
// UnaryInterceptor calls it.
func (rm *Requests) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler, start time.Time) (any, error) {
	if ver, ok := clientAPIVersion(ctx); ok {
		rm.clientRequests.WithLabelValues("unary", ver).Inc()
	}
	if info.FullMethod == "/etcdserverpb.Maintenance/Defragment" {
		rm.defragInflight.Inc()
		defer rm.defragInflight.Dec()
	}
	resp, err := handler(ctx, req)
	if err == nil {
		if h := rm.durations[info.FullMethod]; h != nil {
			h.Observe(time.Since(start).Seconds())
		}
		rm.countCall(req, resp)
	}
	return resp, err
}

// stream counts a stream; Registry's StreamInterceptor calls it.
func (rm *Requests) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if ver, ok := clientAPIVersion(ss.Context()); ok {
		rm.clientRequests.WithLabelValues("stream", ver).Inc()
	}
	switch info.FullMethod {
	case "/etcdserverpb.Lease/LeaseKeepAlive":
		ss = keepAliveCounter{ServerStream: ss, renewed: rm.leaseRenewed}
	case "/etcdserverpb.Watch/Watch":
		rm.watchStreams.Inc()
		defer rm.watchStreams.Dec()
		ss = watchEventCounter{ServerStream: ss, events: rm.watchEvents}
	}
	start := time.Now()
	err := handler(srv, ss)
	if h := rm.durations[info.FullMethod]; h != nil && err == nil {
		h.Observe(time.Since(start).Seconds())
	}
	return err
}

// watchEventCounter counts the events a watch stream sends.
type watchEventCounter struct {
	grpc.ServerStream
	events prometheus.Counter
}

func (w watchEventCounter) SendMsg(m any) error {
	err := w.ServerStream.SendMsg(m)
	if r, ok := m.(*pb.WatchResponse); ok && err == nil {
		w.events.Add(float64(len(r.Events)))
	}
	return err
}

// countCall counts a call that succeeded.
func (rm *Requests) countCall(req, resp any) {
	switch r := req.(type) {
	case *pb.RangeRequest:
		rm.mvccRange.Inc()
	case *pb.PutRequest:
		rm.mvccPut.Inc()
		rm.putBytes.Add(float64(len(r.Key) + len(r.Value)))
	case *pb.DeleteRangeRequest:
		rm.mvccDelete.Inc()
	case *pb.TxnRequest:
		ops := r.Failure
		if tr, ok := resp.(*pb.TxnResponse); ok && tr.Succeeded {
			ops = r.Success
		}
		rm.countTxn(ops)
	case *pb.LeaseGrantRequest:
		rm.leaseGranted.Inc()
		if gr, ok := resp.(*pb.LeaseGrantResponse); ok {
			rm.leaseTTL.Observe(float64(gr.TTL))
		}
	case *pb.LeaseRevokeRequest:
		rm.leaseRevoked.Inc()
	case *pb.MemberPromoteRequest:
		rm.learnerPromotes.Inc()
	}
}

// countTxn counts the operations of a txn's branch that ran, nested txns
// included, and the txn itself when it had more than one, as etcd does.
func (rm *Requests) countTxn(ops []*pb.RequestOp) {
	n := 0
	var walk func([]*pb.RequestOp)
	walk = func(ops []*pb.RequestOp) {
		for _, op := range ops {
			switch {
			case op.GetRequestRange() != nil:
				rm.mvccRange.Inc()
				n++
			case op.GetRequestPut() != nil:
				rm.mvccPut.Inc()
				rm.putBytes.Add(float64(len(op.GetRequestPut().Key) + len(op.GetRequestPut().Value)))
				n++
			case op.GetRequestDeleteRange() != nil:
				rm.mvccDelete.Inc()
				n++
			case op.GetRequestTxn() != nil:
				// A nested txn's branch is not known from the response
				// here; its success branch is counted.
				walk(op.GetRequestTxn().Success)
			}
		}
	}
	walk(ops)
	if n > 1 {
		rm.mvccTxn.Inc()
	}
}

// keepAliveCounter counts the keep-alive responses that renewed a lease.
type keepAliveCounter struct {
	grpc.ServerStream
	renewed prometheus.Counter
}

func (k keepAliveCounter) SendMsg(m any) error {
	err := k.ServerStream.SendMsg(m)
	if r, ok := m.(*pb.LeaseKeepAliveResponse); ok && err == nil && r.TTL > 0 {
		k.renewed.Inc()
	}
	return err
}
