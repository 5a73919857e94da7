package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The pause workloads measure how long clients wait while the server runs
// a maintenance operation: puts run from several clients; after a warm-up
// the operation runs once (defrag on every member, or a physical
// compaction through the Compact RPC, the same request auto-compaction
// proposes); the puts go on until a while after it returns. Latencies of
// the puts that overlapped the operation are the run's samples; the puts
// that ended before it are the baseline.
const (
	pauseKeys     = 20000 // preloaded keys, each written twice
	pauseWarmup   = time.Second
	pauseCooldown = 500 * time.Millisecond
)

func pauseWorkloads() []workload {
	return []workload{
		{Name: "defrag-pause", Desc: "puts during defragment of every member (after a compaction freed half the store)",
			Clients: 8, Conns: 4, Ops: 200000, Deadline: 60 * time.Second, Unit: "puts", run: runPause(defragAll, true)},
		{Name: "compact-pause", Desc: "puts during a physical compaction of 20,000 overwritten keys",
			Clients: 8, Conns: 4, Ops: 200000, Deadline: 60 * time.Second, Unit: "puts", run: runPause(compactNow, false)},
	}
}

// pauseOp is the maintenance operation a pause run measures.
type pauseOp func(ctx context.Context, env *runEnv) error

func defragAll(ctx context.Context, env *runEnv) error {
	seen := map[string]bool{}
	for _, cli := range env.conns {
		for _, ep := range cli.Endpoints() {
			if seen[ep] {
				continue
			}
			seen[ep] = true
			if _, err := cli.Defragment(ctx, ep); err != nil {
				return fmt.Errorf("defragment %s: %w", ep, err)
			}
		}
	}
	return nil
}

func compactNow(ctx context.Context, env *runEnv) error {
	resp, err := env.conn(0).Get(ctx, "/pause/none")
	if err != nil {
		return err
	}
	_, err = env.conn(0).Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	return err
}

// preloadPause writes pauseKeys keys twice, in txns of 100 puts.
func preloadPause(ctx context.Context, env *runEnv) error {
	val := string(env.value)
	for pass := range 2 {
		for lo := 0; lo < pauseKeys; lo += 100 {
			ops := make([]clientv3.Op, 0, 100)
			for i := lo; i < min(lo+100, pauseKeys); i++ {
				ops = append(ops, clientv3.OpPut(key("/pause/", i), val))
			}
			if _, err := env.conn(lo / 100).Txn(ctx).Then(ops...).Commit(); err != nil {
				return fmt.Errorf("preload pass %d: %w", pass, unsupportedOr(err))
			}
		}
	}
	return nil
}

type timedOp struct{ start, end time.Time }

func runPause(op pauseOp, compactFirst bool) func(context.Context, *runEnv) (latencies, error) {
	return func(ctx context.Context, env *runEnv) (latencies, error) {
		if err := preloadPause(ctx, env); err != nil {
			return latencies{}, err
		}
		if compactFirst {
			if err := compactNow(ctx, env); err != nil {
				return latencies{}, unsupportedOr(err)
			}
		}
		lctx, stop := context.WithCancel(ctx)
		defer stop()
		var (
			mu     sync.Mutex
			ops    []timedOp
			opErr  error
			window timedOp
		)
		go func() {
			defer stop()
			select {
			case <-time.After(pauseWarmup):
			case <-lctx.Done():
				return
			}
			window.start = time.Now()
			err := op(lctx, env)
			window.end = time.Now()
			mu.Lock()
			opErr = err
			mu.Unlock()
			select {
			case <-time.After(pauseCooldown):
			case <-lctx.Done():
			}
		}()
		val := string(env.value)
		lat, err := closedLoop(lctx, env, func(ctx context.Context, c, i int) error {
			t0 := time.Now()
			_, err := env.conn(c).Put(ctx, key("/pause/new/", i), val)
			if err == nil {
				mu.Lock()
				ops = append(ops, timedOp{t0, time.Now()})
				mu.Unlock()
			}
			return err
		})
		if err != nil {
			return lat, err
		}
		mu.Lock()
		defer mu.Unlock()
		if opErr != nil {
			return lat, unsupportedOr(opErr)
		}
		if window.end.IsZero() {
			return lat, fmt.Errorf("the operation did not finish within the run's bounds")
		}
		return splitPause(ops, window, lat), nil
	}
}

// splitPause keeps as samples the puts that overlapped the window and
// reports the baseline of those that ended before it.
func splitPause(ops []timedOp, window timedOp, lat latencies) latencies {
	var before, during []time.Duration
	for _, o := range ops {
		switch {
		case o.end.Before(window.start):
			before = append(before, o.end.Sub(o.start))
		case !o.start.After(window.end):
			during = append(during, o.end.Sub(o.start))
		}
	}
	out := latencies{samples: during, errors: lat.errors, elapsed: window.end.Sub(window.start)}
	out.extra = map[string]float64{
		"op_ms":         ms(window.end.Sub(window.start)),
		"during_max_ms": ms(maxDuration(during)),
		"before_p99_ms": ms(p99(before)),
		"before_max_ms": ms(maxDuration(before)),
	}
	return out
}

func maxDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return percentile(s, 99)
}
