// Package quota is the published contract between the MetaStore host and a
// quota policy: the Policy interface, its plain request and response
// structs, and the sentinel errors a policy returns.
//
// A policy decides, before a write is proposed to raft, whether the write
// is admitted and which alarms the cluster should raise. It never runs
// during apply: every member applies the same log whatever its policy
// answered, and alarms reach the other members as replicated requests. The
// host, not the policy, keeps the alarms, refuses writes that grow the store
// while NOSPACE is active, and falls back to its built-in check when a
// policy cannot answer.
//
// Policies run built in or as plugin processes: proto/v1 is the wire
// protocol, NewGRPCServer and NewGRPCClient its shims, Serve the whole
// main of a plugin binary and Launch what hosts and tests start one with.
// A policy that takes a configuration (per-prefix limits, say) implements
// Configurer too; the prefixes it declares there are the ones whose usage
// the host keeps, from the replicated store, and passes in each check.
//
// This package imports nothing of MetaStore's outside pluginapi.
package quota
