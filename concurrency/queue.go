package concurrency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Queue is a distributed FIFO queue on a name. Enqueue writes an item under
// name/ with a fresh unique key; items are ordered by create revision, so
// the order is the order in which the server received them. Dequeue removes
// the oldest item, each item going to exactly one Dequeue call, and blocks
// on a watch while the queue is empty.
//
// Items are not attached to a lease: they outlive the producer. A Queue is
// safe for concurrent use.
type Queue struct {
	client *clientv3.Client
	pfx    string
}

// NewQueue returns the queue on name.
func NewQueue(client *clientv3.Client, name string) *Queue {
	return &Queue{client: client, pfx: name + "/"}
}

// Enqueue appends val to the queue.
func (q *Queue) Enqueue(ctx context.Context, val string) error {
	for {
		key, err := q.newKey()
		if err != nil {
			return err
		}
		resp, err := q.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, val)).Commit()
		if err != nil || resp.Succeeded {
			return err
		}
	}
}

// newKey is the prefix, the time in hex (so that keys also sort in about
// the queue order) and random bits against collisions.
func (q *Queue) newKey() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%016x-%s", q.pfx, time.Now().UnixNano(), hex.EncodeToString(b[:])), nil
}

// Dequeue removes the oldest item and returns its value, blocking until
// there is one or ctx is done. Removal and delivery are one step: if the
// response to a removal is lost (the connection breaks, ctx ends), so is the
// item. The queue delivers each item at most once.
func (q *Queue) Dequeue(ctx context.Context) (string, error) {
	for {
		resp, err := q.client.Get(ctx, q.pfx, clientv3.WithFirstCreate()...)
		if err != nil {
			return "", err
		}
		if len(resp.Kvs) == 0 {
			err := waitEvent(ctx, q.client, nil, q.pfx, resp.Header.Revision+1, isPut, clientv3.WithPrefix())
			if err != nil {
				return "", err
			}
			continue
		}
		del, err := q.client.Delete(ctx, string(resp.Kvs[0].Key), clientv3.WithPrevKV())
		if err != nil {
			return "", err
		}
		if del.Deleted == 1 { // else another consumer took it first
			return string(del.PrevKvs[0].Value), nil
		}
	}
}

// Len is the number of items in the queue.
func (q *Queue) Len(ctx context.Context) (int64, error) {
	resp, err := q.client.Get(ctx, q.pfx, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Count, nil
}
