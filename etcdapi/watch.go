package etcdapi

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// WatchServer serves the etcd Watch service.
type WatchServer struct {
	pb.UnimplementedWatchServer
	s *Server
}

// Watch returns the Watch service of s.
func (s *Server) Watch() *WatchServer { return &WatchServer{s: s} }
