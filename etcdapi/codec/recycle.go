package codec

import (
	"sync"
	"sync/atomic"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// ReleaseAfterMarshal has release called once a server's Codec has
// marshalled resp, the reply of one call: gRPC reads nothing of resp after
// that, so release may reuse the memory resp points to (mvcc's pooled
// KVs). resp and every message it holds must have been built, not
// decoded from bytes: the codec writes it without looking for fields
// unknown to its type, which only decoding leaves. The caller must hand
// resp to gRPC and to nothing that keeps it;
// gRPC itself would keep it only with its request tracing
// (grpc.EnableTracing) or a stats handler that keeps payloads, neither of
// which MetaStore sets. A reply that is never marshalled (its call failed
// after it was built, or it was served without this codec) is forgotten
// once maxRecycling others have been registered after it, and its memory
// left to the garbage collector.
func ReleaseAfterMarshal(resp *pb.RangeResponse, release func()) {
	recycling.add(resp, release)
}

// maxRecycling bounds how many registrations a reply not yet marshalled
// outlives. A reply is marshalled right after its handler and
// interceptors return, so only replies that never will be are forgotten.
const maxRecycling = 256

var recycling recycler

// recycler holds the releases of replies not yet marshalled, in two
// generations: after maxRecycling/2 registrations into the young one, the
// old one is forgotten and the young one becomes old.
type recycler struct {
	n          atomic.Int64 // held in either generation
	mu         sync.Mutex
	added      int // registrations into young
	young, old map[*pb.RangeResponse]func()
}

func (r *recycler) add(resp *pb.RangeResponse, release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.young == nil || r.added >= maxRecycling/2 {
		r.n.Add(-int64(len(r.old)))
		r.old, r.young, r.added = r.young, make(map[*pb.RangeResponse]func()), 0
	}
	r.added++
	if _, again := r.old[resp]; again { // keep one entry per reply
		delete(r.old, resp)
		r.n.Add(-1)
	}
	if _, again := r.young[resp]; !again {
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
