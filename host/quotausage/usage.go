package quotausage

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/quota"
)

// Usage keeps the live keys and bytes under the prefixes a quota policy
// declared, from the member's store: it reads them at one revision
// when the prefixes are set (at start, after a restart of the member, when
// a reload changes them) and then follows the store's events from the
// next revision, as a watcher does. So the usage is derived from the
// replicated MVCC state, the same on every member once it has applied the
// same log, and nothing about it is kept anywhere else.
//
// A key counts len(key)+len(value) bytes. To count an overwrite or a
// delete by the value it replaces, it keeps the value size of every key
// under the prefixes: memory grows with the number of such keys.
type Usage struct {
	lg    *zap.Logger
	store *mvcc.Store

	mu      sync.Mutex
	cur     *usageState // nil without prefixes
	changed chan struct{}
	closed  bool
}

// usageState is the usage of one set of prefixes, and the watch that keeps
// it. Its fields are guarded by Usage.mu.
type usageState struct {
	prefixes []*prefixCount
	sizes    map[string]int64 // value size of every live key under a prefix
	seen     map[mvcc.WatchID]int64
	ws       *mvcc.WatchStream
	stop     chan struct{}
	done     chan struct{}
}

type prefixCount struct {
	prefix      []byte
	keys, bytes int64
}

// usageCatchUp bounds how long a check waits for the usage to reach the
// revision it asks for; past it, the check uses the usage it has.
const usageCatchUp = time.Second

// usageReadPage is how many keys one read of the initial count takes.
const usageReadPage = 1000

// New returns the usage of store's keys, tracking no prefix yet.
func New(lg *zap.Logger, store *mvcc.Store) *Usage {
	return &Usage{lg: lg, store: store, changed: make(chan struct{})}
}

// Track counts the given prefixes from now on, replacing those counted
// before; nil stops counting.
func (u *Usage) Track(prefixes [][]byte) error {
	var st *usageState
	if len(prefixes) > 0 {
		var err error
		if st, err = u.count(prefixes); err != nil {
			return err
		}
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		st.end()
		return nil
	}
	old := u.cur
	u.cur = st
	u.mu.Unlock()
	old.end()
	if st != nil {
		go u.follow(st)
	}
	return nil
}

