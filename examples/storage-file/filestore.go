// Package filestore is a storage engine that keeps its data in memory and
// makes it durable with an append-only log file: the smallest complete
// MetaStore storage plugin, to copy as the start of your own.
//
// Every batch is one record appended to dir/data.log: its length, a CRC-32C
// of its contents, then the consistent index and the operations. Open
// replays the log; a last record cut short by a crash is dropped (its batch
// was never acknowledged as synced), while a damaged record before the end
// is corruption. Defrag rewrites the log as one record of the live data.
// Reads are served from the in-memory maps, so the data must fit in memory.
package filestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Name is the engine's name in Info.
const Name = "file"

// Version is the engine's version in Info.
const Version = "0.1.0"

const logName = "data.log"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type state int

const (
	stateNew state = iota
	stateOpen
	stateClosed
)

// Engine is the file engine. ApplyBatch holds writeMu while it appends, so
// that reads go on meanwhile; the maps change under mu.
type Engine struct {
	writeMu sync.Mutex
	mu      sync.RWMutex
	state   state
	dir     string
	log     *os.File
	logSize int64
	data    map[string]map[string][]byte
	index   uint64
}

var (
	_ storage.Engine       = (*Engine)(nil)
	_ storage.Defragmenter = (*Engine)(nil)
)

// New returns an engine to open.
func New() *Engine { return &Engine{} }

// Info names the engine: durable, and it defragments.
func (e *Engine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{Name: Name, Version: Version,
		Capabilities: []string{storage.CapabilityDurable, storage.CapabilityDefrag}}, nil
}

// lockWriter takes writeMu for a call that writes, and returns with it
// released if the engine is not open.
func (e *Engine) lockWriter() error {
	e.writeMu.Lock()
	e.mu.RLock()
	err := e.checkOpen()
	e.mu.RUnlock()
	if err != nil {
		e.writeMu.Unlock()
	}
	return err
}

// checkOpen returns ErrNotOpen or ErrClosed when the engine cannot serve.
// The caller holds mu.
func (e *Engine) checkOpen() error {
	switch e.state {
	case stateNew:
		return storage.ErrNotOpen
	case stateClosed:
		return storage.ErrClosed
	}
	return nil
}

// Open creates req.Dir if needed and replays its log.
func (e *Engine) Open(_ context.Context, req storage.OpenRequest) (storage.OpenResponse, error) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateNew {
		return storage.OpenResponse{}, fmt.Errorf("%w: Open called twice", storage.ErrInvalidRequest)
	}
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return storage.OpenResponse{}, err
	}
	f, err := os.OpenFile(filepath.Join(req.Dir, logName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return storage.OpenResponse{}, err
	}
	data, index, size, err := replay(f)
	if err == nil {
		// Drop a torn last record; appends go after the good ones.
		err = f.Truncate(size)
	}
	if err == nil {
		_, err = f.Seek(size, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return storage.OpenResponse{}, err
	}
	e.dir, e.log, e.logSize, e.data, e.index, e.state = req.Dir, f, size, data, index, stateOpen
	return storage.OpenResponse{ConsistentIndex: index}, nil
}

// replay reads every record of the log and returns the data, the last
// index and the length of the log's whole records.
func replay(f *os.File) (map[string]map[string][]byte, uint64, int64, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	data := map[string]map[string][]byte{}
	var index uint64
	var size int64
	r := bufio.NewReader(f)
	for {
		var head [8]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			// io.EOF: the end; io.ErrUnexpectedEOF: a torn header.
			return data, index, size, nil
		}
		n, sum := binary.BigEndian.Uint32(head[:4]), binary.BigEndian.Uint32(head[4:])
		if int64(n) > info.Size()-size-8 {
			return data, index, size, nil // a torn record at the end
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return data, index, size, nil
		}
		end := size+8+int64(n) == info.Size()
		if crc32.Checksum(body, castagnoli) != sum {
			if end {
				return data, index, size, nil // torn while being written
			}
			return nil, 0, 0, fmt.Errorf("%w: %s: record at offset %d fails its checksum", storage.ErrCorrupt, f.Name(), size)
		}
		ops, idx, err := decodeBatch(body)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%w: %s: record at offset %d: %v", storage.ErrCorrupt, f.Name(), size, err)
		}
		apply(data, ops)
		if idx != 0 {
			index = idx
		}
		size += 8 + int64(n)
	}
}

// Close closes the log. A second Close does nothing.
func (e *Engine) Close(context.Context) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateOpen {
		e.state = stateClosed
		return nil
	}
	e.state = stateClosed
	e.data = nil
	return e.log.Close()
}

