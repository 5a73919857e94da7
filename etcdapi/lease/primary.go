package lease

import (
	"context"
	"math"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// The primary lessor's side: expiries, renewals and the choice of leases
// to revoke or checkpoint. See lease_lessor.go for the rules.

// refresh sets l to expire secs seconds plus extend from now; the caller
// holds mu and this member is primary.
func (le *Lessor) refresh(l *Lease, secs int64, extend time.Duration) {
	le.refreshAt(l, le.now(), secs, extend)
}

// refreshAt is refresh with now read by the caller.
func (le *Lessor) refreshAt(l *Lease, now time.Time, secs int64, extend time.Duration) {
	l.expiry = now.Add(extend + time.Duration(secs)*time.Second)
	le.expiries.update(l)
}

// SetPrimary promotes or demotes this member's lessor; it does nothing if
// the role is unchanged.
func (le *Lessor) SetPrimary(primary bool) {
	le.mu.Lock()
	defer le.mu.Unlock()
	if primary == le.primary {
		return
	}
	le.primary = primary
	if !primary {
		close(le.demoted)
		le.expiries.clear()
		for _, l := range le.leases {
			l.expiry = time.Time{}
		}
		le.failCheckpoints(ErrNotPrimary)
		return
	}
	le.demoted = make(chan struct{})
	for _, l := range le.leases {
		l.cpLogged = l.remaining > 0
		le.refresh(l, l.durableTTL(), le.cfg.PromoteExtension)
	}
	le.lg.Info("lessor promoted: leases expire their durable remaining TTL plus the extension from now")
}

// IsPrimary reports whether this member counts lease time.
func (le *Lessor) IsPrimary() bool {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.primary
}

// Renew restarts lease id's TTL and returns it. An expired lease still
// awaiting revocation is waited for, then reported missing. When the log
// may hold a checkpoint of the lease, renew queues its reset and waits
// until it is applied, so that a later leader never gives the lease less
// time than this renewal promised. Errors: ErrNotFound, ErrNotPrimary,
// ctx's, and those of the reset's proposal.
func (le *Lessor) Renew(ctx context.Context, id int64) (int64, error) {
	le.mu.Lock()
	if !le.primary {
		le.mu.Unlock()
		return 0, ErrNotPrimary
	}
	l := le.leases[id]
	if l == nil {
		le.mu.Unlock()
		return 0, ErrNotFound
	}
	now := le.now()
	if !l.expiry.After(now) {
		revoked, demoted := l.revoked, le.demoted
		le.mu.Unlock()
		select {
		case <-revoked:
			return 0, ErrNotFound
		case <-demoted:
			return 0, ErrNotPrimary
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	var done chan error
	if l.cpLogged {
		l.cpLogged = false
		done = make(chan error, 1)
		le.queueCheckpoints([]*pb.LeaseCheckpoint{{ID: id, Remaining_TTL: 0}}, done)
	}
	le.refreshAt(l, now, l.ttl, 0)
	ttl := l.ttl
	le.mu.Unlock()
	if done != nil {
		select {
		case err := <-done:
			if err != nil {
				return 0, err
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return ttl, nil
}

// Status is what TimeToLive reports of a lease.
type Status struct {
	TTL, Granted int64
	Keys         []string
}

// Status reports lease id as the primary sees it: remaining seconds
// (truncated, as etcd), granted TTL and, if withKeys, its sorted keys.
func (le *Lessor) Status(id int64, withKeys bool) (Status, error) {
	le.mu.Lock()
	defer le.mu.Unlock()
	if !le.primary {
		return Status{}, ErrNotPrimary
	}
	l := le.leases[id]
	if l == nil {
		return Status{}, ErrNotFound
	}
	st := Status{TTL: int64(l.expiry.Sub(le.now()).Seconds()), Granted: l.ttl}
	if withKeys {
		st.Keys = sortedKeys(l)
	}
	return st, nil
}

// Expired returns up to limit expired leases, earliest first, and
// reschedules each RevokeRetry later in case its revocation fails.
func (le *Lessor) Expired(limit int) []int64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	if !le.primary {
		return nil
	}
	now := le.now()
	var ids []int64
	for len(ids) < limit {
		l := le.expiries.peek()
		if l == nil || l.due.After(now) {
			break
		}
		if l.due.Before(l.expiry) { // renewed since it was placed
			le.expiries.reorder(l)
			continue
		}
		ids = append(ids, l.id)
		l.expiry = now.Add(le.cfg.RevokeRetry)
		le.expiries.reorder(l)
	}
	return ids
}

// CheckpointDue queues the periodic checkpoint: the remaining TTL of
// every lease granted for longer than CheckpointInterval whose remaining
// TTL is below its durable one. It returns how many it queued.
func (le *Lessor) CheckpointDue() int {
	return le.checkpointWhere(func(l *Lease) bool {
		return time.Duration(l.ttl)*time.Second > le.cfg.CheckpointInterval
	}, nil)
}

// CheckpointAll queues a checkpoint of every lease whose remaining TTL is
// below its durable one; done receives the outcome once all are applied.
func (le *Lessor) CheckpointAll(done chan error) int {
	return le.checkpointWhere(func(*Lease) bool { return true }, done)
}

func (le *Lessor) checkpointWhere(want func(*Lease) bool, done chan error) int {
	le.mu.Lock()
	defer le.mu.Unlock()
	if !le.primary {
		if done != nil {
			done <- ErrNotPrimary
		}
		return 0
	}
	now := le.now()
	var cps []*pb.LeaseCheckpoint
	for _, l := range le.leases {
		if !want(l) {
			continue
		}
		left := int64(math.Ceil(l.expiry.Sub(now).Seconds()))
		if left < 1 || left >= l.durableTTL() {
			continue // expiring anyway, or nothing to gain
		}
		cps = append(cps, &pb.LeaseCheckpoint{ID: l.id, Remaining_TTL: left})
		l.cpLogged = true
	}
	if len(cps) == 0 && done != nil {
		done <- nil
		return 0
	}
	le.queueCheckpoints(cps, done)
	return len(cps)
}
