package rocksdb

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/linxGnu/grocksdb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// ctxCheckEvery is how many keys a scan visits between context checks.
const ctxCheckEvery = 1024

// GetMany implements storage.Engine: one MultiGet at one snapshot.
func (e *Engine) GetMany(_ context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	if req.Namespace == "" {
		return storage.GetManyResponse{}, fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.GetManyResponse{}, err
	}
	keys := make([][]byte, len(req.Keys))
	for i, k := range req.Keys {
		keys[i] = dataKey(req.Namespace, k)
	}
	resp := storage.GetManyResponse{Values: make([][]byte, len(keys)), Found: make([]bool, len(keys))}
	if len(keys) == 0 {
		return resp, nil
	}
	snap := e.db.db.NewSnapshot()
	defer e.db.db.ReleaseSnapshot(snap)
	ro := grocksdb.NewDefaultReadOptions()
	defer ro.Destroy()
	ro.SetSnapshot(snap)
	values, err := e.db.db.MultiGet(ro, keys...)
	if err != nil {
		return storage.GetManyResponse{}, readError("get", err)
	}
	defer values.Destroy()
	for i, v := range values {
		if v.Exists() {
			resp.Values[i] = bytes.Clone(v.Data())
			if resp.Values[i] == nil {
				resp.Values[i] = []byte{}
			}
			resp.Found[i] = true
		}
	}
	return resp, nil
}

// readError wraps a failed read or open; RocksDB's "Corruption: ..."
// errors, a block whose checksum does not match say (naming the file),
// wrap storage.ErrCorrupt.
func readError(op string, err error) error {
	if strings.HasPrefix(err.Error(), "Corruption:") {
		return fmt.Errorf("%w: rocksdb: %s: %v", storage.ErrCorrupt, op, err)
	}
	return fmt.Errorf("rocksdb: %s: %w", op, err)
}

// Scan implements storage.Engine with one iterator, whose implicit
// snapshot keeps batches applied meanwhile invisible.
func (e *Engine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	if req.Namespace == "" {
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return err
	}
	prefix := nsPrefix(req.Namespace)
	lower := append(bytes.Clone(prefix), req.Start...)
	upper := prefixEnd(prefix)
	if req.End != nil {
		upper = append(bytes.Clone(prefix), req.End...)
	}
	if bytes.Compare(lower, upper) >= 0 {
		return nil
	}
	var n int64
	return iterate(e.db.db, lower, upper, req.Reverse, nil, func(k, v []byte) (bool, error) {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		n++
		kv := storage.KeyValue{Key: k[len(prefix):]}
		if !req.KeysOnly {
			kv.Value = v
		}
		return fn(kv) && (req.Limit <= 0 || n < req.Limit), nil
	})
}

// Stats implements storage.Engine. SizeBytes is what the files in the
// engine's directory take; SizeInUseBytes RocksDB's estimate of live data,
// memtables included.
func (e *Engine) Stats(context.Context, storage.StatsRequest) (storage.StatsResponse, error) {
	e.writeMu.Lock()
	keys := make(map[string]int64, len(e.counts))
	for ns, n := range e.counts {
		if n != 0 {
			keys[ns] = n
		}
	}
	e.writeMu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.StatsResponse{}, err
	}
	size, err := dirSize(e.dir)
	if err != nil {
		return storage.StatsResponse{}, err
	}
	inUse := propertyInt(e.db.db, "rocksdb.estimate-live-data-size") + propertyInt(e.db.db, "rocksdb.cur-size-all-mem-tables")
	return storage.StatsResponse{SizeBytes: size, SizeInUseBytes: min(inUse, size), Keys: keys}, nil
}

func propertyInt(db *grocksdb.DB, name string) int64 {
	n, err := strconv.ParseInt(db.GetProperty(name), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // a file RocksDB removed meanwhile
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rocksdb: size of %s: %w", dir, err)
	}
	return total, nil
}
