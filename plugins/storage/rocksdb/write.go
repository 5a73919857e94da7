package rocksdb

import (
	"context"
	"fmt"

	"github.com/linxGnu/grocksdb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// ApplyBatch implements storage.Engine: the ops, the key counts they change
// and the consistent index go into one RocksDB write batch, written with
// the WAL synced when req.Sync is set. An invalid op fails the batch before
// anything changes.
func (e *Engine) ApplyBatch(_ context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	for i, op := range req.Ops {
		if err := checkOp(op); err != nil {
			return storage.ApplyBatchResponse{}, fmt.Errorf("op %d: %w", i, err)
		}
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.ApplyBatchResponse{}, err
	}
	wb := grocksdb.NewWriteBatch()
	defer wb.Destroy()
	delta, err := e.batchOps(wb, req.Ops)
	if err != nil {
		return storage.ApplyBatchResponse{}, err
	}
	for ns, d := range delta {
		if d != 0 {
			wb.Put(countKey(ns), encodeUint64(uint64(e.counts[ns]+d)))
		}
	}
	if req.ConsistentIndex != 0 {
		wb.Put(indexKey, encodeUint64(req.ConsistentIndex))
	}
	wo := e.db.write
	if req.Sync {
		wo = e.db.syncWrite
	}
	if err := e.db.db.Write(wo, wb); err != nil {
		return storage.ApplyBatchResponse{}, fmt.Errorf("rocksdb: apply batch: %w", err)
	}
	for ns, d := range delta {
		e.counts[ns] += d
	}
	return storage.ApplyBatchResponse{}, nil
}

// batchOps adds ops to wb and returns how each namespace's key count
// changes. Whether a key exists before the batch is read once; later ops
// on the same key see the batch's own effect.
func (e *Engine) batchOps(wb *grocksdb.WriteBatch, ops []storage.Op) (map[string]int64, error) {
	exists := map[string]bool{}
	delta := map[string]int64{}
	for _, op := range ops {
		key := dataKey(op.Namespace, op.Key)
		had, seen := exists[string(key)]
		if !seen {
			v, err := e.db.db.Get(e.db.read, key)
			if err != nil {
				return nil, fmt.Errorf("rocksdb: apply batch: %w", err)
			}
			had = v.Exists()
			v.Free()
		}
		switch op.Kind {
		case storage.OpPut:
			value := op.Value
			if value == nil {
				value = []byte{}
			}
			wb.Put(key, value)
			if !had {
				delta[op.Namespace]++
			}
			exists[string(key)] = true
		case storage.OpDelete:
			if had {
				wb.Delete(key)
				delta[op.Namespace]--
			}
			exists[string(key)] = false
		}
	}
	return delta, nil
}

func checkOp(op storage.Op) error {
	switch {
	case op.Namespace == "":
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	case len(op.Namespace) > storage.SnapshotMaxNamespaceSize:
		return fmt.Errorf("%w: namespace of %d bytes", storage.ErrInvalidRequest, len(op.Namespace))
	case op.Kind != storage.OpPut && op.Kind != storage.OpDelete:
		return fmt.Errorf("%w: unknown op kind %d", storage.ErrInvalidRequest, op.Kind)
	case len(op.Key) == 0:
		return fmt.Errorf("%w: empty key", storage.ErrInvalidRequest)
	case len(op.Key) > storage.SnapshotMaxKeySize:
		return fmt.Errorf("%w: key of %d bytes", storage.ErrInvalidRequest, len(op.Key))
	case len(op.Value) > storage.SnapshotMaxValueSize:
		return fmt.Errorf("%w: value of %d bytes", storage.ErrInvalidRequest, len(op.Value))
	}
	return nil
}
