package concurrency

import (
	"context"
)

// RWMutex is a distributed reader/writer lock on a name: any number of
// readers, or one writer. Readers write name/read/<lease>, writers
// name/write/<lease>, and the line is one for both, ordered by create
// revision: a reader waits for every writer ahead of it, a writer for
// everyone ahead of it. A writer in line therefore holds back the readers
// that come after it, and neither side starves.
//
// An RWMutex is one contender (one Session holds at most one read and one
// write key per name) and is not safe for concurrent use.
type RWMutex struct {
	pfx    string
	reader ticket
	writer ticket
}

// NewRWMutex returns an RWMutex on name for s.
func NewRWMutex(s *Session, name string) *RWMutex {
	pfx := name + "/"
	return &RWMutex{
		pfx:    pfx,
		reader: newTicket(s, pfx+"read/"),
		writer: newTicket(s, pfx+"write/"),
	}
}

// RLock blocks until the read lock is held: no writer is ahead. On error
// (ctx done, ErrSessionExpired) it leaves no key behind.
func (rw *RWMutex) RLock(ctx context.Context) error {
	return rw.acquire(ctx, &rw.reader, rw.pfx+"write/")
}

// Lock blocks until the write lock is held: nobody is ahead. On error it
// leaves no key behind.
func (rw *RWMutex) Lock(ctx context.Context) error {
	return rw.acquire(ctx, &rw.writer, rw.pfx)
}

// acquire takes t and waits until no key under blockers is older.
func (rw *RWMutex) acquire(ctx context.Context, t *ticket, blockers string) error {
	if _, _, err := t.take(ctx, ""); err != nil {
		return err
	}
	if _, err := waitTurn(ctx, t.s, blockers, t.rev, t.key); err != nil {
		t.abandon()
		return err
	}
	return nil
}

// RUnlock releases the read lock; errors as Mutex.Unlock.
func (rw *RWMutex) RUnlock(ctx context.Context) error { return unlockTicket(ctx, &rw.reader) }

// Unlock releases the write lock; errors as Mutex.Unlock.
func (rw *RWMutex) Unlock(ctx context.Context) error { return unlockTicket(ctx, &rw.writer) }

// Token is the write lock's fencing token (see Mutex.Token), 0 when the
// write lock is not held.
func (rw *RWMutex) Token() int64 { return rw.writer.rev }

func unlockTicket(ctx context.Context, t *ticket) error {
	if t.rev == 0 {
		return ErrNotLocked
	}
	held, err := t.release(ctx)
	if err != nil {
		return err
	}
	if !held {
		return ErrLockLost
	}
	return nil
}
