package etcdapi

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaintenanceServer serves the etcd Maintenance service.
type MaintenanceServer struct {
	pb.UnimplementedMaintenanceServer
	s *Server
}

// Maintenance returns the Maintenance service of s.
func (s *Server) Maintenance() *MaintenanceServer { return &MaintenanceServer{s: s} }

// Status reports the member: version, engine size, raft position, leader.
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
		StorageVersion:   storageVersion,
	}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

// storageVersion is the etcd storage schema version whose semantics the
// store follows.
const storageVersion = "3.6.0"

// Alarm lists alarms. MetaStore raises none yet, so the list is empty;
// activating or deactivating one is refused rather than pretended.
func (m *MaintenanceServer) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	if r.Action != pb.AlarmRequest_GET {
		return nil, status.Error(codes.Unimplemented, "alarms cannot be activated or deactivated yet")
	}
	resp := &pb.AlarmResponse{Header: &pb.ResponseHeader{}}
	m.s.fillHeader(resp.Header)
	return resp, nil
}
