package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/host/audit"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/metrics"
	"github.com/metastore/metastore/host/plugin"
	"github.com/metastore/metastore/host/tracing"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/raft"
	"github.com/metastore/metastore/raft/peer"
	"github.com/metastore/metastore/raft/wal"
)

// Member is one running metastore member: engine, MVCC store, raft node and
// the client API.
type Member struct {
	lg      *zap.Logger
	cfg     config.Config
	audit   *audit.Log // nil: none
	engine  storage.Engine
	store   *mvcc.Store
	api     *etcdapi.Server
	node    *raft.Node
	peers   *peerListeners
	tr      *peer.Transport
	snaps   *raftSnapshots
	clients *clientListeners
	// quotaPlugin is the quota policy plugin, or nil.
	quotaPlugin *plugin.QuotaPolicy
	// authPlugin is the auth provider plugin, or nil.
	authPlugin *plugin.AuthProvider
	// calls answers peers' calls besides raft (HashKV, calls followers
	// forward to the leader).
	calls *peer.Calls
	// raftStats counts raft events for the metrics.
	raftStats metrics.RaftStats
	// stopCorruptCheck stops the leader's corruption checks.
	stopCorruptCheck context.CancelFunc
	// removed is closed when this member learns it was removed from the
	// cluster; the process then exits, as etcd does.
	removed     chan struct{}
	removedOnce sync.Once
	stopPublish context.CancelFunc
	// self is the member id once raft has started; startID the id the
	// flags gave before (0 when it comes from the WAL).
	self    atomic.Uint64
	startID uint64
	// tracing is the member's tracing; nil when it does not trace.
	tracing *tracing.Tracing
}

// StartMember opens the member's data and starts serving clients. It
// returns once the member has a leader and serves, or with an error.
func StartMember(ctx context.Context, lg *zap.Logger, cfg config.Config) (*Member, error) {
	return startMember(ctx, lg, cfg, nil)
}

// startMember is StartMember recording to the audit log auditLog (nil:
// none).
func startMember(ctx context.Context, lg *zap.Logger, cfg config.Config, auditLog *audit.Log) (*Member, error) {
	m := &Member{lg: lg, cfg: cfg, audit: auditLog, removed: make(chan struct{})}
	var err error
	if m.tracing, err = tracing.Start(ctx, lg, cfg); err != nil {
		return nil, err
	}
	plugin.SetTracing(m.tracing.PluginDialOptions(), m.tracing.PluginEnv())
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.waitLeader(ctx); err != nil {
		m.Close()
		return nil, err
	}
	clients, err := serveClients(lg, cfg, m)
	if err != nil {
		m.Close()
		return nil, err
	}
	m.clients = clients
	lg.Info("ready to serve client requests", zap.Strings("urls", clients.urls()))
	pctx, cancel := context.WithCancel(context.Background())
	m.stopPublish = cancel
	go m.publish(pctx)
	return m, nil
}

// Removed returns a channel closed once this member has been removed from
// the cluster.
func (m *Member) Removed() <-chan struct{} { return m.removed }

// noteRemoved stops the process the way SIGTERM does: a member removed
// from the cluster has nothing left to serve, and etcd exits too.
func (m *Member) noteRemoved() {
	m.removedOnce.Do(func() {
		m.lg.Error("the member has been permanently removed from the cluster")
		close(m.removed)
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	})
}

