package linearize

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Workload drives concurrent clients over a small key set and records
// their calls.
type Workload struct {
	// Clients make the calls, one goroutine each.
	Clients []*clientv3.Client
	// Keys are the keys the calls touch.
	Keys []string
	// MaxOps bounds the calls across all clients.
	MaxOps int
	// Pause is each client's pause between calls, so that a bounded
	// number of calls spreads over the faults; after a failed call the
	// client pauses ten times as long.
	Pause time.Duration
	// OpTimeout bounds each call.
	OpTimeout time.Duration
}

// Run makes calls until ctx ends or MaxOps calls were made, and records
// them in h. Gets that fail are not recorded (they change nothing).
func (w Workload) Run(ctx context.Context, h *History) {
	var (
		wg   sync.WaitGroup
		made atomic.Int64
	)
	for i, cli := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for n := 0; ctx.Err() == nil && made.Add(1) <= int64(w.MaxOps); n++ {
				in := w.randomInput(rnd, i, n)
				if in.Kind == CAS && !in.IfAbsent {
					in.Old = w.currentValue(ctx, cli, in.Key)
				}
				call := h.Now()
				out, err := w.do(ctx, cli, in)
				ret := h.Now()
				pause := w.Pause
				if err != nil {
					pause *= 10
					if in.Kind == Get {
						made.Add(-1)
						sleep(ctx, pause)
						continue
					}
					out = Output{Unknown: true}
				}
				h.Add(i, in, out, call, ret)
				sleep(ctx, pause)
			}
		}()
	}
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// randomInput picks a call: 40% gets, 25% puts, 25% compare-and-swaps
// (against a value read from the key's likely state or absence), 10%
// deletes. Written values are unique.
func (w Workload) randomInput(rnd *rand.Rand, client, n int) Input {
	in := Input{Key: w.Keys[rnd.IntN(len(w.Keys))], Value: fmt.Sprintf("c%d-%d", client, n)}
	switch p := rnd.IntN(100); {
	case p < 40:
		in.Kind, in.Value = Get, ""
	case p < 65:
		in.Kind = Put
	case p < 90:
		in.Kind = CAS
		in.IfAbsent = rnd.IntN(4) == 0
	default:
		in.Kind, in.Value = Delete, ""
	}
	return in
}

// currentValue is the key's value as a serializable read finds it, so
// that most compare-and-swaps have a chance to succeed; "" when the read
// fails or finds nothing.
func (w Workload) currentValue(ctx context.Context, cli *clientv3.Client, key string) string {
	ctx, cancel := context.WithTimeout(ctx, w.OpTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, key, clientv3.WithSerializable())
	if err != nil || len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// do makes the call.
func (w Workload) do(ctx context.Context, cli *clientv3.Client, in Input) (Output, error) {
	ctx, cancel := context.WithTimeout(ctx, w.OpTimeout)
	defer cancel()
	switch in.Kind {
	case Get:
		resp, err := cli.Get(ctx, in.Key)
		if err != nil {
			return Output{}, err
		}
		out := Output{Revision: resp.Header.Revision}
		if len(resp.Kvs) > 0 {
			out.Found, out.Value = true, string(resp.Kvs[0].Value)
		}
		return out, nil
	case Put:
		resp, err := cli.Put(ctx, in.Key, in.Value)
		if err != nil {
			return Output{}, err
		}
		return Output{Revision: resp.Header.Revision}, nil
	case Delete:
		resp, err := cli.Delete(ctx, in.Key)
		if err != nil {
			return Output{}, err
		}
		return Output{Deleted: resp.Deleted, Revision: resp.Header.Revision}, nil
	}
	cmp := clientv3.Compare(clientv3.Value(in.Key), "=", in.Old)
	if in.IfAbsent {
		cmp = clientv3.Compare(clientv3.CreateRevision(in.Key), "=", 0)
	}
	resp, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(in.Key, in.Value)).Commit()
	if err != nil {
		return Output{}, err
	}
	return Output{Succeeded: resp.Succeeded, Revision: resp.Header.Revision}, nil
}
