package concurrency

import (
	"context"
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errWatchClosed is returned when a watch ends without the event waited for
// and without the caller's context being done (the client was closed).
var errWatchClosed = errors.New("concurrency: watch closed")

// waitTurn waits until no key under pfx has a create revision below rev,
// which makes the owner of such a key the oldest contender. It watches the
// deletion of one predecessor at a time, the closest (highest create
// revision below rev), so that a release wakes only the next waiter.
//
// With own non-empty, waitTurn also checks at every step that own still
// exists with create revision rev, and returns ErrSessionExpired when it does
// not: the lease ended, so the turn will never come. It returns the header of
// the read that found no predecessor.
func waitTurn(ctx context.Context, s *Session, pfx string, rev int64, own string) (*pb.ResponseHeader, error) {
	for {
		ops := []clientv3.Op{clientv3.OpGet(pfx, append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(rev-1))...)}
		if own != "" {
			ops = append(ops, clientv3.OpGet(own, clientv3.WithKeysOnly()))
		}
		resp, err := readTxn(ctx, s.client, nil, ops...)
		if err != nil {
			return nil, err
		}
		if own != "" {
			kvs := resp.Responses[1].GetResponseRange().Kvs
			if len(kvs) == 0 || kvs[0].CreateRevision != rev {
				return nil, ErrSessionExpired
			}
		}
		prev := resp.Responses[0].GetResponseRange().Kvs
		if len(prev) == 0 {
			return resp.Header, nil
		}
		if err := waitEvent(ctx, s.client, s.done, string(prev[0].Key), resp.Header.Revision+1, isDelete); err != nil {
			return nil, err
		}
	}
}

func isDelete(ev *clientv3.Event) bool { return ev.Type == mvccpb.DELETE }

func isPut(ev *clientv3.Event) bool { return ev.Type == mvccpb.PUT }

// waitEvent watches key (with opts, e.g. clientv3.WithPrefix) from revision
// rev until an event matching match arrives. It returns nil then, and also
// when the watch was cancelled by compaction: the caller reads the state
// again either way. It returns ErrSessionExpired if sessionDone (when
// non-nil) is closed first, and the context's error when ctx is done.
//
// The client resumes a watch across reconnections from the last revision it
// saw, so a server restart does not lose the event.
func waitEvent(ctx context.Context, client *clientv3.Client, sessionDone <-chan struct{}, key string, rev int64, match func(*clientv3.Event) bool, opts ...clientv3.OpOption) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := client.Watch(wctx, key, append(opts, clientv3.WithRev(rev))...)
	for {
		select {
		case <-sessionDone:
			return ErrSessionExpired
		case wr, ok := <-wch:
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return errWatchClosed
			}
			if wr.CompactRevision != 0 {
				return nil
			}
			if err := wr.Err(); err != nil {
				return err
			}
			for _, ev := range wr.Events {
				if match(ev) {
					return nil
				}
			}
		}
	}
}

// readTxn commits a transaction that only reads: If(cmps...).Then(ops...).
// clientv3 retries a failed Range but never a Txn, so readTxn retries one
// that failed with Unavailable (the connection broke, as when the server
// restarts) until ctx is done: reading twice is harmless.
func readTxn(ctx context.Context, client *clientv3.Client, cmps []clientv3.Cmp, ops ...clientv3.Op) (*clientv3.TxnResponse, error) {
	for {
		resp, err := client.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err == nil || status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return resp, err
		}
		select {
		case <-time.After(retryDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// retryDelay is the pause before readTxn tries again.
const retryDelay = 50 * time.Millisecond