// open opens the engine, rebuilds the store, and starts raft, which replays
// the WAL from the engine's consistent index.
func (m *Member) open(ctx context.Context) error {
	if err := checkNotEtcdDataDir(m.cfg.DataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(m.cfg.DataDir, 0o700); err != nil {
		return err
	}
	eng, options, err := newEngine(m.lg, m.cfg, m.audit)
	if err != nil {
		return err
	}
	opened, err := eng.Open(ctx, storage.OpenRequest{Dir: filepath.Join(m.cfg.DataDir, "member", "engine"), Options: options})
	if err != nil {
		_ = eng.Close(ctx) // a plugin engine ends its process
		return fmt.Errorf("open %s engine: %w", m.cfg.StorageEngine, err)
	}
	m.engine = eng
	m.snaps = newRaftSnapshots(m)
	consistentIndex, err := m.snaps.recoverSnapshot(ctx, m.cfg.WALDir, opened.ConsistentIndex)
	if err != nil {
		return err
	}
	if m.cfg.UnsafeNoFsync {
		m.lg.Warn("fsync is disabled (--unsafe-no-fsync): a crash of the machine may lose acknowledged writes")
	}
	m.store, err = mvcc.New(m.lg.Named("mvcc"), eng, consistentIndex, mvcc.Config{NoSync: m.cfg.UnsafeNoFsync, CacheBytes: m.cfg.ValueCacheBytes,
		CompactionBatch: m.cfg.CompactionBatch(), CompactionSleep: m.cfg.CompactionSleepInterval,
		Tracer: m.tracing.Tracer(tracing.ScopeMVCC)})
	if err != nil {
		return err
	}
	deps := etcdapi.Deps{
		Log: m.lg.Named("api"),
		Config: etcdapi.Config{
			StrictReconfigCheck: m.cfg.StrictReconfigCheck,
			MaxTxnOps:           m.cfg.MaxTxnOps,
			MaxRequestBytes:     m.cfg.MaxRequestBytes,
			RequestTimeout:      m.cfg.RequestTimeout(),
			QuotaBackendBytes:   m.cfg.QuotaBytes(),
			Version:             APIVersion,
			// Progress notifications of idle watchers.
			WatchProgressNotifyInterval: m.cfg.WatchProgressNotifyInterval,
			MaxLearners:                 m.cfg.LearnerLimit(),
		},
		Store:  m.store,
		Engine: eng,
		DBSize: m.dbSize,
		Leases: lease.Config{
			MinTTL:           lease.MinTTL(m.cfg.Heartbeat(), m.cfg.ElectionTicks()),
			PromoteExtension: time.Duration(m.cfg.ElectionMillis) * time.Millisecond,
			RevokeRetry:      m.cfg.RequestTimeout(),
		},
		OnAlarm:            m.audit.Alarm,
		OnMembershipChange: m.membershipChanged,
		Tracer:             m.tracing.Tracer(tracing.ScopeEtcdAPI),
	}
	if err := m.startQuota(&deps); err != nil {
		return err
	}
	if entry := m.cfg.AuthPlugin(); entry != nil {
		if m.authPlugin, err = plugin.StartAuthProvider(m.lg, *entry, m.audit.Plugin); err != nil {
			return err
		}
	}
	deps.Auth = authConfig(&m.cfg, m.authPlugin)
	if m.api, err = etcdapi.New(ctx, deps); err != nil {
		return err
	}
	if err := checkLearners(&m.cfg.ServerConfig, m.api.Members()); err != nil {
		return err
	}
	hasData, err := wal.Exist(m.cfg.WALDir)
	if err != nil {
		return err
	}
	rcfg, initial, err := m.raftConfig(ctx)
	if err != nil {
		return err
	}
	m.startID = rcfg.MemberID
	if err := m.startPeers(rcfg.MemberID, initial); err != nil {
		return err
	}
	if err := m.initialCorruptCheck(ctx, m.selfBeforeRaft(rcfg.MemberID), rcfg.ClusterID, hasData); err != nil {
		return err
	}
	rcfg.Transport = m.tr
	m.node, err = raft.Start(rcfg, snapshotApplier{Applier: m.applier(), snaps: m.snaps}, consistentIndex)
	if err != nil {
		if errors.Is(err, raft.ErrIDMismatch) {
			return fmt.Errorf("the WAL in %s belongs to another cluster or member than --initial-cluster and --initial-cluster-token describe: %w", m.cfg.WALDir, err)
		}
		if errors.Is(err, raft.ErrIndexMismatch) {
			return m.snaps.explainIndexMismatch(err, m.cfg.WALDir, consistentIndex)
		}
		return err
	}
	m.self.Store(m.node.MemberID())
	m.tr.SetRaft(m.node)
	compaction := m.cfg.Compaction()
	if m.audit != nil {
		compaction.Observe = m.audit.AutoCompaction
	}
	m.api.Start(readIndexObserver{raftAdapter{m.node}, &m.raftStats}, m.tr, compaction)
	m.membershipChanged(m.api.Members())
	m.stopCorruptCheck = m.startCorruptionMonitors()
	return nil
}

// checkLearners refuses, as etcd at start, a membership with more
// learners than --max-learners allows.
func checkLearners(c *config.ServerConfig, members []etcdapi.Member) error {
	n := 0
	for _, m := range members {
		if m.IsLearner {
			n++
		}
	}
	if n > c.MaxLearners {
		return fmt.Errorf("too many learner members in cluster: it has %d, --max-learners is %d", n, c.MaxLearners)
	}
	return nil
}

// startPeers starts the transport with the known members as peers and
// serves it on the peer URLs.
func (m *Member) startPeers(self uint64, initial []etcdapi.Member) error {
	tlsCfg, err := peerClientTLS(m.lg, &m.cfg)
	if err != nil {
		return err
	}
	m.tr = peer.New(peer.Config{
		TLS:         tlsCfg,
		Logger:      m.lg.Named("peer"),
		Snapshotter: m.snaps,
		IsRemoved:   m.api.IsRemoved,
		OnRemoved:   m.noteRemoved,
		Members:     peerMembers(m.api),
	})
	known := m.api.Members()
	if len(known) == 0 {
		known = initial
	}
	syncPeers(m.tr, self, known)
	m.calls = peer.NewCalls()
	for name, h := range m.api.PeerCalls() {
		m.calls.Handle(name, h)
	}
	m.peers, err = servePeers(m.lg, m.cfg, m.tr, m.calls)
	return err
}

// membershipChanged keeps the transport's peers in step with the members,
// and notices this member's own removal.
func (m *Member) membershipChanged(ms []etcdapi.Member) {
	self := m.self.Load()
	if self == 0 {
		self = m.startID
	}
	if len(ms) > 0 {
		syncPeers(m.tr, self, ms)
	}
	if self != 0 && m.api.IsRemoved(self) {
		m.noteRemoved()
	}
}

// raftConfig returns the raft configuration and, for a member without a
// WAL, the members it starts with.
func (m *Member) raftConfig(ctx context.Context) (raft.Config, []etcdapi.Member, error) {
	rcfg := raft.Config{
		Logger:        m.lg.Named("raft"),
		WALDir:        m.cfg.WALDir,
		TickInterval:  m.cfg.Heartbeat(),
		ElectionTicks: m.cfg.ElectionTicks(),
		SnapshotCount: m.cfg.SnapshotCount,
		// Entries kept below a snapshot for slow followers.
		SnapshotCatchUpEntries: m.cfg.SnapshotCatchUpEntries,
		DisablePreVote:         !m.cfg.PreVote,
		UnsafeNoFsync:          m.cfg.UnsafeNoFsync,
		Tracer:                 m.tracing.Tracer(tracing.ScopeRaft),
	}
	// A member that has a WAL already belongs to a cluster: as etcd does,
	// it takes its identity and membership from there. Only a member of a
	// new cluster checks that the WAL is the one its flags describe, so
	// that a data dir of another cluster is refused rather than joined.
	exists, err := wal.Exist(m.cfg.WALDir)
	if err != nil {
		return rcfg, nil, err
	}
	if exists {
		m.forceNewCluster(&rcfg)
		if m.cfg.InitialClusterState == "new" {
			members, err := config.ParseInitialCluster(m.cfg.InitialCluster, m.cfg.InitialClusterToken)
			if err != nil {
				return rcfg, nil, err
			}
			if me, err := config.Self(members, m.cfg.Name, m.cfg.InitialAdvertisePeerURLs); err == nil {
				rcfg.MemberID, rcfg.ClusterID = me.ID, config.ClusterID(members)
			}
		}
		return rcfg, nil, nil
	}
	if m.cfg.ForceNewCluster {
		m.lg.Warn("--force-new-cluster has no effect on a member without data; starting as --initial-cluster describes",
			zap.String("wal-dir", m.cfg.WALDir))
	}
	initial, err := m.identity(ctx, &rcfg)
	return rcfg, initial, err
}

// forceNewCluster asks raft, for --force-new-cluster, to restart this
// member, which has a WAL, as a cluster of one. A member its log lacks is
// added with its name and advertised peer URLs.
func (m *Member) forceNewCluster(rcfg *raft.Config) {
	if !m.cfg.ForceNewCluster {
		return
	}
	rcfg.ForceNewCluster = true
	rcfg.Self = raft.Peer{Name: m.cfg.Name, URLs: config.SplitURLs(m.cfg.InitialAdvertisePeerURLs)}
}

// waitLeader waits until raft knows a leader, as etcd waits before it
// announces that it serves.
func (m *Member) waitLeader(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Duration(m.cfg.ElectionMillis) * time.Millisecond)
	for m.node.Status().Leader == 0 {
		if time.Now().After(deadline) {
			return errors.New("no raft leader elected")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// newMetrics is the member's metrics registry, reading from its parts:
// the process's plugin calls and, with a quota plugin, its state.
func (m *Member) newMetrics() *metrics.Registry {
	extra := plugin.Collectors()
	if m.quotaPlugin != nil {
		extra = append(extra, m.quotaPlugin.Collector())
	}
	return metrics.New(metrics.Sources{
		Logger: m.lg, Node: m.node, API: m.api, Store: m.store, Transport: m.tr, Calls: m.calls,
		RaftStats: &m.raftStats, DBSize: m.dbSize, QuotaBytes: m.cfg.QuotaBytes(),
		HeartbeatInterval:    m.cfg.Heartbeat(),
		WarningApplyDuration: m.cfg.SlowApplyThreshold(),
		FeatureEnabled:       m.cfg.CorruptionConfig.FeatureEnabled,
		ServerVersion:        APIVersion,
		ClusterVersion:       clusterVersion,
	}, extra...)
}

func (m *Member) dbSize() (int64, int64) {
	st, err := m.engine.Stats(context.Background(), storage.StatsRequest{})
	if err != nil {
		return 0, 0
	}
	return st.SizeBytes, st.SizeInUseBytes
}

// Close stops serving, stops raft, flushes the store and closes the engine,
// in that order, so that nothing acknowledged is lost.
func (m *Member) Close() {
	if m.stopCorruptCheck != nil {
		m.stopCorruptCheck()
	}
	if m.stopPublish != nil {
		m.stopPublish()
	}
	if m.clients != nil {
		m.clients.stop()
	}
	if m.calls != nil {
		// Peers' calls in flight, such as a forwarded removal of this
		// member, are answered before the API stops.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m.calls.Drain(ctx)
		cancel()
	}
	if m.api != nil && m.node != nil {
		// While raft still runs: the leader checkpoints remaining TTLs.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := m.api.StopLeases(ctx); err != nil {
			m.lg.Warn("checkpointing leases at stop", zap.Error(err))
		}
		cancel()
	}
	m.handOverLeadership()
	if m.api != nil {
		m.api.Stop()
	}
	if m.node != nil {
		m.node.Stop()
	}
	if m.peers != nil {
		m.peers.stop()
	}
	if m.tr != nil {
		m.tr.Stop()
	}
	m.authPlugin.Close()
	m.quotaPlugin.Close()
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			m.lg.Error("closing the store", zap.Error(err))
		}
	}
	if m.engine != nil {
		if err := m.engine.Close(context.Background()); err != nil {
			m.lg.Error("closing the engine", zap.Error(err))
		}
	}
	m.tracing.Shutdown()
}
