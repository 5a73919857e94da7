// Package peer is the raft transport between the members of a cluster: one
// gRPC service on each member's --listen-peer-urls, dialled at the peer
// URLs members advertise.
//
// Each peer has an ordered queue that Send fills without blocking and one
// goroutine that drains it into a long-lived client stream, a batch of
// messages per stream frame. A full queue drops messages (raft
// retransmits); a failed stream is reported to raft as an unreachable peer
// and reopened after a short pause. MsgSnap messages travel apart, on a
// stream of their own that carries the state behind the snapshot in chunks
// (Snapshotter), so that a large snapshot never holds up heartbeats.
//
// An https peer URL is dialled over TLS with Config.TLS (the member's
// certificate and the CA that verifies the peer's); the host serves the
// service behind TLS on its https URLs, so a peer whose certificate the
// CA did not sign never reaches it.
//
// Every stream carries the sender's cluster and member ids, and the id of
// the member it means to reach; a member refuses peers of another cluster
// and members removed from its cluster, with an error naming both ids.
//
// The transport counts its traffic with each peer (Stats: bytes, failed
// sends and receives, whether a connection works now, snapshots) and
// tells observers about every message it is given and every snapshot it
// moves; it exports no metrics itself.
//
// The package imports nothing of MetaStore's beyond package raft's
// interfaces; the host wires it to the node and the membership.
package peer
