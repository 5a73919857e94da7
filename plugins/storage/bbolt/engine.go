package bbolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Name and Version identify the engine in Info.
const (
	Name    = "bbolt"
	Version = "1.0.0"
)

// OptionInitialMmapSize is the option key for bbolt's initial mmap size in
// bytes.
const OptionInitialMmapSize = "initial-mmap-size"

// OptionUnsafeNoFsync is the option key that, set to "true", makes the
// engine commit without fsync (etcd's --unsafe-no-fsync): a crash of the
// machine may lose or corrupt what it committed.
const OptionUnsafeNoFsync = "unsafe-no-fsync"

const (
	dbFileName             = "db"
	defaultInitialMmapSize = 10 << 30
	// openTimeout bounds the wait for the file lock, which a dying
	// previous owner may still hold.
	openTimeout = 10 * time.Second
)

var (
	metaBucket = []byte("meta")
	indexKey   = []byte("consistent_index")
)

// nsPrefix starts every namespace bucket's name, so that no namespace can
// collide with the meta bucket.
const nsPrefix = "ns/"

func nsBucket(ns string) []byte { return []byte(nsPrefix + ns) }

type lifecycle uint8

const (
	stateNew lifecycle = iota
	stateOpen
	stateClosed
)

// Engine is the bbolt engine. Create it with New. Locks are taken in the
// order maintMu, writeMu, mu.
type Engine struct {
	// maintMu lets one Defrag or Restore run at a time.
	maintMu sync.Mutex
	// writeMu serialises ApplyBatch with Restore and with the start and end
	// of Defrag; it guards journal.
	writeMu sync.Mutex
	journal *journal // non-nil while Defrag copies
	// mu guards state and db. Every call holds it shared while it uses db;
	// swapping in a new file holds it exclusively.
	mu      sync.RWMutex
	state   lifecycle
	db      *bolt.DB
	dir     string
	options bolt.Options
}

var _ storage.Engine = (*Engine)(nil)
var _ storage.Defragmenter = (*Engine)(nil)

// New returns an engine that is not yet open.
func New() *Engine {
	return &Engine{}
}

// Info names the engine and declares it durable and defragmentable.
func (e *Engine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{
		Name:         Name,
		Version:      Version,
		Capabilities: []string{storage.CapabilityDurable, storage.CapabilityDefrag},
	}, nil
}

// Open opens or creates <Dir>/db and returns its consistent index. It
// removes files a crashed Defrag or Restore left behind.
func (e *Engine) Open(_ context.Context, req storage.OpenRequest) (storage.OpenResponse, error) {
	options, err := parseOptions(req.Options)
	if err != nil {
		return storage.OpenResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateOpen:
		return storage.OpenResponse{}, fmt.Errorf("%w: engine already open", storage.ErrInvalidRequest)
	case stateClosed:
		return storage.OpenResponse{}, storage.ErrClosed
	}
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return storage.OpenResponse{}, fmt.Errorf("bbolt: create dir: %w", err)
	}
	removeTemporaries(req.Dir)
	path := filepath.Join(req.Dir, dbFileName)
	db, err := openFile(path, &options)
	if err != nil {
		return storage.OpenResponse{}, err
	}
	index, err := readIndex(db, path)
	if err != nil {
		_ = db.Close()
		return storage.OpenResponse{}, err
	}
	e.db, e.dir, e.options, e.state = db, req.Dir, options, stateOpen
	return storage.OpenResponse{ConsistentIndex: index}, nil
}

func parseOptions(opts map[string]string) (bolt.Options, error) {
	options := bolt.Options{
		Timeout:         openTimeout,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: defaultInitialMmapSize,
	}
	for key, value := range opts {
		if key == OptionUnsafeNoFsync {
			on, err := strconv.ParseBool(value)
			if err != nil {
				return options, fmt.Errorf("%w: option %s=%q: want true or false", storage.ErrInvalidRequest, key, value)
			}
			options.NoSync, options.NoGrowSync = on, on
			continue
		}
		if key != OptionInitialMmapSize {
			return options, fmt.Errorf("%w: unknown option %q", storage.ErrInvalidRequest, key)
		}
		size, err := strconv.ParseInt(value, 10, strconv.IntSize)
		if err != nil || size < 0 {
			return options, fmt.Errorf("%w: option %s=%q: want a byte count", storage.ErrInvalidRequest, key, value)
		}
		options.InitialMmapSize = int(size)
	}
	return options, nil
}

// openFile opens the bbolt file at path. The errors bbolt returns for an
// unreadable file, and the panics it raises on a damaged page, come back
// as errors wrapping storage.ErrCorrupt that name the file.
func openFile(path string, options *bolt.Options) (db *bolt.DB, err error) {
	defer recoverCorrupt(path, &err)
	if err := checkFileSize(path); err != nil {
		return nil, err
	}
	if err := checkPages(path); err != nil {
		return nil, err
	}
	db, err = bolt.Open(path, 0o600, options)
	if err == nil {
		return db, nil
	}
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) {
		return nil, fmt.Errorf("%w: bbolt: %s: %v", storage.ErrCorrupt, path, err)
	}
	return nil, fmt.Errorf("bbolt: open %s: %w", path, err)
}

// recoverCorrupt turns a panic of bbolt, which it raises on a page it
// cannot make sense of, into an error wrapping storage.ErrCorrupt that
// names the file. It must be deferred directly.
func recoverCorrupt(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: bbolt: %s: damaged page: %v", storage.ErrCorrupt, path, r)
	}
}

// readIndex creates the meta bucket if needed and reads the consistent
// index. A new file's values carry checksums.
func readIndex(db *bolt.DB, path string) (index uint64, err error) {
	defer recoverCorrupt(path, &err)
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			var err error
			if meta, err = tx.CreateBucket(metaBucket); err != nil {
				return err
			}
			if !hasNamespaces(tx) {
				if err := markChecksummed(meta); err != nil {
					return err
				}
			}
		}
		v := meta.Get(indexKey)
		switch len(v) {
		case 0:
		case 8:
			index = binary.BigEndian.Uint64(v)
		default:
			return fmt.Errorf("%w: consistent index of %d bytes", storage.ErrCorrupt, len(v))
		}
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrCorrupt) {
		err = fmt.Errorf("bbolt: read consistent index: %w", err)
	}
	return index, err
}

// Close closes the file. It waits for running calls to finish.
func (e *Engine) Close(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateNew:
		return storage.ErrNotOpen
	case stateClosed:
		return nil
	}
	e.state = stateClosed
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("bbolt: close: %w", err)
	}
	return nil
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

// view runs fn in a read transaction of the current file.
func (e *Engine) view(fn func(*bolt.Tx) error) (err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return err
	}
	defer recoverCorrupt(e.path(), &err)
	return e.db.View(fn)
}

// path is the file's path; e.mu must be held.
func (e *Engine) path() string { return filepath.Join(e.dir, dbFileName) }

// hasNamespaces reports whether tx's file holds any namespace bucket.
func hasNamespaces(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().Seek([]byte(nsPrefix))
	return k != nil && bytes.HasPrefix(k, []byte(nsPrefix))
}
