package etcdapi

// LeaseStats counts this member's lease events for metrics.
type LeaseStats struct {
	// Expired is how many expired leases this member revoked (as the
	// leader, the only member that revokes them) since start.
	Expired uint64
}

// LeaseStats returns the current lease counts.
func (s *Server) LeaseStats() LeaseStats {
	return LeaseStats{Expired: s.leases.ExpiredRevoked()}
}
