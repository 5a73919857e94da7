package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchWriters is how many goroutines put the watched keys.
const watchWriters = 10

// runWatchFanout opens env.clients watchers on one prefix (watchers on the
// same connection share its watch stream), then puts ceil(maxOps/watchers)
// keys under the prefix from watchWriters writers on a connection of their
// own. Each value starts with the time it was sent, so every delivered event
// yields a put-to-delivery latency; throughput is events delivered per
// second from the first put to the last delivery.
func runWatchFanout(ctx context.Context, env *runEnv) (latencies, error) {
	const prefix = "/w/"
	if err := probeWatch(ctx, env.conn(0)); err != nil {
		return latencies{}, err
	}
	puts := (env.maxOps + env.clients - 1) / env.clients
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]clientv3.WatchChan, env.clients)
	for w := range chans {
		chans[w] = env.conn(w).Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
		select {
		case resp, ok := <-chans[w]:
			if !ok || resp.Err() != nil || !resp.Created {
				return latencies{}, fmt.Errorf("watcher %d not created: %w", w, unsupportedOr(resp.Err()))
			}
		case <-ctx.Done():
			return latencies{}, ctx.Err()
		}
	}
	writer, err := newClient(env.conns[0].Endpoints()[0])
	if err != nil {
		return latencies{}, err
	}
	defer writer.Close()

	var (
		mu      sync.Mutex
		all     = make([]time.Duration, 0, puts*env.clients)
		errs    atomic.Int64
		wg      sync.WaitGroup
		lastRcv atomic.Int64
	)
	start := time.Now()
	for _, ch := range chans {
		wg.Go(func() {
			mine, bad := receiveEvents(ch, puts, &lastRcv)
			errs.Add(int64(bad))
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	errs.Add(int64(putTimestamped(wctx, writer, prefix, puts, env.value)))
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		cancel()
		<-done
	}
	end := time.Unix(0, lastRcv.Load())
	if lastRcv.Load() == 0 {
		end = time.Now()
	}
	return latencies{samples: all, errors: int(errs.Load()), elapsed: end.Sub(start)}, nil
}

// receiveEvents reads want events from ch and returns their latencies and
// how many responses were errors. It stops early when ch closes.
func receiveEvents(ch clientv3.WatchChan, want int, lastRcv *atomic.Int64) ([]time.Duration, int) {
	lat := make([]time.Duration, 0, want)
	bad := 0
	for resp := range ch {
		if resp.Err() != nil || resp.Canceled {
			bad++
			break
		}
		now := time.Now()
		for _, ev := range resp.Events {
			if len(ev.Kv.Value) >= 8 {
				sent := int64(binary.BigEndian.Uint64(ev.Kv.Value))
				lat = append(lat, now.Sub(time.Unix(0, sent)))
			}
		}
		lastRcv.Store(now.UnixNano())
		if len(lat) >= want {
			break
		}
	}
	return lat, bad
}

// putTimestamped puts n keys under prefix from watchWriters goroutines, each
// value stamped with its send time, and returns how many puts failed.
func putTimestamped(ctx context.Context, cli *clientv3.Client, prefix string, n int, value []byte) int {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range watchWriters {
		wg.Go(func() {
			val := make([]byte, len(value))
			copy(val, value)
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				binary.BigEndian.PutUint64(val, uint64(time.Now().UnixNano()))
				if _, err := cli.Put(ctx, key(prefix, i), string(val)); err != nil && ctx.Err() == nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// probeWatch opens a raw watch stream and creates one watcher, returning
// errUnsupported when the server answers Unimplemented.
func probeWatch(ctx context.Context, cli *clientv3.Client) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := pb.NewWatchClient(cli.ActiveConnection()).Watch(pctx)
	if err != nil {
		return unsupportedOr(err)
	}
	req := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{
		CreateRequest: &pb.WatchCreateRequest{Key: []byte("/probe")}}}
	if err := stream.Send(req); err != nil {
		_, err = stream.Recv() // the status is reported by Recv
		return unsupportedOr(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		return unsupportedOr(err)
	}
	if !resp.Created {
		return errors.New("watch probe: first response is not a creation")
	}
	return nil
}
