package etcdapi

import "github.com/metastore/metastore/etcdapi/auth"

// The lease lookups permission checks need: a lease's keys (a put with a
// lease, a revoke, a keep-alive or a TTL query with keys needs permission
// on each) and the list of leases (for LeaseLeases).

func (s *Server) leaseKeys() auth.LeaseKeysFunc { return s.leases.KeysOf }

func (s *Server) leaseIDs() []int64 { return s.leases.IDs() }
