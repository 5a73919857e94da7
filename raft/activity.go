package raft

import (
	"sync"
	"time"
)

// peerActivity remembers when the node last heard from each peer, and
// since when it has heard from it without a silence longer than an
// election timeout: etcd's transport calls that time "active since", and
// its strict reconfiguration check counts the members active now.
type peerActivity struct {
	mu    sync.Mutex
	peers map[uint64]*heard
}

type heard struct{ since, last time.Time }

// note records a message from id at now.
func (a *peerActivity) note(id uint64, now time.Time, silence time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.peers == nil {
		a.peers = map[uint64]*heard{}
	}
	h := a.peers[id]
	if h == nil {
		h = &heard{since: now}
		a.peers[id] = h
	}
	if now.Sub(h.last) > silence {
		h.since = now
	}
	h.last = now
}

func (a *peerActivity) activeSince(id uint64, now time.Time, silence time.Duration) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.peers[id]
	if h == nil || now.Sub(h.last) > silence {
		return time.Time{}
	}
	return h.since
}

// ReachSilence is how long a peer that stops answering this member's
// probes (NoteReached) still counts as reached.
const ReachSilence = 1500 * time.Millisecond

// NoteReached records that peer id answered a call of this member's just
// now. Every member probes every peer (the host's round-trip probe), so
// this is how a follower, which hears from the leader alone, knows the
// other followers: etcd's members keep streams to every peer for the same
// reason.
func (n *Node) NoteReached(id uint64) {
	n.reached.note(id, time.Now(), ReachSilence)
}

// ActiveSince returns since when this member has been in touch with peer
// id, or the zero time if it is not now. In touch means hearing raft
// messages from it with no silence longer than an election timeout (a
// leader hears from every live member each heartbeat, a follower from the
// leader only), or reaching it with probes with no silence longer than
// ReachSilence; the earlier start of the two runs that are current counts,
// so a member that becomes leader knows how long its peers have been up.
func (n *Node) ActiveSince(id uint64) time.Time {
	now := time.Now()
	heard := n.activity.activeSince(id, now, n.electionTimeout())
	reached := n.reached.activeSince(id, now, ReachSilence)
	if heard.IsZero() || (!reached.IsZero() && reached.Before(heard)) {
		return reached
	}
	return heard
}

func (n *Node) electionTimeout() time.Duration {
	return time.Duration(n.cfg.ElectionTicks) * n.cfg.TickInterval
}
