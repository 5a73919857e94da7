package raft

import (
	"slices"
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
	// awaits is, by follower, the ascending last indexes of the Readies
	// that appended entries it forwarded, whose commit it has not been
	// sent yet.
	awaits map[uint64][]uint64
	// forwarded lists the followers whose proposals were stepped into
	// raft since the last Ready.
	forwarded []uint64
	// timer runs while an append is held, from the first one held.
	timer *time.Timer
}

func newCommitHolds(holdFor time.Duration) *commitHolds {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &commitHolds{
		holdFor: holdFor,
		held:    map[uint64]*raftpb.Message{},
		awaits:  map[uint64][]uint64{},
		timer:   t,
	}
}

// noteForwarded records that a proposal from follower from was stepped.
func (h *commitHolds) noteForwarded(from uint64) {
	if !slices.Contains(h.forwarded, from) {
		h.forwarded = append(h.forwarded, from)
	}
}

// expired is the channel the raft loop waits on for the held appends to
// fall due; nil while none are held.
func (h *commitHolds) expired() <-chan time.Time {
	if len(h.held) == 0 {
		return nil
	}
	return h.timer.C
}

// filter returns the messages of a Ready to send now, and holds the
// leader's appends that only advance a commit index. A held append stays
// held until it falls due, unless a message to its follower tells as
// much (it is then dropped) or is of a later term (the held one is stale);
// a second one to hold sends the first. lastIndex is the last index of
// the Ready's entries (0 if none).
func (h *commitHolds) filter(msgs []*raftpb.Message, leader bool, lastIndex uint64) []*raftpb.Message {
	if !leader {
		clear(h.awaits)
	} else if lastIndex > 0 {
		for _, f := range h.forwarded {
			if q := h.awaits[f]; len(q) == 0 || q[len(q)-1] < lastIndex {
				h.awaits[f] = append(q, lastIndex)
			}
		}
	}
	h.forwarded = h.forwarded[:0]
	if h.holdFor <= 0 || (len(h.held) == 0 && !anyCommitOnly(msgs)) {
		h.noteSent(msgs)
		return msgs
	}
	wasHolding := len(h.held) > 0
	out := make([]*raftpb.Message, 0, len(msgs)+len(h.held))
	for _, m := range msgs {
		to := m.GetTo()
		prev, holding := h.held[to]
		if holding && (replaces(m, prev) || m.GetTerm() > prev.GetTerm()) {
			delete(h.held, to)
			holding = false
		}
		if leader && commitOnly(m) {
			if q := h.awaits[to]; len(q) == 0 || tellsCommit(m) < q[0] {
				if holding {
					out = append(out, prev)
				}
				h.held[to] = m
				continue
			}
		}
		out = append(out, m)
	}
	h.noteSent(out)
	switch holding := len(h.held) > 0; {
	case holding && !wasHolding:
		h.timer.Reset(h.holdFor)
	case !holding && wasHolding:
		h.timer.Stop()
	}
	return out
}

// release returns every held append, to be sent now.
func (h *commitHolds) release() []*raftpb.Message {
	if len(h.held) == 0 {
		return nil
	}
	h.timer.Stop()
	out := make([]*raftpb.Message, 0, len(h.held))
	for to, m := range h.held {
		out = append(out, m)
		delete(h.held, to)
	}
	h.noteSent(out)
	return out
}

// noteSent forgets the commits followers await once a message tells
// them.
func (h *commitHolds) noteSent(msgs []*raftpb.Message) {
	if len(h.awaits) == 0 {
		return
	}
	for _, m := range msgs {
		q, ok := h.awaits[m.GetTo()]
		if !ok {
			continue
		}
		c := tellsCommit(m)
		i := 0
		for i < len(q) && q[i] <= c {
			i++
		}
		if i == len(q) {
			delete(h.awaits, m.GetTo())
		} else if i > 0 {
			h.awaits[m.GetTo()] = q[i:]
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
