package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// rawWatch is a Watch stream spoken in raw requests, its responses read
// into a channel.
type rawWatch struct {
	stream pb.Watch_WatchClient
	resps  chan *pb.WatchResponse
}

func openRawWatch(ctx context.Context, t *testing.T, cli *clientv3.Client) *rawWatch {
	stream, err := pb.NewWatchClient(cli.ActiveConnection()).Watch(ctx)
	require.NoError(t, err)
	w := &rawWatch{stream: stream, resps: make(chan *pb.WatchResponse, 1024)}
	go func() {
		defer close(w.resps)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			w.resps <- resp
		}
	}()
	return w
}

func (w *rawWatch) create(t *testing.T, req *pb.WatchCreateRequest) {
	require.NoError(t, w.stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: req}}))
}

func (w *rawWatch) cancel(t *testing.T, id int64) {
	require.NoError(t, w.stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: id}}}))
}

func (w *rawWatch) progress(t *testing.T) {
	require.NoError(t, w.stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}}))
}

// recv records the next n responses, sorted when their order is not
// defined (responses of several watchers to one revision).
func (w *rawWatch) recv(tr *transcript, what string, n int, sorted bool) {
	var lines []string
	for i := range n {
		select {
		case resp, ok := <-w.resps:
			if !ok {
				lines = append(lines, "stream ended")
				break
			}
			sub := &transcript{}
			sub.add(fmt.Sprintf("%s #%d", what, i), resp, nil)
			lines = append(lines, sub.lines...)
		case <-time.After(5 * time.Second):
			lines = append(lines, fmt.Sprintf("%s #%d: timeout", what, i))
		}
	}
	if sorted {
		for i := range lines {
			lines[i] = lines[i][strings.Index(lines[i], ":"):]
		}
		sort.Strings(lines)
	}
	tr.lines = append(tr.lines, lines...)
}

// recvNone records what arrives within a second, expecting nothing.
func (w *rawWatch) recvNone(tr *transcript, what string) {
	select {
	case resp := <-w.resps:
		tr.add(what+": unexpected", resp, nil)
	case <-time.After(time.Second):
		tr.lines = append(tr.lines, what+": nothing")
	}
}

// requireSameWatchTranscripts runs script against fresh etcd and MetaStore
// servers and requires identical transcripts.
func requireSameWatchTranscripts(t *testing.T, script func(ctx context.Context, cli *clientv3.Client, tr *transcript), opts ...hosttest.Option) []string {
	t.Helper()
	etcd := hosttest.StartMember(t, append(opts, hosttest.WithBinary(hosttest.EtcdBin(t)))...)
	ms := hosttest.StartMember(t, opts...)
	run := func(m *hosttest.Process) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tr := &transcript{}
		script(ctx, m.Client(t), tr)
		return tr.lines
	}
	var want, got []string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); want = run(etcd) }()
	go func() { defer wg.Done(); got = run(ms) }()
	wg.Wait()
	require.Equal(t, len(want), len(got), "etcd: %q\nmetastore: %q", want, got)
	for i := range want {
		require.Equal(t, want[i], got[i], "line %d differs from etcd", i)
	}
	if testing.Verbose() && len(got) < 100 {
		t.Logf("transcript:\n%s", strings.Join(got, "\n"))
	}
	return got
}

func kvPut(ctx context.Context, t *testing.T, cli *clientv3.Client, key, value string) {
	_, err := cli.Put(ctx, key, value)
	require.NoError(t, err)
}

