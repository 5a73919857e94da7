package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// diffOp is one request of a randomized differential run, sent alike to
// etcd and to MetaStore.
type diffOp struct {
	// member is the index of the member that receives it (cluster runs).
	member int
	// req is a *pb.PutRequest, *pb.RangeRequest, *pb.DeleteRangeRequest,
	// *pb.TxnRequest, *pb.CompactionRequest, *pb.LeaseGrantRequest,
	// *pb.LeaseRevokeRequest, *pb.LeaseKeepAliveRequest,
	// *pb.LeaseTimeToLiveRequest, *pb.LeaseLeasesRequest,
	// *pb.WatchCreateRequest, *pb.HashKVRequest or a request of maintenance.
	req proto.Message
	// stream sends a RangeRequest as RangeStream.
	stream bool
}

// diffKeys is the key space of a run: small, so that requests collide, with
// prefixes nested in each other and bytes above 0x7f.
var diffKeys = []string{"a", "a/1", "a/2", "a/b/1", "ab", "b", "b/1", "c", "k\xff", "\xff", "z"}

// diffLeaseIDs are the lease IDs a run grants: client-chosen, so that both
// servers give the same ones.
var diffLeaseIDs = []int64{1, 2, 3, 0x100, 0x7fffffffffffffff}

// diffGen generates a run's requests from its seed. It follows the store's
// state through etcd's answers (observe), so that revisions, compactions
// and leases it names are the interesting ones: current, just compacted,
// granted or just revoked.
type diffGen struct {
	rng     *rand.Rand
	members int

	rev        int64 // current revision, from the last answer's header
	compactRev int64 // -1 until a compaction succeeds
	// pendingCompaction is set by a compaction that did not wait to be
	// physical: what HashKV hashes depends on its progress until a
	// physical compaction barrier passes.
	pendingCompaction bool
	leases            []int64
}

func newDiffGen(seed uint64, members int) *diffGen {
	return &diffGen{rng: rand.New(rand.NewPCG(seed, seed^0x6d657461)), members: members, rev: 1, compactRev: -1}
}

// next returns the next request.
func (g *diffGen) next() diffOp {
	op := diffOp{member: g.rng.IntN(g.members)}
	switch n := g.rng.IntN(100); {
	case n < 22:
		op.req = g.put()
	case n < 40:
		op.req = g.rangeReq()
	case n < 45:
		op.req, op.stream = g.rangeReq(), true
	case n < 52:
		op.req = g.deleteRange(false)
	case n < 67:
		op.req = g.txn(0)
	case n < 71:
		op.req = g.compact()
	case n < 76:
		op.req = &pb.LeaseGrantRequest{ID: g.leaseID(), TTL: g.pick(100, 600, 3600, 9_000_000_001)}
	case n < 79:
		op.req = &pb.LeaseRevokeRequest{ID: g.leaseID()}
	case n < 82:
		op.req = &pb.LeaseKeepAliveRequest{ID: g.leaseID()}
	case n < 86:
		op.req = &pb.LeaseTimeToLiveRequest{ID: g.leaseID(), Keys: g.rng.IntN(2) == 0}
	case n < 88:
		op.req = &pb.LeaseLeasesRequest{}
	case n < 95:
		op.req = g.watch()
	case n < 98:
		op.req = g.hashKV()
	default:
		op.req = g.maintenance()
	}
	return op
}

// barrier returns a physical compaction at the compacted revision when a
// compaction may still be running: it fails with ErrCompacted once the
// compactions queued before it are done, on both servers. HashKV is sent
// after it, since etcd hashes what compaction has not removed yet when no
// key is live at the hashed revision.
func (g *diffGen) barrier(op diffOp) (diffOp, bool) {
	if _, ok := op.req.(*pb.HashKVRequest); !ok || !g.pendingCompaction {
		return diffOp{}, false
	}
	return diffOp{member: op.member, req: &pb.CompactionRequest{Revision: g.compactRev, Physical: true}}, true
}

// observe follows the store's state through etcd's answer to op.
func (g *diffGen) observe(op diffOp, resp proto.Message, err error) {
	if h := headerOf(resp); h != nil {
		g.rev = max(g.rev, h.Revision)
	}
	if r, ok := op.req.(*pb.CompactionRequest); ok && r.Physical &&
		(err == nil || errors.Is(err, rpctypes.ErrGRPCCompacted)) {
		// It waited for every compaction queued before it.
		g.pendingCompaction = false
	}
	if err != nil {
		return
	}
	switch r := op.req.(type) {
	case *pb.CompactionRequest:
		g.compactRev = r.Revision
		g.pendingCompaction = !r.Physical
	case *pb.LeaseGrantRequest:
		g.leases = append(g.leases, r.ID)
	case *pb.LeaseRevokeRequest:
		g.leases = slices.DeleteFunc(g.leases, func(id int64) bool { return id == r.ID })
	}
}

func (g *diffGen) pick(vs ...int64) int64 { return vs[g.rng.IntN(len(vs))] }

