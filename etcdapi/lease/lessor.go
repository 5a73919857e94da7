package lease

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap"
)

// MaxTTL is the largest TTL a lease may be granted, in seconds, as in
// etcd.
const MaxTTL = 9000000000

// A lease's life, and what survives a restart or a change of leader:
//
//   - Replicated state, the same on every member and persisted in the
//     storage engine's "lease" namespace in the batch of the raft entry that
//     changed it: the lease ID, its granted TTL, its checkpointed remaining
//     TTL (0: none) and, through the keys' own Lease field in mvcc, its keys.
//   - Leader state: each lease's expiry. Only the leader (the primary
//     Lessor) counts time; it renews leases on keepalives and revokes
//     expired ones by proposing a LeaseRevoke through raft, at most
//     Config.RevokeRate per second. Followers keep no expiry.
//
// The TTL rule. When a member becomes leader (after a restart, or when the
// old leader fails), every lease expires at now + R + E, where E is the
// election timeout (Config.PromoteExtension, as etcd) and R is the
// lease's durable remaining TTL: its last checkpointed remaining TTL, or its
// granted TTL if none was checkpointed since it was granted or last renewed.
// The leader checkpoints, through raft (LeaseCheckpoint entries):
//
//   - every lease, when it stops gracefully (Server.StopLeases: SIGTERM)
//     and before it hands leadership over (MoveLeader);
//   - every CheckpointInterval (default 5 minutes), each lease whose granted
//     TTL is longer than the interval (a shorter one is never more than the
//     interval stale at its granted TTL).
//
// A checkpoint records the remaining TTL rounded up to the second, and a
// renewal of a lease that holds a checkpoint first resets it to 0 through
// raft before answering. So R is never below the lease's true remaining TTL
// (a lease never expires early because of a restart) and is at most
// CheckpointInterval above it after a crash, a second above it after a
// graceful stop.

// Config tunes the lessor. Zero fields take their defaults.
type Config struct {
	// MinTTL is the shortest TTL granted, in seconds: a shorter request
	// gets it. etcd derives it from the election timeout:
	// ceil(((3*electionTicks)/2) * heartbeat).
	MinTTL int64
	// PromoteExtension is added to every lease's remaining TTL when this
	// member becomes leader, so clients have time to find the new leader.
	// etcd uses the election timeout.
	PromoteExtension time.Duration
	// CheckpointInterval is how often the leader checkpoints the remaining
	// TTL of leases granted for longer than it. Default 5 minutes.
	CheckpointInterval time.Duration
	// RevokeRate bounds how many expired leases the leader revokes per
	// second. Default 1000, as etcd.
	RevokeRate int
	// ExpiryInterval is how often the leader looks for expired leases.
	// Default 500ms, as etcd.
	ExpiryInterval time.Duration
	// RevokeRetry is how long an expired lease whose revocation failed
	// waits before it is revoked again. Default 10s.
	RevokeRetry time.Duration
	// CheckpointBatch bounds the checkpoints of one raft entry. Default
	// 1000.
	CheckpointBatch int
}

func (c Config) withDefaults() Config {
	if c.MinTTL <= 0 {
		c.MinTTL = 1
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = 5 * time.Minute
	}
	if c.RevokeRate <= 0 {
		c.RevokeRate = 1000
	}
	if c.ExpiryInterval <= 0 {
		c.ExpiryInterval = 500 * time.Millisecond
	}
	if c.RevokeRetry <= 0 {
		c.RevokeRetry = 10 * time.Second
	}
	if c.CheckpointBatch <= 0 {
		c.CheckpointBatch = 1000
	}
	return c
}

// MinTTL is etcd's minimum lease TTL for a heartbeat interval and an
// election timeout counted in heartbeats: one and a half election timeouts,
// rounded up to the second.
func MinTTL(heartbeat time.Duration, electionTicks int) int64 {
	minTTL := time.Duration((3*electionTicks)/2) * heartbeat
	return int64(math.Ceil(minTTL.Seconds()))
}

// Lease is one granted lease.
type Lease struct {
	id        int64
	ttl       int64 // granted TTL in seconds, after the minimum rule
	remaining int64 // checkpointed remaining TTL in seconds; 0: none
	keys      map[string]struct{}
	revoked   chan struct{} // closed once the lease is gone

	// Primary only.
	expiry  time.Time // zero when this member is not the primary
	due     time.Time // what lessor.expiries orders it by, at most expiry
	heapIdx int       // position in lessor.expiries, -1 when absent
	// cpLogged: the log may hold a non-zero checkpoint of the lease, which
	// a renewal must reset.
	cpLogged bool
}

// ID returns the lease's ID.
func (l *Lease) ID() int64 { return l.id }

// TTL returns the lease's granted TTL in seconds, after the minimum rule.
func (l *Lease) TTL() int64 { return l.ttl }

// durableTTL is the remaining TTL a new leader gives the lease.
func (l *Lease) durableTTL() int64 {
	if l.remaining > 0 {
		return l.remaining
	}
	return l.ttl
}

