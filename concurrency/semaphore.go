package concurrency

import (
	"context"
	"errors"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrNoPermit is returned by TryAcquire when all permits are held.
var ErrNoPermit = errors.New("concurrency: semaphore: no permit available")

// Semaphore is a distributed counting semaphore: at most n Sessions hold a
// permit on a name at a time. Contenders write name/<lease> and hold a permit
// while fewer than n keys are older than theirs, so permits go out in the
// order they were asked for. Every contender on a name must use the same n.
//
// A Semaphore is one contender and is not safe for concurrent use.
type Semaphore struct {
	pfx string
	n   int
	t   ticket
}

// NewSemaphore returns a Semaphore with n permits on name for s. It panics
// if n < 1.
func NewSemaphore(s *Session, name string, n int) *Semaphore {
	if n < 1 {
		panic("concurrency: NewSemaphore: n must be at least 1")
	}
	pfx := name + "/"
	return &Semaphore{pfx: pfx, n: n, t: newTicket(s, pfx)}
}

// Acquire blocks until a permit is held, ctx is done, or the Session ends
// (ErrSessionExpired). It wakes when a contender ahead leaves. On error it
// leaves no key behind.
func (sem *Semaphore) Acquire(ctx context.Context) error {
	if _, _, err := sem.t.take(ctx, ""); err != nil {
		return err
	}
	for {
		ahead, rev, err := sem.ahead(ctx)
		if err == nil && ahead < sem.n {
			return nil
		}
		if err == nil {
			err = waitEvent(ctx, sem.t.s.client, sem.t.s.done, sem.pfx, rev+1, isDelete, clientv3.WithPrefix())
		}
		if err != nil {
			sem.t.abandon()
			return err
		}
	}
}

// TryAcquire takes a permit if one is free now, and returns ErrNoPermit
// otherwise, leaving no key behind.
func (sem *Semaphore) TryAcquire(ctx context.Context) error {
	if _, _, err := sem.t.take(ctx, ""); err != nil {
		return err
	}
	ahead, _, err := sem.ahead(ctx)
	if err == nil && ahead < sem.n {
		return nil
	}
	if _, rerr := sem.t.release(ctx); rerr != nil {
		sem.t.abandon()
	}
	if err != nil {
		return err
	}
	return ErrNoPermit
}

// ahead counts the contenders older than this one, at revision rev. It
// returns ErrSessionExpired if this contender's key is gone.
func (sem *Semaphore) ahead(ctx context.Context) (n int, rev int64, err error) {
	older := clientv3.OpGet(sem.pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithMaxCreateRev(sem.t.rev-1), clientv3.WithLimit(int64(sem.n)))
	resp, err := readTxn(ctx, sem.t.s.client, []clientv3.Cmp{sem.t.isHeld()}, older)
	if err != nil {
		return 0, 0, err
	}
	if !resp.Succeeded {
		return 0, 0, ErrSessionExpired
	}
	return len(resp.Responses[0].GetResponseRange().Kvs), resp.Header.Revision, nil
}

// Release gives the permit back; errors as Mutex.Unlock.
func (sem *Semaphore) Release(ctx context.Context) error { return unlockTicket(ctx, &sem.t) }
