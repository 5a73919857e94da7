package mvcc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// modelChange is one change in the reference model's history.
type modelChange struct {
	rev       revision
	key       string
	value     string
	lease     int64
	tombstone bool
}

// model is a deliberately naive reference of etcd's MVCC semantics: the
// whole history, replayed for every question.
type model struct {
	history    []modelChange
	rev        int64
	compactRev int64
}

func newModel() *model { return &model{rev: 1, compactRev: -1} }

// stateAt returns the live keys at rev after replaying changes (the
// history, or the history plus a transaction's own changes).
func (m *model) stateAt(rev int64, changes []modelChange) map[string]*mvccpb.KeyValue {
	live := make(map[string]*mvccpb.KeyValue)
	for _, c := range changes {
		if c.rev.main > rev {
			break
		}
		if c.tombstone {
			delete(live, c.key)
			continue
		}
		prev := live[c.key]
		kv := &mvccpb.KeyValue{Key: []byte(c.key), Value: []byte(c.value), CreateRevision: c.rev.main,
			ModRevision: c.rev.main, Version: 1, Lease: c.lease}
		if prev != nil {
			kv.CreateRevision, kv.Version = prev.CreateRevision, prev.Version+1
		}
		live[c.key] = kv
	}
	return live
}

// inRange reports whether key falls in the range key..end as Range reads it.
func inRange(k, key, end []byte) bool {
	switch {
	case end == nil:
		return bytes.Equal(k, key)
	case isFromKey(end):
		return bytes.Compare(k, key) >= 0
	default:
		return bytes.Compare(k, key) >= 0 && bytes.Compare(k, end) < 0
	}
}

// rangeState answers a range from a state: the KVs up to limit and the
// count.
func rangeState(live map[string]*mvccpb.KeyValue, key, end []byte, limit int64) ([]*mvccpb.KeyValue, int) {
	var kvs []*mvccpb.KeyValue
	for k, kv := range live {
		if inRange([]byte(k), key, end) {
			kvs = append(kvs, kv)
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return bytes.Compare(kvs[i].Key, kvs[j].Key) < 0 })
	n := len(kvs)
	if limit > 0 && int64(len(kvs)) > limit {
		kvs = kvs[:limit]
	}
	return kvs, n
}

// compactedEngineRevs lists the revisions the engine holds once every
// compaction is done: all after compactRev, and each key's latest at or
// before it unless that is a tombstone before it.
func (m *model) compactedEngineRevs() []string {
	latest := make(map[string]modelChange)
	var out []string
	for _, c := range m.history {
		if c.rev.main <= m.compactRev {
			latest[c.key] = c
			continue
		}
		out = append(out, fmtRev(c))
	}
	for _, c := range latest {
		if !c.tombstone || c.rev.main == m.compactRev {
			out = append(out, fmtRev(c))
		}
	}
	sort.Slice(out, func(i, j int) bool { return revLess(out[i], out[j]) })
	return out
}

func fmtRev(c modelChange) string {
	s := c.rev.String()
	if c.tombstone {
		s += "t"
	}
	return s
}

func revLess(a, b string) bool {
	var am, as, bm, bs int64
	fmt.Sscanf(a, "%d_%d", &am, &as)
	fmt.Sscanf(b, "%d_%d", &bm, &bs)
	return am < bm || (am == bm && as < bs)
}

var (
	modelKeys = []string{"a", "b", "ba", "c", "d", "e"}
	modelEnds = []string{"a", "b", "bb", "c", "e", "f", "\x00"}
)

func randomRange(rng *rand.Rand) (key, end []byte) {
	key = []byte(modelKeys[rng.IntN(len(modelKeys))])
	switch rng.IntN(4) {
	case 0:
		return key, nil
	case 1:
		return []byte{0}, []byte{0}
	default:
		return key, []byte(modelEnds[rng.IntN(len(modelEnds))])
	}
}

// withoutValues copies KVs leaving Value and Lease out, as a keys-only
// range returns.
func withoutValues(kvs []*mvccpb.KeyValue) []*mvccpb.KeyValue {
	out := make([]*mvccpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = &mvccpb.KeyValue{Key: kv.Key, CreateRevision: kv.CreateRevision,
			ModRevision: kv.ModRevision, Version: kv.Version}
	}
	return out
}