// Lessor holds every lease. The apply goroutine changes the replicated
// state (grant, revoke, checkpoint, key attachment); the primary-only
// state changes on keepalives and in the lease loop. mu guards both.
type Lessor struct {
	lg  *zap.Logger
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	leases   map[int64]*Lease
	keyLease map[string]int64
	primary  bool
	demoted  chan struct{} // closed when this member stops being primary
	expiries leaseHeap
	cpQueue  []checkpointJob // checkpoints to propose, in order
	cpWake   chan struct{}
	cpClosed bool // the checkpointer has stopped

	// expiredRevoked counts the expired leases this member revoked.
	expiredRevoked atomic.Uint64
}

// New returns a Lessor with no lease, not primary; now is its clock.
func New(lg *zap.Logger, cfg Config, now func() time.Time) *Lessor {
	le := &Lessor{
		lg:       lg,
		cfg:      cfg.withDefaults(),
		now:      now,
		leases:   make(map[int64]*Lease),
		keyLease: make(map[string]int64),
		demoted:  make(chan struct{}),
		cpWake:   make(chan struct{}, 1),
	}
	close(le.demoted)
	return le
}

// Exists reports whether lease id is granted.
func (le *Lessor) Exists(id int64) bool {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.leases[id] != nil
}

// Grant adds a lease. It returns ErrNotFound for ID 0, as etcd,
// ErrTTLTooLarge and ErrExist.
func (le *Lessor) Grant(id, ttl int64) (*Lease, error) {
	switch {
	case id == 0:
		return nil, ErrNotFound
	case ttl > MaxTTL:
		return nil, ErrTTLTooLarge
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.leases[id] != nil {
		return nil, ErrExist
	}
	l := &Lease{id: id, ttl: max(ttl, le.cfg.MinTTL), keys: map[string]struct{}{},
		revoked: make(chan struct{}), heapIdx: -1}
	le.leases[id] = l
	if le.primary {
		le.refresh(l, l.ttl, 0)
	}
	return l, nil
}

// KeysOf returns the keys attached to lease id, sorted, and whether it
// exists.
func (le *Lessor) KeysOf(id int64) ([]string, bool) {
	le.mu.Lock()
	defer le.mu.Unlock()
	l := le.leases[id]
	if l == nil {
		return nil, false
	}
	return sortedKeys(l), true
}

func sortedKeys(l *Lease) []string {
	keys := make([]string, 0, len(l.keys))
	for k := range l.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Remove forgets lease id once its revocation is applied.
func (le *Lessor) Remove(id int64) {
	le.mu.Lock()
	defer le.mu.Unlock()
	l := le.leases[id]
	if l == nil {
		return
	}
	for k := range l.keys {
		delete(le.keyLease, k)
	}
	delete(le.leases, id)
	le.expiries.remove(l)
	close(l.revoked)
}

// Checkpoint records a remaining TTL applied from the log; it returns the
// lease, or nil if it is gone.
func (le *Lessor) Checkpoint(id, remaining int64) *Lease {
	le.mu.Lock()
	defer le.mu.Unlock()
	l := le.leases[id]
	if l == nil {
		return nil
	}
	l.remaining = remaining
	if remaining > 0 {
		l.cpLogged = true
	}
	return l
}

// Track moves keys between leases after a write: a put attaches its key to
// the put's lease (detaching it from any other), a delete detaches it.
func (le *Lessor) Track(events []mvccpb.Event) {
	if len(events) == 0 {
		return
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	for i := range events {
		ev := &events[i]
		key := string(ev.Kv.Key)
		var next int64
		if ev.Type == mvccpb.Event_PUT {
			next = ev.Kv.Lease
		}
		prev, had := le.keyLease[key]
		if prev == next && had == (next != 0) {
			continue
		}
		if had {
			if l := le.leases[prev]; l != nil {
				delete(l.keys, key)
			}
			delete(le.keyLease, key)
		}
		if l := le.leases[next]; next != 0 && l != nil {
			l.keys[key] = struct{}{}
			le.keyLease[key] = next
		}
	}
}

// IDs returns every lease ID, sorted.
func (le *Lessor) IDs() []int64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	out := make([]int64, 0, len(le.leases))
	for id := range le.leases {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Config returns the configuration, defaults filled in.
func (le *Lessor) Config() Config { return le.cfg }

// Remaining returns lease id's checkpointed remaining TTL (0: none) and
// whether the lease exists.
func (le *Lessor) Remaining(id int64) (int64, bool) {
	le.mu.Lock()
	defer le.mu.Unlock()
	l := le.leases[id]
	if l == nil {
		return 0, false
	}
	return l.remaining, true
}

// NoteExpiredRevoked counts one expired lease this member revoked.
func (le *Lessor) NoteExpiredRevoked() { le.expiredRevoked.Add(1) }

// ExpiredRevoked returns how many expired leases this member revoked.
func (le *Lessor) ExpiredRevoked() uint64 { return le.expiredRevoked.Load() }