// count reads the prefixes at the current revision and starts watching
// them from the next one.
func (u *Usage) count(prefixes [][]byte) (*usageState, error) {
	st := &usageState{sizes: map[string]int64{}, seen: map[mvcc.WatchID]int64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, p := range prefixes {
		st.prefixes = append(st.prefixes, &prefixCount{prefix: bytes.Clone(p)})
	}
	rev := u.store.Rev()
	ctx := context.Background()
	for _, p := range coveringPrefixes(prefixes) {
		key, end := p, prefixRangeEnd(p)
		for {
			rr, err := u.store.Range(ctx, key, end, mvcc.RangeOptions{Rev: rev, Limit: usageReadPage})
			if err != nil {
				return nil, fmt.Errorf("quota: counting the keys under %q: %w", p, err)
			}
			for _, kv := range rr.KVs {
				st.put(kv.Key, int64(len(kv.Value)))
			}
			if len(rr.KVs) < usageReadPage {
				break
			}
			key = append(bytes.Clone(rr.KVs[len(rr.KVs)-1].Key), 0)
		}
	}
	st.ws = u.store.NewWatchStream()
	for _, p := range coveringPrefixes(prefixes) {
		id, err := st.ws.Watch(mvcc.WatchRequest{Key: p, End: prefixRangeEnd(p), StartRev: rev + 1})
		if err != nil {
			st.ws.Close()
			return nil, fmt.Errorf("quota: watching %q: %w", p, err)
		}
		st.seen[id] = rev
	}
	return st, nil
}

// follow applies the store's events to st until st ends. A watch the
// store ends (its revisions compacted away, say after a snapshot was
// installed) makes it count again.
func (u *Usage) follow(st *usageState) {
	defer close(st.done)
	for {
		select {
		case <-st.stop:
			return
		case <-st.ws.Ready():
		}
		for {
			resp, ok := st.ws.Next()
			if !ok {
				break
			}
			if resp.CompactRevision != 0 || resp.Canceled {
				u.lg.Warn("the quota usage watch ended; counting the prefixes again",
					zap.Int64("compact-revision", resp.CompactRevision), zap.String("reason", resp.CancelReason))
				go u.recount(st)
				return
			}
			u.apply(st, resp)
		}
	}
}

func (u *Usage) recount(st *usageState) {
	prefixes := make([][]byte, len(st.prefixes))
	for i, p := range st.prefixes {
		prefixes[i] = p.prefix
	}
	u.mu.Lock()
	current := u.cur == st
	u.mu.Unlock()
	if !current {
		return
	}
	if err := u.Track(prefixes); err != nil {
		u.lg.Error("counting the quota prefixes again", zap.Error(err))
	}
}

// apply applies one watch response and tells waiting checks.
func (u *Usage) apply(st *usageState, resp mvcc.WatchResponse) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, ev := range resp.Events {
		if ev.Type == mvccpb.PUT {
			st.put(ev.Kv.Key, int64(len(ev.Kv.Value)))
		} else {
			st.delete(ev.Kv.Key)
		}
		if ev.Kv.ModRevision > st.seen[resp.WatchID] {
			st.seen[resp.WatchID] = ev.Kv.ModRevision
		}
	}
	if resp.WatchID == mvcc.InvalidWatchID && len(resp.Events) == 0 && resp.Revision > 0 {
		// A progress notification: every watcher has seen it all.
		for id, rev := range st.seen {
			st.seen[id] = max(rev, resp.Revision)
		}
	}
	close(u.changed)
	u.changed = make(chan struct{})
}

func (st *usageState) put(key []byte, size int64) {
	old, existed := st.sizes[string(key)]
	for _, p := range st.prefixes {
		if !bytes.HasPrefix(key, p.prefix) {
			continue
		}
		if existed {
			p.bytes += size - old
		} else {
			p.keys++
			p.bytes += int64(len(key)) + size
		}
	}
	st.sizes[string(key)] = size
}

func (st *usageState) delete(key []byte) {
	old, existed := st.sizes[string(key)]
	if !existed {
		return
	}
	for _, p := range st.prefixes {
		if bytes.HasPrefix(key, p.prefix) {
			p.keys--
			p.bytes -= int64(len(key)) + old
		}
	}
	delete(st.sizes, string(key))
}

// rev is the revision st has seen every event up to.
func (st *usageState) rev() int64 {
	first := true
	var lowest int64
	for _, rev := range st.seen {
		if first || rev < lowest {
			lowest, first = rev, false
		}
	}
	return lowest
}

// end stops st's watch; st may be nil. Its goroutine returns soon after.
func (st *usageState) end() {
	if st == nil {
		return
	}
	select {
	case <-st.stop:
	default:
		close(st.stop)
	}
	st.ws.Close()
}

// Covers reports whether key falls under a tracked prefix.
func (u *Usage) Covers(key []byte) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cur == nil {
		return false
	}
	for _, p := range u.cur.prefixes {
		if bytes.HasPrefix(key, p.prefix) {
			return true
		}
	}
	return false
}

