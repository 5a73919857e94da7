package memory

import (
	"bytes"
	"context"
	"fmt"

	"github.com/metastore/metastore/pluginapi/storage"
)

// ctxCheckEvery is how many keys a Scan visits between context checks.
const ctxCheckEvery = 1024

// GetMany looks the keys up under the shared lock and returns copies.
func (e *Engine) GetMany(_ context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	if req.Namespace == "" {
		return storage.GetManyResponse{}, fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.GetManyResponse{}, err
	}
	resp := storage.GetManyResponse{
		Values: make([][]byte, len(req.Keys)),
		Found:  make([]bool, len(req.Keys)),
	}
	t := e.trees[req.Namespace]
	if t == nil {
		return resp, nil
	}
	for i, key := range req.Keys {
		if it, ok := t.Get(item{key: key}); ok {
			resp.Values[i] = append([]byte{}, it.value...)
			resp.Found[i] = true
		}
	}
	return resp, nil
}

// Scan walks a clone of the namespace's tree, taken when Scan starts, so
// batches applied meanwhile stay invisible. The slices passed to fn are
// copies reused between calls.
func (e *Engine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	if req.Namespace == "" {
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	t, err := e.cloneTree(req.Namespace)
	if err != nil || t == nil {
		return err
	}
	var (
		n          int64
		key, value []byte
		scanErr    error
	)
	visit := func(it item) bool {
		if n%ctxCheckEvery == 0 {
			if scanErr = ctx.Err(); scanErr != nil {
				return false
			}
		}
		n++
		key = append(key[:0], it.key...)
		kv := storage.KeyValue{Key: key}
		if !req.KeysOnly {
			value = append(value[:0], it.value...)
			kv.Value = value
		}
		return fn(kv) && (req.Limit <= 0 || n < req.Limit)
	}
	walk(t, req.Start, req.End, req.Reverse, visit)
	return scanErr
}

// walk calls visit for each item of t in [start, end), in order or reverse,
// until visit returns false.
func walk(t *tree, start, end []byte, reverse bool, visit func(item) bool) {
	if !reverse {
		t.AscendGreaterOrEqual(item{key: start}, func(it item) bool {
			if end != nil && bytes.Compare(it.key, end) >= 0 {
				return false
			}
			return visit(it)
		})
		return
	}
	inRange := func(it item) bool {
		if bytes.Compare(it.key, start) < 0 {
			return false
		}
		if end != nil && bytes.Equal(it.key, end) {
			return true // end is exclusive; keep descending
		}
		return visit(it)
	}
	if end == nil {
		t.Descend(inRange)
		return
	}
	t.DescendLessOrEqual(item{key: end}, inRange)
}

// cloneTree returns a private clone of a namespace's tree, or nil if the
// namespace holds nothing.
func (e *Engine) cloneTree(ns string) (*tree, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	t := e.trees[ns]
	if t == nil {
		return nil, nil
	}
	return t.Clone(), nil
}

// Stats reports the bytes of keys and values held, as both sizes.
func (e *Engine) Stats(context.Context, storage.StatsRequest) (storage.StatsResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.StatsResponse{}, err
	}
	resp := storage.StatsResponse{
		SizeBytes:      e.liveBytes,
		SizeInUseBytes: e.liveBytes,
		Keys:           make(map[string]int64, len(e.trees)),
	}
	for ns, t := range e.trees {
		resp.Keys[ns] = int64(t.Len())
	}
	return resp, nil
}
