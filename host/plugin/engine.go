package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/storage"
)

// pluginCloseTimeout bounds the engine's Close when the host stops a
// healthy plugin.
const pluginCloseTimeout = 30 * time.Second

// Engine is a storage engine served by a supervised plugin process.
// It watches the process (its exit, and a ping every PingInterval) and
// counts the engine as failed when the process exits, stops answering, a
// call fails with ErrUnavailable, or a write fails (observeWrite). A
// failed engine kills its process at once and answers every later call
// with ErrUnavailable, and the member fails stop and opens a new engine
// in a new process (FailStop, the storage kind's policy).
type Engine struct {
	lg    *zap.Logger
	entry config.PluginEntry
	proc  *storage.PluginProcess
	eng   storage.Engine

	failOnce sync.Once
	failed   chan struct{} // closed on failure, after cause is set
	cause    error

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{} // ends supervision
	wg        sync.WaitGroup
}

var _ storage.Engine = (*Engine)(nil)

// StartEngine starts the plugin process of entry, a storage plugin, and
// supervises it.
func StartEngine(lg *zap.Logger, entry config.PluginEntry) (*Engine, error) {
	proc, plg, err := launch(lg, entry, storage.Launch)
	if err != nil {
		return nil, err
	}
	p := &Engine{
		lg:     plg,
		entry:  entry,
		proc:   proc,
		eng:    proc.Engine(),
		failed: make(chan struct{}),
		stop:   make(chan struct{}),
	}
	p.lg.Info("started plugin", zap.String("path", entry.Path), zap.Int("pid", proc.Pid()),
		zap.Int("protocol-version", proc.ProtocolVersion()))
	p.wg.Add(1)
	go p.supervise()
	return p, nil
}

// Failed is closed when the engine has failed; Cause then says why.
func (p *Engine) Failed() <-chan struct{} { return p.failed }

// Cause is the reason the engine failed, nil while it has not.
func (p *Engine) Cause() error {
	select {
	case <-p.failed:
		return p.cause
	default:
		return nil
	}
}

