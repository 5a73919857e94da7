package bbolt

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/metastore/metastore/pluginapi/storage"
)

const (
	// catchUpRounds bounds how often Defrag replays the journal while
	// batches keep arriving, before it holds batches off for the last round.
	catchUpRounds = 8
	// smallJournal is a journal short enough to replay with batches held off.
	smallJournal = 64
)

// Defrag copies the live data into a new file and swaps it in. Batches
// applied during the copy are journaled in memory and replayed into the new
// file; reads and writes wait only for the last replay and the swap. Keys
// and values written meanwhile are held twice until Defrag ends.
func (e *Engine) Defrag(ctx context.Context, _ storage.DefragRequest) (storage.DefragResponse, error) {
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	db, path, sizeBefore, err := e.copyLive(ctx)
	if err != nil {
		return storage.DefragResponse{}, err
	}
	if err := e.catchUp(db); err != nil {
		e.stopJournal()
		discardRebuild(db, path)
		return storage.DefragResponse{}, err
	}
	if err := e.finishDefrag(db, path); err != nil {
		return storage.DefragResponse{}, err
	}
	var sizeAfter int64
	err = db.View(func(tx *bolt.Tx) error { sizeAfter = tx.Size(); return nil })
	return storage.DefragResponse{SizeBefore: sizeBefore, SizeAfter: sizeAfter}, err
}

// beginCopy opens the read transaction to copy from and starts the journal,
// together, so that the journal holds exactly the batches the copy misses.
func (e *Engine) beginCopy() (*bolt.Tx, int64, error) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return nil, 0, err
	}
	tx, err := e.db.Begin(false)
	if err != nil {
		return nil, 0, fmt.Errorf("bbolt: defrag: %w", err)
	}
	e.journal = &journal{}
	return tx, tx.Size(), nil
}

// copyLive starts the journal and copies the current file's data into a new
// file, returning it open, its path, and the old file's size.
func (e *Engine) copyLive(ctx context.Context) (*bolt.DB, string, int64, error) {
	src, sizeBefore, err := e.beginCopy()
	if err != nil {
		return nil, "", 0, err
	}
	defer func() { _ = src.Rollback() }()
	db, path, err := e.openRebuild(defragFileName)
	if err == nil {
		if err = copyTx(ctx, src, db); err != nil {
			discardRebuild(db, path)
		}
	}
	if err != nil {
		e.stopJournal()
		return nil, "", 0, err
	}
	return db, path, sizeBefore, nil
}

// copyTx copies every bucket of src into dst in key order.
func copyTx(ctx context.Context, src *bolt.Tx, dst *bolt.DB) error {
	l := &bulkLoader{db: dst}
	defer l.rollback()
	err := src.ForEach(func(name []byte, b *bolt.Bucket) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := dstBucket(l, name); err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error { return l.put(name, k, v) })
	})
	if err == nil {
		err = l.commit()
	}
	if err != nil {
		return fmt.Errorf("bbolt: defrag copy: %w", err)
	}
	return nil
}

// dstBucket creates bucket name in the loader's file even if it stays empty.
func dstBucket(l *bulkLoader, name []byte) (*bolt.Bucket, error) {
	if err := l.commit(); err != nil {
		return nil, err
	}
	var b *bolt.Bucket
	err := l.db.Update(func(tx *bolt.Tx) error {
		var err error
		b, err = tx.CreateBucketIfNotExists(name)
		return err
	})
	return b, err
}

// catchUp replays the journal into db while batches keep arriving, until
// what is left is short.
func (e *Engine) catchUp(db *bolt.DB) error {
	for range catchUpRounds {
		batches := e.takeJournal()
		if err := replay(db, batches); err != nil {
			return err
		}
		if len(batches) < smallJournal {
			return nil
		}
	}
	return nil
}

// finishDefrag holds batches off, replays the rest of the journal and swaps
// db in.
func (e *Engine) finishDefrag(db *bolt.DB, path string) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	batches := e.journal.batches
	e.journal = nil
	if err := replay(db, batches); err != nil {
		discardRebuild(db, path)
		return err
	}
	return e.swapIn(db, path)
}

func (e *Engine) takeJournal() []storage.ApplyBatchRequest {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	batches := e.journal.batches
	e.journal.batches = nil
	return batches
}

func (e *Engine) stopJournal() {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.journal = nil
}

// replay applies journaled batches to db in one transaction.
func replay(db *bolt.DB, batches []storage.ApplyBatchRequest) error {
	if len(batches) == 0 {
		return nil
	}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, req := range batches {
			if err := applyOps(tx, req); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bbolt: defrag replay: %w", err)
	}
	return nil
}
