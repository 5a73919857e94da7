// Package prefix is the prefix-quota policy: per-prefix limits on the
// number of live keys and the bytes they take, for tenants that share a
// cluster under their own key prefixes.
//
// Its configuration (the config mapping of its catalog entry) lists the
// prefixes:
//
//	prefixes:
//	  - prefix: /tenant-a/
//	    max-keys: 1000
//	    max-bytes: 1048576
//
// A write that would take a prefix over one of its limits is refused with
// a reason naming the prefix and the limit; writes elsewhere, and writes
// that do not grow a prefix (deletes, smaller overwrites), are admitted.
// The policy keeps no counters: the host passes each prefix's usage, kept
// from the replicated store, in every check (quota.CheckRequest.Prefixes),
// so the limits hold across restarts and on every member.
//
// It runs as a plugin process (cmd/metastore-quota-prefix) and imports
// only pluginapi/quota.
package prefix
