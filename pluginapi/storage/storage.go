package storage

import (
	"context"
	"io"
)

// Engine is a storage engine. Built-in engines run in the host process; the
// same interface runs out of process through the plugin shims.
//
// Life cycle: a new Engine is opened once with Open, used, and closed once
// with Close. Every method but Info and Open returns ErrClosed after Close and
// ErrNotOpen before Open.
//
// Concurrency: ApplyBatch is called by one goroutine at a time. GetMany, Scan,
// Stats and Snapshot may run concurrently with each other and with ApplyBatch;
// each sees the state before or after a whole batch, never part of one.
//
// Ownership: byte slices in requests belong to the caller and must not be
// retained by the engine after the call returns. Byte slices in responses
// belong to the caller and must not be mutated by the engine afterwards;
// slices passed to a Scan callback are valid only during that callback.
type Engine interface {
	// Info describes the engine. It may be called before Open.
	Info(ctx context.Context) (InfoResponse, error)

	// Open opens (creating if needed) the engine's files in req.Dir and
	// returns the consistent index persisted by the last ApplyBatch (0 for a
	// new engine). Returns ErrCorrupt if the files cannot be read back.
	Open(ctx context.Context, req OpenRequest) (OpenResponse, error)

	// ApplyBatch applies every op of req atomically: after a crash either all
	// of them and req.ConsistentIndex are visible, or none. Ops apply in
	// order; a Delete of a missing key is not an error. When req.Sync is set,
	// the batch is durable when ApplyBatch returns.
	ApplyBatch(ctx context.Context, req ApplyBatchRequest) (ApplyBatchResponse, error)

	// GetMany reads req.Keys in one namespace. Values[i] answers Keys[i];
	// a missing key answers nil and Found[i] false.
	GetMany(ctx context.Context, req GetManyRequest) (GetManyResponse, error)

	// Scan calls fn for each key in [req.Start, req.End) of req.Namespace in
	// bytewise order (descending if req.Reverse), at most req.Limit keys when
	// Limit > 0, from one consistent view. A nil End means no upper bound.
	// Scan stops early, returning nil, when fn returns false.
	Scan(ctx context.Context, req ScanRequest, fn func(KeyValue) bool) error

	// Snapshot writes every namespace and the consistent index, from one
	// consistent view, to req.Writer in the engine-neutral format (see
	// SnapshotWriter), so that any engine can Restore it.
	Snapshot(ctx context.Context, req SnapshotRequest) (SnapshotResponse, error)

	// Restore replaces the engine's whole content with the engine-neutral
	// snapshot read from req.Reader. The engine must be open. On error the
	// previous content may be lost; the host restores only into a fresh
	// engine or one it is about to rebuild. Returns ErrCorrupt if the
	// snapshot fails its checksum.
	Restore(ctx context.Context, req RestoreRequest) (RestoreResponse, error)

	// Stats reports sizes.
	Stats(ctx context.Context, req StatsRequest) (StatsResponse, error)

	// Close flushes and releases the engine. Calling Close twice is allowed.
	Close(ctx context.Context) error
}

// Defragmenter is implemented by engines that can give free space back to the
// file system on request. Engines that reclaim space by themselves (an LSM)
// need not implement it.
type Defragmenter interface {
	// Defrag reclaims unused space. Reads and writes may be served meanwhile.
	Defrag(ctx context.Context, req DefragRequest) (DefragResponse, error)
}

// InfoResponse names an engine.
type InfoResponse struct {
	Name    string
	Version string
	// Capabilities are what the engine declares it can do, of the
	// Capability constants. An engine that declares none is taken at its
	// interfaces: it is defragmented if it implements Defragmenter.
	Capabilities []string
}

// The capabilities an engine declares in InfoResponse.
const (
	// CapabilityDefrag: the engine implements Defragmenter and wants it
	// called. A plugin's engine always implements Defragmenter on the host
	// side, so a plugin says with this whether it defragments.
	CapabilityDefrag = "defrag"
	// CapabilityDurable: the engine's data survives Close and a reopen on
	// the same directory.
	CapabilityDurable = "durable"
)

// OpenRequest opens an engine.
type OpenRequest struct {
	// Dir is the engine's own directory; the engine creates it if missing.
	Dir string
	// Options are engine-specific settings from the host's configuration.
	Options map[string]string
}

// OpenResponse reports what the engine holds.
type OpenResponse struct {
	// ConsistentIndex is the index stored by the last successful ApplyBatch.
	ConsistentIndex uint64
}

// OpKind is the kind of a batch operation.
type OpKind uint8

const (
	// OpPut stores Value under Key.
	OpPut OpKind = iota + 1
	// OpDelete removes Key.
	OpDelete
)

// Op is one write in a batch. Namespace and Key must not be empty; an
// engine returns ErrInvalidRequest for either, and for a key or value over
// its own size limits, before applying any op of the batch.
type Op struct {
	Kind      OpKind
	Namespace string
	Key       []byte
	Value     []byte
}

// ApplyBatchRequest is one atomic batch.
type ApplyBatchRequest struct {
	Ops []Op
	// ConsistentIndex is stored atomically with Ops when non-zero.
	ConsistentIndex uint64
	// Sync asks for durability before ApplyBatch returns.
	Sync bool
}

// ApplyBatchResponse answers ApplyBatch.
type ApplyBatchResponse struct{}

// GetManyRequest reads keys of one namespace.
type GetManyRequest struct {
	Namespace string
	Keys      [][]byte
}

// GetManyResponse holds values in request order.
type GetManyResponse struct {
	Values [][]byte
	Found  []bool
}

// ScanRequest reads a key range of one namespace.
type ScanRequest struct {
	Namespace string
	Start     []byte
	End       []byte // exclusive; nil means no upper bound
	Limit     int64  // 0 means no limit
	Reverse   bool
	KeysOnly  bool // Value may be nil in the callback
}

// KeyValue is one entry returned by Scan.
type KeyValue struct {
	Key   []byte
	Value []byte
}

// SnapshotRequest asks for a snapshot stream.
type SnapshotRequest struct {
	Writer io.Writer
}

// SnapshotResponse describes a written snapshot.
type SnapshotResponse struct {
	ConsistentIndex uint64
	Bytes           int64
}

// RestoreRequest supplies a snapshot stream.
type RestoreRequest struct {
	Reader io.Reader
}

// RestoreResponse describes a restored snapshot.
type RestoreResponse struct {
	ConsistentIndex uint64
}

// StatsRequest asks for statistics.
type StatsRequest struct {
	// CountKeys asks for StatsResponse.Keys. Counting may cost a read of
	// every key (bbolt walks all its pages), so the host asks for sizes
	// alone on its frequent paths (quota checks, metrics); an engine may
	// leave Keys nil when CountKeys is false.
	CountKeys bool
}

// StatsResponse holds engine statistics.
type StatsResponse struct {
	// SizeBytes is the space the engine's files take on disk.
	SizeBytes int64
	// SizeInUseBytes is the part of SizeBytes holding live data.
	SizeInUseBytes int64
	// Keys counts keys per namespace when StatsRequest.CountKeys is set.
	Keys map[string]int64
}

// DefragRequest asks for a defragmentation.
type DefragRequest struct{}

// DefragResponse reports a defragmentation.
type DefragResponse struct {
	SizeBefore, SizeAfter int64
}
