package concurrency

import (
	"context"
	"errors"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var (
	// ErrLocked is returned by TryLock when another Session holds the lock.
	ErrLocked = errors.New("concurrency: locked by another session")
	// ErrNotLocked is returned by Unlock and Check on a Mutex that is not
	// locked.
	ErrNotLocked = errors.New("concurrency: mutex is not locked")
	// ErrLockLost is returned by Unlock and Check when the lock's key is
	// gone, because the Session's lease expired or the key was deleted. The
	// lock was not held from then on, and another holder may have acted.
	ErrLockLost = errors.New("concurrency: lock lost")
)

// Mutex is a distributed lock on a name, held by a Session. It uses etcd's
// key layout and protocol (see the package documentation), so it excludes
// etcd's concurrency.Mutex and `etcdctl lock` on the same name.
//
// The lock is fair: holders are served in the order their Lock calls reached
// the server. A Mutex is one contender and is not safe for concurrent use.
// A Session has one key per name, so two Mutexes on the same Session and name
// are the same contender: give each independent contender its own Session.
type Mutex struct {
	pfx string
	t   ticket
	hdr *pb.ResponseHeader
}

// NewMutex returns a Mutex on name for s. Nothing is written until Lock.
func NewMutex(s *Session, name string) *Mutex {
	pfx := name + "/"
	return &Mutex{pfx: pfx, t: newTicket(s, pfx)}
}

// Lock blocks until the lock is held, ctx is done, or the Session ends
// (ErrSessionExpired). While it waits it watches the deletion of the
// contender just ahead, never polls. When it returns an error it has taken
// itself out of line: no key is left behind to block the others (if the
// server cannot be reached, Lock waits for it to delete the key, at most one
// TTL). Locking a Mutex that is held returns at once.
func (m *Mutex) Lock(ctx context.Context) error {
	resp, _, err := m.t.take(ctx, "", clientv3.OpGet(m.pfx, clientv3.WithFirstCreate()...))
	if err != nil {
		return err
	}
	if m.ownsFirst(resp) {
		m.hdr = resp.Header
		return nil
	}
	hdr, err := waitTurn(ctx, m.t.s, m.pfx, m.t.rev, m.t.key)
	if err != nil {
		m.t.abandon()
		return err
	}
	m.hdr = hdr
	return nil
}

// TryLock takes the lock if no other Session holds it or waits for it, and
// returns ErrLocked otherwise, leaving no key behind.
func (m *Mutex) TryLock(ctx context.Context) error {
	resp, created, err := m.t.take(ctx, "", clientv3.OpGet(m.pfx, clientv3.WithFirstCreate()...))
	if err != nil {
		return err
	}
	if m.ownsFirst(resp) {
		m.hdr = resp.Header
		return nil
	}
	if !created { // another Mutex of this Session waits on the key
		m.t.rev = 0
		return ErrLocked
	}
	if _, err := m.t.release(ctx); err != nil {
		m.t.abandon()
		return err
	}
	return ErrLocked
}

// ownsFirst reports whether the oldest key under the prefix, read by take,
// is this Mutex's.
func (m *Mutex) ownsFirst(resp *clientv3.TxnResponse) bool {
	first := resp.Responses[1].GetResponseRange().Kvs
	return len(first) == 0 || first[0].CreateRevision == m.t.rev
}

// Unlock releases the lock. It returns ErrNotLocked if the Mutex is not
// locked, and ErrLockLost if the lock had been lost before (the Session
// expired): the work done under it may have overlapped with another
// holder's. If the request fails the Mutex stays locked and Unlock may be
// retried.
func (m *Mutex) Unlock(ctx context.Context) error {
	if m.t.rev == 0 {
		return ErrNotLocked
	}
	held, err := m.t.release(ctx)
	if err != nil {
		return err
	}
	if !held {
		return ErrLockLost
	}
	return nil
}

// Check asks the server whether the lock is still held: nil if so,
// ErrLockLost if its key is gone, ErrNotLocked if the Mutex is not locked.
// Session.Done tells the same without a request, once the lease is lost.
func (m *Mutex) Check(ctx context.Context) error {
	if m.t.rev == 0 {
		return ErrNotLocked
	}
	held, err := m.t.check(ctx)
	if err != nil {
		return err
	}
	if !held {
		return ErrLockLost
	}
	return nil
}

// IsOwner is a comparison, for a transaction's If, that holds only while
// this Mutex holds the lock. A write guarded by it cannot land after the
// lock was lost.
func (m *Mutex) IsOwner() clientv3.Cmp { return m.t.isHeld() }

// Token is a fencing token for the current hold: the create revision of the
// lock's key, 0 when not locked. Every later holder of the lock has a larger
// token, so a resource outside the store that rejects requests carrying a
// token lower than the largest it has seen is safe from a holder that lost
// the lock without noticing.
func (m *Mutex) Token() int64 { return m.t.rev }

// Key is the lock's key while the Mutex is locked or waiting, "" otherwise.
func (m *Mutex) Key() string {
	if m.t.rev == 0 {
		return ""
	}
	return m.t.key
}

// Header is the response header of the request that found the lock held.
func (m *Mutex) Header() *pb.ResponseHeader { return m.hdr }

// NewLocker returns a sync.Locker on a Mutex on name. Its Lock and Unlock
// use the client's context and panic on error (for example when the Session
// expires), so it suits only code that treats that as fatal.
func NewLocker(s *Session, name string) sync.Locker {
	return &locker{m: NewMutex(s, name)}
}

type locker struct{ m *Mutex }

func (l *locker) Lock() {
	if err := l.m.Lock(l.m.t.s.client.Ctx()); err != nil {
		panic(err)
	}
}

func (l *locker) Unlock() {
	if err := l.m.Unlock(l.m.t.s.client.Ctx()); err != nil {
		panic(err)
	}
}
