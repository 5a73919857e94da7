package concurrency

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ticket is one contender's place in line under a prefix: the key
// prefix + <lease id in hex>, attached to the Session's lease, and its
// create revision once written. Mutex, RWMutex, Election and Semaphore are
// all made of tickets.
type ticket struct {
	s   *Session
	key string
	rev int64 // create revision; 0 while the ticket is not in line
}

func newTicket(s *Session, pfx string) ticket {
	return ticket{s: s, key: fmt.Sprintf("%s%x", pfx, s.Lease())}
}

// take writes the key with val unless it exists already (a Session has one
// key per prefix: taking a ticket twice gives the same place in line), and
// runs extra in the same transaction. The transaction's responses are
// [put or get, extra...]; created reports whether this call wrote the key.
//
// When take fails for a ticket not yet in line, the outcome is unknown (the
// server may have applied the write before the connection broke), so it
// abandons the key.
func (t *ticket) take(ctx context.Context, val string, extra ...clientv3.Op) (resp *clientv3.TxnResponse, created bool, err error) {
	put := clientv3.OpPut(t.key, val, clientv3.WithLease(t.s.Lease()))
	resp, err = t.s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", 0)).
		Then(append([]clientv3.Op{put}, extra...)...).
		Else(append([]clientv3.Op{clientv3.OpGet(t.key)}, extra...)...).
		Commit()
	if err != nil {
		if t.rev == 0 {
			t.abandon()
		}
		return nil, false, err
	}
	t.rev = resp.Header.Revision
	if !resp.Succeeded {
		t.rev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	return resp, resp.Succeeded, nil
}

// isHeld is a comparison true while the ticket's key exists with the create
// revision it was taken at; it is never true for a ticket not in line.
func (t *ticket) isHeld() clientv3.Cmp {
	rev := t.rev
	if rev == 0 {
		rev = -1
	}
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", rev)
}

// release deletes the key if it is still the one taken, and reports whether
// it was. The ticket leaves the line either way, except when the request
// fails, so that the caller can retry.
func (t *ticket) release(ctx context.Context) (held bool, err error) {
	resp, err := t.s.client.Txn(ctx).If(t.isHeld()).Then(clientv3.OpDelete(t.key)).Commit()
	if err != nil {
		return false, err
	}
	t.rev = 0
	return resp.Succeeded, nil
}

// check reports whether the key still exists with the create revision it was
// taken at.
func (t *ticket) check(ctx context.Context) (bool, error) {
	resp, err := readTxn(ctx, t.s.client, []clientv3.Cmp{t.isHeld()})
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// abandon deletes the key after the caller's context was cancelled or a
// request's outcome is unknown, so that a contender that gave up never
// blocks the others. It uses the Session's cleanup context, not the caller's.
// If even that fails, the key goes when the Session ends.
func (t *ticket) abandon() {
	ctx, cancel := t.s.cleanupCtx()
	defer cancel()
	if t.rev != 0 {
		_, _ = t.release(ctx)
		return
	}
	// The take that would have told the revision failed: delete whatever
	// this Session has under the key.
	_, _ = t.s.client.Delete(ctx, t.key)
}
