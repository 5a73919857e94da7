// Package raft runs one MetaStore member's replicated log on top of
// go.etcd.io/raft/v3: the Ready loop, the write-ahead log (package
// raft/wal), log snapshots and compaction, linearizable ReadIndex batching,
// and the hand-off of committed entries to the host's state machine through
// the Applier interface it declares. Peer networking is a Transport the host
// supplies (package raft/peer). Entries and messages are encoded for the WAL
// and for peers by package raft/raftwire, without protobuf's reflection. It
// imports no other MetaStore package.
//
// # Loops
//
// A Node runs three goroutines:
//
//   - the raft loop owns the raft.RawNode, the MemoryStorage and the WAL.
//     It ticks, steps proposals and peer messages into raft, and for each
//     Ready: writes the snapshot marker (if any), then the HardState and
//     entries with one fsync, installs the snapshot and appends the entries
//     to MemoryStorage, sends the messages, applies committed conf changes
//     to raft, queues the committed entries for the apply loop and calls
//     Advance. Committed entries its log already held durably before the
//     Ready, without a conf change among them, are queued first, so their
//     apply runs beside the Ready's write and fsync, as etcd's does. It
//     also takes log snapshots (see below).
//   - the apply loop passes queued entries to Applier.Apply in log order and
//     advances the applied index that WaitApplied waits on.
//   - the read loop (readIndexBatcher) serves ReadIndex.
//
// # Commit indexes held for the next append
//
// A leader whose acknowledgements advance the commit index does not send
// each follower an append without entries that only carries the new
// commit index, as raft asks, if the next append to that follower comes
// within Config.CommitHold (1 ms by default): the next append carries it
// (commitHolds). Under a lone client that halves a replicated write's
// messages (the append of the commit and its acknowledgement, both ways,
// for each follower). A follower that forwarded entries is told their
// commit at once, its client waiting on its apply; followers' linearizable
// reads learn the commit from the leader's heartbeats as before.
//
// # Why RawNode and not raft.Node
//
// raft.Node is RawNode behind a goroutine and channels: each Propose is a
// channel round trip into that goroutine, and the application's loop then
// receives Readies from a second channel. Driving RawNode from our own loop
// removes that layer and lets the loop decide what goes into a Ready: it
// steps every proposal and message that queued up while the previous Ready
// was being fsynced, then takes one Ready, so however many proposals arrive
// during an fsync they share the next one (group commit). The proposals go
// into raft as one proposal message of many entries (at most MaxSizePerMsg
// bytes of them), not a message each. It also makes the
// order of persist, send, hand-off and Advance explicit code rather than a
// contract between goroutines, and raft's state is never touched
// concurrently. In raft v3.7 a leader's own entries count towards the
// quorum only after Advance reports them persisted, so this order is what
// commits entries, on a single node too.
//
// # Restart
//
// Start replays the WAL: the latest snapshot marker, the HardState and the
// entries after the snapshot go into MemoryStorage. raft restarts with
// Config.Applied at the snapshot index rather than the engine's applied
// index, so the committed entries between the two come back through the
// Ready loop: conf changes among them must reach raft again, as raft only
// knows the membership recorded in the snapshot. The apply loop keeps
// entries at or below the engine's applied index from the Applier. An
// engine older than the WAL's snapshot cannot be caught up from the WAL and
// is refused (ErrIndexMismatch).
//
// With Config.ForceNewCluster (etcd's --force-new-cluster), Start first
// rewrites the log it replayed into that of a cluster of one: the entries
// past the commit index are dropped, and conf changes that remove every
// other member (adding this one first if its log lacks it) are appended in
// the current term, committed and written to the WAL before raft starts.
// They reach raft and the Applier as any committed conf change, so the
// host's membership records the others as removed, and a later restart
// without the flag finds the one-member cluster in the WAL. A learner is
// refused (ErrForceLearner): raft cannot remove its last voter.
//
// # Snapshots
//
// Every Config.SnapshotCount applied entries, the raft loop takes a
// snapshot at the highest index that is both applied and durable in the
// engine (Applier.PersistedIndex): it records the membership in force at
// that index, compacts MemoryStorage keeping Config.SnapshotCatchUpEntries
// for slow followers, writes a snapshot marker to the WAL and removes the
// WAL segments the snapshot covers. Snapshot data is empty: the storage
// engine holds the state. A follower that fell behind the compacted log
// gets a MsgSnap; the host's transport streams the leader's engine with it
// and keeps it durably before the message reaches raft. The raft loop then
// writes the snapshot marker to the WAL, installs the snapshot in
// MemoryStorage and hands it to the apply loop, where the Applier (a
// SnapshotApplier) installs the state.
//
// The leader streams its engine as it is when sending, at or past the
// snapshot's index, so a follower's engine can end up past its own log. A
// restart then finds the engine's applied index above the WAL's last
// entry; Start accepts that when the WAL holds a snapshot marker: raft
// resumes at the end of its log and the entries up to the engine's index
// are skipped as the leader sends them again.
package raft
