package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// valueSize is the size of every value written.
const valueSize = 256

// workload is one kind of load. Ops and Deadline are the short-mode bounds;
// other modes scale them.
type workload struct {
	Name     string        `json:"name"`
	Desc     string        `json:"description"`
	Clients  int           `json:"clients"`
	Conns    int           `json:"conns"`
	Ops      int           `json:"max_ops"`
	Deadline time.Duration `json:"deadline_ns"`
	// Unit names what Ops and the throughput count.
	Unit string `json:"unit"`
	// Auth, when set, runs the workload with auth on and this kind of
	// token (auth.go).
	Auth string `json:"auth,omitempty"`
	run  func(ctx context.Context, env *runEnv) (latencies, error)
}

// workloads lists every workload in the order they run and are reported.
// Keys are 10 to 13 bytes; each run starts on a fresh server, so runs never
// see each other's keys.
func workloads() []workload {
	return append(basicWorkloads(), scaleWorkloads()...)
}

// basicWorkloads are the workloads on a small store.
func basicWorkloads() []workload {
	return []workload{
		{Name: "put-1c", Desc: "put, 1 client (sequential latency)", Clients: 1, Conns: 1,
			Ops: 2000, Deadline: 6 * time.Second, Unit: "puts", run: runPut},
		{Name: "put-500c", Desc: "put, 500 clients over 50 connections", Clients: 500, Conns: 50,
			Ops: 30000, Deadline: 8 * time.Second, Unit: "puts", run: runPut},
		{Name: "range-lin", Desc: "linearizable range of one key", Clients: 100, Conns: 10,
			Ops: 30000, Deadline: 6 * time.Second, Unit: "ranges", run: runRangeOne(false)},
		{Name: "range-ser", Desc: "serializable range of one key", Clients: 100, Conns: 10,
			Ops: 30000, Deadline: 6 * time.Second, Unit: "ranges", run: runRangeOne(true)},
		{Name: "range-1000", Desc: "linearizable prefix range returning 1,000 keys", Clients: 20, Conns: 5,
			Ops: 2000, Deadline: 6 * time.Second, Unit: "ranges", run: runRangePrefix},
		{Name: "txn-put", Desc: "txn: compare version, then put", Clients: 100, Conns: 10,
			Ops: 20000, Deadline: 6 * time.Second, Unit: "txns", run: runTxnPut},
		{Name: "watch-fanout", Desc: "100 watchers on one prefix over 10 connections; 10 writers", Clients: 100, Conns: 10,
			Ops: 100000, Deadline: 8 * time.Second, Unit: "events", run: runWatchFanout},
		{Name: "lease-keepalive", Desc: "keepalive on its own lease, 100 clients over 10 connections", Clients: 100, Conns: 10,
			Ops: 30000, Deadline: 6 * time.Second, Unit: "keepalives", run: runLeaseKeepAlive},
	}
}

// selectWorkloads returns the workloads named in the comma-separated list
// (all but the auth ones for "" or "all"; the auth ones for "auth").
func selectWorkloads(list string) ([]workload, error) {
	all := workloads()
	switch list {
	case "", "all":
		return all, nil
	case "auth":
		return authWorkloads(), nil
	}
	all = append(all, authWorkloads()...)
	all = append(all, pauseWorkloads()...)
	var out []workload
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, w := range all {
			if w.Name == strings.TrimSpace(name) {
				out, found = append(out, w), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown workload %q (have %s)", name, workloadNames(all))
		}
	}
	return out, nil
}

func workloadNames(ws []workload) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Name
	}
	return strings.Join(names, ",")
}

func key(prefix string, i int) string { return fmt.Sprintf("%s%08d", prefix, i) }

func runPut(ctx context.Context, env *runEnv) (latencies, error) {
	val := string(env.value)
	return closedLoop(ctx, env, func(ctx context.Context, c, i int) error {
		_, err := env.conn(c).Put(ctx, key("/p/", i), val)
		return err
	})
}

func runRangeOne(serializable bool) func(context.Context, *runEnv) (latencies, error) {
	return func(ctx context.Context, env *runEnv) (latencies, error) {
		const k = "/r/one-key"
		if _, err := env.conn(0).Put(ctx, k, string(env.value)); err != nil {
			return latencies{}, unsupportedOr(err)
		}
		var opts []clientv3.OpOption
		if serializable {
			opts = append(opts, clientv3.WithSerializable())
			// A linearizable read through every connection first, so that
			// in a cluster every member has applied the put before the
			// serializable reads it answers locally.
			for _, cli := range env.conns {
				if _, err := cli.Get(ctx, k); err != nil {
					return latencies{}, unsupportedOr(err)
				}
			}
		}
		return closedLoop(ctx, env, func(ctx context.Context, c, i int) error {
			resp, err := env.conn(c).Get(ctx, k, opts...)
			if err == nil && len(resp.Kvs) != 1 {
				err = fmt.Errorf("range %s: got %d keys, want 1", k, len(resp.Kvs))
			}
			return err
		})
	}
}

// prefixKeys is how many keys range-1000 preloads and reads back.
const prefixKeys = 1000

func runRangePrefix(ctx context.Context, env *runEnv) (latencies, error) {
	const prefix = "/pre/"
	val := string(env.value)
	for lo := 0; lo < prefixKeys; lo += 100 {
		ops := make([]clientv3.Op, 0, 100)
		for i := lo; i < min(lo+100, prefixKeys); i++ {
			ops = append(ops, clientv3.OpPut(key(prefix, i), val))
		}
		if _, err := env.conn(0).Txn(ctx).Then(ops...).Commit(); err != nil {
			return latencies{}, fmt.Errorf("preload: %w", unsupportedOr(err))
		}
	}
	return closedLoop(ctx, env, func(ctx context.Context, c, i int) error {
		resp, err := env.conn(c).Get(ctx, prefix, clientv3.WithPrefix())
		if err == nil && len(resp.Kvs) != prefixKeys {
			err = fmt.Errorf("range %s: got %d keys, want %d", prefix, len(resp.Kvs), prefixKeys)
		}
		return err
	})
}

func runTxnPut(ctx context.Context, env *runEnv) (latencies, error) {
	val := string(env.value)
	return closedLoop(ctx, env, func(ctx context.Context, c, i int) error {
		k := key("/t/", i)
		resp, err := env.conn(c).Txn(ctx).
			If(clientv3.Compare(clientv3.Version(k), "=", 0)).
			Then(clientv3.OpPut(k, val)).
			Commit()
		if err == nil && !resp.Succeeded {
			err = errors.New("txn compare failed on a fresh key")
		}
		return err
	})
}
