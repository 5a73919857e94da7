package raft

import "go.etcd.io/raft/v3/raftpb"

// Transport sends raft messages to peers.
type Transport interface {
	// Send queues msgs for delivery. It is called from the node's raft loop
	// and must not block: a transport that cannot keep up drops messages
	// (raft retransmits) and reports unreachable peers through
	// Node.ReportUnreachable. msgs and the messages they point to belong
	// to the transport once Send is called and are never mutated by the
	// node.
	Send(msgs []*raftpb.Message)
}

// nopTransport drops every message; enough for a single-member cluster.
type nopTransport struct{}

func (nopTransport) Send([]*raftpb.Message) {}