// ApplyBatch appends the batch to the log (synced when req.Sync), then
// applies it to the maps: a batch is either whole in the log or not there.
func (e *Engine) ApplyBatch(_ context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	if err := e.lockWriter(); err != nil {
		return storage.ApplyBatchResponse{}, err
	}
	defer e.writeMu.Unlock()
	for _, op := range req.Ops {
		if err := checkOp(op); err != nil {
			return storage.ApplyBatchResponse{}, err
		}
	}
	n, err := appendRecord(e.log, encodeBatch(req.Ops, req.ConsistentIndex), req.Sync)
	if err != nil {
		return storage.ApplyBatchResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logSize += n
	apply(e.data, req.Ops)
	if req.ConsistentIndex != 0 {
		e.index = req.ConsistentIndex
	}
	return storage.ApplyBatchResponse{}, nil
}

func checkOp(op storage.Op) error {
	switch {
	case op.Kind != storage.OpPut && op.Kind != storage.OpDelete:
		return fmt.Errorf("%w: op kind %d", storage.ErrInvalidRequest, op.Kind)
	case op.Namespace == "":
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	case len(op.Key) == 0:
		return fmt.Errorf("%w: empty key", storage.ErrInvalidRequest)
	}
	return nil
}

// apply applies ops to data; values are copied, the caller keeps its own.
func apply(data map[string]map[string][]byte, ops []storage.Op) {
	for _, op := range ops {
		ns := data[op.Namespace]
		switch op.Kind {
		case storage.OpPut:
			if ns == nil {
				ns = map[string][]byte{}
				data[op.Namespace] = ns
			}
			ns[string(op.Key)] = bytes.Clone(op.Value)
		case storage.OpDelete:
			delete(ns, string(op.Key))
		}
	}
}

// appendRecord writes one record, length and checksum first, and returns
// its size.
func appendRecord(f *os.File, body []byte, sync bool) (int64, error) {
	rec := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(rec[:4], uint32(len(body)))
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(body, castagnoli))
	rec = append(rec, body...)
	if _, err := f.Write(rec); err != nil {
		return 0, err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	return int64(len(rec)), nil
}

// encodeBatch encodes a batch: the index, then each op as its kind and
// three length-prefixed byte strings (namespace, key, value).
func encodeBatch(ops []storage.Op, index uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, index)
	for _, op := range ops {
		b = append(b, byte(op.Kind))
		for _, s := range [][]byte{[]byte(op.Namespace), op.Key, op.Value} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

func decodeBatch(b []byte) ([]storage.Op, uint64, error) {
	if len(b) < 8 {
		return nil, 0, errors.New("short batch")
	}
	index := binary.BigEndian.Uint64(b)
	b = b[8:]
	var ops []storage.Op
	for len(b) > 0 {
		op := storage.Op{Kind: storage.OpKind(b[0])}
		b = b[1:]
		var fields [3][]byte
		for i := range fields {
			n, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < n {
				return nil, 0, errors.New("truncated op")
			}
			fields[i], b = b[k:k+int(n)], b[k+int(n):]
		}
		op.Namespace, op.Key, op.Value = string(fields[0]), fields[1], fields[2]
		if err := checkOp(op); err != nil {
			return nil, 0, err
		}
		ops = append(ops, op)
	}
	return ops, index, nil
}

// GetMany reads keys of one namespace.
func (e *Engine) GetMany(_ context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.GetManyResponse{}, err
	}
	if req.Namespace == "" {
		return storage.GetManyResponse{}, fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	resp := storage.GetManyResponse{Values: make([][]byte, len(req.Keys)), Found: make([]bool, len(req.Keys))}
	ns := e.data[req.Namespace]
	for i, k := range req.Keys {
		if v, ok := ns[string(k)]; ok {
			resp.Values[i], resp.Found[i] = bytes.Clone(v), true
		}
	}
	return resp, nil
}

// Scan copies the range out under the read lock, so fn sees one view and
// may take its time, then calls fn in order.
func (e *Engine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	e.mu.RLock()
	if err := e.checkOpen(); err != nil {
		e.mu.RUnlock()
		return err
	}
	if req.Namespace == "" {
		e.mu.RUnlock()
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	ns := e.data[req.Namespace]
	keys := make([]string, 0, len(ns))
	for k := range ns {
		if k >= string(req.Start) && (req.End == nil || k < string(req.End)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if req.Reverse {
		slices.Reverse(keys)
	}
	if req.Limit > 0 && int64(len(keys)) > req.Limit {
		keys = keys[:req.Limit]
	}
	kvs := make([]storage.KeyValue, len(keys))
	for i, k := range keys {
		kvs[i] = storage.KeyValue{Key: []byte(k), Value: ns[k]} // values are never changed in place
	}
	e.mu.RUnlock()
	for _, kv := range kvs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(kv) {
			return nil
		}
	}
	return nil
}

// Snapshot writes every namespace, sorted, in the engine-neutral format.
func (e *Engine) Snapshot(ctx context.Context, req storage.SnapshotRequest) (storage.SnapshotResponse, error) {
	e.mu.RLock()
	if err := e.checkOpen(); err != nil {
		e.mu.RUnlock()
		return storage.SnapshotResponse{}, err
	}
	data, index := copyData(e.data), e.index
	e.mu.RUnlock()
	sw := storage.NewSnapshotWriter(req.Writer, index)
	for _, ns := range slices.Sorted(maps.Keys(data)) {
		for _, k := range slices.Sorted(maps.Keys(data[ns])) {
			if err := sw.Add(ns, []byte(k), data[ns][k]); err != nil {
				return storage.SnapshotResponse{}, err
			}
		}
		if err := ctx.Err(); err != nil {
			return storage.SnapshotResponse{}, err
		}
	}
	if err := sw.Close(); err != nil {
		return storage.SnapshotResponse{}, err
	}
	return storage.SnapshotResponse{ConsistentIndex: index, Bytes: sw.Written()}, nil
}

// Restore reads the whole snapshot, and only once it has verified writes it
// as a new log and swaps it in.
func (e *Engine) Restore(_ context.Context, req storage.RestoreRequest) (storage.RestoreResponse, error) {
	if err := e.lockWriter(); err != nil {
		return storage.RestoreResponse{}, err
	}
	defer e.writeMu.Unlock()
	sr, err := storage.NewSnapshotReader(req.Reader)
	if err != nil {
		return storage.RestoreResponse{}, err
	}
	data := map[string]map[string][]byte{}
	for {
		ns, key, value, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return storage.RestoreResponse{}, err
		}
		apply(data, []storage.Op{{Kind: storage.OpPut, Namespace: ns, Key: key, Value: value}})
	}
	if err := e.rewrite(data, sr.ConsistentIndex()); err != nil {
		return storage.RestoreResponse{}, err
	}
	return storage.RestoreResponse{ConsistentIndex: sr.ConsistentIndex()}, nil
}

// Defrag rewrites the log as one record of the live data.
func (e *Engine) Defrag(context.Context, storage.DefragRequest) (storage.DefragResponse, error) {
	if err := e.lockWriter(); err != nil {
		return storage.DefragResponse{}, err
	}
	defer e.writeMu.Unlock()
	e.mu.RLock()
	before, data, index := e.logSize, copyData(e.data), e.index
	e.mu.RUnlock()
	if err := e.rewrite(data, index); err != nil {
		return storage.DefragResponse{}, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return storage.DefragResponse{SizeBefore: before, SizeAfter: e.logSize}, nil
}

// rewrite replaces the log by one record holding data and index: a new file
// written and synced beside it, renamed over it, the directory synced. The
// caller holds writeMu.
func (e *Engine) rewrite(data map[string]map[string][]byte, index uint64) error {
	var ops []storage.Op
	for ns, kvs := range data {
		for k, v := range kvs {
			ops = append(ops, storage.Op{Kind: storage.OpPut, Namespace: ns, Key: []byte(k), Value: v})
		}
	}
	path := filepath.Join(e.dir, logName)
	tmp, err := os.OpenFile(path+".tmp", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	n, err := appendRecord(tmp, encodeBatch(ops, index), true)
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(e.dir)
	}
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.log.Close()
	e.log, e.logSize, e.data, e.index = tmp, n, data, index
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Stats reports the log's size, the live data's size and the keys per
// namespace.
func (e *Engine) Stats(context.Context, storage.StatsRequest) (storage.StatsResponse, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.checkOpen(); err != nil {
		return storage.StatsResponse{}, err
	}
	resp := storage.StatsResponse{SizeBytes: e.logSize, Keys: map[string]int64{}}
	for ns, kvs := range e.data {
		resp.Keys[ns] = int64(len(kvs))
		for k, v := range kvs {
			resp.SizeInUseBytes += int64(len(k) + len(v))
		}
	}
	return resp, nil
}

func copyData(data map[string]map[string][]byte) map[string]map[string][]byte {
	out := make(map[string]map[string][]byte, len(data))
	for ns, kvs := range data {
		out[ns] = make(map[string][]byte, len(kvs))
		for k, v := range kvs {
			out[ns][k] = v // values are never changed in place
		}
	}
	return out
}
