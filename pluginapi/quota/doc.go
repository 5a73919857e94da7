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
// This package imports nothing of MetaStore's outside pluginapi.
package quota
