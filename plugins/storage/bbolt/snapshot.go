package bbolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Snapshot streams every namespace, in order, from one read transaction.
func (e *Engine) Snapshot(ctx context.Context, req storage.SnapshotRequest) (storage.SnapshotResponse, error) {
	var resp storage.SnapshotResponse
	err := e.view(func(tx *bolt.Tx) error {
		index, err := txIndex(tx)
		if err != nil {
			return err
		}
		sw := storage.NewSnapshotWriter(req.Writer, index)
		values := newValueReader(tx, e.path())
		err = forEachNamespace(tx, func(ns string, b *bolt.Bucket) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return b.ForEach(func(k, v []byte) error {
				v, err := values.open(ns, k, v)
				if err != nil {
					return err
				}
				return sw.Add(ns, k, v)
			})
		})
		if err != nil {
			return err
		}
		if err := sw.Close(); err != nil {
			return err
		}
		resp = storage.SnapshotResponse{ConsistentIndex: index, Bytes: sw.Written()}
		return nil
	})
	return resp, err
}

func txIndex(tx *bolt.Tx) (uint64, error) {
	v := tx.Bucket(metaBucket).Get(indexKey)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: consistent index of %d bytes", storage.ErrCorrupt, len(v))
}

// Restore loads the snapshot into a new file and swaps it in once the
// stream has verified; on error the old content stays. Batches wait while
// it runs.
func (e *Engine) Restore(ctx context.Context, req storage.RestoreRequest) (storage.RestoreResponse, error) {
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
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
	db, path, err := e.openRebuild(restoreFileName)
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	if err := loadSnapshot(ctx, db, sr); err != nil {
		discardRebuild(db, path)
		return storage.RestoreResponse{}, err
	}
	if err := e.swapIn(db, path); err != nil {
		return storage.RestoreResponse{}, err
	}
	return storage.RestoreResponse{ConsistentIndex: sr.ConsistentIndex()}, nil
}

func loadSnapshot(ctx context.Context, db *bolt.DB, sr *storage.SnapshotReader) error {
	l := &bulkLoader{db: db}
	defer l.rollback()
	for {
		ns, key, value, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := checkOp(storage.Op{Kind: storage.OpPut, Namespace: ns, Key: key, Value: value}); err != nil {
			return fmt.Errorf("snapshot entry %d: %w", sr.Count(), err)
		}
		if sr.Count()%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := l.put(nsBucket(ns), key, seal(key, value)); err != nil {
			return fmt.Errorf("bbolt: restore: %w", err)
		}
	}
	index := binary.BigEndian.AppendUint64(nil, sr.ConsistentIndex())
	if err := l.put(metaBucket, indexKey, index); err != nil {
		return fmt.Errorf("bbolt: restore: %w", err)
	}
	if err := l.put(metaBucket, formatKey, formatCRC32C); err != nil {
		return fmt.Errorf("bbolt: restore: %w", err)
	}
	if err := l.commit(); err != nil {
		return fmt.Errorf("bbolt: restore: %w", err)
	}
	return nil
}
