// Package health answers etcd's HTTP health endpoints for a member:
// /health, /livez and /readyz with their per-check paths, and /version,
// with etcd 3.6's checks, query parameters, status codes and bodies.
//
// The checks read the member through what they are handed: its raft
// status, its client API's KV and Maintenance services (a one-key read
// and the alarms, as etcd's checks), and a counter of their results.
// health imports nothing of MetaStore.
package health
