package bbolt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Files that Defrag and Restore build before swapping them in.
const (
	defragFileName  = "db.defrag"
	restoreFileName = "db.restore"
)

const (
	// loadTxBytes bounds the data written in one transaction while a new
	// file is built, so a large load does not hold it all in memory.
	loadTxBytes = 16 << 20
	// loadFillPercent packs pages fuller than bbolt's default, as etcd's
	// defrag does: the keys arrive in order.
	loadFillPercent = 0.9
)

func removeTemporaries(dir string) {
	for _, name := range []string{defragFileName, restoreFileName} {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// openRebuild creates an empty file to build a new database in. It skips
// fsync while loading; finishRebuild syncs once at the end.
func (e *Engine) openRebuild(name string) (*bolt.DB, string, error) {
	path := filepath.Join(e.dir, name)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("bbolt: remove %s: %w", name, err)
	}
	options := e.options
	options.NoSync = true
	db, err := bolt.Open(path, 0o600, &options)
	if err != nil {
		return nil, "", fmt.Errorf("bbolt: create %s: %w", name, err)
	}
	return db, path, nil
}

// discardRebuild closes and removes a file that will not be swapped in.
func discardRebuild(db *bolt.DB, path string) {
	_ = db.Close()
	_ = os.Remove(path)
}

// bulkLoader writes entries into a new file in transactions of bounded size.
type bulkLoader struct {
	db      *bolt.DB
	tx      *bolt.Tx
	bucket  *bolt.Bucket
	name    string // of bucket
	pending int
}

// put stores key and value in bucket name. Both must stay unchanged until
// the loader commits.
func (l *bulkLoader) put(name, key, value []byte) error {
	if l.tx == nil {
		tx, err := l.db.Begin(true)
		if err != nil {
			return err
		}
		l.tx, l.bucket = tx, nil
	}
	if l.bucket == nil || l.name != string(name) {
		b, err := l.tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		b.FillPercent = loadFillPercent
		l.bucket, l.name = b, string(name)
	}
	if err := l.bucket.Put(key, value); err != nil {
		return err
	}
	l.pending += len(key) + len(value)
	if l.pending >= loadTxBytes {
		return l.commit()
	}
	return nil
}

func (l *bulkLoader) commit() error {
	if l.tx == nil {
		return nil
	}
	err := l.tx.Commit()
	l.tx, l.bucket, l.pending = nil, nil, 0
	return err
}

func (l *bulkLoader) rollback() {
	if l.tx != nil {
		_ = l.tx.Rollback()
		l.tx = nil
	}
}

// swapIn makes db, open at path, the engine's file: it syncs db, renames
// path over <Dir>/db and closes the old file. Reads and writes wait while
// it runs, and it waits for running ones. On error db is discarded.
func (e *Engine) swapIn(db *bolt.DB, path string) error {
	db.NoSync = e.options.NoSync
	if err := db.Sync(); err != nil {
		discardRebuild(db, path)
		return fmt.Errorf("bbolt: sync new file: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOpen(); err != nil {
		discardRebuild(db, path)
		return err
	}
	if err := os.Rename(path, filepath.Join(e.dir, dbFileName)); err != nil {
		discardRebuild(db, path)
		return fmt.Errorf("bbolt: swap in new file: %w", err)
	}
	old := e.db
	e.db = db
	if err := syncDir(e.dir); err != nil {
		return err
	}
	if err := old.Close(); err != nil {
		return fmt.Errorf("bbolt: close replaced file: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bbolt: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bbolt: sync dir: %w", err)
	}
	return nil
}
