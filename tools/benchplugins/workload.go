package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// workload is the put and range load, the same for every server.
type workload struct {
	keys, clients int
	value         []byte
}

func key(i int) string { return fmt.Sprintf("bench/%08d", i) }

// rangePage is the number of keys one range request reads.
const rangePage = 25

// runAll starts the server, writes, and reads cold after restarts.
func (w workload) runAll(ctx context.Context, bin, cfg, dir string) ([]phaseResult, error) {
	var results []phaseResult
	phases := []struct {
		name string
		ops  int
		op   func(cli *clientv3.Client, i int) error
	}{
		{"put", w.keys, func(cli *clientv3.Client, i int) error {
			_, err := cli.Put(ctx, key(i), string(w.value))
			return err
		}},
		{"get", w.keys, func(cli *clientv3.Client, i int) error {
			resp, err := cli.Get(ctx, key(i), clientv3.WithSerializable())
			if err == nil && len(resp.Kvs) != 1 {
				err = fmt.Errorf("get %s: %d keys", key(i), len(resp.Kvs))
			}
			return err
		}},
		{"range", (w.keys + rangePage - 1) / rangePage, func(cli *clientv3.Client, i int) error {
			from, to := key(i*rangePage), key((i+1)*rangePage)
			resp, err := cli.Get(ctx, from, clientv3.WithRange(to), clientv3.WithSerializable())
			if err == nil && len(resp.Kvs) == 0 {
				err = fmt.Errorf("range at %s: no keys", from)
			}
			return err
		}},
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	for _, p := range phases {
		srv, err := startMember(ctx, bin, cfg, dir, ports)
		if err != nil {
			return nil, err
		}
		res, err := w.measure(srv.cli, p.name, p.ops, p.op)
		if stopErr := srv.stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w (server log %s)", p.name, err, srv.logPath)
		}
		results = append(results, res)
	}
	return results, nil
}

// measure runs op for 0..n-1 in random order across the clients.
func (w workload) measure(cli *clientv3.Client, phase string, n int, op func(*clientv3.Client, int) error) (phaseResult, error) {
	order := rand.Perm(n)
	var next atomic.Int64
	lat := make([][]time.Duration, w.clients)
	errs := make(chan error, w.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range w.clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(cli, order[i]); err != nil {
					errs <- err
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return phaseResult{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return phaseResult{
		phase:     phase,
		opsPerSec: float64(n) / elapsed.Seconds(),
		p50:       all[len(all)/2].Round(time.Microsecond),
		p99:       all[len(all)*99/100].Round(time.Microsecond),
	}, nil
}
