package etcdapi

// ProposalStats counts this member's proposals for metrics.
type ProposalStats struct {
	// Pending is how many proposals wait for their result now.
	Pending int
	// Failed is how many proposals were given up on since start: raft
	// dropped them, they timed out, or the caller went away.
	Failed uint64
}

// ProposalStats returns the current proposal counts.
func (s *Server) ProposalStats() ProposalStats {
	return ProposalStats{Pending: s.waits.pending(), Failed: s.waits.canceled.Load()}
}
