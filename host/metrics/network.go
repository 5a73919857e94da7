package metrics

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/types"

	"github.com/metastore/metastore/raft/peer"
)

// snapshotTransferBuckets are etcd's: 0.1 s to 51.2 s.
var snapshotTransferBuckets = prometheus.ExponentialBuckets(0.1, 2, 10)

// peerNetworkCollector serves etcd's peer network metrics (etcd_network_*)
// from the counters the raft transport keeps and from the membership,
// read when scraped. As etcd does, it serves a peer's failure,
// disconnection and snapshot series only once there is something to
// count, its byte counts and whether it is active from the first contact,
// and known_peers for every member, this one included (0 once removed).
type peerNetworkCollector struct {
	stats     func() []peer.PeerStats
	local     func() uint64
	members   func() []uint64
	isRemoved func(uint64) bool

	knownPeers                                               *prometheus.Desc
	sentBytes, receivedBytes, sentFailures, receivedFailures *prometheus.Desc
	activePeers, disconnectedPeers                           *prometheus.Desc
	snapSent, snapSendFailures, snapSending                  *prometheus.Desc
	snapReceived, snapReceiveFailures, snapReceiving         *prometheus.Desc
}

func newPeerNetworkCollector(src Sources) *peerNetworkCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("etcd", "network", name), help, labels, nil)
	}
	return &peerNetworkCollector{
		stats: src.Transport.Stats, local: src.Node.MemberID, isRemoved: src.API.IsRemoved,
		members: func() []uint64 {
			var ids []uint64
			for _, mem := range src.API.Members() {
				ids = append(ids, mem.ID)
			}
			return ids
		},
		knownPeers:          desc("known_peers", "The current number of known peers.", "Local", "Remote"),
		sentBytes:           desc("peer_sent_bytes_total", "The total number of bytes sent to peers.", "To"),
		receivedBytes:       desc("peer_received_bytes_total", "The total number of bytes received from peers.", "From"),
		sentFailures:        desc("peer_sent_failures_total", "The total number of send failures from peers.", "To"),
		receivedFailures:    desc("peer_received_failures_total", "The total number of receive failures from peers.", "From"),
		activePeers:         desc("active_peers", "The current number of active peer connections.", "Local", "Remote"),
		disconnectedPeers:   desc("disconnected_peers_total", "The total number of disconnected peers.", "Local", "Remote"),
		snapSent:            desc("snapshot_send_success", "Total number of successful snapshot sends", "To"),
		snapSendFailures:    desc("snapshot_send_failures", "Total number of snapshot send failures", "To"),
		snapSending:         desc("snapshot_send_inflights_total", "Total number of inflight snapshot sends", "To"),
		snapReceived:        desc("snapshot_receive_success", "Total number of successful snapshot receives", "From"),
		snapReceiveFailures: desc("snapshot_receive_failures", "Total number of snapshot receive failures", "From"),
		snapReceiving:       desc("snapshot_receive_inflights_total", "Total number of inflight snapshot receives", "From"),
	}
}

// Describe implements prometheus.Collector.
func (c *peerNetworkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.knownPeers, c.sentBytes, c.receivedBytes, c.sentFailures, c.receivedFailures,
		c.activePeers, c.disconnectedPeers, c.snapSent, c.snapSendFailures, c.snapSending,
		c.snapReceived, c.snapReceiveFailures, c.snapReceiving} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *peerNetworkCollector) Collect(ch chan<- prometheus.Metric) {
	local := types.ID(c.local()).String()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	members := c.members()
	for _, id := range members {
		gauge(c.knownPeers, 1, local, types.ID(id).String())
	}
	for _, s := range c.stats() {
		id := types.ID(s.ID).String()
		if !slices.Contains(members, s.ID) && c.isRemoved(s.ID) {
			gauge(c.knownPeers, 0, local, id)
		}
		counter(c.sentBytes, s.SentBytes, id)
		counter(c.receivedBytes, s.ReceivedBytes, id)
		active := 0.0
		if s.Active {
			active = 1
		}
		gauge(c.activePeers, active, local, id)
		if s.SentFailures > 0 {
			counter(c.sentFailures, s.SentFailures, id)
		}
		if s.ReceivedFailures > 0 {
			counter(c.receivedFailures, s.ReceivedFailures, id)
		}
		if s.Disconnects > 0 {
			counter(c.disconnectedPeers, s.Disconnects, local, id)
		}
		if s.SnapshotsSent+s.SnapshotSendFailures > 0 || s.SnapshotsSending > 0 {
			counter(c.snapSent, s.SnapshotsSent, id)
			counter(c.snapSendFailures, s.SnapshotSendFailures, id)
			gauge(c.snapSending, float64(s.SnapshotsSending), id)
		}
		if s.SnapshotsReceived+s.SnapshotReceiveFailures > 0 || s.SnapshotsReceiving > 0 {
			counter(c.snapReceived, s.SnapshotsReceived, id)
			counter(c.snapReceiveFailures, s.SnapshotReceiveFailures, id)
			gauge(c.snapReceiving, float64(s.SnapshotsReceiving), id)
		}
	}
}

// snapshotTransferMetrics are the durations of the snapshot transfers
// that succeeded, by peer.
type snapshotTransferMetrics struct {
	send, receive *prometheus.HistogramVec
}

func newSnapshotTransferMetrics() snapshotTransferMetrics {
	vec := func(name, help, label string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "network", Name: name, Help: help, Buckets: snapshotTransferBuckets,
		}, []string{label})
	}
	return snapshotTransferMetrics{
		send:    vec("snapshot_send_total_duration_seconds", "Total latency distributions of v3 snapshot sends", "To"),
		receive: vec("snapshot_receive_total_duration_seconds", "Total latency distributions of v3 snapshot receives", "From"),
	}
}

func (s snapshotTransferMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.send, s.receive}
}

// observe is the transport's peer.SnapshotObserver.
func (s snapshotTransferMetrics) observe(id uint64, sent bool, took time.Duration) {
	if sent {
		s.send.WithLabelValues(types.ID(id).String()).Observe(took.Seconds())
		return
	}
	s.receive.WithLabelValues(types.ID(id).String()).Observe(took.Seconds())
}
