package etcdapi

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// LeaseServer serves the etcd Lease service.
type LeaseServer struct {
	pb.UnimplementedLeaseServer
	s *Server
}

// Lease returns the Lease service of s.
func (s *Server) Lease() *LeaseServer { return &LeaseServer{s: s} }