func (g *diffGen) chance(percent int) bool { return g.rng.IntN(100) < percent }

func (g *diffGen) key() []byte {
	if g.chance(1) {
		return nil // etcd refuses an empty key
	}
	return []byte(diffKeys[g.rng.IntN(len(diffKeys))])
}

// rangeEnd returns an end for key: none (the key alone), its prefix's end,
// "\x00" (every key from key on), another key (maybe before key: an empty
// range) or key itself.
func (g *diffGen) rangeEnd(key []byte) []byte {
	switch g.rng.IntN(10) {
	case 0, 1, 2, 3:
		return nil
	case 4, 5:
		return []byte(clientv3.GetPrefixRangeEnd(string(key)))
	case 6:
		return []byte{0}
	case 7:
		return key
	default:
		return []byte(diffKeys[g.rng.IntN(len(diffKeys))])
	}
}

func (g *diffGen) value() []byte {
	switch g.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return []byte(`{"kind":"Pod","n":` + fmt.Sprint(g.rng.IntN(100)) + `}`)
	default:
		return fmt.Appendf(nil, "v%d", g.rng.IntN(1000))
	}
}

// leaseID is mostly one granted, else one of diffLeaseIDs (maybe not
// granted, maybe revoked) or one never granted.
func (g *diffGen) leaseID() int64 {
	switch {
	case len(g.leases) > 0 && g.chance(70):
		return g.leases[g.rng.IntN(len(g.leases))]
	case g.chance(90):
		return diffLeaseIDs[g.rng.IntN(len(diffLeaseIDs))]
	default:
		return 0x5eed
	}
}

// revision is one worth reading at: mostly 0 (current) or the current
// one, else anything from before the compaction to past the current.
func (g *diffGen) revision() int64 {
	switch g.rng.IntN(6) {
	case 0, 1:
		return 0
	case 2:
		return g.rev
	case 3:
		return max(g.compactRev, 1) + g.rng.Int64N(max(g.rev-g.compactRev, 1))
	case 4:
		return g.compactRev + g.rng.Int64N(3) - 1
	default:
		return g.rev + g.rng.Int64N(3)
	}
}

func (g *diffGen) put() *pb.PutRequest {
	r := &pb.PutRequest{Key: g.key(), Value: g.value(), PrevKv: g.chance(30)}
	if g.chance(30) {
		r.Lease = g.leaseID()
	}
	if g.chance(5) {
		r.IgnoreValue = true
		if g.chance(70) {
			r.Value = nil
		}
	}
	if g.chance(5) {
		r.IgnoreLease = true
		if g.chance(70) {
			r.Lease = 0
		}
	}
	return r
}

func (g *diffGen) rangeReq() *pb.RangeRequest {
	key := g.key()
	r := &pb.RangeRequest{
		Key:          key,
		RangeEnd:     g.rangeEnd(key),
		Revision:     g.revision(),
		Serializable: g.chance(30),
		KeysOnly:     g.chance(20),
		CountOnly:    g.chance(10),
	}
	if g.chance(40) {
		r.Limit = g.pick(1, 2, 3, 5, -1)
	}
	if g.chance(30) {
		r.SortOrder = pb.RangeRequest_SortOrder(g.rng.IntN(3))
		r.SortTarget = pb.RangeRequest_SortTarget(g.rng.IntN(5))
	}
	if g.chance(15) {
		lo := max(g.compactRev, 1) + g.rng.Int64N(max(g.rev-g.compactRev, 1))
		switch g.rng.IntN(4) {
		case 0:
			r.MinModRevision = lo
		case 1:
			r.MaxModRevision = lo
		case 2:
			r.MinCreateRevision = lo
		default:
			r.MaxCreateRevision = lo
		}
	}
	return r
}

// deleteRange returns a delete. In a transaction it never deletes from a
// key on ("\x00" end): etcd 3.7.3's duplicate-key check misses a put into
// such a range in the same transaction, and a compaction at its revision
// then deletes the put from etcd's backend, after which etcd exits on
// reading the key. MetaStore answers that transaction as etcd does and
// keeps the put (TestTxnPutIntoFromKeyDeleteSurvivesCompaction).
func (g *diffGen) deleteRange(inTxn bool) *pb.DeleteRangeRequest {
	key := g.key()
	end := g.rangeEnd(key)
	for inTxn && len(end) == 1 && end[0] == 0 {
		end = g.rangeEnd(key)
	}
	return &pb.DeleteRangeRequest{Key: key, RangeEnd: end, PrevKv: g.chance(40)}
}

// txn returns a transaction of up to three compares and three operations
// a branch, nested two deep at most.
func (g *diffGen) txn(depth int) *pb.TxnRequest {
	r := &pb.TxnRequest{}
	for range g.rng.IntN(4) {
		r.Compare = append(r.Compare, g.compare())
	}
	for range g.rng.IntN(4) {
		r.Success = append(r.Success, g.requestOp(depth))
	}
	for range g.rng.IntN(3) {
		r.Failure = append(r.Failure, g.requestOp(depth))
	}
	return r
}

