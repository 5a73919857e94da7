package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errUnsupported marks a workload the server answers with gRPC Unimplemented.
var errUnsupported = errors.New("unsupported")

// unsupportedOr returns an error wrapping errUnsupported when err carries
// codes.Unimplemented, and err otherwise.
func unsupportedOr(err error) error {
	if err != nil && status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("%w: %v", errUnsupported, err)
	}
	return err
}

// runEnv is what a workload runs with: open connections to one server and
// the bounds of this run.
type runEnv struct {
	conns   []*clientv3.Client
	clients int
	// cluster is the server under test, for workloads that restart it.
	cluster *cluster
	maxOps  int
	value   []byte
}

// conn returns the connection client i uses; clients share connections
// round robin.
func (e *runEnv) conn(i int) *clientv3.Client { return e.conns[i%len(e.conns)] }

// opFunc performs operation number i as client c.
type opFunc func(ctx context.Context, c, i int) error

// closedLoop runs op from env.clients goroutines, each issuing its next
// operation as soon as the previous one returns, until env.maxOps have been
// started or ctx is done. An operation cut short by ctx is not counted. The
// first Unimplemented answer stops the run with errUnsupported.
func closedLoop(ctx context.Context, env *runEnv, op opFunc) (latencies, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next        atomic.Int64
		mu          sync.Mutex
		all         = make([]time.Duration, 0, env.maxOps)
		errCount    int
		firstErr    error
		unsupported error
		wg          sync.WaitGroup
	)
	start := time.Now()
	for c := range env.clients {
		wg.Go(func() {
			mine := make([]time.Duration, 0, env.maxOps/env.clients+1)
			errs := 0
			var first error
			for {
				i := int(next.Add(1) - 1)
				if i >= env.maxOps || ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				err := op(ctx, c, i)
				d := time.Since(t0)
				if err == nil {
					mine = append(mine, d)
					continue
				}
				if ctx.Err() != nil {
					break
				}
				if uerr := unsupportedOr(err); errors.Is(uerr, errUnsupported) {
					mu.Lock()
					unsupported = uerr
					mu.Unlock()
					cancel()
					break
				}
				errs++
				if first == nil {
					first = err
				}
			}
			mu.Lock()
			all = append(all, mine...)
			errCount += errs
			if firstErr == nil {
				firstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	l := latencies{samples: all, errors: errCount, firstErr: firstErr, elapsed: time.Since(start)}
	return l, unsupported
}