// Usage returns, for each tracked prefix that a put of branches falls
// under, its usage as of revision rev (waiting at most usageCatchUp for
// the store's events up to rev) and what the write adds: per prefix the
// larger of the branches, each a list of puts done in order.
func (u *Usage) Usage(ctx context.Context, rev int64, branches [][]quota.Put) []quota.PrefixUsage {
	u.waitRev(ctx, rev)
	u.mu.Lock()
	defer u.mu.Unlock()
	st := u.cur
	if st == nil {
		return nil
	}
	adds := make([]quota.PrefixUsage, len(st.prefixes))
	touched := make([]bool, len(st.prefixes))
	for b, puts := range branches {
		branch := st.branchAdds(puts, touched)
		for i := range adds {
			if b == 0 {
				adds[i] = branch[i]
				continue
			}
			adds[i].AddKeys = max(adds[i].AddKeys, branch[i].AddKeys)
			adds[i].AddBytes = max(adds[i].AddBytes, branch[i].AddBytes)
		}
	}
	var out []quota.PrefixUsage
	for i, p := range st.prefixes {
		if touched[i] {
			out = append(out, quota.PrefixUsage{Prefix: p.prefix, Keys: p.keys, Bytes: p.bytes,
				AddKeys: adds[i].AddKeys, AddBytes: adds[i].AddBytes})
		}
	}
	return out
}

// branchAdds is what the puts, done in order, add to each prefix; it marks
// the prefixes they touch. A key put twice counts once, with its last
// value.
func (st *usageState) branchAdds(puts []quota.Put, touched []bool) []quota.PrefixUsage {
	adds := make([]quota.PrefixUsage, len(st.prefixes))
	written := map[string]int64{}
	for _, put := range puts {
		size := int64(put.ValueSize)
		old, existed := written[string(put.Key)]
		if !existed {
			old, existed = st.sizes[string(put.Key)]
		}
		for i, p := range st.prefixes {
			if !bytes.HasPrefix(put.Key, p.prefix) {
				continue
			}
			touched[i] = true
			if existed {
				adds[i].AddBytes += size - old
			} else {
				adds[i].AddKeys++
				adds[i].AddBytes += int64(len(put.Key)) + size
			}
		}
		written[string(put.Key)] = size
	}
	return adds
}

// waitRev waits, at most usageCatchUp, until the usage has seen every
// event up to rev.
func (u *Usage) waitRev(ctx context.Context, rev int64) {
	deadline := time.NewTimer(usageCatchUp)
	defer deadline.Stop()
	for {
		u.mu.Lock()
		st, changed := u.cur, u.changed
		caughtUp := st == nil || st.rev() >= rev
		u.mu.Unlock()
		if caughtUp {
			return
		}
		// The watchers have nothing more to report when no write touched
		// the prefixes; a progress notification says so.
		st.ws.RequestProgressAll()
		select {
		case <-changed:
		case <-time.After(5 * time.Millisecond):
		case <-deadline.C:
			u.lg.Debug("the quota usage lags the store; checking with what it has", zap.Int64("revision", rev))
			return
		case <-ctx.Done():
			return
		}
	}
}

// Counts returns every tracked prefix with its live keys and bytes as
// counted so far, without waiting for the store, in the order the
// prefixes were given; nil without prefixes. The slices are copies.
func (u *Usage) Counts() []quota.PrefixUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cur == nil {
		return nil
	}
	out := make([]quota.PrefixUsage, len(u.cur.prefixes))
	for i, p := range u.cur.prefixes {
		out[i] = quota.PrefixUsage{Prefix: bytes.Clone(p.prefix), Keys: p.keys, Bytes: p.bytes}
	}
	return out
}

// Close stops counting.
func (u *Usage) Close() {
	u.mu.Lock()
	u.closed = true
	st := u.cur
	u.cur = nil
	u.mu.Unlock()
	st.end()
}

// coveringPrefixes returns the prefixes no other one of them contains,
// sorted: their ranges are disjoint and cover every key under any.
func coveringPrefixes(prefixes [][]byte) [][]byte {
	sorted := slices.SortedFunc(slices.Values(prefixes), bytes.Compare)
	var out [][]byte
	for _, p := range sorted {
		if len(out) > 0 && bytes.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// prefixRangeEnd is the end of the range of keys starting with prefix, as
// etcd's clientv3.GetPrefixRangeEnd: []byte{0} (every key from prefix on)
// when no key is past all of them.
func prefixRangeEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}