func (g *diffGen) compare() *pb.Compare {
	key := g.key()
	c := &pb.Compare{Key: key, Result: pb.Compare_CompareResult(g.rng.IntN(4))}
	if g.chance(20) {
		c.RangeEnd = g.rangeEnd(key)
	}
	switch g.rng.IntN(5) {
	case 0:
		c.Target, c.TargetUnion = pb.Compare_VERSION, &pb.Compare_Version{Version: g.rng.Int64N(4)}
	case 1:
		c.Target, c.TargetUnion = pb.Compare_CREATE, &pb.Compare_CreateRevision{CreateRevision: g.rng.Int64N(g.rev + 2)}
	case 2:
		c.Target, c.TargetUnion = pb.Compare_MOD, &pb.Compare_ModRevision{ModRevision: g.rng.Int64N(g.rev + 2)}
	case 3:
		c.Target, c.TargetUnion = pb.Compare_VALUE, &pb.Compare_Value{Value: g.value()}
	default:
		lease := int64(0)
		if g.chance(60) {
			lease = g.leaseID()
		}
		c.Target, c.TargetUnion = pb.Compare_LEASE, &pb.Compare_Lease{Lease: lease}
	}
	return c
}

func (g *diffGen) requestOp(depth int) *pb.RequestOp {
	n := g.rng.IntN(10)
	switch {
	case n < 4:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: g.put()}}
	case n < 7:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: g.rangeReq()}}
	case n < 9 || depth >= 2:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: g.deleteRange(true)}}
	default:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: g.txn(depth + 1)}}
	}
}

// compact compacts mostly a little past the last compaction; sometimes at
// or before it, at 0, or in the future.
func (g *diffGen) compact() *pb.CompactionRequest {
	var rev int64
	switch g.rng.IntN(8) {
	case 0:
		rev = 0
	case 1:
		rev = g.compactRev + g.rng.Int64N(2)
	case 2:
		rev = g.rev + g.rng.Int64N(2)
	default:
		rev = g.compactRev + 1 + g.rng.Int64N(max(g.rev-g.compactRev, 1))
	}
	return &pb.CompactionRequest{Revision: rev, Physical: g.chance(50)}
}

func (g *diffGen) watch() *pb.WatchCreateRequest {
	key := g.key()
	r := &pb.WatchCreateRequest{Key: key, RangeEnd: g.rangeEnd(key), PrevKv: g.chance(40)}
	switch g.rng.IntN(8) {
	case 0:
		r.StartRevision = 0
	case 1:
		r.StartRevision = g.rev + 1 + g.rng.Int64N(2)
	case 2:
		r.StartRevision = g.compactRev + g.rng.Int64N(3) - 1
	default:
		r.StartRevision = max(g.compactRev, 1) + g.rng.Int64N(max(g.rev-g.compactRev, 1))
	}
	if g.chance(20) {
		r.Filters = append(r.Filters, pb.WatchCreateRequest_NOPUT)
	}
	if g.chance(20) {
		r.Filters = append(r.Filters, pb.WatchCreateRequest_NODELETE)
	}
	if g.chance(10) {
		r.WatchId = g.pick(7, 1<<40)
	}
	r.Fragment = g.chance(10)
	return r
}

// maintenance returns one of the Maintenance requests whose answer does
// not depend on the server's files or raft positions: Status (compared
// without them), the alarm list, Defragment, moving the leadership to a
// member that does not exist (on one member: in a cluster, the answer
// depends on which member leads), and validating or cancelling a
// downgrade.
// It never asks for the one downgrade etcd would accept (to 3.6): MetaStore
// keeps one storage format and refuses it on purpose
// (etcdapi/maintenance_downgrade.go).
func (g *diffGen) maintenance() proto.Message {
	switch g.rng.IntN(6) {
	case 0:
		return &pb.StatusRequest{}
	case 1:
		return &pb.AlarmRequest{Action: pb.AlarmRequest_GET}
	case 2:
		return &pb.DefragmentRequest{}
	case 3:
		if g.members > 1 {
			// The answer depends on whether the member is the leader.
			return &pb.StatusRequest{}
		}
		return &pb.MoveLeaderRequest{TargetID: 0x5eed}
	case 4:
		return &pb.DowngradeRequest{Action: pb.DowngradeRequest_VALIDATE, Version: []string{"3.5.0", "3.7.0", "3.8", "4.0.0", "x"}[g.rng.IntN(5)]}
	default:
		return &pb.DowngradeRequest{Action: pb.DowngradeRequest_CANCEL}
	}
}

func (g *diffGen) hashKV() *pb.HashKVRequest {
	switch g.rng.IntN(4) {
	case 0:
		return &pb.HashKVRequest{}
	case 1:
		return &pb.HashKVRequest{Revision: g.rev + g.rng.Int64N(2)}
	default:
		return &pb.HashKVRequest{Revision: max(g.compactRev, 1) - 1 + g.rng.Int64N(max(g.rev-g.compactRev, 1)+1)}
	}
}
