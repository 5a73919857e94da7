package host

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/metastore/metastore/pluginapi/storage"
)

// failStopEngine makes a built-in engine fail stop as a plugin engine does
// (plugin_failstop.go): the first batch it cannot write (a full disk, an
// I/O error, a failed fsync) marks it failed, and every later write
// answers ErrUnavailable. superviseMember then closes the member and starts
// it again, which reopens the engine from what is on disk and replays the
// WAL above its consistent index. A failed write or fsync is never retried
// on the same open files, as etcd never retries a failed backend commit:
// after a failed fsync the kernel may have dropped the pages it could not
// write, and a retry could report success for data that is not there.
type failStopEngine struct {
	storage.Engine
	failed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	cause  error
}

var (
	_ failableEngine       = (*failStopEngine)(nil)
	_ storage.Defragmenter = (*failStopEngine)(nil)
)

func newFailStopEngine(e storage.Engine) *failStopEngine {
	return &failStopEngine{Engine: e, failed: make(chan struct{})}
}

// Failed is closed once a write failed.
func (e *failStopEngine) Failed() <-chan struct{} { return e.failed }

// Cause is the write's error, nil while none failed.
func (e *failStopEngine) Cause() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cause
}

func (e *failStopEngine) fail(err error) {
	e.once.Do(func() {
		e.mu.Lock()
		e.cause = err
		e.mu.Unlock()
		close(e.failed)
	})
}

// ApplyBatch writes through the engine until a write fails for a reason
// other than the request or the caller's context.
func (e *failStopEngine) ApplyBatch(ctx context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	select {
	case <-e.failed:
		return storage.ApplyBatchResponse{}, fmt.Errorf("%w: a write failed before: %v", storage.ErrUnavailable, e.Cause())
	default:
	}
	resp, err := e.Engine.ApplyBatch(ctx, req)
	if err != nil && ctx.Err() == nil && !errors.Is(err, storage.ErrInvalidRequest) && !errors.Is(err, storage.ErrClosed) {
		e.fail(err)
	}
	return resp, err
}

// Defrag defragments an engine that can; the others answer as engines
// that reclaim space themselves do, with nothing done.
func (e *failStopEngine) Defrag(ctx context.Context, req storage.DefragRequest) (storage.DefragResponse, error) {
	if d, ok := e.Engine.(storage.Defragmenter); ok {
		return d.Defrag(ctx, req)
	}
	return storage.DefragResponse{}, nil
}
