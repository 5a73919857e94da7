package mvcc

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/metastore/metastore/pluginapi/storage"
)

// memEngine is a minimal in-memory storage.Engine for these tests: ordered
// namespaces, atomic batches, consistent scans (copy-on-write clones).
type memEngine struct {
	mu sync.RWMutex
	ns map[string]*btree.BTreeG[storage.KeyValue]
	ci uint64
}

var _ storage.Engine = (*memEngine)(nil)

func newMemEngine() *memEngine {
	return &memEngine{ns: make(map[string]*btree.BTreeG[storage.KeyValue])}
}

func lessKV(a, b storage.KeyValue) bool { return bytes.Compare(a.Key, b.Key) < 0 }

func (e *memEngine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{Name: "test-memory"}, nil
}

func (e *memEngine) Open(context.Context, storage.OpenRequest) (storage.OpenResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return storage.OpenResponse{ConsistentIndex: e.ci}, nil
}

func (e *memEngine) ApplyBatch(_ context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, op := range req.Ops {
		t := e.ns[op.Namespace]
		if t == nil {
			t = btree.NewG(16, lessKV)
			e.ns[op.Namespace] = t
		}
		switch op.Kind {
		case storage.OpPut:
			t.ReplaceOrInsert(storage.KeyValue{Key: bytes.Clone(op.Key), Value: bytes.Clone(op.Value)})
		case storage.OpDelete:
			t.Delete(storage.KeyValue{Key: op.Key})
		default:
			return storage.ApplyBatchResponse{}, storage.ErrInvalidRequest
		}
	}
	if req.ConsistentIndex != 0 {
		e.ci = req.ConsistentIndex
	}
	return storage.ApplyBatchResponse{}, nil
}

func (e *memEngine) GetMany(_ context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	resp := storage.GetManyResponse{Values: make([][]byte, len(req.Keys)), Found: make([]bool, len(req.Keys))}
	t := e.ns[req.Namespace]
	if t == nil {
		return resp, nil
	}
	for i, k := range req.Keys {
		if kv, ok := t.Get(storage.KeyValue{Key: k}); ok {
			resp.Values[i], resp.Found[i] = bytes.Clone(kv.Value), true
		}
	}
	return resp, nil
}

func (e *memEngine) Scan(_ context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	e.mu.RLock()
	t := e.ns[req.Namespace]
	if t != nil {
		t = t.Clone()
	}
	e.mu.RUnlock()
	if t == nil || req.Reverse {
		return nil
	}
	n := int64(0)
	t.AscendGreaterOrEqual(storage.KeyValue{Key: req.Start}, func(kv storage.KeyValue) bool {
		if req.End != nil && bytes.Compare(kv.Key, req.End) >= 0 {
			return false
		}
		n++
		return fn(kv) && (req.Limit <= 0 || n < req.Limit)
	})
	return nil
}

func (e *memEngine) Snapshot(context.Context, storage.SnapshotRequest) (storage.SnapshotResponse, error) {
	return storage.SnapshotResponse{}, errors.ErrUnsupported
}

func (e *memEngine) Restore(context.Context, storage.RestoreRequest) (storage.RestoreResponse, error) {
	return storage.RestoreResponse{}, errors.ErrUnsupported
}

func (e *memEngine) Stats(context.Context, storage.StatsRequest) (storage.StatsResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	keys := make(map[string]int64)
	for name, t := range e.ns {
		keys[name] = int64(t.Len())
	}
	return storage.StatsResponse{Keys: keys}, nil
}

func (e *memEngine) Close(context.Context) error { return nil }

// entries returns a copy of a namespace in key order.
func (e *memEngine) entries(ns string) []storage.KeyValue {
	var out []storage.KeyValue
	_ = e.Scan(context.Background(), storage.ScanRequest{Namespace: ns}, func(kv storage.KeyValue) bool {
		out = append(out, kv)
		return true
	})
	return out
}

// countingEngine wraps an engine, counting calls and failing ApplyBatch on
// demand.
type countingEngine struct {
	storage.Engine
	applies, getManys, scans atomic.Int64
	failApply                atomic.Pointer[error]
	// failIf, when set, fails the batches it returns an error for.
	failIf atomic.Pointer[func(storage.ApplyBatchRequest) error]
}

func (c *countingEngine) ApplyBatch(ctx context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	c.applies.Add(1)
	if err := c.failApply.Load(); err != nil {
		return storage.ApplyBatchResponse{}, *err
	}
	if f := c.failIf.Load(); f != nil {
		if err := (*f)(req); err != nil {
			return storage.ApplyBatchResponse{}, err
		}
	}
	return c.Engine.ApplyBatch(ctx, req)
}

func (c *countingEngine) GetMany(ctx context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	c.getManys.Add(1)
	return c.Engine.GetMany(ctx, req)
}

func (c *countingEngine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	c.scans.Add(1)
	return c.Engine.Scan(ctx, req, fn)
}

// storageBatch is a batch of one put.
func storageBatch(ns string, key, value []byte) storage.ApplyBatchRequest {
	return storage.ApplyBatchRequest{Ops: []storage.Op{{Kind: storage.OpPut, Namespace: ns, Key: key, Value: value}}}
}
