package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/raft"
	"github.com/metastore/metastore/raft/peer"
)

// etcd's histogram buckets: 1 ms to 8 s for disk, 0.1 ms to 3.3 s for
// peer round trips.
var (
	diskBuckets = prometheus.ExponentialBuckets(0.001, 2, 14)
	rttBuckets  = prometheus.ExponentialBuckets(0.0001, 2, 16)
)

// slowFsyncThreshold is etcd's threshold for its slow WAL fsync warning.
const slowFsyncThreshold = time.Second

// Sources are the parts of a member the registry reads its values from,
// each given explicitly; none may be nil.
type Sources struct {
	Logger    *zap.Logger
	Node      *raft.Node
	API       *etcdapi.Server
	Store     *mvcc.Store
	Transport *peer.Transport
	// Calls answers peers' calls; the registry adds the round-trip probe.
	Calls *peer.Calls
	// RaftStats are the raft events the member counts.
	RaftStats *RaftStats
	// DBSize returns the storage engine's size and the part of it in use,
	// in bytes.
	DBSize func() (total, inUse int64)
	// QuotaBytes is the backend quota in bytes.
	QuotaBytes int64
	// HeartbeatInterval is raft's; heartbeats sent later than twice it
	// count as failures.
	HeartbeatInterval time.Duration
	// WarningApplyDuration is how long an apply may take before it
	// counts as slow.
	WarningApplyDuration time.Duration
	// FeatureEnabled reports whether an etcd feature gate is on.
	FeatureEnabled func(name string) bool
	// ServerVersion and ClusterVersion are the versions the member
	// reports, as etcd.
	ServerVersion, ClusterVersion string
}

// Registry is one member's Prometheus registry, with etcd's metric names
// and labels so that etcd dashboards and alerts work unchanged. A
// registry per member (not the global one) keeps a member restarted in
// the same process from registering twice. Most values are read from the
// member when scraped; only timings and events are recorded as they happen.
type Registry struct {
	src Sources
	reg *prometheus.Registry
	// GRPC are the gRPC server's metrics and Requests etcd's metrics of
	// the client traffic; UnaryInterceptor and StreamInterceptor feed
	// both.
	GRPC     *GRPCServer
	Requests *Requests
	// Health are etcd's health check counters.
	Health *Health

	walFsync      prometheus.Histogram
	walWrite      prometheus.Histogram
	walWriteBytes prometheus.Gauge // etcd's is a gauge that only grows
	backendCommit prometheus.Histogram
	peerRTT       *prometheus.HistogramVec
	leaderChanges prometheus.Counter
	slowApplies   prometheus.Counter
	slowFsyncs    prometheus.Counter
	heartbeats    *heartbeatWatch
	snapshots     snapshotTransferMetrics
}

// New returns the registry of the member src describes, with every
// collector registered, and extra (the process-wide plugin metrics, say).
func New(src Sources, extra ...prometheus.Collector) *Registry {
	mm := &Registry{
		src:  src,
		reg:  prometheus.NewRegistry(),
		GRPC: newGRPCServer(),
		walFsync: histogram("etcd", "disk", "wal_fsync_duration_seconds",
			"The latency distributions of fsync called by WAL.", diskBuckets),
		walWrite: histogram("etcd", "disk", "wal_write_duration_seconds",
			"The latency distributions of write called by WAL.", diskBuckets),
		walWriteBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "disk", Name: "wal_write_bytes_total",
			Help: "Total number of bytes written in WAL.",
		}),
		backendCommit: histogram("etcd", "disk", "backend_commit_duration_seconds",
			"The latency distributions of commit called by backend.", diskBuckets),
		peerRTT: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_round_trip_time_seconds",
			Help:    "Round-Trip-Time histogram between peers",
			Buckets: rttBuckets,
		}, []string{"To"}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "leader_changes_seen_total",
			Help: "The number of leader changes seen.",
		}),
		slowApplies: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "slow_apply_total",
			Help: "The total number of slow apply requests (likely overloaded from slow disk).",
		}),
		slowFsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "metastore", Subsystem: "disk", Name: "wal_slow_fsync_total",
			Help: "The total number of WAL fsyncs slower than one second.",
		}),
		snapshots: newSnapshotTransferMetrics(),
		Health:    newHealth(),
		Requests:  newRequests(),
	}
	heartbeatFailures := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "etcd", Subsystem: "server", Name: "heartbeat_send_failures_total",
		Help: "The total number of leader heartbeat send failures (likely overloaded from slow disk).",
	})
	mm.heartbeats = newHeartbeatWatch(src.Logger, src.HeartbeatInterval, heartbeatFailures)
	mm.reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		mm.GRPC, mm.walFsync, mm.walWrite, mm.walWriteBytes, mm.backendCommit, mm.peerRTT,
		mm.leaderChanges, mm.slowApplies, mm.slowFsyncs, heartbeatFailures,
		newPeerNetworkCollector(src),
		featureGateMetric(src.FeatureEnabled),
		mm.applyRequests(),
	)
	mm.reg.MustRegister(mm.snapshots.collectors()...)
	mm.Health.register(mm.reg)
	mm.reg.MustRegister(extra...)
	mm.reg.MustRegister(mm.Requests.collectors()...)
	mm.reg.MustRegister(fdCollectors()...)
	mm.registerMemberGauges()
	return mm
}

