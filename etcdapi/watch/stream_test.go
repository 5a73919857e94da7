package watch

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

// testMember stamps headers of cluster 7, member 1, term 1, and lets
// every caller watch.
type testMember struct{}

func (testMember) Header(rev int64) *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: 7, MemberId: 1, Revision: rev, RaftTerm: 1}
}

func (testMember) WatchDenied(context.Context, []byte, []byte) string { return "" }

// watchTestServer serves the watch streams of a Server over loopback
// gRPC and returns its store and a connected client.
func watchTestServer(t *testing.T, d Deps, mcfg mvcc.Config) (*mvcc.Store, pb.WatchClient) {
	t.Helper()
	lg := zaptest.NewLogger(t)
	eng := memory.New()
	_, err := eng.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	store, err := mvcc.New(lg, eng, 0, mcfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	if d.MaxRequestBytes == 0 {
		d.MaxRequestBytes = 1 << 20
	}
	d.Log, d.Store, d.Member = lg, store, testMember{}
	s := New(d)

	gs := grpc.NewServer()
	pb.RegisterWatchServer(gs, watchService{s: s})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return store, pb.NewWatchClient(conn)
}

type watchService struct {
	pb.UnimplementedWatchServer
	s *Server
}

func (w watchService) Watch(stream pb.Watch_WatchServer) error { return w.s.Serve(stream) }

func openWatch(t *testing.T, wc pb.WatchClient) pb.Watch_WatchClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := wc.Watch(ctx)
	require.NoError(t, err)
	return stream
}

func createWatch(t *testing.T, stream pb.Watch_WatchClient, req *pb.WatchCreateRequest) *pb.WatchResponse {
	t.Helper()
	require.NoError(t, stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: req}}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.True(t, resp.Created, "%v", resp)
	return resp
}

// putKey writes key as the next raft entry would.
func putKey(t *testing.T, store *mvcc.Store, key string, value []byte) {
	t.Helper()
	tw := store.Write(store.ConsistentIndex() + 1)
	tw.Put([]byte(key), value, 0)
	tw.End()
}

// TestWatchSlowConsumerDoesNotStallWriters keeps a watch stream whose
// client never reads while writes go on: the writes all complete, the
// events buffered for the stream stay under the store's bound, and once
// the client reads it gets every event, in order.
func TestWatchSlowConsumerDoesNotStallWriters(t *testing.T) {
	const bufferEvents, revs = 512, 20000
	store, wc := watchTestServer(t, Deps{}, mvcc.Config{FlushInterval: 5 * time.Millisecond, WatchBufferEvents: bufferEvents})
	stalled := openWatch(t, wc)
	for i := range 5 {
		createWatch(t, stalled, &pb.WatchCreateRequest{Key: []byte("k"), RangeEnd: []byte("l"), WatchId: int64(i + 1), PrevKv: i == 0})
	}
	// Each stream holds at most its buffer plus one catch-up batch of
	// 1000 revisions.
	const ceiling = bufferEvents + 1000
	var peak int64
	value := make([]byte, 100)
	for i := range revs {
		putKey(t, store, fmt.Sprintf("k%d", i%7), value)
		peak = max(peak, store.WatchStats().BufferedEvents)
	}
	require.LessOrEqual(t, peak, int64(ceiling))
	require.Positive(t, store.WatchStats().Unsynced, "stalled watchers fell behind")

	last := map[int64]int64{1: 1, 2: 1, 3: 1, 4: 1, 5: 1} // watch ID -> last revision seen
	for n := 0; n < 5*revs; {
		resp, err := stalled.Recv()
		require.NoError(t, err)
		for _, ev := range resp.Events {
			require.Equal(t, last[resp.WatchId]+1, ev.Kv.ModRevision, "watcher %d skipped or repeated", resp.WatchId)
			last[resp.WatchId] = ev.Kv.ModRevision
			if resp.WatchId == 1 && ev.Kv.ModRevision > 8 {
				require.NotNil(t, ev.PrevKv, "prev_kv of revision %d", ev.Kv.ModRevision)
				require.Equal(t, ev.Kv.ModRevision-7, ev.PrevKv.ModRevision)
			}
			n++
		}
		peak = max(peak, store.WatchStats().BufferedEvents)
	}
	require.LessOrEqual(t, peak, int64(ceiling))
	require.Eventually(t, func() bool { return store.WatchStats().Synced == 5 }, 5*time.Second, 10*time.Millisecond)
}

