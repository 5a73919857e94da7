// Package plugin supervises MetaStore's plugin processes: it launches the
// binary of a catalog entry, watches it, and applies its kind's failure
// policy (see PolicyOf) when it dies or stops answering.
//
// Every kind starts through one launch path: from one OS thread that
// lives as long as the process (so the parent-death signal means "the
// host died"), with the entry's checksum, arguments and environment, the
// plugin's logs re-logged under plugin.<kind>.<name>, and its calls
// counted and timed. Each kind then has its supervisor: Engine (storage),
// AuthProvider (auth) and QuotaPolicy (quota). The supervisors of the
// running members of this process are kept in one registry per kind, so
// that a configuration reload reaches them.
//
// plugin imports the plugin contracts (pluginapi), the catalog entry it
// launches and the kind names (host/config) and, for its name in log
// lines, the built-in quota policy; nothing else of MetaStore, and never
// host: the member hands it what a supervisor needs (a quota policy's
// built-in fallback, its usage counter, the audit log) as values and
// interfaces.
package plugin
