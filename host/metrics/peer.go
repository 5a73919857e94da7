package metrics

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rttProbeCall is the peer call whose round trips
// etcd_network_peer_round_trip_time_seconds measures: it carries nothing
// and its handler answers at once.
const rttProbeCall = "rtt-probe"

// rttProbeInterval is how often each peer is probed. Probes also tell the
// raft node which peers it reaches (raft.Node.NoteReached), so the
// interval stays well inside raft.ReachSilence.
const rttProbeInterval = 500 * time.Millisecond

// rttProbeTimeout bounds one probe.
const rttProbeTimeout = time.Second

// probePeers measures the round trip to every peer over the raft
// connection until stop closes, each peer on its own so that one that
// hangs delays no other. A peer that answers with an error still made the
// round trip; one that cannot be reached is not timed.
func (mm *Registry) probePeers(stop <-chan struct{}) {
	node, tr := mm.src.Node, mm.src.Transport
	mm.src.Calls.Handle(rttProbeCall, func(context.Context, []byte) ([]byte, error) { return nil, nil })
	tick := time.NewTicker(rttProbeInterval)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := map[uint64]*atomic.Bool{}
	for {
		select {
		case <-stop:
			return
		case <-node.Done():
			return
		case <-tick.C:
		}
		self := node.MemberID()
		for _, id := range tr.PeerIDs() {
			if id == self {
				continue
			}
			busy := inflight[id]
			if busy == nil {
				busy = new(atomic.Bool)
				inflight[id] = busy
			}
			if !busy.CompareAndSwap(false, true) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer busy.Store(false)
				mm.probePeer(id)
			}()
		}
	}
}

func (mm *Registry) probePeer(id uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), rttProbeTimeout)
	defer cancel()
	start := time.Now()
	_, err := mm.src.Transport.Call(ctx, id, rttProbeCall, nil)
	switch status.Code(err) {
	case codes.OK, codes.Unimplemented, codes.InvalidArgument:
		mm.peerRTT.WithLabelValues(types.ID(id).String()).Observe(time.Since(start).Seconds())
		mm.src.Node.NoteReached(id)
	}
}

// fdCollectors are etcd's os_fd_used and os_fd_limit: the open file
// descriptors of the process and their limit.
func fdCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "os", Subsystem: "fd", Name: "used",
			Help: "The number of used file descriptors."}, func() float64 {
			fds, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				return 0
			}
			return float64(len(fds))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "os", Subsystem: "fd", Name: "limit",
			Help: "The file descriptor limit."}, func() float64 {
			var rl syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
				return 0
			}
			return float64(rl.Cur)
		}),
	}
}