func TestWatchFragmentsLargeResponses(t *testing.T) {
	// Responses over 64 KiB + etcd's 512 KiB allowance are split for
	// watchers that asked for fragments.
	store, wc := watchTestServer(t, Deps{MaxRequestBytes: 64 << 10}, mvcc.Config{})
	value := make([]byte, 60<<10)
	for i := range 20 {
		putKey(t, store, fmt.Sprintf("k%02d", i), value)
	}
	stream := openWatch(t, wc)
	createWatch(t, stream, &pb.WatchCreateRequest{Key: []byte("k"), RangeEnd: []byte("l"), StartRevision: 2, Fragment: true})
	var parts []*pb.WatchResponse
	for events := 0; events < 20; {
		resp, err := stream.Recv()
		require.NoError(t, err)
		parts = append(parts, resp)
		events += len(resp.Events)
	}
	require.Len(t, parts, 3, "1.2 MB in parts under 576 KiB")
	for i, p := range parts {
		require.Equal(t, i < len(parts)-1, p.Fragment)
		require.Equal(t, int64(21), p.Header.Revision)
	}

	whole := openWatch(t, wc)
	createWatch(t, whole, &pb.WatchCreateRequest{Key: []byte("k"), RangeEnd: []byte("l"), StartRevision: 2})
	resp, err := whole.Recv()
	require.NoError(t, err)
	require.Len(t, resp.Events, 20)
	require.False(t, resp.Fragment)
}

func TestWatchProgressNotifyInterval(t *testing.T) {
	store, wc := watchTestServer(t, Deps{ProgressNotifyInterval: time.Millisecond}, mvcc.Config{})
	putKey(t, store, "a", nil)
	stream := openWatch(t, wc)
	created := createWatch(t, stream, &pb.WatchCreateRequest{Key: []byte("a"), ProgressNotify: true})
	start := time.Now()
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), minProgressNotifyInterval/2, "interval raised to etcd's minimum")
	require.Equal(t, created.WatchId, resp.WatchId)
	require.Empty(t, resp.Events)
	require.Equal(t, int64(2), resp.Header.Revision)
	require.Equal(t, uint64(7), resp.Header.ClusterId)
}

func TestWatchCreateErrorsKeepRequestOrder(t *testing.T) {
	_, wc := watchTestServer(t, Deps{}, mvcc.Config{})
	stream := openWatch(t, wc)
	send := func(req *pb.WatchCreateRequest) {
		require.NoError(t, stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: req}}))
	}
	send(&pb.WatchCreateRequest{Key: []byte("a"), WatchId: 3})
	send(&pb.WatchCreateRequest{Key: []byte("a"), WatchId: 3})
	send(&pb.WatchCreateRequest{Key: []byte("b"), RangeEnd: []byte("a")})
	send(&pb.WatchCreateRequest{Key: []byte("a"), StartRevision: -1})
	send(&pb.WatchCreateRequest{Key: []byte("a")})
	for _, want := range []struct {
		id     int64
		reason string
	}{
		{3, ""},
		{-1, "mvcc: duplicate watch ID provided on the WatchStream"},
		{-1, "mvcc: watcher range is empty"},
		{-1, "etcdserver: mvcc: required revision has been compacted"},
		{0, ""},
	} {
		resp, err := stream.Recv()
		require.NoError(t, err)
		require.True(t, resp.Created)
		require.Equal(t, want.id, resp.WatchId)
		require.Equal(t, want.reason != "", resp.Canceled)
		require.Equal(t, want.reason, resp.CancelReason)
		require.Equal(t, int64(1), resp.Header.Revision)
	}
}