// applyRequests is etcd_server_apply_duration_seconds: how long each
// request took to apply, by etcd's version, op and success labels. As
// etcd, a request slower than --warning-apply-duration is counted in
// etcd_server_slow_apply_total and logged.
func (mm *Registry) applyRequests() prometheus.Collector {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "etcd", Subsystem: "server", Name: "apply_duration_seconds",
		Help:    "The latency distributions of v2 apply called by backend.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 20),
	}, []string{"version", "op", "success"})
	slow := mm.src.WarningApplyDuration
	lg := mm.src.Logger
	mm.src.API.ObserveRequestApply(func(op string, success bool, took time.Duration) {
		h.WithLabelValues("v3", op, strconv.FormatBool(success)).Observe(took.Seconds())
		if took > slow {
			mm.slowApplies.Inc()
			lg.Warn("apply request took too long", zap.Duration("took", took),
				zap.Duration("expected-duration", slow), zap.String("op", op))
		}
	})
	return h
}

// registerMemberGauges registers the values read from the member at
// scrape time.
func (mm *Registry) registerMemberGauges() {
	src := mm.src
	gauge := func(ns, sub, name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	counter := func(ns, sub, name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	st := src.Node.Status
	mm.reg.MustRegister(
		gauge("etcd", "server", "has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
			func() float64 { return b2f(st().Leader != 0) }),
		gauge("etcd", "server", "is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
			func() float64 { return b2f(st().IsLeader) }),
		gauge("etcd", "server", "is_learner", "Whether or not this member is a learner. 1 if is, 0 otherwise.",
			func() float64 { return b2f(st().IsLearner) }),
		gauge("etcd", "server", "proposals_committed_total", "The total number of consensus proposals committed.",
			func() float64 { return float64(st().CommitIndex) }),
		gauge("etcd", "server", "proposals_applied_total", "The total number of consensus proposals applied.",
			func() float64 { return float64(src.Node.AppliedIndex()) }),
		gauge("etcd", "server", "proposals_pending", "The current number of pending proposals to commit.",
			func() float64 { return float64(src.API.ProposalStats().Pending) }),
		counter("etcd", "server", "proposals_failed_total", "The total number of failed proposals seen.",
			func() float64 { return float64(src.API.ProposalStats().Failed) }),
		gauge("etcd", "server", "quota_backend_bytes", "Current backend storage quota size in bytes.",
			func() float64 { return float64(src.QuotaBytes) }),
		gauge("etcd", "mvcc", "db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.",
			func() float64 { total, _ := src.DBSize(); return float64(total) }),
		gauge("etcd", "mvcc", "db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.",
			func() float64 { _, inUse := src.DBSize(); return float64(inUse) }),
		gauge("etcd_debugging", "auth", "revision", "The current revision of auth store.",
			func() float64 { return float64(src.API.AuthRevision()) }),
		counter("metastore", "auth", "password_failures_total", "The total number of password checks that failed: a wrong password or an unknown user.",
			func() float64 { return float64(src.API.PasswordStats().Failed) }),
		counter("metastore", "auth", "password_checks_refused_total", "The total number of password checks refused because too many were waiting, or given up by their caller while waiting.",
			func() float64 { return float64(src.API.PasswordStats().Refused) }),
		gauge("metastore", "auth", "password_checks_waiting", "The number of password checks and hashes waiting for one of the bounded bcrypt slots.",
			func() float64 { return float64(src.API.PasswordStats().Waiting) }),
		gauge("etcd_debugging", "mvcc", "keys_total", "Total number of keys.",
			func() float64 { return float64(src.Store.KeyCount()) }),
		gauge("etcd_debugging", "mvcc", "current_revision", "The current revision of store.",
			func() float64 { return float64(src.Store.Rev()) }),
		gauge("etcd_debugging", "mvcc", "compact_revision", "The revision of the last compaction in store.",
			func() float64 { return float64(src.Store.CompactRev()) }),
		gauge("etcd_debugging", "mvcc", "watcher_total", "Total number of watchers.",
			func() float64 { ws := src.Store.WatchStats(); return float64(ws.Synced + ws.Unsynced) }),
		gauge("etcd_debugging", "mvcc", "slow_watcher_total", "Total number of unsynced slow watchers.",
			func() float64 { return float64(src.Store.WatchStats().Unsynced) }),
		counter("etcd_debugging", "server", "lease_expired_total", "The total number of expired leases.",
			func() float64 { return float64(src.API.LeaseStats().Expired) }),
		gauge("etcd", "server", "snapshot_apply_in_progress_total", "1 if the server is applying the incoming snapshot. 0 if none.",
			func() float64 { return float64(src.RaftStats.SnapshotsApplying.Load()) }),
		counter("etcd", "server", "slow_read_indexes_total", "The total number of pending read indexes not in sync with leader's or timed out read index requests.",
			func() float64 { return float64(src.RaftStats.ReadIndexSlow.Load()) }),
		counter("etcd", "server", "read_indexes_failed_total", "The total number of failed read indexes seen.",
			func() float64 { return float64(src.RaftStats.ReadIndexFailed.Load()) }),
		constGauge("etcd_server_version", "Which version is running. 1 for 'server_version' label with current version.",
			"server_version", src.ServerVersion),
		constGauge("etcd_server_go_version", "Which Go version server is running with. 1 for 'server_go_version' label with current version.",
			"server_go_version", runtime.Version()),
		constGauge("etcd_cluster_version", "Which version is running. 1 for 'cluster_version' label with current cluster version",
			"cluster_version", src.ClusterVersion),
		constGauge("etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
			"server_id", types.ID(src.Node.MemberID()).String()),
	)
}

// constGauge is a gauge fixed at 1 whose one label carries the value.
func constGauge(name, help, label, value string) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{label})
	g.WithLabelValues(value).Set(1)
	return g
}

