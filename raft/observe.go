package raft

import "time"

// ObserveWALSync makes f receive the duration of every later WAL fsync,
// on the raft loop, so f must be quick; nil removes it. It is safe to call
// at any time.
func (n *Node) ObserveWALSync(f func(time.Duration)) { n.wal.SetSyncObserver(f) }

// ObserveWALWrite makes f receive the size and duration of every later
// WAL write (without its fsync), on the raft loop, so f must be quick; nil
// removes it. It is safe to call at any time.
func (n *Node) ObserveWALWrite(f func(bytes int, took time.Duration)) { n.wal.SetWriteObserver(f) }
