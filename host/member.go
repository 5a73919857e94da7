package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/raft"
	"github.com/metastore/metastore/raft/wal"
)

// Member is one running metastore member: engine, MVCC store, raft node and
// the client API.
type Member struct {
	lg      *zap.Logger
	cfg     Config
	engine  storage.Engine
	store   *mvcc.Store
	api     *etcdapi.Server
	node    *raft.Node
	clients *clientListeners
}

// StartMember opens the member's data and starts serving clients. It
// returns once the member has a leader and serves, or with an error.
func StartMember(ctx context.Context, lg *zap.Logger, cfg Config) (*Member, error) {
	m := &Member{lg: lg, cfg: cfg}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.waitLeader(ctx); err != nil {
		m.Close()
		return nil, err
	}
	clients, err := serveClients(lg, cfg, m.api)
	if err != nil {
		m.Close()
		return nil, err
	}
	m.clients = clients
	lg.Info("ready to serve client requests", zap.Strings("urls", clients.urls()))
	return m, nil
}

// open opens the engine, rebuilds the store, and starts raft, which replays
// the WAL from the engine's consistent index.
func (m *Member) open(ctx context.Context) error {
	if err := os.MkdirAll(m.cfg.DataDir, 0o700); err != nil {
		return err
	}
	eng, options, err := newEngine(m.lg, m.cfg)
	if err != nil {
		return err
	}
	opened, err := eng.Open(ctx, storage.OpenRequest{Dir: filepath.Join(m.cfg.DataDir, "member", "engine"), Options: options})
	if err != nil {
		_ = eng.Close(ctx) // a plugin engine ends its process
		return fmt.Errorf("open %s engine: %w", m.cfg.StorageEngine, err)
	}
	m.engine = eng
	m.store, err = mvcc.New(m.lg.Named("mvcc"), eng, opened.ConsistentIndex, mvcc.Config{})
	if err != nil {
		return err
	}
	m.api = etcdapi.New(m.lg.Named("api"), etcdapi.Config{
		MaxTxnOps:         m.cfg.MaxTxnOps,
		MaxRequestBytes:   m.cfg.MaxRequestBytes,
		RequestTimeout:    m.cfg.requestTimeout(),
		QuotaBackendBytes: m.cfg.quota(),
		Version:           APIVersion,
	}, m.store, m.dbSize)
	rcfg, err := m.raftConfig()
	if err != nil {
		return err
	}
	m.node, err = raft.Start(rcfg, m.api, opened.ConsistentIndex)
	if err != nil {
		return err
	}
	m.api.SetRaft(raftAdapter{m.node})
	return nil
}

func (m *Member) raftConfig() (raft.Config, error) {
	rcfg := raft.Config{
		Logger:        m.lg.Named("raft"),
		WALDir:        m.cfg.WALDir,
		TickInterval:  m.cfg.heartbeat(),
		ElectionTicks: m.cfg.electionTicks(),
		SnapshotCount: m.cfg.SnapshotCount,
	}
	// A member that has a WAL already belongs to a cluster: as etcd does,
	// it takes its identity and membership from there and ignores the
	// --initial-* flags.
	exists, err := wal.Exist(m.cfg.WALDir)
	if err != nil || exists {
		return rcfg, err
	}
	members, err := parseInitialCluster(m.cfg.InitialCluster, m.cfg.InitialClusterToken)
	if err != nil {
		return raft.Config{}, err
	}
	me, err := self(members, m.cfg.Name, m.cfg.InitialAdvertisePeerURLs)
	if err != nil {
		return raft.Config{}, err
	}
	peers := make([]raft.Peer, len(members))
	for i, p := range members {
		peers[i] = raft.Peer{ID: p.ID, URLs: p.PeerURLs}
	}
	rcfg.MemberID, rcfg.ClusterID, rcfg.Peers = me.ID, clusterID(members), peers
	return rcfg, nil
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
	if m.clients != nil {
		m.clients.stop()
	}
	if m.api != nil {
		m.api.Stop()
	}
	if m.node != nil {
		m.node.Stop()
	}
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
}
