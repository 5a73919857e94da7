package admission

import (
	"context"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/quota"
)

// Write costs as etcd's backend quota counts them: a put stores its key and
// value and about this much of index and page overhead; a lease this much.
const (
	kvOverhead    = 256
	leaseOverhead = 64
)

// usageRefresh is how old the measured store size may grow before a check
// refreshes it in the background; a check that would refuse a write always
// measures afresh first.
const usageRefresh = time.Second

// Gate asks the quota policy whether a write may be proposed, falling
// back to the built-in policy when the plugin cannot answer. Measuring the engine is
// costly (a bbolt Stats walks every page), so the gate keeps the last size
// measured plus the cost of the writes it admitted since.
type Gate struct {
	lg       *zap.Logger
	policy   quota.Policy
	fallback quota.Policy // asked when policy cannot answer; may be nil
	measure  func() quota.Usage

	// prefixes keeps the usage of the prefixes the policy declared; nil
	// when it declared none.
	prefixes PrefixUsage

	mu         sync.Mutex
	usage      quota.Usage
	measuredAt time.Time
	admitted   int64 // cost admitted since measuredAt
	refreshing bool
}

// New returns a gate asking policy, and fallback (nil for none) when policy
// cannot answer; measure reads the store's size. A nil policy admits every
// write (--quota-backend-bytes < 0).
func New(lg *zap.Logger, policy, fallback quota.Policy, measure func() quota.Usage) *Gate {
	return &Gate{lg: lg, policy: policy, fallback: fallback, measure: measure}
}

// PrefixUsage keeps, from the applied store, the usage of the key prefixes
// a quota policy declared (see quota.Configurer), for the checks of writes
// under them.
type PrefixUsage interface {
	// Covers reports whether key falls under a declared prefix.
	Covers(key []byte) bool
	// Usage returns, for each declared prefix that a put of branches falls
	// under, its usage as of revision rev (waiting a little for the usage
	// to reach it) and what the write adds: per prefix the larger of the
	// branches, each of which is a list of puts done in order.
	Usage(ctx context.Context, rev int64, branches [][]quota.Put) []quota.PrefixUsage
}

// SetPrefixUsage installs the usage of the prefixes the policy declared.
// Call it before serving.
func (g *Gate) SetPrefixUsage(u PrefixUsage) { g.prefixes = u }

// PrefixUsage returns what SetPrefixUsage installed, nil for none.
func (g *Gate) PrefixUsage() PrefixUsage { return g.prefixes }

// Check asks the policy, falling back to the built-in one when it fails.
// With fresh set it measures the store first.
func (g *Gate) Check(ctx context.Context, req quota.CheckRequest, fresh bool) quota.CheckResponse {
	if g.policy == nil {
		return quota.CheckResponse{Admit: true} // no quota (--quota-backend-bytes < 0)
	}
	req.Usage = g.currentUsage(fresh)
	resp, err := g.policy.Check(ctx, req)
	if err != nil && g.fallback != nil {
		g.lg.Warn("quota policy failed; using the built-in check", zap.Error(err))
		resp, err = g.fallback.Check(ctx, req)
	}
	if err != nil {
		g.lg.Warn("no quota policy could decide; admitting the write", zap.Error(err))
		return quota.CheckResponse{Admit: true}
	}
	if resp.Admit {
		g.mu.Lock()
		g.admitted += req.Cost
		g.mu.Unlock()
	}
	return resp
}

// currentUsage returns the last measured size plus what was admitted since,
// measuring now when fresh is set or nothing was measured yet, and in the
// background when the measure is old.
func (g *Gate) currentUsage(fresh bool) quota.Usage {
	g.mu.Lock()
	stale := time.Since(g.measuredAt) > usageRefresh
	if fresh || g.measuredAt.IsZero() {
		g.mu.Unlock()
		g.refresh()
		g.mu.Lock()
	} else if stale && !g.refreshing {
		g.refreshing = true
		go g.refresh()
	}
	defer g.mu.Unlock()
	u := g.usage
	u.BackendBytes += g.admitted
	u.BackendBytesInUse += g.admitted
	return u
}

func (g *Gate) refresh() {
	at := time.Now()
	u := g.measure()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshing = false
	if at.Before(g.measuredAt) {
		return
	}
	g.usage, g.measuredAt, g.admitted = u, at, 0
}

// Request describes r for a policy; grows is false for requests
// that cannot grow the store (deletes, compactions, txns without puts).
func Request(r *pb.InternalRaftRequest) (req quota.CheckRequest, grows bool) {
	switch {
	case r.Put != nil:
		req = quota.CheckRequest{Kind: quota.WritePut, Puts: []quota.Put{putOf(r.Put)}, Cost: costPut(r.Put)}
	case r.Txn != nil:
		req = quota.CheckRequest{Kind: quota.WriteTxn, Cost: costTxn(r.Txn)}
		req.Puts = txnPuts(r.Txn, nil)
	case r.LeaseGrant != nil:
		return quota.CheckRequest{Kind: quota.WriteLeaseGrant, Cost: leaseOverhead}, true
	default:
		return req, false
	}
	return req, req.Cost > 0
}

func putOf(p *pb.PutRequest) quota.Put {
	return quota.Put{Key: p.Key, ValueSize: len(p.Value)}
}

func costPut(p *pb.PutRequest) int64 { return int64(kvOverhead + len(p.Key) + len(p.Value)) }

// costTxn is the cost of the costlier branch, nested txns included.
func costTxn(t *pb.TxnRequest) int64 {
	branchCost := func(ops []*pb.RequestOp) (c int64) {
		for _, op := range ops {
			if p := op.GetRequestPut(); p != nil {
				c += costPut(p)
			} else if n := op.GetRequestTxn(); n != nil {
				c += costTxn(n)
			}
		}
		return c
	}
	return max(branchCost(t.Success), branchCost(t.Failure))
}

// txnPuts appends every put of either branch of t, nested txns included.
func txnPuts(t *pb.TxnRequest, out []quota.Put) []quota.Put {
	return branchPuts(t.Failure, branchPuts(t.Success, out))
}

// WriteBranches lists the puts of r by the branch they run in: one branch
// for a put, two for a txn. A nested txn's puts count in the branch that
// holds it, both of its own branches together, an estimate from above.
func WriteBranches(r *pb.InternalRaftRequest) [][]quota.Put {
	switch {
	case r.Put != nil:
		return [][]quota.Put{{putOf(r.Put)}}
	case r.Txn != nil:
		return [][]quota.Put{branchPuts(r.Txn.Success, nil), branchPuts(r.Txn.Failure, nil)}
	}
	return nil
}

func branchPuts(ops []*pb.RequestOp, out []quota.Put) []quota.Put {
	for _, op := range ops {
		if p := op.GetRequestPut(); p != nil {
			out = append(out, putOf(p))
		} else if n := op.GetRequestTxn(); n != nil {
			out = txnPuts(n, out)
		}
	}
	return out
}