// fail marks the engine failed and kills its process, so that a hung
// plugin cannot hold the engine's files against the next one.
func (p *Engine) fail(cause error) {
	p.failOnce.Do(func() {
		p.cause = cause
		close(p.failed)
		recordDown(p.entry, cause)
		p.lg.Error("storage plugin failed", zap.Error(cause), zap.Int("pid", p.proc.Pid()))
		if pid := p.proc.Pid(); pid > 0 && !p.proc.Exited() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// supervise checks the process every PingInterval until Close or failure.
func (p *Engine) supervise() {
	defer p.wg.Done()
	every(p.entry.PingInterval, p.stop, p.failed, func() bool {
		if err := alive(p.proc, p.entry.PingTimeout); err != nil {
			p.fail(err)
			return false
		}
		return true
	})
}

// check returns the error of every call made after a failure.
func (p *Engine) check() error {
	if cause := p.Cause(); cause != nil {
		return fmt.Errorf("%w: storage plugin %s failed: %v", storage.ErrUnavailable, p.entry.Name, cause)
	}
	return nil
}

// observe counts err against the engine when the plugin could not serve.
func (p *Engine) observe(err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		p.fail(err)
	}
	return err
}

func (p *Engine) Info(ctx context.Context) (storage.InfoResponse, error) {
	if err := p.check(); err != nil {
		return storage.InfoResponse{}, err
	}
	resp, err := p.eng.Info(ctx)
	return resp, p.observe(err)
}

func (p *Engine) Open(ctx context.Context, req storage.OpenRequest) (storage.OpenResponse, error) {
	if err := p.check(); err != nil {
		return storage.OpenResponse{}, err
	}
	resp, err := p.eng.Open(ctx, req)
	return resp, p.observe(err)
}

func (p *Engine) ApplyBatch(ctx context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	if err := p.check(); err != nil {
		return storage.ApplyBatchResponse{}, err
	}
	var resp storage.ApplyBatchResponse
	err := p.bounded(ctx, func(ctx context.Context) (err error) {
		resp, err = p.eng.ApplyBatch(ctx, req)
		return err
	})
	return resp, p.observeWrite(ctx, err)
}

// observeWrite counts a failed write against the engine, as the host's
// failStopEngine does for a built-in one: a batch the plugin could not
// write (a full disk, an I/O error, a failed fsync) is never retried on
// the files the plugin holds open, since after a failed fsync the kernel
// may have dropped the pages it could not write and a retry could report
// success for data that is not there. Killing the process and starting a
// new one reopens the engine from what is on disk. A request the engine
// refused, a closed engine or the caller's own deadline is no failure.
func (p *Engine) observeWrite(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && !errors.Is(err, storage.ErrInvalidRequest) && !errors.Is(err, storage.ErrClosed) {
		p.fail(err)
	}
	return err
}

func (p *Engine) GetMany(ctx context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	if err := p.check(); err != nil {
		return storage.GetManyResponse{}, err
	}
	var resp storage.GetManyResponse
	err := p.bounded(ctx, func(ctx context.Context) (err error) {
		resp, err = p.eng.GetMany(ctx, req)
		return err
	})
	return resp, p.observe(err)
}

// bounded runs call within the entry's CallTimeout. A call the plugin
// has not answered by then makes it unavailable, so the engine fails (its
// process is killed, the member fails stop and starts a new one): a
// plugin that answers pings but never finishes a batch would otherwise
// stall the member's flushes, and grow its write buffer, without a sign.
func (p *Engine) bounded(ctx context.Context, call func(context.Context) error) error {
	timeout := p.entry.CallTimeout
	if timeout <= 0 {
		timeout = config.DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := call(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: storage plugin %s did not answer within %v: %w", storage.ErrUnavailable, p.entry.Name, timeout, err)
	}
	return err
}

func (p *Engine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	if err := p.check(); err != nil {
		return err
	}
	return p.observe(p.eng.Scan(ctx, req, fn))
}

func (p *Engine) Snapshot(ctx context.Context, req storage.SnapshotRequest) (storage.SnapshotResponse, error) {
	if err := p.check(); err != nil {
		return storage.SnapshotResponse{}, err
	}
	resp, err := p.eng.Snapshot(ctx, req)
	return resp, p.observe(err)
}

func (p *Engine) Restore(ctx context.Context, req storage.RestoreRequest) (storage.RestoreResponse, error) {
	if err := p.check(); err != nil {
		return storage.RestoreResponse{}, err
	}
	resp, err := p.eng.Restore(ctx, req)
	return resp, p.observe(err)
}

func (p *Engine) Stats(ctx context.Context, req storage.StatsRequest) (storage.StatsResponse, error) {
	if err := p.check(); err != nil {
		return storage.StatsResponse{}, err
	}
	resp, err := p.eng.Stats(ctx, req)
	return resp, p.observe(err)
}

// Defrag defragments when the plugin's engine can; otherwise it returns
// ErrInvalidRequest.
func (p *Engine) Defrag(ctx context.Context, req storage.DefragRequest) (storage.DefragResponse, error) {
	if err := p.check(); err != nil {
		return storage.DefragResponse{}, err
	}
	d, ok := p.eng.(storage.Defragmenter)
	if !ok {
		return storage.DefragResponse{}, fmt.Errorf("%w: storage plugin %s does not defragment", storage.ErrInvalidRequest, p.entry.Name)
	}
	resp, err := d.Defrag(ctx, req)
	return resp, p.observe(err)
}

// Close closes the engine, then ends its process. A healthy plugin gets
// its Close first (go-plugin's Kill gives it no chance to flush); a failed
// one is killed.
func (p *Engine) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.Cause() == nil {
			cctx, cancel := context.WithTimeout(ctx, pluginCloseTimeout)
			p.closeErr = p.eng.Close(cctx)
			cancel()
		}
		p.proc.Kill()
		p.lg.Info("stopped plugin")
	})
	return p.closeErr
}
