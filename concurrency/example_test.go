package concurrency_test

// The examples talk to a server on localhost:2379 (`make run`); they are
// compiled, not run, by `go test`.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/concurrency"
)

func newClient() *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"localhost:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func ExampleMutex() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c, concurrency.WithTTL(10))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	mu := concurrency.NewMutex(s, "/jobs/nightly")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := mu.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	// Writes to the store guarded by IsOwner cannot land once the lock is
	// lost.
	resp, err := c.Txn(ctx).If(mu.IsOwner()).Then(clientv3.OpPut("/jobs/nightly-state", "running")).Commit()
	if err != nil || !resp.Succeeded {
		log.Fatal("lost the lock")
	}
	if err := mu.Unlock(ctx); errors.Is(err, concurrency.ErrLockLost) {
		log.Print("the session expired while the lock was held: the work may have overlapped another holder's")
	}
}

func ExampleMutex_TryLock() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	mu := concurrency.NewMutex(s, "/jobs/nightly")
	switch err := mu.TryLock(context.TODO()); {
	case errors.Is(err, concurrency.ErrLocked):
		fmt.Println("another process runs the job")
	case err != nil:
		log.Fatal(err)
	default:
		defer mu.Unlock(context.TODO())
		fmt.Println("running the job")
	}
}

// A lock holder can be paused (GC, a stalled network) past its TTL and then
// act on a resource outside the store as if it still held the lock. The
// fencing token lets the resource turn it away.
func ExampleMutex_Token() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	mu := concurrency.NewMutex(s, "/storage/bucket-7")
	if err := mu.Lock(context.TODO()); err != nil {
		log.Fatal(err)
	}
	defer mu.Unlock(context.TODO())
	// The storage service remembers the largest token it has accepted and
	// refuses writes with a smaller one.
	req := fmt.Sprintf("PUT /bucket-7/object?fencing-token=%d", mu.Token())
	fmt.Println(req)
}

func ExampleElection() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c, concurrency.WithTTL(5))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	e := concurrency.NewElection(s, "/services/scheduler")
	if err := e.Campaign(context.TODO(), "scheduler-1:8080"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("leading with fencing token", e.Rev())
	select {
	case <-s.Done(): // the lease expired: another candidate leads now
		log.Print("lost leadership")
	case <-time.After(time.Hour):
		_ = e.Resign(context.TODO())
	}
}

func ExampleElection_Observe() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := concurrency.NewElection(s, "/services/scheduler")
	for resp := range e.Observe(ctx) {
		fmt.Printf("leader is %s\n", resp.Kvs[0].Value)
	}
}

func ExampleRWMutex() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	rw := concurrency.NewRWMutex(s, "/config/routing")
	if err := rw.RLock(context.TODO()); err != nil {
		log.Fatal(err)
	}
	// ... read the routing table; writers wait ...
	_ = rw.RUnlock(context.TODO())
}

func ExampleSemaphore() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// At most three workers talk to the rate-limited API at a time.
	sem := concurrency.NewSemaphore(s, "/limits/payments-api", 3)
	if err := sem.Acquire(context.TODO()); err != nil {
		log.Fatal(err)
	}
	defer sem.Release(context.TODO())
	// ... call the API ...
}

func ExampleDoubleBarrier() {
	c := newClient()
	defer c.Close()
	s, err := concurrency.NewSession(c)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Four workers start a batch together and finish it together.
	b := concurrency.NewDoubleBarrier(s, "/batches/2024-06-01", 4)
	if err := b.Enter(context.TODO()); err != nil {
		log.Fatal(err)
	}
	// ... process this worker's share ...
	if err := b.Leave(context.TODO()); err != nil {
		log.Fatal(err)
	}
}

func ExampleQueue() {
	c := newClient()
	defer c.Close()

	q := concurrency.NewQueue(c, "/queues/thumbnails")
	if err := q.Enqueue(context.TODO(), "images/cat.png"); err != nil {
		log.Fatal(err)
	}
	item, err := q.Dequeue(context.TODO()) // blocks while the queue is empty
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("resizing", item)
}
