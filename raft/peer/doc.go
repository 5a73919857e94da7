// Package peer is the raft transport between the members of a cluster, on
// each member's --listen-peer-urls, dialled at the peer URLs members
// advertise: raft messages on connections of their own (see
// msgConnPreface), and a gRPC service for snapshots, the calls members make
// of each other, and the messages of members that predate those
// connections. Serve splits a listener between the two.
//
// Each peer has an ordered queue that Send fills without blocking and one
// goroutine that drains it into a long-lived connection, a batch of
// messages per frame. When nothing is queued for a peer, Send writes its
// messages on the message connection itself, if the socket takes the
// frame without waiting (peer.sendNow): a replicated write's append and
// its acknowledgement then go out without waking the sender goroutine.
// A full queue drops messages (raft retransmits); a
// failed connection is reported to raft as an unreachable peer and
// reopened after a short pause. MsgSnap messages travel apart, on a gRPC
// stream of their own that carries the state behind the snapshot in chunks
// (Snapshotter), so that a large snapshot never holds up heartbeats.
//
// An https peer URL is dialled over TLS with Config.TLS (the member's
// certificate and the CA that verifies the peer's); the host serves the
// service behind TLS on its https URLs, so a peer whose certificate the
// CA did not sign never reaches it.
//
// Every connection and stream carries the sender's cluster and member
// ids, and the id of the member it means to reach; a member refuses peers
// of another cluster and members removed from its cluster, with an error
// naming both ids.
//
// The transport counts its traffic with each peer (Stats: bytes, failed
// sends and receives, whether a connection works now, snapshots) and
// tells observers about every message it is given and every snapshot it
// moves; it exports no metrics itself.
//
// Of MetaStore's packages it imports raft/raftwire alone, which encodes
// the messages; the host wires it to the node and the membership.
package peer
