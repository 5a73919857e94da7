package mvcc

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// TxnWrite is the write transaction of one raft entry. Its changes all get
// the same main revision (the store's revision + 1) and sub revisions 0, 1,
// 2, … in order. Readers of the Store see none of them until End, then all.
// A TxnWrite is used by one goroutine and must be ended.
type TxnWrite struct {
	s        *Store
	index    uint64
	beginRev int64
	changes  []change
	meta     []storage.Op // writes to meta namespaces, see PutMeta
	ended    bool
}

// change is one put or delete of a TxnWrite.
type change struct {
	kv        *mvccpb.KeyValue // a delete has only Key and ModRevision
	tombstone bool
}

// Write begins the write transaction of raft entry index. It holds the
// store's write lock until End, so only one exists at a time; the caller is
// the single apply goroutine.
func (s *Store) Write(index uint64) *TxnWrite {
	s.writeMu.Lock()
	return &TxnWrite{s: s, index: index, beginRev: s.currentRev.Load()}
}

// Rev returns the revision the transaction is at: the store's revision
// while it has no change, that + 1 after.
func (tw *TxnWrite) Rev() int64 {
	if len(tw.changes) > 0 {
		return tw.beginRev + 1
	}
	return tw.beginRev
}

// Range reads like Store.Range, at tw.Rev() by default, so it sees the
// transaction's own earlier changes.
func (tw *TxnWrite) Range(ctx context.Context, key, end []byte, ro RangeOptions) (*RangeResult, error) {
	return tw.s.rangeKeys(ctx, key, end, ro, tw.Rev(), tw)
}

// Put writes value under key with lease (0 for none) and returns the
// revision written. Putting an existing key keeps its create revision and
// bumps its version; putting a missing or deleted key starts a new
// generation at version 1. The store keeps key and value: the caller must
// not modify them afterwards.
func (tw *TxnWrite) Put(key, value []byte, lease int64) int64 {
	rev := revision{main: tw.beginRev + 1, sub: int64(len(tw.changes))}
	created, ver := rev.main, int64(0)
	if m, ok := tw.s.index.get(key, rev.main); ok {
		created, ver = m.created, m.version
	}
	kv := &mvccpb.KeyValue{
		Key:            key,
		Value:          value,
		CreateRevision: created,
		ModRevision:    rev.main,
		Version:        ver + 1,
		Lease:          lease,
	}
	tw.s.index.put(key, rev, lease)
	tw.changes = append(tw.changes, change{kv: kv})
	return rev.main
}

// DeleteRange deletes the live keys of the range (see Store.Range for how
// key and end select keys), writing a tombstone for each. It returns how
// many it deleted and the transaction's revision after: a delete of nothing
// changes nothing.
func (tw *TxnWrite) DeleteRange(key, end []byte) (n, rev int64) {
	metas, _ := tw.s.index.rangeMeta(key, end, tw.Rev(), 0, nil)
	for _, m := range metas {
		tw.delete(m.key)
	}
	if len(tw.changes) == 0 {
		return 0, tw.beginRev
	}
	return int64(len(metas)), tw.beginRev + 1
}

func (tw *TxnWrite) delete(key []byte) {
	rev := revision{main: tw.beginRev + 1, sub: int64(len(tw.changes))}
	if err := tw.s.index.tombstone(key, rev); err != nil {
		panic(fmt.Sprintf("mvcc: deleting live key %q: %v", key, err))
	}
	kv := &mvccpb.KeyValue{Key: key, ModRevision: rev.main}
	tw.changes = append(tw.changes, change{kv: kv, tombstone: true})
}

// Changes returns the transaction's events so far, in order: a PUT with
// the new KeyValue, a DELETE with Key and ModRevision.
func (tw *TxnWrite) Changes() []mvccpb.Event {
	if len(tw.changes) == 0 {
		return nil
	}
	evs := make([]mvccpb.Event, 0, len(tw.changes))
	for _, c := range tw.changes {
		typ := mvccpb.Event_PUT
		if c.tombstone {
			typ = mvccpb.Event_DELETE
		}
		evs = append(evs, mvccpb.Event{Type: typ, Kv: c.kv})
	}
	return evs
}

// End publishes the transaction: if it changed anything the store moves to
// the next revision, the changes join the write buffer and the watchers of
// the changed keys get the events (without waiting for any); the raft
// index is recorded as applied either way. It releases the write lock and
// returns the events (see Changes), which the watchers share: the caller
// must not modify them.
func (tw *TxnWrite) End() []mvccpb.Event {
	if tw.ended {
		panic("mvcc: TxnWrite ended twice")
	}
	tw.ended = true
	s := tw.s
	defer s.writeMu.Unlock()
	events := tw.Changes()
	if len(tw.changes) > 0 {
		ops, values := tw.encode()
		pending := s.buf.append(ops, values, tw.index)
		s.hub.commit(tw.beginRev+1, eventPointers(events))
		if pending >= s.cfg.FlushOps {
			s.kickFlush()
		}
	}
	tw.endMeta()
	s.recordIndex(tw.index)
	return events
}

// eventPointers points at each of evs.
func eventPointers(evs []mvccpb.Event) []*mvccpb.Event {
	ptrs := make([]*mvccpb.Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	return ptrs
}

// encode turns the changes into engine ops and the values of the puts.
func (tw *TxnWrite) encode() ([]storage.Op, []revValue) {
	ops := make([]storage.Op, len(tw.changes))
	values := make([]revValue, 0, len(tw.changes))
	stored := make([]*mvccpb.KeyValue, len(tw.changes))
	size := 0
	for i, c := range tw.changes {
		stored[i] = c.kv
		if c.tombstone {
			stored[i] = &mvccpb.KeyValue{Key: c.kv.Key} // what etcd stores
		}
		size += storedSize(stored[i])
	}
	// The encodings share one block: they are written, and released,
	// together.
	block := make([]byte, 0, size)
	for i, c := range tw.changes {
		rev := revision{main: tw.beginRev + 1, sub: int64(i)}
		if !c.tombstone {
			values = append(values, revValue{rev, c.kv.Value})
		}
		start := len(block)
		block = appendStored(block, stored[i])
		ops[i] = storage.Op{Kind: storage.OpPut, Namespace: nsKey, Key: revBytes(rev, c.tombstone), Value: block[start:len(block):len(block)]}
	}
	return ops, values
}

// value returns the value tw itself wrote at rev; tw may be nil.
func (tw *TxnWrite) value(rev revision) ([]byte, bool) {
	if tw == nil || rev.main != tw.beginRev+1 || rev.sub >= int64(len(tw.changes)) {
		return nil, false
	}
	c := tw.changes[rev.sub]
	return c.kv.Value, !c.tombstone
}
