package etcdapi

import (
	"github.com/metastore/metastore/etcdapi/apply"
	"github.com/metastore/metastore/etcdapi/auth"
)

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

// PasswordStats counts this member's password checks: failed, refused for
// a flood, waiting for the CPU.
func (s *Server) PasswordStats() auth.PasswordStats { return s.auth.PasswordStats() }
