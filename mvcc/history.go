package mvcc

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Events returns the events of revisions fromRev through toRev in revision
// order, as a watcher sees them: a PUT carries the KeyValue written, a
// DELETE only Key and ModRevision. It reads the write buffer and one engine
// Scan of the "key" namespace.
//
// Events returns whole revisions only: at most limit events (any number
// when limit <= 0), or more when the first revision alone has more. next is
// the first revision not returned, toRev+1 once everything was.
//
// It returns ErrCompacted if fromRev is before the compaction revision,
// also when a compaction overtakes the read, and ErrFutureRev if toRev is
// past the current revision. The events are the caller's.
func (s *Store) Events(ctx context.Context, fromRev, toRev int64, limit int) (evs []*mvccpb.Event, next int64, err error) {
	s.restoreMu.RLock()
	defer s.restoreMu.RUnlock()
	fromRev = max(fromRev, 1)
	switch {
	case toRev > s.currentRev.Load():
		return nil, 0, ErrFutureRev
	case fromRev < s.compactRev.Load():
		return nil, 0, ErrCompacted
	case fromRev > toRev:
		return nil, fromRev, nil
	}
	recs, next, err := s.revisionRecords(ctx, fromRev, toRev, limit)
	if err != nil {
		return nil, 0, err
	}
	evs = make([]*mvccpb.Event, 0, len(recs))
	for _, r := range recs {
		ev, err := decodeEvent(r)
		if err != nil {
			return nil, 0, err
		}
		evs = append(evs, ev)
	}
	// A compaction that started meanwhile may have removed some of them.
	if fromRev < s.compactRev.Load() {
		return nil, 0, ErrCompacted
	}
	return evs, next, nil
}

// revisionRecords returns the engine records of whole revisions from
// fromRev on, as Events describes, and the first revision not returned.
//
// The write buffer is read before the engine: a record that leaves the
// buffer in between has reached the engine first, and everything older
// than the buffer is in the engine, so the two reads together miss nothing.
func (s *Store) revisionRecords(ctx context.Context, fromRev, toRev int64, limit int) ([]storage.KeyValue, int64, error) {
	buffered := s.buf.records(fromRev, toRev)
	scanLimit := 0
	if limit > 0 {
		scanLimit = limit + 1 // one more tells where a revision ends
	}
	stored, err := s.scanRevisions(ctx, fromRev, toRev, scanLimit)
	if err != nil {
		return nil, 0, err
	}
	if scanLimit > 0 && len(stored) == scanLimit {
		// The scan stopped early: the revisions before that of its last
		// record are whole, in it and in the buffer.
		last := recordRev(stored[limit])
		if recordRev(stored[0]) == last {
			// One revision fills the page: read it whole.
			stored, err = s.scanRevisions(ctx, last, last, 0)
			if err != nil {
				return nil, 0, err
			}
			return mergeRecords(stored, recordsIn(buffered, last, last)), last + 1, nil
		}
		toRev = last - 1
		stored = recordsIn(stored, fromRev, toRev)
		buffered = recordsIn(buffered, fromRev, toRev)
	}
	recs := mergeRecords(stored, buffered)
	if limit <= 0 || len(recs) <= limit {
		return recs, toRev + 1, nil
	}
	// The buffer brought more than limit: stop before the revision that
	// crosses it, unless it is the first.
	cut := recordRev(recs[limit])
	if cut == recordRev(recs[0]) {
		cut++
	}
	return recordsIn(recs, fromRev, cut-1), cut, nil
}

// scanRevisions reads up to limit (all when limit <= 0) engine records of
// revisions fromRev through toRev.
func (s *Store) scanRevisions(ctx context.Context, fromRev, toRev int64, limit int) ([]storage.KeyValue, error) {
	req := storage.ScanRequest{
		Namespace: nsKey,
		Start:     revBytes(revision{main: fromRev}, false),
		End:       revBytes(revision{main: toRev + 1}, false),
		Limit:     int64(max(limit, 0)),
	}
	var out []storage.KeyValue
	err := s.eng.Scan(ctx, req, func(e storage.KeyValue) bool {
		out = append(out, storage.KeyValue{Key: bytes.Clone(e.Key), Value: bytes.Clone(e.Value)})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("mvcc: reading revisions %d to %d: %w", fromRev, toRev, err)
	}
	return out, nil
}

// records returns the buffered records of revisions fromRev through toRev
// in revision order. Buffered bytes are never modified, so they are shared.
func (b *writeBuffer) records(fromRev, toRev int64) []storage.KeyValue {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []storage.KeyValue
	for _, ops := range [][]storage.Op{b.flushing.ops, b.pending.ops} {
		for _, op := range ops {
			if op.Namespace != nsKey || op.Kind != storage.OpPut {
				continue
			}
			if rev := recordRev(storage.KeyValue{Key: op.Key}); rev >= fromRev && rev <= toRev {
				out = append(out, storage.KeyValue{Key: op.Key, Value: op.Value})
			}
		}
	}
	return out
}

// recordRev returns the main revision of a record of the "key" namespace.
func recordRev(r storage.KeyValue) int64 {
	rev, _, err := parseRevBytes(r.Key)
	if err != nil {
		return -1
	}
	return rev.main
}

// recordsIn returns the records, sorted by revision, of revisions fromRev
// through toRev.
func recordsIn(recs []storage.KeyValue, fromRev, toRev int64) []storage.KeyValue {
	lo := 0
	for lo < len(recs) && recordRev(recs[lo]) < fromRev {
		lo++
	}
	hi := lo
	for hi < len(recs) && recordRev(recs[hi]) <= toRev {
		hi++
	}
	return recs[lo:hi]
}

// mergeRecords merges two runs of records sorted by key, keeping one of
// equal keys.
func mergeRecords(a, b []storage.KeyValue) []storage.KeyValue {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]storage.KeyValue, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch c := bytes.Compare(a[0].Key, b[0].Key); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// decodeEvent turns an engine record of the "key" namespace into an event.
func decodeEvent(r storage.KeyValue) (*mvccpb.Event, error) {
	rev, tombstone, err := parseRevBytes(r.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
	}
	kv := &mvccpb.KeyValue{}
	if err := proto.Unmarshal(r.Value, kv); err != nil {
		return nil, fmt.Errorf("%w: value of revision %v: %w", storage.ErrCorrupt, rev, err)
	}
	if tombstone {
		// A tombstone stores only the key; the event carries its revision.
		kv.ModRevision = rev.main
		return &mvccpb.Event{Type: mvccpb.Event_DELETE, Kv: kv}, nil
	}
	return &mvccpb.Event{Type: mvccpb.Event_PUT, Kv: kv}, nil
}
