package memory

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/google/btree"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Name and Version identify the engine in Info.
const (
	Name    = "memory"
	Version = "1.0.0"
)

// btreeDegree suits short keys; it only affects speed.
const btreeDegree = 32

type item struct {
	key, value []byte
}

func itemLess(a, b item) bool { return bytes.Compare(a.key, b.key) < 0 }

type tree = btree.BTreeG[item]

type lifecycle uint8

const (
	stateNew lifecycle = iota
	stateOpen
	stateClosed
)

// Engine is the in-memory engine. Create it with New.
type Engine struct {
	// mu guards everything below. Readers that only look up keys hold it
	// shared; cloning a tree writes to it, so Scan and Snapshot hold it
	// exclusively, but only for the O(1) clone.
	mu        sync.RWMutex
	state     lifecycle
	trees     map[string]*tree
	index     uint64
	liveBytes int64 // sum of key and value lengths
}

var _ storage.Engine = (*Engine)(nil)

// New returns an engine that is not yet open.
func New() *Engine {
	return &Engine{}
}

// Info names the engine; it declares no capabilities.
func (e *Engine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{Name: Name, Version: Version}, nil
}

// Open starts the engine empty. It uses no files and accepts no options.
func (e *Engine) Open(_ context.Context, req storage.OpenRequest) (storage.OpenResponse, error) {
	if len(req.Options) > 0 {
		return storage.OpenResponse{}, fmt.Errorf("%w: memory engine takes no options", storage.ErrInvalidRequest)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateOpen:
		return storage.OpenResponse{}, fmt.Errorf("%w: engine already open", storage.ErrInvalidRequest)
	case stateClosed:
		return storage.OpenResponse{}, storage.ErrClosed
	}
	e.state = stateOpen
	e.trees = make(map[string]*tree)
	return storage.OpenResponse{}, nil
}

// Close drops all data. Calling it again returns nil.
func (e *Engine) Close(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == stateNew {
		return storage.ErrNotOpen
	}
	e.state = stateClosed
	e.trees, e.index, e.liveBytes = nil, 0, 0
	return nil
}

// ApplyBatch applies req under the write lock, so readers see all of it or
// none. An invalid op fails the batch before anything changes.
func (e *Engine) ApplyBatch(_ context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	for i, op := range req.Ops {
		if err := checkOp(op); err != nil {
			return storage.ApplyBatchResponse{}, fmt.Errorf("op %d: %w", i, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOpen(); err != nil {
		return storage.ApplyBatchResponse{}, err
	}
	for _, op := range req.Ops {
		if op.Kind == storage.OpPut {
			e.put(op.Namespace, op.Key, op.Value)
		} else {
			e.delete(op.Namespace, op.Key)
		}
	}
	if req.ConsistentIndex != 0 {
		e.index = req.ConsistentIndex
	}
	return storage.ApplyBatchResponse{}, nil
}

func (e *Engine) put(ns string, key, value []byte) {
	t := e.trees[ns]
	if t == nil {
		t = btree.NewG(btreeDegree, itemLess)
		e.trees[ns] = t
	}
	it := item{key: bytes.Clone(key), value: bytes.Clone(value)}
	if it.value == nil {
		it.value = []byte{}
	}
	if old, ok := t.ReplaceOrInsert(it); ok {
		e.liveBytes -= int64(len(old.key) + len(old.value))
	}
	e.liveBytes += int64(len(it.key) + len(it.value))
}

func (e *Engine) delete(ns string, key []byte) {
	t := e.trees[ns]
	if t == nil {
		return
	}
	if old, ok := t.Delete(item{key: key}); ok {
		e.liveBytes -= int64(len(old.key) + len(old.value))
	}
}

// checkOpen reports the lifecycle error, if any; e.mu must be held.
func (e *Engine) checkOpen() error {
	switch e.state {
	case stateNew:
		return storage.ErrNotOpen
	case stateClosed:
		return storage.ErrClosed
	}
	return nil
}

func checkOp(op storage.Op) error {
	if op.Namespace == "" {
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	if op.Kind != storage.OpPut && op.Kind != storage.OpDelete {
		return fmt.Errorf("%w: unknown op kind %d", storage.ErrInvalidRequest, op.Kind)
	}
	if len(op.Key) == 0 {
		return fmt.Errorf("%w: empty key", storage.ErrInvalidRequest)
	}
	return nil
}
