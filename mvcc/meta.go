package mvcc

import (
	"context"
	"fmt"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Meta namespaces hold state that lives beside the key space (leases, for
// one) and must change atomically with it: a TxnWrite carries their writes
// into the same write-buffer batch as its key changes and its consistent
// index, so after a crash the engine holds both or neither. They have no
// revisions; the last write of a key wins.

// PutMeta writes value under key in the engine namespace ns as part of the
// transaction. ns must not be one of the store's own namespaces ("key",
// "meta"); key must not be empty. The store keeps key and value: the caller
// must not modify them afterwards. Meta writes alone do not move the
// revision.
func (tw *TxnWrite) PutMeta(ns string, key, value []byte) {
	tw.addMeta(storage.Op{Kind: storage.OpPut, Namespace: ns, Key: key, Value: value})
}

// DeleteMeta deletes key from the engine namespace ns as part of the
// transaction; see PutMeta.
func (tw *TxnWrite) DeleteMeta(ns string, key []byte) {
	tw.addMeta(storage.Op{Kind: storage.OpDelete, Namespace: ns, Key: key})
}

func (tw *TxnWrite) addMeta(op storage.Op) {
	if op.Namespace == "" || op.Namespace == nsKey || op.Namespace == nsMeta || len(op.Key) == 0 {
		panic(fmt.Sprintf("mvcc: meta write to namespace %q, key %q", op.Namespace, op.Key))
	}
	tw.meta = append(tw.meta, op)
}

// endMeta hands the meta writes to the write buffer; End calls it with the
// write lock held.
func (tw *TxnWrite) endMeta() {
	if len(tw.meta) == 0 {
		return
	}
	if pending := tw.s.buf.append(tw.meta, nil, tw.index); pending >= tw.s.cfg.FlushOps {
		tw.s.kickFlush()
	}
}

// ScanMeta calls fn, in key order, for every key of the meta namespace ns
// until fn returns false. It first flushes the write buffer, so it sees
// every meta write of an ended transaction; it is meant for rebuilding
// state at start, before writes begin. fn must not retain key or value.
func (s *Store) ScanMeta(ctx context.Context, ns string, fn func(key, value []byte) bool) error {
	s.restoreMu.RLock()
	defer s.restoreMu.RUnlock()
	if err := s.flush(ctx); err != nil {
		return err
	}
	err := s.eng.Scan(ctx, storage.ScanRequest{Namespace: ns}, func(e storage.KeyValue) bool {
		return fn(e.Key, e.Value)
	})
	if err != nil {
		return fmt.Errorf("mvcc: scanning namespace %q: %w", ns, err)
	}
	return nil
}
