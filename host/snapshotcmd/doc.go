// Package snapshotcmd is the `metastore snapshot` command: restore turns
// a file saved with `etcdctl snapshot save` into the data dir of a member
// of a new cluster, and status describes such a file as etcdutl does.
//
// It runs no member: restore writes the snapshot into a new storage
// engine and bootstraps a new WAL with a raft node that only persists the
// new membership; the member replays it when it starts. The member hands
// it the storage engines it links in.
//
// snapshotcmd imports, of MetaStore, host/config (the restore flags'
// defaults and the initial cluster), etcdapi (the snapshot file's
// checks), pluginapi/storage and raft; never host.
package snapshotcmd
