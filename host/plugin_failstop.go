package host

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/host/audit"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/plugin"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/raft"
)

// A storage engine in a plugin process can die under a running member. The
// member then fails stop and starts again in-process, the way it would
// after a crash:
//
//  1. The engine is marked failed (its process exited, missed pings, or a
//     call failed with ErrUnavailable); its process is killed and every
//     later call answers ErrUnavailable, so nothing the member still
//     holds in memory reaches the disk after the failure.
//  2. The raft applier stops applying: entries committed from then on
//     stay in the WAL only, and their waiting clients get no answer.
//  3. superviseMember closes the member (clients get Unavailable: the
//     listeners close and pending requests fail with "server stopped"),
//     then starts a new one with the same configuration: a new plugin
//     process, Open returns the engine's consistent index, and raft
//     replays every WAL entry above it. Starts that fail are retried with
//     backoff.
//
// An entry is acknowledged only after raft has made it durable in the WAL,
// so the replay re-applies everything acknowledged that the engine had not
// persisted. A full restart, rather than re-pointing the running store at
// a new engine, keeps one recovery path for crashes and plugin failures.

// failableEngine is an engine that can fail on its own: a plugin engine,
// or a built-in one behind failStopEngine.
type failableEngine interface {
	Failed() <-chan struct{}
	Cause() error
}

// EngineFailed returns a channel closed once the member's storage engine
// has failed: a plugin engine's process died or a write of any engine
// failed (engine_failstop.go).
func (m *Member) EngineFailed() <-chan struct{} {
	if f, ok := m.engine.(failableEngine); ok {
		return f.Failed()
	}
	return nil
}

// engineFailure is why the engine failed, nil if it has not.
func (m *Member) engineFailure() error {
	if f, ok := m.engine.(failableEngine); ok {
		return f.Cause()
	}
	return nil
}

// applier is what raft applies entries through: the API's state machine,
// guarded for a plugin engine so that nothing is applied once the engine
// has failed.
func (m *Member) applier() raft.Applier {
	if f, ok := m.engine.(failableEngine); ok {
		return failStopApplier{Server: m.api, failed: f.Failed()}
	}
	return m.api
}

// failStopApplier applies entries until the engine fails, then drops them:
// the member is about to restart and replay them from the WAL.
type failStopApplier struct {
	*etcdapi.Server
	failed <-chan struct{}
}

func (a failStopApplier) Apply(entries []*raftpb.Entry) {
	select {
	case <-a.failed:
	default:
		a.Server.Apply(entries)
	}
}

// superviseMember returns m's replacement once ctx is done, after
// restarting the member whenever its storage engine fails, recording the
// plugin's exits and restarts in auditLog (nil: none). It returns nil if ctx
// ended while no member was running.
//
// A member whose raft node failed (a WAL write or fsync failed) is not
// restarted: what the WAL holds can no longer be trusted, so, as etcd does,
// the process stops and reports it (err) for its supervisor to restart it,
// which replays the WAL as it is on disk. Nor is one whose file system
// turned read-only (restartMember).
func superviseMember(ctx context.Context, lg *zap.Logger, cfg config.Config, auditLog *audit.Log, m *Member) (*Member, error) {
	policy, _ := plugin.PolicyOf(config.KindStorage)
	restarts := policy.NewBackOff()
	started := time.Now()
	for {
		select {
		case <-ctx.Done():
			return m, nil
		case <-m.node.Done():
			if err := m.node.Err(); err != nil {
				return m, fmt.Errorf("raft stopped: %w", err)
			}
			<-ctx.Done() // a clean stop of the node: the member is closing
			return m, nil
		case <-m.EngineFailed():
		}
		lg.Error("storage engine failed: the member stops serving, then reopens the engine and replays the WAL",
			zap.Error(m.engineFailure()))
		entry := cfg.StoragePlugin() // nil for a built-in engine
		if entry != nil {
			auditLog.Plugin(plugin.EventExit, *entry, m.engineFailure())
		}
		m.Close()
		// A member that fails again soon after its restart (a disk still
		// full) waits longer each time; one that ran a while starts over.
		if time.Since(started) > time.Minute {
			restarts.Reset()
		}
		var err error
		if m, err = restartMember(ctx, lg, cfg, auditLog, restarts); m == nil {
			return nil, err
		}
		started = time.Now()
		if entry != nil {
			auditLog.Plugin(plugin.EventRestart, *entry, nil)
		}
		lg.Info("member restarted after a storage engine failure")
	}
}

// restartMember starts a member after the next wait of restarts (the
// storage kind's backoff), retrying after each following wait until it
// starts or ctx ends (then it returns nil, nil). An error that does not
// go away by itself (lasting) is returned instead, for the process to
// stop and its supervisor to see, as when the WAL fails.
func restartMember(ctx context.Context, lg *zap.Logger, cfg config.Config, auditLog *audit.Log, restarts *backoff.ExponentialBackOff) (*Member, error) {
	for {
		wait := restarts.NextBackOff()
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(wait):
		}
		m, err := startMember(ctx, lg, cfg, auditLog)
		if err == nil {
			return m, nil
		}
		if lasting(err) {
			return nil, fmt.Errorf("restarting the member: %w", err)
		}
		lg.Error("restarting the member failed; retrying", zap.Error(err), zap.Duration("backoff", wait))
	}
}

// lasting reports whether a failed start failed for a reason no retry
// heals: a file system that turned read-only (as ext4 does after an I/O
// error) until an operator checks and mounts it again, or data damaged or
// missing at rest (an engine behind the WAL's snapshot with no received
// snapshot to restore it from), which the member must be rebuilt from
// (remove it and add it back with an empty data dir).
func lasting(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, storage.ErrCorrupt) || errors.Is(err, raft.ErrCorruptWAL) ||
		errors.Is(err, raft.ErrIndexMismatch)
}