// TestClientWatchStreamMatchesEtcd drives one raw Watch stream through
// every kind of request and compares each response, headers included.
func TestClientWatchStreamMatchesEtcd(t *testing.T) {
	out := requireSameWatchTranscripts(t, func(ctx context.Context, cli *clientv3.Client, tr *transcript) {
		kvPut(ctx, t, cli, "foo", "1") // 2
		kvPut(ctx, t, cli, "foo", "2") // 3
		kvPut(ctx, t, cli, "bar", "x") // 4
		_, err := cli.Txn(ctx).Then(   // 5
			clientv3.OpPut("foo", "3"), clientv3.OpPut("foo1", "a"), clientv3.OpDelete("bar")).Commit()
		require.NoError(t, err)
		_, err = cli.Delete(ctx, "foo") // 6
		require.NoError(t, err)
		kvPut(ctx, t, cli, "foo", "4") // 7

		w := openRawWatch(ctx, t, cli)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("foo"), StartRevision: 2, PrevKv: true})
		w.recv(tr, "history with prev_kv", 2, false)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("foo"), RangeEnd: []byte("fop"), StartRevision: 1, WatchId: 7,
			Filters: []pb.WatchCreateRequest_FilterType{pb.WatchCreateRequest_NODELETE}})
		w.recv(tr, "prefix without deletes", 2, false)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("foo"), WatchId: 7})
		w.recv(tr, "duplicate id", 1, false)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("z"), RangeEnd: []byte("a")})
		w.recv(tr, "empty range", 1, false)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("foo"), StartRevision: -1})
		w.recv(tr, "negative start revision", 1, false)
		w.create(t, &pb.WatchCreateRequest{RangeEnd: []byte{0}, Filters: []pb.WatchCreateRequest_FilterType{pb.WatchCreateRequest_NOPUT}})
		w.recv(tr, "all keys, deletes only", 1, false)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("b"), RangeEnd: []byte{0}, StartRevision: 9})
		w.recv(tr, "from key, future revision", 1, false)

		kvPut(ctx, t, cli, "foo", "5") // 8
		w.recv(tr, "put", 2, true)
		_, err = cli.Delete(ctx, "fo", clientv3.WithPrefix()) // 9: foo, foo1
		require.NoError(t, err)
		w.recv(tr, "delete prefix", 3, true)
		w.progress(t)
		w.recv(tr, "progress", 1, false)
		w.cancel(t, 7)
		w.recv(tr, "cancel", 1, false)
		w.cancel(t, 99)
		w.progress(t)
		w.recv(tr, "cancel unknown, then progress", 1, false)

		_, err = cli.Compact(ctx, 6)
		require.NoError(t, err)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("foo"), StartRevision: 3})
		w.recv(tr, "compacted", 2, false)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("foo"), StartRevision: 6, PrevKv: true})
		w.recv(tr, "at the compaction revision", 2, false)
		// A compacted watcher is not synced: no progress for the stream.
		w.progress(t)
		w.recvNone(tr, "progress with a compacted watcher")
		w.cancel(t, 3)
		w.recv(tr, "cancel the compacted watcher", 1, false)
		w.progress(t)
		w.recv(tr, "progress", 1, false)
	})
	require.Contains(t, strings.Join(out, "\n"), `"compact_revision":"6"`)
}

// TestClientWatchFragments compares a response too large for one message,
// split for a watcher that asked for fragments and whole for one that did
// not.
func TestClientWatchFragments(t *testing.T) {
	requireSameWatchTranscripts(t, func(ctx context.Context, cli *clientv3.Client, tr *transcript) {
		big := strings.Repeat("v", 900*1024)
		for i := range 4 {
			kvPut(ctx, t, cli, fmt.Sprintf("big%d", i), big)
		}
		w := openRawWatch(ctx, t, cli)
		w.create(t, &pb.WatchCreateRequest{Key: []byte("big"), RangeEnd: []byte("bih"), StartRevision: 1, Fragment: true})
		w.create(t, &pb.WatchCreateRequest{Key: []byte("big"), RangeEnd: []byte("bih"), StartRevision: 1})
		var sizes []string
		for range 2 + 2 + 1 { // 2 created, 2 fragments under 2 MiB, 1 whole
			select {
			case resp := <-w.resps:
				sizes = append(sizes, fmt.Sprintf("id=%d created=%v fragment=%v events=%d rev=%d",
					resp.WatchId, resp.Created, resp.Fragment, len(resp.Events), resp.Header.Revision))
			case <-time.After(10 * time.Second):
				sizes = append(sizes, "timeout")
			}
		}
		sort.Strings(sizes)
		tr.lines = append(tr.lines, sizes...)

		// clientv3 puts the fragments back together.
		wc := cli.Watch(ctx, "big", clientv3.WithPrefix(), clientv3.WithRev(1), clientv3.WithFragment())
		resp := <-wc
		tr.lines = append(tr.lines, fmt.Sprintf("clientv3: %d events, revision %d", len(resp.Events), resp.Header.Revision))
	})
}

// watchRespString renders what a clientv3 user sees of a response.
func watchRespString(r clientv3.WatchResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rev=%d created=%v canceled=%v compact=%d progress=%v err=%v events=[",
		r.Header.Revision, r.Created, r.Canceled, r.CompactRevision, r.IsProgressNotify(), r.Err())
	for _, ev := range r.Events {
		fmt.Fprintf(&b, " %s %s=%s@%d(%d,%d)", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision, ev.Kv.CreateRevision, ev.Kv.Version)
		if ev.PrevKv != nil {
			fmt.Fprintf(&b, " prev=%s@%d", ev.PrevKv.Value, ev.PrevKv.ModRevision)
		}
	}
	b.WriteString(" ]")
	return b.String()
}

func next(ctx context.Context, wc clientv3.WatchChan) string {
	select {
	case r, ok := <-wc:
		if !ok {
			return "closed"
		}
		return watchRespString(r)
	case <-time.After(5 * time.Second):
		return "timeout"
	case <-ctx.Done():
		return "context done"
	}
}

