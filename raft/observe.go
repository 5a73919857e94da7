package raft

import "time"

// ApplyObserver is told, after each call to Applier.Apply, how many
// entries it was given and how long it took. It runs on the apply loop,
// so it must be quick.
type ApplyObserver func(entries int, took time.Duration)

// ObserveApply makes f receive every later Apply's size and duration; nil
// removes it. It is safe to call at any time.
func (n *Node) ObserveApply(f ApplyObserver) {
	if f == nil {
		n.onApply.Store(nil)
		return
	}
	n.onApply.Store(&f)
}

// ObserveWALSync makes f receive the duration of every later WAL fsync,
// on the raft loop, so f must be quick; nil removes it. It is safe to call
// at any time.
func (n *Node) ObserveWALSync(f func(time.Duration)) { n.wal.SetSyncObserver(f) }

// ObserveWALWrite makes f receive the size and duration of every later
// WAL write (without its fsync), on the raft loop, so f must be quick; nil
// removes it. It is safe to call at any time.
func (n *Node) ObserveWALWrite(f func(bytes int, took time.Duration)) { n.wal.SetWriteObserver(f) }
