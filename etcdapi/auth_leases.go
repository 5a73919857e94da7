package etcdapi

// The lease lookups permission checks need: a lease's keys (a put with a
// lease, a revoke, a keep-alive or a TTL query with keys needs permission
// on each) and the list of leases (for LeaseLeases). Until the lease
// service keeps leases, no lease exists and no key is attached to one.

func (s *Server) leaseKeys() leaseKeysFunc { return nil }

func (s *Server) leaseIDs() []int64 { return nil }

func (a *applier) leaseKeys() leaseKeysFunc { return nil }
