package rocksdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/linxGnu/grocksdb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// restoreBatchBytes bounds one write batch while restoring.
const restoreBatchBytes = 4 << 20

// Snapshot implements storage.Engine: every data key, in stored order,
// which is namespace then key order, at one RocksDB snapshot.
func (e *Engine) Snapshot(ctx context.Context, req storage.SnapshotRequest) (storage.SnapshotResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.SnapshotResponse{}, err
	}
	snap := e.db.db.NewSnapshot()
	defer e.db.db.ReleaseSnapshot(snap)
	ro := grocksdb.NewDefaultReadOptions()
	defer ro.Destroy()
	ro.SetSnapshot(snap)
	raw, err := e.db.db.GetBytes(ro, indexKey)
	if err != nil {
		return storage.SnapshotResponse{}, fmt.Errorf("rocksdb: snapshot: %w", err)
	}
	index, _ := decodeUint64(raw)
	sw := storage.NewSnapshotWriter(req.Writer, index)
	var n int
	err = iterate(e.db.db, dataStart, nil, false, snap, func(k, v []byte) (bool, error) {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		ns, key, err := splitDataKey(k)
		if err != nil {
			return false, fmt.Errorf("%w: %v", storage.ErrCorrupt, err)
		}
		return true, sw.Add(ns, key, v)
	})
	if err == nil {
		err = sw.Close()
	}
	if err != nil {
		return storage.SnapshotResponse{}, err
	}
	return storage.SnapshotResponse{ConsistentIndex: index, Bytes: sw.Written()}, nil
}

// Restore implements storage.Engine. It builds a new database beside the
// current one and swaps it in only once the snapshot has been read whole
// and verified; a failed Restore leaves the current content in place.
func (e *Engine) Restore(ctx context.Context, req storage.RestoreRequest) (storage.RestoreResponse, error) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.RLock()
	err := e.checkOpen()
	dir := e.dir
	e.mu.RUnlock()
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	tmp := filepath.Join(dir, restoreDir)
	if err := os.RemoveAll(tmp); err != nil {
		return storage.RestoreResponse{}, fmt.Errorf("rocksdb: restore: %w", err)
	}
	h, err := openHandles(tmp, 64<<20)
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	index, counts, err := load(ctx, h, req.Reader)
	if err != nil {
		h.close()
		_ = os.RemoveAll(tmp)
		return storage.RestoreResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.swapIn(h); err != nil {
		e.state = stateClosed // the files are in an unknown state
		return storage.RestoreResponse{}, err
	}
	e.counts = counts
	return storage.RestoreResponse{ConsistentIndex: index}, nil
}

// load writes the snapshot in r to h, with its consistent index and the key
// counts, synced at the end.
func load(ctx context.Context, h *handles, r io.Reader) (uint64, map[string]int64, error) {
	sr, err := storage.NewSnapshotReader(r)
	if err != nil {
		return 0, nil, err
	}
	counts := map[string]int64{}
	wb := grocksdb.NewWriteBatch()
	defer wb.Destroy()
	size := 0
	for {
		ns, key, value, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, nil, err
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		wb.Put(dataKey(ns, key), value)
		counts[ns]++
		if size += len(key) + len(value); size >= restoreBatchBytes {
			if err := h.db.Write(h.write, wb); err != nil {
				return 0, nil, fmt.Errorf("rocksdb: restore: %w", err)
			}
			wb.Clear()
			size = 0
		}
	}
	for ns, n := range counts {
		wb.Put(countKey(ns), encodeUint64(uint64(n)))
	}
	wb.Put(indexKey, encodeUint64(sr.ConsistentIndex()))
	if err := h.db.Write(h.syncWrite, wb); err != nil {
		return 0, nil, fmt.Errorf("rocksdb: restore: %w", err)
	}
	return sr.ConsistentIndex(), counts, nil
}

// swapIn replaces the open database with the restored one in h (open on
// <dir>/db.restore): both are closed, the directories renamed, and the new
// one reopened in place. The caller holds mu exclusively.
func (e *Engine) swapIn(h *handles) error {
	h.close()
	e.db.close()
	e.db = nil
	db, old := filepath.Join(e.dir, dbDir), filepath.Join(e.dir, oldDir)
	if err := os.Rename(db, old); err != nil {
		return fmt.Errorf("rocksdb: restore: %w", err)
	}
	if err := os.Rename(filepath.Join(e.dir, restoreDir), db); err != nil {
		return fmt.Errorf("rocksdb: restore: %w", err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("rocksdb: restore: %w", err)
	}
	reopened, err := openHandles(db, 64<<20)
	if err != nil {
		return err
	}
	e.db = reopened
	return nil
}