// Handler serves the registry in the Prometheus text format.
func (mm *Registry) Handler() http.Handler {
	// promhttp_metric_handler_requests_*, as etcd serves them.
	return promhttp.InstrumentMetricHandler(mm.reg, promhttp.HandlerFor(mm.reg, promhttp.HandlerOpts{Registry: mm.reg}))
}

// Observe hooks the timings into raft and the store, and counts leader
// changes and probes the peers until stop closes.
func (mm *Registry) Observe(stop <-chan struct{}) {
	lg, src := mm.src.Logger, mm.src
	src.Node.ObserveWALSync(func(d time.Duration) {
		mm.walFsync.Observe(d.Seconds())
		if d > slowFsyncThreshold {
			mm.slowFsyncs.Inc()
			lg.Warn("slow fdatasync", zap.Duration("took", d), zap.Duration("expected-duration", slowFsyncThreshold))
		}
	})
	src.Node.ObserveWALWrite(func(n int, d time.Duration) {
		mm.walWrite.Observe(d.Seconds())
		mm.walWriteBytes.Add(float64(n))
	})
	src.Store.ObserveCommit(func(d time.Duration) { mm.backendCommit.Observe(d.Seconds()) })
	src.Transport.ObserveSend(mm.heartbeats.observe)
	src.Transport.ObserveSnapshots(mm.snapshots.observe)
	mm.countLeaderChanges(stop)
	go mm.probePeers(stop)
}

// countLeaderChanges counts, as etcd does, every change to a new known
// leader: the leader known now at once, so that a scrape right after the
// member serves sees it, and later ones until stop closes.
func (mm *Registry) countLeaderChanges(stop <-chan struct{}) {
	changed, last := mm.noteLeader(0)
	go func() {
		for {
			select {
			case <-changed:
			case <-stop:
				return
			case <-mm.src.Node.Done():
				return
			}
			changed, last = mm.noteLeader(last)
		}
	}()
}

// noteLeader counts the leader known now if it is not last, and returns
// it with the channel that signals the next change.
func (mm *Registry) noteLeader(last uint64) (<-chan struct{}, uint64) {
	changed := mm.src.Node.LeaderChanged()
	mm.heartbeats.reset()
	if lead := mm.src.Node.Status().Leader; lead != 0 && lead != last {
		mm.leaderChanges.Inc()
		last = lead
	}
	return changed, last
}
