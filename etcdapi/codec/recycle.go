package codec

import (
	"sync"
	"sync/atomic"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// ReleaseAfterMarshal has release called once a server's Codec has
// marshalled resp, the reply of one call: gRPC reads nothing of resp after
// that, so release may reuse the memory resp points to (mvcc's pooled
// KVs). The caller must hand resp to gRPC and to nothing that keeps it.
// A reply that is never marshalled (its call failed after it was built,
// or it was served without this codec) is forgotten once maxRecycling
// others were registered after it, its memory left to the garbage
// collector.
func ReleaseAfterMarshal(resp *pb.RangeResponse, release func()) {
	recycling.add(resp, release)
}

// maxRecycling bounds the replies registered and not yet marshalled.
const maxRecycling = 4096

var recycling recycler

// recycler holds the releases of replies not yet marshalled, in two
// generations: when the young one is full, the old one is forgotten.
type recycler struct {
	n          atomic.Int64 // registered, not yet taken or forgotten
	mu         sync.Mutex
	young, old map[*pb.RangeResponse]func()
}

func (r *recycler) add(resp *pb.RangeResponse, release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.young == nil {
		r.young = make(map[*pb.RangeResponse]func())
	}
	if len(r.young) >= maxRecycling/2 {
		r.n.Add(-int64(len(r.old)))
		r.old, r.young = r.young, make(map[*pb.RangeResponse]func())
	}
	if _, dup := r.young[resp]; !dup {
		r.n.Add(1)
	}
	r.young[resp] = release
}

// take removes and returns resp's release, or nil.
func (r *recycler) take(resp *pb.RangeResponse) func() {
	if r.n.Load() == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, gen := range []map[*pb.RangeResponse]func(){r.young, r.old} {
		if release, ok := gen[resp]; ok {
			delete(gen, resp)
			r.n.Add(-1)
			return release
		}
	}
	return nil
}
