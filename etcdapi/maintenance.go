package etcdapi

import (
	"context"
	"slices"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi/admission"
	"github.com/metastore/metastore/etcdapi/alarm"
	"github.com/metastore/metastore/etcdapi/compactor"
	"github.com/metastore/metastore/pluginapi/storage"
)

// maintenance is the state behind the Maintenance service, the quota gate
// and the compactor.
type maintenance struct {
	engine storage.Engine
	alarms *alarm.Store
	// observeAlarms, set before serving, is told of the alarms this
	// member raises by itself.
	observeAlarms AlarmObserver
	quota         *admission.Gate
	compactor     *compactor.Compactor
	// defragMu runs one defragmentation at a time.
	defragMu sync.Mutex
	// corruptOnce raises CORRUPT for engine corruption, once until disarmed.
	corruptOnce engineCorruption
}

// Alarms returns the active alarms, ordered by member then type.
func (s *Server) Alarms() []*pb.AlarmMember { return s.maint.alarms.List(pb.AlarmType_NONE) }

// MaintenanceServer serves the etcd Maintenance service.
type MaintenanceServer struct {
	pb.UnimplementedMaintenanceServer
	s *Server
}

// Maintenance returns the Maintenance service of s.
func (s *Server) Maintenance() *MaintenanceServer { return &MaintenanceServer{s: s} }

// StorageVersion is the etcd storage schema version whose semantics the
// store follows: what etcd of the API version MetaStore speaks (3.7.3)
// reports in its status and in its snapshots.
const StorageVersion = "3.7.0"

// Status reports the member: version, engine size and quota, raft
// position, leader, and as errors a missing leader and the active alarms.
func (m *MaintenanceServer) Status(ctx context.Context, _ *pb.StatusRequest) (*pb.StatusResponse, error) {
	st := m.s.raft.Status()
	size, inUse := m.s.dbSize()
	resp := &pb.StatusResponse{
		Header:           &pb.ResponseHeader{},
		Version:          m.s.cfg.Version,
		DbSize:           size,
		DbSizeInUse:      inUse,
		DbSizeQuota:      m.s.cfg.QuotaBackendBytes,
		Leader:           st.Leader,
		RaftIndex:        st.CommitIndex,
		RaftTerm:         st.Term,
		RaftAppliedIndex: st.AppliedIndex,
		IsLearner:        st.IsLearner,
		StorageVersion:   StorageVersion,
		DowngradeInfo:    &pb.DowngradeInfo{},
	}
	if st.Leader == 0 {
		resp.Errors = append(resp.Errors, rpctypes.ErrorDesc(rpctypes.ErrGRPCNoLeader))
	}
	for _, a := range m.s.Alarms() {
		resp.Errors = append(resp.Errors, a.String())
	}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

// Alarm lists, raises or clears alarms. Every action goes through raft, as
// etcd does, so a GET answers what the cluster has agreed on.
func (m *MaintenanceServer) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	res, err := m.s.propose(ctx, &pb.InternalRaftRequest{Alarm: r})
	if err = firstErr(err, res.Err); err != nil {
		return nil, toGRPCError(err)
	}
	resp := res.Resp.(*pb.AlarmResponse)
	resp.Alarms = slices.Clone(resp.Alarms)
	m.s.fillHeader(resp.Header)
	return resp, nil
}

// Defragment gives the engine's free space back to the file system. An
// engine that reclaims space by itself has nothing to do. Reads and writes
// go on meanwhile; the engine holds them only for its final switch.
func (m *MaintenanceServer) Defragment(ctx context.Context, _ *pb.DefragmentRequest) (*pb.DefragmentResponse, error) {
	eng := m.s.maint.engine
	d, ok := eng.(storage.Defragmenter)
	if !ok || !canDefrag(ctx, eng) {
		m.s.lg.Info("storage engine reclaims space by itself; nothing to defragment")
		return &pb.DefragmentResponse{}, nil
	}
	m.s.maint.defragMu.Lock()
	defer m.s.maint.defragMu.Unlock()
	m.s.lg.Info("starting defragment")
	resp, err := d.Defrag(ctx, storage.DefragRequest{})
	if err != nil {
		m.s.lg.Warn("failed to defragment", zap.Error(err))
		return nil, toGRPCError(err)
	}
	m.s.lg.Info("finished defragment",
		zap.Int64("size-before", resp.SizeBefore), zap.Int64("size-after", resp.SizeAfter))
	return &pb.DefragmentResponse{}, nil
}

// canDefrag reports whether the engine wants Defrag called: it declares
// CapabilityDefrag, or declares no capabilities at all (see
// storage.InfoResponse). An engine served by a plugin implements
// Defragmenter whatever the plugin can do, so its declaration decides.
func canDefrag(ctx context.Context, eng storage.Engine) bool {
	info, err := eng.Info(ctx)
	if err != nil {
		return true // let Defrag report the failure
	}
	return len(info.Capabilities) == 0 || slices.Contains(info.Capabilities, storage.CapabilityDefrag)
}

// Hash returns a CRC-32 of the whole engine content but the member's own
// bookkeeping (compaction progress), and the revision it was taken at.
func (m *MaintenanceServer) Hash(ctx context.Context, _ *pb.HashRequest) (*pb.HashResponse, error) {
	h, rev, err := m.s.hashEngine(ctx)
	if err != nil {
		return nil, toGRPCError(err)
	}
	resp := &pb.HashResponse{Header: &pb.ResponseHeader{Revision: rev}, Hash: h}
	m.s.fillHeaderKeepRev(resp.Header)
	return resp, nil
}

// HashKV returns the hash of the key space at r.Revision (0: now), with
// the compaction revision it starts from and the revision it covers; the
// header carries the current revision.
func (m *MaintenanceServer) HashKV(ctx context.Context, r *pb.HashKVRequest) (*pb.HashKVResponse, error) {
	h, compactRev, hashRev, err := m.s.store.HashKV(r.Revision)
	if err = m.s.noteEngineError(err); err != nil {
		return nil, toGRPCError(err)
	}
	resp := &pb.HashKVResponse{
		Header:          &pb.ResponseHeader{},
		Hash:            h,
		CompactRevision: compactRev,
		HashRevision:    hashRev,
	}
	m.s.fillHeader(resp.Header)
	return resp, nil
}
