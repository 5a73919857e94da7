package etcdapi

// AuthEnabled reports whether auth is on: what the HTTP layer needs to
// refuse what etcd refuses there.
func (s *Server) AuthEnabled() bool { return s.auth.Enabled() }
