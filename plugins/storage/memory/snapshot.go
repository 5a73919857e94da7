package memory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/google/btree"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Snapshot streams clones of all trees, taken together under the lock.
func (e *Engine) Snapshot(ctx context.Context, req storage.SnapshotRequest) (storage.SnapshotResponse, error) {
	trees, index, err := e.cloneAll()
	if err != nil {
		return storage.SnapshotResponse{}, err
	}
	sw := storage.NewSnapshotWriter(req.Writer, index)
	namespaces := make([]string, 0, len(trees))
	for ns := range trees {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	for _, ns := range namespaces {
		trees[ns].Ascend(func(it item) bool {
			err = sw.Add(ns, it.key, it.value)
			return err == nil
		})
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return storage.SnapshotResponse{}, err
		}
	}
	if err := sw.Close(); err != nil {
		return storage.SnapshotResponse{}, err
	}
	return storage.SnapshotResponse{ConsistentIndex: index, Bytes: sw.Written()}, nil
}

func (e *Engine) cloneAll() (map[string]*tree, uint64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOpen(); err != nil {
		return nil, 0, err
	}
	trees := make(map[string]*tree, len(e.trees))
	for ns, t := range e.trees {
		trees[ns] = t.Clone()
	}
	return trees, e.index, nil
}

// Restore reads the whole snapshot into new trees and swaps them in only
// once the stream has verified, so a failed Restore keeps the old content.
func (e *Engine) Restore(ctx context.Context, req storage.RestoreRequest) (storage.RestoreResponse, error) {
	e.mu.RLock()
	err := e.checkOpen()
	e.mu.RUnlock()
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	sr, err := storage.NewSnapshotReader(req.Reader)
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	trees, liveBytes, err := readTrees(ctx, sr)
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOpen(); err != nil {
		return storage.RestoreResponse{}, err
	}
	e.trees, e.index, e.liveBytes = trees, sr.ConsistentIndex(), liveBytes
	return storage.RestoreResponse{ConsistentIndex: e.index}, nil
}

func readTrees(ctx context.Context, sr *storage.SnapshotReader) (map[string]*tree, int64, error) {
	trees := make(map[string]*tree)
	var liveBytes int64
	for {
		ns, key, value, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return trees, liveBytes, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if len(key) == 0 {
			return nil, 0, fmt.Errorf("%w: snapshot holds an empty key", storage.ErrInvalidRequest)
		}
		if sr.Count()%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		t := trees[ns]
		if t == nil {
			t = btree.NewG(btreeDegree, itemLess)
			trees[ns] = t
		}
		if old, ok := t.ReplaceOrInsert(item{key: key, value: value}); ok {
			liveBytes -= int64(len(old.key) + len(old.value))
		}
		liveBytes += int64(len(key) + len(value))
	}
}
