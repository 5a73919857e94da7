package raft

import (
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// commitHolds holds a leader's appends that carry no entries, only a newer
// commit index, for at most a moment, so that the next append to the same
// follower carries that commit index instead and the held one is never
// sent.
//
// raft broadcasts such an append as soon as an acknowledgement advances
// the commit index, and each follower acknowledges it in turn. Under a
// lone client's writes that is half of a replicated write's messages: the
// leader sends each follower the entry and then its commit, and reads two
// acknowledgements of each. The client's answer waits for neither: the
// leader applies on its own commit. The next write's append, sent a few
// hundred microseconds later, tells the follower the same commit index
// and more.
//
// What waits is a follower's own apply of the held commit, so it is held
// only while nothing on the follower can be waiting for it:
//
//   - at most holdFor: a follower's serializable reads and watches see a
//     write that much later at worst, and at once under continuous
//     writes, as then an append follows soon.
//   - not when the follower forwarded entries it has not yet been told are
//     committed: its client waits for the follower's apply.
//   - a follower's linearizable read is not held up: the leader confirms
//     its ReadIndex with heartbeats, which carry the commit index.
//
// Dropping or delaying a raft message is always safe (raft tolerates
// lost messages); an append replaces a held one only when the follower
// learns from it at least what the held one told it.
type commitHolds struct {
	holdFor time.Duration
	// held is the held append by recipient.
	held map[uint64]*raftpb.Message
	// awaits is, by follower, the last index of the entries it forwarded
	// whose commit it has not been sent yet.
	awaits map[uint64]uint64
	// forwarded lists the followers whose proposals were stepped into
	// raft since the last Ready.
	forwarded []uint64
	timer     *time.Timer
	armed     bool
}

func newCommitHolds(holdFor time.Duration) *commitHolds {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &commitHolds{
		holdFor: holdFor,
		held:    map[uint64]*raftpb.Message{},
		awaits:  map[uint64]uint64{},
		timer:   t,
	}
}

// noteForwarded records that a proposal from follower from was stepped.
func (h *commitHolds) noteForwarded(from uint64) {
	for _, f := range h.forwarded {
		if f == from {
			return
		}
	}
	h.forwarded = append(h.forwarded, from)
}

// expired is the channel the raft loop waits on for the held appends to
// fall due; nil while none are held.
func (h *commitHolds) expired() <-chan time.Time {
	if !h.armed {
		return nil
	}
	return h.timer.C
}

// filter returns the messages of a Ready to send now: held appends that a
// message of the Ready does not replace go out before it, and the leader's
// appends that only advance a commit index are held. lastIndex is the last
// index of the Ready's entries (0 if none).
func (h *commitHolds) filter(msgs []*raftpb.Message, leader bool, lastIndex uint64) []*raftpb.Message {
	if lastIndex > 0 {
		for _, f := range h.forwarded {
			h.awaits[f] = lastIndex
		}
	}
	h.forwarded = h.forwarded[:0]
	if h.holdFor <= 0 || (len(h.held) == 0 && !anyCommitOnly(msgs)) {
		h.noteSent(msgs)
		return msgs
	}
	out := make([]*raftpb.Message, 0, len(msgs)+len(h.held))
	for _, m := range msgs {
		to := m.GetTo()
		if prev, ok := h.held[to]; ok {
			delete(h.held, to)
			if !replaces(m, prev) {
				out = append(out, prev)
			}
		}
		if leader && commitOnly(m) {
			if a := h.awaits[to]; a == 0 || m.GetCommit() < a {
				h.held[to] = m
				continue
			}
		}
		out = append(out, m)
	}
	h.noteSent(out)
	if len(h.held) == 0 {
		h.disarm()
	} else if !h.armed {
		h.timer.Reset(h.holdFor)
		h.armed = true
	}
	return out
}

// release returns every held append, to be sent now.
func (h *commitHolds) release() []*raftpb.Message {
	h.disarm()
	if len(h.held) == 0 {
		return nil
	}
	out := make([]*raftpb.Message, 0, len(h.held))
	for to, m := range h.held {
		out = append(out, m)
		delete(h.held, to)
	}
	h.noteSent(out)
	return out
}

func (h *commitHolds) disarm() {
	if h.armed {
		h.timer.Stop()
		h.armed = false
	}
}

// noteSent forgets what followers await once a message tells them.
func (h *commitHolds) noteSent(msgs []*raftpb.Message) {
	if len(h.awaits) == 0 {
		return
	}
	for _, m := range msgs {
		if a, ok := h.awaits[m.GetTo()]; ok && tellsCommit(m) >= a {
			delete(h.awaits, m.GetTo())
		}
	}
}

func anyCommitOnly(msgs []*raftpb.Message) bool {
	for _, m := range msgs {
		if commitOnly(m) {
			return true
		}
	}
	return false
}

// commitOnly reports whether m is an append without entries.
func commitOnly(m *raftpb.Message) bool {
	return m.GetType() == raftpb.MsgApp && len(m.GetEntries()) == 0
}

// tellsCommit is the commit index a follower that accepts m learns.
func tellsCommit(m *raftpb.Message) uint64 {
	switch m.GetType() {
	case raftpb.MsgApp:
		return min(m.GetCommit(), m.GetIndex()+uint64(len(m.GetEntries())))
	case raftpb.MsgHeartbeat:
		return m.GetCommit()
	}
	return 0
}

// replaces reports whether a follower learns from m at least what the
// held append prev would tell it: m is of the same term and tells a commit
// index as high, and an append also reaches prev's index (a heartbeat's
// commit index is one the follower holds already).
func replaces(m, prev *raftpb.Message) bool {
	if m.GetTerm() != prev.GetTerm() || tellsCommit(m) < tellsCommit(prev) {
		return false
	}
	switch m.GetType() {
	case raftpb.MsgApp:
		return m.GetIndex()+uint64(len(m.GetEntries())) >= prev.GetIndex()
	case raftpb.MsgHeartbeat:
		return true
	}
	return false
}
