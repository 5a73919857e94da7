package concurrency

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrNotEntered is returned by DoubleBarrier.Leave before Enter.
var ErrNotEntered = errors.New("concurrency: barrier: not entered")

// DoubleBarrier lets n participants start a computation together and finish
// it together: Enter blocks until all n have entered, Leave until all n have
// left. Each participant writes name/waiters/<lease> while inside; the last
// to enter writes name/ready, the last to leave deletes it, and the others
// wait for these two events through a watch.
//
// Every participant uses its own Session and the same n; the barrier can be
// used again once all have left. A DoubleBarrier is not safe for concurrent
// use.
type DoubleBarrier struct {
	s       *Session
	n       int
	waiters string // prefix of the participants' keys
	ready   string
	key     string
}

// NewDoubleBarrier returns a DoubleBarrier for n participants on name. It
// panics if n < 1.
func NewDoubleBarrier(s *Session, name string, n int) *DoubleBarrier {
	if n < 1 {
		panic("concurrency: NewDoubleBarrier: n must be at least 1")
	}
	waiters := name + "/waiters/"
	return &DoubleBarrier{
		s: s, n: n, waiters: waiters, ready: name + "/ready",
		key: fmt.Sprintf("%s%x", waiters, s.Lease()),
	}
}

// Enter registers this participant and blocks until n have entered, ctx is
// done, or the Session ends. On error it withdraws.
func (b *DoubleBarrier) Enter(ctx context.Context) error {
	client := b.s.client
	_, err := client.Put(ctx, b.key, "", clientv3.WithLease(b.s.Lease()))
	for err == nil {
		var resp *clientv3.TxnResponse
		resp, err = b.count(ctx)
		if err != nil {
			break
		}
		if resp.Responses[1].GetResponseRange().Count > 0 {
			return nil
		}
		if resp.Responses[0].GetResponseRange().Count >= int64(b.n) {
			_, err = client.Put(ctx, b.ready, "", clientv3.WithLease(b.s.Lease()))
			return err
		}
		err = waitEvent(ctx, client, b.s.done, b.ready, resp.Header.Revision+1, isPut)
	}
	b.withdraw()
	return err
}

// Leave blocks until all n participants have left, ctx is done, or the
// Session ends. The participant is out of the barrier once Leave was
// called, whatever it returns.
func (b *DoubleBarrier) Leave(ctx context.Context) error {
	client := b.s.client
	resp, err := client.Delete(ctx, b.key)
	if err != nil {
		b.withdraw()
		return err
	}
	if resp.Deleted == 0 {
		return ErrNotEntered
	}
	for {
		resp, err := b.count(ctx)
		if err != nil {
			return err
		}
		if resp.Responses[1].GetResponseRange().Count == 0 {
			return nil // the last one has left already
		}
		if resp.Responses[0].GetResponseRange().Count == 0 {
			_, err := client.Delete(ctx, b.ready)
			return err
		}
		if err := waitEvent(ctx, client, b.s.done, b.ready, resp.Header.Revision+1, isDelete); err != nil {
			return err
		}
	}
}

// count reads, at one revision, how many participants are inside
// (Responses[0]) and whether the ready key exists (Responses[1]).
func (b *DoubleBarrier) count(ctx context.Context) (*clientv3.TxnResponse, error) {
	return readTxn(ctx, b.s.client, nil,
		clientv3.OpGet(b.waiters, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(b.ready, clientv3.WithCountOnly()))
}

// withdraw deletes the participant's key after a failed Enter or Leave.
func (b *DoubleBarrier) withdraw() {
	ctx, cancel := b.s.cleanupCtx()
	defer cancel()
	_, _ = b.s.client.Delete(ctx, b.key)
}