// TestClientWatchOptionsMatchEtcd compares what clientv3's Watch returns
// for each option, live and replayed, through a compaction.
func TestClientWatchOptionsMatchEtcd(t *testing.T) {
	requireSameWatchTranscripts(t, func(ctx context.Context, cli *clientv3.Client, tr *transcript) {
		add := func(s string) { tr.lines = append(tr.lines, s) }
		kvPut(ctx, t, cli, "a", "1")
		kvPut(ctx, t, cli, "ab", "2")
		kvPut(ctx, t, cli, "b", "3")
		kvPut(ctx, t, cli, "a", "4")

		live := cli.Watch(ctx, "a", clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithCreatedNotify())
		add("live created: " + next(ctx, live))
		fromKey := cli.Watch(ctx, "ab", clientv3.WithFromKey(), clientv3.WithRev(2), clientv3.WithFilterPut())
		noDel := cli.Watch(ctx, "a", clientv3.WithRev(1), clientv3.WithFilterDelete())
		add("no deletes, replay: " + next(ctx, noDel))
		_, err := cli.Delete(ctx, "a", clientv3.WithRange("c")) // 6
		require.NoError(t, err)
		add("live delete: " + next(ctx, live))
		add("from key, puts filtered: " + next(ctx, fromKey))
		kvPut(ctx, t, cli, "a", "5") // 7
		add("live put: " + next(ctx, live))
		add("no deletes, live: " + next(ctx, noDel))

		// A compaction does not disturb watchers already past it...
		_, err = cli.Compact(ctx, 6)
		require.NoError(t, err)
		kvPut(ctx, t, cli, "a", "6") // 8
		add("after compaction: " + next(ctx, live))
		// ...but a watcher starting before it is canceled.
		old := cli.Watch(ctx, "a", clientv3.WithRev(3))
		add("compacted: " + next(ctx, old))
		add("compacted, then: " + next(ctx, old))
		add("resume at compaction: " + next(ctx, cli.Watch(ctx, "a", clientv3.WithRev(6), clientv3.WithPrevKV())))

		// Progress is answered in order with events.
		pctx := clientv3.WithRequireLeader(ctx)
		progress := cli.Watch(pctx, "a")
		kvPut(ctx, t, cli, "a", "7") // 9
		require.NoError(t, cli.RequestProgress(pctx))
		add("events then progress: " + next(ctx, progress))
		add("progress: " + next(ctx, progress))
	})
}

// TestClientWatchProgressNotifyFlag starts both servers with a short
// --watch-progress-notify-interval: an idle watcher that asked for
// progress notifications gets them.
func TestClientWatchProgressNotifyFlag(t *testing.T) {
	requireSameWatchTranscripts(t, func(ctx context.Context, cli *clientv3.Client, tr *transcript) {
		kvPut(ctx, t, cli, "a", "1")
		wc := cli.Watch(ctx, "a", clientv3.WithProgressNotify())
		tr.lines = append(tr.lines, next(ctx, wc), next(ctx, wc))
		kvPut(ctx, t, cli, "a", "2")
		tr.lines = append(tr.lines, next(ctx, wc), next(ctx, wc))
	}, hosttest.WithArgs("--watch-progress-notify-interval=400ms"))
}

// TestClientWatchThousandWatchersOneStream opens 1,000 watchers that share
// one gRPC stream, half replaying history, and compares every watcher's
// events with etcd's.
func TestClientWatchThousandWatchersOneStream(t *testing.T) {
	const watchers, puts = 1000, 20
	out := requireSameWatchTranscripts(t, func(ctx context.Context, cli *clientv3.Client, tr *transcript) {
		for i := range puts / 2 {
			kvPut(ctx, t, cli, fmt.Sprintf("k%d", i%3), fmt.Sprint(i))
		}
		wctx := clientv3.WithRequireLeader(ctx) // one context: one stream
		chans := make([]clientv3.WatchChan, watchers)
		for i := range chans {
			opts := []clientv3.OpOption{clientv3.WithPrefix()}
			if i%2 == 1 {
				opts = append(opts, clientv3.WithRev(int64(2+i%7)))
			}
			chans[i] = cli.Watch(wctx, "k", opts...)
		}
		time.Sleep(time.Second) // let the replaying half catch up, or not
		for i := puts / 2; i < puts; i++ {
			kvPut(ctx, t, cli, fmt.Sprintf("k%d", i%3), fmt.Sprint(i))
		}
		last := fmt.Sprintf("@%d", puts+1)
		for i, wc := range chans {
			var evs []string
			deadline := time.After(20 * time.Second)
			for done := false; !done; {
				select {
				case r := <-wc:
					for _, ev := range r.Events {
						evs = append(evs, fmt.Sprintf("%s %s=%s@%d", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision))
					}
					done = len(evs) > 0 && strings.HasSuffix(evs[len(evs)-1], last)
				case <-deadline:
					evs, done = append(evs, "timeout"), true
				}
			}
			tr.lines = append(tr.lines, fmt.Sprintf("watcher %d: %s", i, strings.Join(evs, ", ")))
		}
	})
	require.Len(t, out, watchers)
	require.Equal(t, mvccpb.Event_PUT.String()+" k1=19@21", out[0][strings.LastIndex(out[0], ", ")+2:])
}
