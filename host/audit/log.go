package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

// record is one line of the audit log.
type record struct {
	// Time is when the event ended, RFC 3339 with nanoseconds, UTC.
	Time string `json:"time"`
	// Event names what happened: the gRPC method's short name for client
	// calls (MemberAdd, Authenticate, ...), plugin.<what> for plugins, or
	// what the member did by itself (auto-compaction, alarm).
	Event string `json:"event"`
	// Method is the full gRPC method of a client call.
	Method string `json:"method,omitempty"`
	// User is who asked: the token's user or the certificate's common
	// name; "" when auth is off or for the member's own events.
	User string `json:"user"`
	// Peer is the client's address, "" for the member's own events.
	Peer string `json:"peer"`
	// Args are the event's main arguments.
	Args map[string]any `json:"args,omitempty"`
	// Result is "ok" or the error.
	Result string `json:"result"`
}

// queueSize bounds the records waiting to be written. Past it a record
// is written by its caller, so that none is ever dropped.
const queueSize = 4096

// Log appends audit records to a file. Callers only queue a record; one
// goroutine encodes and writes them, and flushes whenever the queue is
// empty, so a record is in the file moments after its event. A nil *Log
// records nothing.
type Log struct {
	lg    *zap.Logger
	f     *os.File
	queue chan record
	done  chan struct{}

	// queueMu is held for reading while queueing, for writing while
	// closing the queue: no record is sent on a closed queue.
	queueMu  sync.RWMutex
	stopping bool

	mu     sync.Mutex // guards w, closed
	w      *bufio.Writer
	closed bool
	once   sync.Once
}

// Open opens path (--audit-log) for appending, creating it (mode 0600)
// if need be. An empty path means no audit log: it returns nil.
func Open(lg *zap.Logger, path string) (*Log, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	a := &Log{lg: lg, f: f, w: bufio.NewWriter(f), queue: make(chan record, queueSize), done: make(chan struct{})}
	go a.writeLoop()
	return a, nil
}

// add queues r, stamped with the current time.
func (a *Log) add(r record) {
	if a == nil {
		return
	}
	r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	a.queueMu.RLock()
	defer a.queueMu.RUnlock()
	if a.stopping {
		return
	}
	select {
	case a.queue <- r:
	default:
		a.mu.Lock()
		a.writeLocked(r)
		a.mu.Unlock()
	}
}

// result is the Result of an event that ended with err.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func (a *Log) writeLoop() {
	defer close(a.done)
	for r := range a.queue {
		a.mu.Lock()
		a.writeLocked(r)
		for more := true; more; {
			select {
			case r, ok := <-a.queue:
				if !ok {
					more = false
					break
				}
				a.writeLocked(r)
			default:
				more = false
			}
		}
		a.flushLocked()
		a.mu.Unlock()
	}
}

func (a *Log) writeLocked(r record) {
	if a.closed {
		return
	}
	line, err := json.Marshal(r)
	if err != nil {
		a.lg.Error("encoding an audit record", zap.String("event", r.Event), zap.Error(err))
		return
	}
	line = append(line, '\n')
	if _, err := a.w.Write(line); err != nil {
		a.lg.Error("writing the audit log", zap.String("path", a.f.Name()), zap.Error(err))
	}
}

func (a *Log) flushLocked() {
	if a.closed {
		return
	}
	if err := a.w.Flush(); err != nil {
		a.lg.Error("writing the audit log", zap.String("path", a.f.Name()), zap.Error(err))
	}
}

// Close writes the queued records and closes the file. Records made after
// Close are dropped.
func (a *Log) Close() {
	if a == nil {
		return
	}
	a.once.Do(func() {
		a.queueMu.Lock()
		a.stopping = true
		close(a.queue)
		a.queueMu.Unlock()
		<-a.done
		a.mu.Lock()
		defer a.mu.Unlock()
		a.flushLocked()
		a.closed = true
		if err := a.f.Sync(); err != nil {
			a.lg.Warn("syncing the audit log", zap.Error(err))
		}
		_ = a.f.Close()
	})
}

// Plugin records a plugin event (plugin.EventStart, ...) of the catalog
// entry p; err is the event's error (for an exit, why the plugin ended).
// It is a plugin.Audit.
func (a *Log) Plugin(event string, p config.PluginEntry, err error) {
	a.add(record{Event: event, Args: map[string]any{"kind": p.Kind, "name": p.Name, "path": p.Path}, Result: result(err)})
}

// AutoCompaction records an auto-compaction the member made by itself.
func (a *Log) AutoCompaction(rev int64, err error) {
	a.add(record{Event: "auto-compaction", Args: map[string]any{"revision": rev}, Result: result(err)})
}

// Alarm records an alarm the member raised by itself (NOSPACE from the
// quota check, CORRUPT from a corruption check or its storage engine):
// raisedBy is this member, member the one the alarm names.
func (a *Log) Alarm(raisedBy, member uint64, t pb.AlarmType, err error) {
	a.add(record{Event: "alarm", Args: map[string]any{
		"action": pb.AlarmRequest_ACTIVATE.String(), "alarm": t.String(),
		"member": types.ID(member).String(), "raised-by": types.ID(raisedBy).String(),
	}, Result: result(err)})
}
