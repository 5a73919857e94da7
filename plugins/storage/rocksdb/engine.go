package rocksdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/linxGnu/grocksdb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Name and Version identify the engine in Info.
const (
	Name    = "rocksdb"
	Version = "1.0.0"
)

// OptionWriteBufferSize is the option key for RocksDB's memtable size in
// bytes (default 64 MiB).
const OptionWriteBufferSize = "write-buffer-size"

// The database lives in <dir>/db. Restore builds a new one in
// <dir>/db.restore and swaps it in; Open finishes a swap a crash cut short.
const (
	dbDir      = "db"
	restoreDir = "db.restore"
	oldDir     = "db.old"
)

type lifecycle uint8

const (
	stateNew lifecycle = iota
	stateOpen
	stateClosed
)

// Engine is the RocksDB engine. Create it with New.
type Engine struct {
	// writeMu serialises ApplyBatch and Restore and guards counts.
	writeMu sync.Mutex
	counts  map[string]int64
	// mu guards state and the handles. Calls hold it shared while they use
	// the database; Open, Close and Restore's swap hold it exclusively, so
	// the database never closes under an iterator.
	mu    sync.RWMutex
	state lifecycle
	dir   string
	db    *handles
}

var _ storage.Engine = (*Engine)(nil)

// handles are the RocksDB objects of one open database.
type handles struct {
	db        *grocksdb.DB
	opts      *grocksdb.Options
	table     *grocksdb.BlockBasedTableOptions
	cache     *grocksdb.Cache
	syncWrite *grocksdb.WriteOptions
	write     *grocksdb.WriteOptions
	read      *grocksdb.ReadOptions
}

// New returns an engine that is not yet open.
func New() *Engine { return &Engine{} }

// Info implements storage.Engine.
func (e *Engine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{Name: Name, Version: Version, Capabilities: []string{storage.CapabilityDurable}}, nil
}

// Open implements storage.Engine.
func (e *Engine) Open(_ context.Context, req storage.OpenRequest) (storage.OpenResponse, error) {
	writeBuffer := uint64(64 << 20)
	for k, v := range req.Options {
		switch k {
		case OptionWriteBufferSize:
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				return storage.OpenResponse{}, fmt.Errorf("%w: option %s=%q: want a positive byte count", storage.ErrInvalidRequest, k, v)
			}
			writeBuffer = n
		default:
			return storage.OpenResponse{}, fmt.Errorf("%w: unknown option %q", storage.ErrInvalidRequest, k)
		}
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateOpen:
		return storage.OpenResponse{}, fmt.Errorf("%w: engine already open", storage.ErrInvalidRequest)
	case stateClosed:
		return storage.OpenResponse{}, storage.ErrClosed
	}
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return storage.OpenResponse{}, fmt.Errorf("rocksdb: %w", err)
	}
	if err := finishSwap(req.Dir); err != nil {
		return storage.OpenResponse{}, err
	}
	h, err := openHandles(filepath.Join(req.Dir, dbDir), writeBuffer)
	if err != nil {
		return storage.OpenResponse{}, err
	}
	index, counts, err := readMeta(h)
	if err != nil {
		h.close()
		return storage.OpenResponse{}, err
	}
	e.db, e.dir, e.counts, e.state = h, req.Dir, counts, stateOpen
	return storage.OpenResponse{ConsistentIndex: index}, nil
}

// finishSwap completes a Restore that a crash interrupted after the new
// database was complete: <dir>/db.restore is used only once db is gone.
func finishSwap(dir string) error {
	db, restore := filepath.Join(dir, dbDir), filepath.Join(dir, restoreDir)
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(restore); err == nil {
			if err := os.Rename(restore, db); err != nil {
				return fmt.Errorf("rocksdb: finish restore: %w", err)
			}
		}
	}
	for _, leftover := range []string{restore, filepath.Join(dir, oldDir)} {
		if err := os.RemoveAll(leftover); err != nil {
			return fmt.Errorf("rocksdb: %w", err)
		}
	}
	return nil
}

// openHandles opens (creating) the database in path.
func openHandles(path string, writeBuffer uint64) (*handles, error) {
	h := &handles{
		opts:      grocksdb.NewDefaultOptions(),
		table:     grocksdb.NewDefaultBlockBasedTableOptions(),
		cache:     grocksdb.NewLRUCache(64 << 20),
		syncWrite: grocksdb.NewDefaultWriteOptions(),
		write:     grocksdb.NewDefaultWriteOptions(),
		read:      grocksdb.NewDefaultReadOptions(),
	}
	h.table.SetBlockCache(h.cache)
	h.table.SetFilterPolicy(grocksdb.NewBloomFilter(10))
	h.opts.SetBlockBasedTableFactory(h.table)
	h.opts.SetCreateIfMissing(true)
	// Set explicitly: Debian's librocksdb asserts on an unset level.
	h.opts.SetInfoLogLevel(grocksdb.WarnInfoLogLevel)
	h.opts.SetKeepLogFileNum(2)
	h.opts.SetMaxLogFileSize(4 << 20)
	h.opts.SetWriteBufferSize(writeBuffer)
	h.opts.SetCompression(grocksdb.NoCompression)
	h.syncWrite.SetSync(true)
	db, err := grocksdb.OpenDb(h.opts, path)
	if err != nil {
		h.close()
		// Only RocksDB's "Corruption: ..." is damage at rest; an I/O
		// error (a disk still full: opening writes a new log) may heal,
		// and the host retries it.
		return nil, readError("open "+path, err)
	}
	h.db = db
	return h, nil
}

// close releases everything: the database first, then its options.
func (h *handles) close() {
	if h.db != nil {
		h.db.Close()
		h.db = nil
	}
	h.read.Destroy()
	h.write.Destroy()
	h.syncWrite.Destroy()
	h.opts.Destroy()
	h.table.Destroy()
	h.cache.Destroy()
}

// readMeta reads the consistent index and the key counts.
func readMeta(h *handles) (uint64, map[string]int64, error) {
	raw, err := h.db.GetBytes(h.read, indexKey)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: rocksdb: read consistent index: %v", storage.ErrCorrupt, err)
	}
	var index uint64
	if raw != nil {
		var ok bool
		if index, ok = decodeUint64(raw); !ok {
			return 0, nil, fmt.Errorf("%w: rocksdb: consistent index of %d bytes", storage.ErrCorrupt, len(raw))
		}
	}
	counts := map[string]int64{}
	err = iterate(h.db, countsPrefix, prefixEnd(countsPrefix), false, nil, func(k, v []byte) (bool, error) {
		n, ok := decodeUint64(v)
		if !ok {
			return false, fmt.Errorf("%w: rocksdb: key count of %d bytes", storage.ErrCorrupt, len(v))
		}
		counts[string(k[len(countsPrefix):])] = int64(n)
		return true, nil
	})
	return index, counts, err
}

// Close implements storage.Engine. It waits for calls in progress.
func (e *Engine) Close(context.Context) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == stateOpen {
		e.db.close()
		e.db = nil
	}
	e.state = stateClosed
	return nil
}

// checkOpen returns the life-cycle error of a call; the caller holds mu.
func (e *Engine) checkOpen() error {
	switch e.state {
	case stateNew:
		return storage.ErrNotOpen
	case stateClosed:
		return storage.ErrClosed
	}
	return nil
}
