package etcdapi

import "github.com/metastore/metastore/etcdapi/apply"

// ObserveRequestApply sets the observer of applied requests; nil removes
// it. It may be called at any time.
func (s *Server) ObserveRequestApply(fn RequestApplyObserver) { s.applier.Observe(fn) }

// RequestApplyObserver is told of every request this member applies (see
// apply.Observer).
type RequestApplyObserver = apply.Observer

// AuthRevision is the auth store's revision, as this member has applied it.
func (s *Server) AuthRevision() uint64 {
	_, rev := s.auth.Status()
	return rev
}
