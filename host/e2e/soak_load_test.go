//go:build soak

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/metastore/metastore/host/hosttest"
)

// Shape of the soak's load.
const (
	soakWriters      = 2
	soakWriterPause  = 40 * time.Millisecond
	soakPrefixes     = 100 // load/<p>/<k>: 100 prefixes of 50 keys, overwritten
	soakKeysPerPrefx = 50
	soakWatchers     = 950 // clientv3 watchers of one prefix each
	soakSlowReaders  = 50  // raw watch streams of all of load/, read slowly
	soakSlowPause    = 500 * time.Millisecond
	soakLeasePause   = 300 * time.Millisecond
	soakAckedPause   = 100 * time.Millisecond
)

// soakLoad is the mixed load of a soak run, and what it saw.
type soakLoad struct {
	ms      []*hosttest.Process
	clients []*clientv3.Client
	conns   []*grpc.ClientConn

	puts, txns, ranges, leases, events, slowEvents, failed atomic.Int64

	mu    sync.Mutex
	acked map[string]string // unique keys acknowledged, never overwritten
}

func newSoakLoad(t *testing.T, ms []*hosttest.Process) *soakLoad {
	l := &soakLoad{ms: ms, acked: map[string]string{}}
	for range 8 {
		l.clients = append(l.clients, hosttest.NewClient(t, memberEndpoints(ms)...))
	}
	for _, m := range ms {
		conn, err := grpc.NewClient(strings.TrimPrefix(m.Endpoint(), "http://"),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		l.conns = append(l.conns, conn)
	}
	return l
}

func (l *soakLoad) close() {
	for _, c := range l.conns {
		c.Close()
	}
}

func (l *soakLoad) stats() string {
	l.mu.Lock()
	acked := len(l.acked)
	l.mu.Unlock()
	return fmt.Sprintf("%d puts, %d txns, %d ranges, %d leases, %d unique keys acknowledged, %d events to %d watchers, %d to %d slow readers, %d calls failed (members restarting)",
		l.puts.Load(), l.txns.Load(), l.ranges.Load(), l.leases.Load(), acked,
		l.events.Load(), soakWatchers, l.slowEvents.Load(), soakSlowReaders, l.failed.Load())
}

// start starts every part of the load; each stops when ctx ends.
func (l *soakLoad) start(ctx context.Context, wg *sync.WaitGroup) {
	for i := range soakWatchers {
		cli := l.clients[i%4]
		prefix := fmt.Sprintf("load/%d/", i%soakPrefixes)
		wch := cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix())
		wg.Go(func() {
			for resp := range wch {
				l.events.Add(int64(len(resp.Events)))
			}
		})
	}
	for i := range soakSlowReaders {
		wg.Go(func() { l.slowReader(ctx, l.conns[i%len(l.conns)]) })
	}
	for i := range soakWriters {
		wg.Go(func() { l.writer(ctx, l.clients[4+i], uint64(i)) })
	}
	wg.Go(func() { l.ackedWriter(ctx, l.clients[6]) })
	wg.Go(func() { l.leaseChurn(ctx, l.clients[7]) })
}

// writer puts, txns and ranges over a bounded key space.
func (l *soakLoad) writer(ctx context.Context, cli *clientv3.Client, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 77))
	value := strings.Repeat("v", 100+rnd.IntN(900))
	for n := 0; ctx.Err() == nil; n++ {
		key := fmt.Sprintf("load/%d/%d", rnd.IntN(soakPrefixes), rnd.IntN(soakKeysPerPrefx))
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		switch n % 5 {
		case 3:
			_, err = cli.Txn(c).If(clientv3.Compare(clientv3.Version(key), ">", 0)).
				Then(clientv3.OpPut(key, value)).Else(clientv3.OpGet(key)).Commit()
			l.txns.Add(1)
		case 4:
			_, err = cli.Get(c, key[:strings.LastIndexByte(key, '/')+1], clientv3.WithPrefix(), clientv3.WithLimit(50))
			l.ranges.Add(1)
		default:
			_, err = cli.Put(c, key, value)
			l.puts.Add(1)
		}
		cancel()
		if err != nil {
			l.failed.Add(1)
		}
		sleepCtx(ctx, soakWriterPause)
	}
}

// ackedWriter puts keys written once each and remembers those
// acknowledged: every one must be on every member at the end.
func (l *soakLoad) ackedWriter(ctx context.Context, cli *clientv3.Client) {
	for n := 0; ctx.Err() == nil; n++ {
		key, value := fmt.Sprintf("acked/%08d", n), fmt.Sprint(n)
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cli.Put(c, key, value)
		cancel()
		if err == nil {
			l.mu.Lock()
			l.acked[key] = value
			l.mu.Unlock()
		} else {
			l.failed.Add(1)
		}
		sleepCtx(ctx, soakAckedPause)
	}
}

// leaseChurn grants short leases with a key each; a third is revoked, a
// third kept alive once, a third left to expire.
func (l *soakLoad) leaseChurn(ctx context.Context, cli *clientv3.Client) {
	for n := 0; ctx.Err() == nil; n++ {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		lease, err := cli.Grant(c, 2)
		if err == nil {
			l.leases.Add(1)
			_, err = cli.Put(c, fmt.Sprintf("lease/%d", n%200), "x", clientv3.WithLease(lease.ID))
			switch {
			case err != nil:
			case n%3 == 0:
				_, err = cli.Revoke(c, lease.ID)
			case n%3 == 1:
				_, err = cli.KeepAliveOnce(c, lease.ID)
			}
		}
		cancel()
		if err != nil {
			l.failed.Add(1)
		}
		sleepCtx(ctx, soakLeasePause)
	}
}

// slowReader watches all of load/ on a raw stream and reads an answer
// every soakSlowPause, so that the member's send buffer fills; when its
// member restarts it watches again.
func (l *soakLoad) slowReader(ctx context.Context, conn *grpc.ClientConn) {
	for ctx.Err() == nil {
		st, err := pb.NewWatchClient(conn).Watch(ctx)
		if err == nil {
			err = st.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
				Key: []byte("load/"), RangeEnd: []byte("load0")}}})
		}
		for err == nil {
			var resp *pb.WatchResponse
			if resp, err = st.Recv(); err == nil {
				l.slowEvents.Add(int64(len(resp.Events)))
				sleepCtx(ctx, soakSlowPause)
			}
		}
		sleepCtx(ctx, time.Second)
	}
}

// requireAckedOnEveryMember reads acked/ from each member (serializable:
// its own state) and requires every acknowledged key with its value.
func (l *soakLoad) requireAckedOnEveryMember(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.ms {
		resp, err := m.Client(t).Get(ctxFor(t, 30*time.Second), "acked/", clientv3.WithPrefix(), clientv3.WithSerializable())
		require.NoError(t, err)
		have := make(map[string]string, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			have[string(kv.Key)] = string(kv.Value)
		}
		lost := 0
		for k, v := range l.acked {
			if have[k] != v {
				lost++
			}
		}
		require.Zero(t, lost, "%s lost %d of %d acknowledged writes", m.Name(), lost, len(l.acked))
	}
	t.Logf("soak: all %d acknowledged unique writes are on every member", len(l.acked))
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
