// Package audit writes the audit log (--audit-log): one JSON object per
// line for every event an operator may have to account for later.
//
// The events are authentication, auth on and off, user and role changes,
// membership changes, alarms (those clients raise or clear and those the
// member raises by itself), defragmentation, snapshots, leader moves,
// compaction, and plugin processes starting, exiting, restarting or
// falling back. Each record says who (the user, "" when auth is off, and
// the client's address), what (the event and its main arguments, never a
// password), when, and the result. Client calls are recorded by gRPC
// interceptors (ServerOptions); the member reports its own events (Alarm,
// AutoCompaction, Plugin).
//
// audit imports, of MetaStore, host/config (the catalog entry of a plugin
// event) only: the member hands it the events and, to name the callers,
// an interface (Callers) that etcdapi's Server satisfies.
package audit
