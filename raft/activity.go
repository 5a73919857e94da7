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

// ActiveSince returns since when this member has been hearing from peer
// id with no silence longer than an election timeout, or the zero time if
// it has not heard from id within the last election timeout. A leader
// hears from every live member each heartbeat; a follower hears from the
// leader only.
func (n *Node) ActiveSince(id uint64) time.Time {
	return n.activity.activeSince(id, time.Now(), n.electionTimeout())
}

func (n *Node) electionTimeout() time.Duration {
	return time.Duration(n.cfg.ElectionTicks) * n.cfg.TickInterval
}
