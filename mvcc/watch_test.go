package mvcc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// receive takes responses from ws until done says it has enough, failing
// the test after 10 seconds.
func receive(t *testing.T, ws *WatchStream, done func([]WatchResponse) bool) []WatchResponse {
	t.Helper()
	var out []WatchResponse
	deadline := time.After(10 * time.Second)
	for !done(out) {
		if r, ok := ws.Next(); ok {
			out = append(out, r)
			continue
		}
		select {
		case <-ws.Ready():
		case <-deadline:
			n := 0
			for _, r := range out {
				n += len(r.Events)
			}
			t.Fatalf("timed out with %d responses, %d events", len(out), n)
		}
	}
	return out
}

// responses waits for n responses.
func responses(t *testing.T, ws *WatchStream, n int) []WatchResponse {
	t.Helper()
	return receive(t, ws, func(rs []WatchResponse) bool { return len(rs) >= n })
}

// quiet requires that nothing more arrives for a while.
func quiet(t *testing.T, ws *WatchStream) {
	t.Helper()
	time.Sleep(3 * watchSyncInterval)
	r, ok := ws.Next()
	require.False(t, ok, "unexpected response %+v", r)
}

// untilEvents waits until watcher id has received n events.
func untilEvents(id WatchID, n int) func([]WatchResponse) bool {
	return func(rs []WatchResponse) bool { return len(watcherEvents(rs, id)) >= n }
}

// watcherEvents flattens the events of watcher id.
func watcherEvents(rs []WatchResponse, id WatchID) []*mvccpb.Event {
	var evs []*mvccpb.Event
	for _, r := range rs {
		if r.WatchID == id {
			evs = append(evs, r.Events...)
		}
	}
	return evs
}

func newStream(t *testing.T, s *Store) *WatchStream {
	ws := s.NewWatchStream()
	t.Cleanup(ws.Close)
	return ws
}

func mustWatch(t *testing.T, ws *WatchStream, req WatchRequest) WatchID {
	t.Helper()
	id, err := ws.Watch(req)
	require.NoError(t, err)
	return id
}

func TestWatchLiveEventsByRange(t *testing.T) {
	s, _ := newTestStore(t)
	ws := newStream(t, s)
	key := mustWatch(t, ws, WatchRequest{Key: []byte("a")})
	prefix := mustWatch(t, ws, WatchRequest{Key: []byte("a"), End: []byte("b")})
	fromKey := mustWatch(t, ws, WatchRequest{Key: []byte("b"), End: []byte{0}})
	noPut := mustWatch(t, ws, WatchRequest{Key: []byte{0}, End: []byte{}, NoPut: true})
	noDelete := mustWatch(t, ws, WatchRequest{Key: []byte{0}, End: []byte{}, NoDelete: true})
	created := responses(t, ws, 5)
	for i, r := range created {
		require.Equal(t, WatchResponse{WatchID: WatchID(i), Created: true, Revision: 1}, r)
	}

	writeHistory(t, s)
	want := map[WatchID]int{key: 4, prefix: 4, fromKey: 4, noPut: 3, noDelete: 5}
	rs := receive(t, ws, func(rs []WatchResponse) bool {
		for id, n := range want {
			if len(watcherEvents(rs, id)) < n {
				return false
			}
		}
		return true
	})
	require.Equal(t, []string{"PUT a=1@2(2,1,l0)", "PUT a=3@4(2,2,l0)", "DELETE a@5", "PUT a=6@6(6,1,l0)"},
		eventStrings(watcherEvents(rs, key)))
	require.Equal(t, eventStrings(watcherEvents(rs, key)), eventStrings(watcherEvents(rs, prefix)))
	require.Equal(t, []string{"PUT b=2@3(3,1,l0)", "PUT c=4@4(4,1,l7)", "DELETE b@7", "DELETE c@7"},
		eventStrings(watcherEvents(rs, fromKey)))
	require.Equal(t, []string{"DELETE a@5", "DELETE b@7", "DELETE c@7"}, eventStrings(watcherEvents(rs, noPut)))
	require.Len(t, watcherEvents(rs, noDelete), 5)
	// Live events come one revision per response, at that revision.
	for _, r := range rs {
		require.NotEmpty(t, r.Events)
		for _, ev := range r.Events {
			require.Equal(t, r.Revision, ev.Kv.ModRevision)
		}
	}
	quiet(t, ws)
}

func TestWatchReplaysHistoryThenFollows(t *testing.T) {
	s, _ := newTestStore(t)
	writeHistory(t, s)
	require.NoError(t, s.Flush(context.Background()))
	put(s, "a", "7") // 8, in the write buffer only
	ws := newStream(t, s)
	id := mustWatch(t, ws, WatchRequest{Key: []byte{0}, End: []byte{}, StartRev: 3})
	rs := receive(t, ws, untilEvents(id, 8))
	require.Equal(t, WatchResponse{WatchID: id, Created: true, Revision: 8}, rs[0])
	// The replay is one response at the revision it read up to.
	require.Len(t, rs, 2)
	require.Equal(t, int64(8), rs[1].Revision)
	require.Equal(t, append(historyEvents[1:], "PUT a=7@8(6,2,l0)"), eventStrings(rs[1].Events))

	put(s, "z", "9")
	rs = receive(t, ws, untilEvents(id, 1))
	require.Equal(t, []string{"PUT z=9@9(9,1,l0)"}, eventStrings(rs[0].Events))
	require.Equal(t, 1, s.WatchStats().Synced)
}

func TestWatchFutureStartRevision(t *testing.T) {
	s, _ := newTestStore(t)
	ws := newStream(t, s)
	id := mustWatch(t, ws, WatchRequest{Key: []byte("k"), StartRev: 4})
	responses(t, ws, 1)
	put(s, "k", "2")
	put(s, "k", "3")
	put(s, "k", "4")
	rs := receive(t, ws, untilEvents(id, 1))
	require.Equal(t, []string{"PUT k=4@4(2,3,l0)"}, eventStrings(watcherEvents(rs, id)))
	// Not reached its start revision before 4: no progress until then.
	quiet(t, ws)
}

func TestWatchCatchUpInBatchesOf1000Revisions(t *testing.T) {
	s, _ := newTestStore(t)
	for range 2500 {
		put(s, "k", "v")
	}
	ws := newStream(t, s)
	id := mustWatch(t, ws, WatchRequest{Key: []byte("k"), StartRev: 2})
	rs := receive(t, ws, untilEvents(id, 2500))
	require.Len(t, rs, 4) // created + 1000 + 1000 + 500
	for i, n := range []int{1000, 1000, 500} {
		r := rs[i+1]
		require.Len(t, r.Events, n)
		require.Equal(t, int64(2501), r.Revision)
		require.Equal(t, int64(2+1000*i), r.Events[0].Kv.ModRevision)
	}
	require.Equal(t, WatchStats{Synced: 1}, s.WatchStats())
}

func TestWatchIDs(t *testing.T) {
	s, _ := newTestStore(t)
	ws := newStream(t, s)
	require.Equal(t, WatchID(0), mustWatch(t, ws, WatchRequest{Key: []byte("a")}))
	require.Equal(t, WatchID(5), mustWatch(t, ws, WatchRequest{ID: 5, Key: []byte("a")}))
	_, err := ws.Watch(WatchRequest{ID: 5, Key: []byte("a")})
	require.ErrorIs(t, err, ErrWatcherDuplicateID)
	require.Equal(t, WatchID(1), mustWatch(t, ws, WatchRequest{Key: []byte("a")}))
	require.Equal(t, WatchID(2), mustWatch(t, ws, WatchRequest{ID: 2, Key: []byte("a")}))
	require.Equal(t, WatchID(3), mustWatch(t, ws, WatchRequest{Key: []byte("a")}))
	_, err = ws.Watch(WatchRequest{Key: []byte("b"), End: []byte("a")})
	require.ErrorIs(t, err, ErrEmptyWatcherRange)
	_, err = ws.Watch(WatchRequest{Key: []byte("b"), End: []byte("b")})
	require.ErrorIs(t, err, ErrEmptyWatcherRange)
	require.ErrorIs(t, ws.Cancel(9), ErrWatcherNotExist)

	// Another stream has its own IDs.
	other := newStream(t, s)
	require.Equal(t, WatchID(0), mustWatch(t, other, WatchRequest{Key: []byte("a")}))
	ws.Close()
	_, err = ws.Watch(WatchRequest{Key: []byte("a")})
	require.ErrorIs(t, err, ErrWatchStreamClosed)
	require.Equal(t, 1, s.WatchStats().Synced)
}

func TestWatchCancel(t *testing.T) {
	s, _ := newTestStore(t)
	ws := newStream(t, s)
	id := mustWatch(t, ws, WatchRequest{Key: []byte("a")})
	put(s, "a", "1")
	require.NoError(t, ws.Cancel(id))
	put(s, "a", "2")
	rs := responses(t, ws, 3)
	require.True(t, rs[0].Created)
	require.Equal(t, []string{"PUT a=1@2(2,1,l0)"}, eventStrings(rs[1].Events))
	require.Equal(t, WatchResponse{WatchID: id, Canceled: true, Revision: 2}, rs[2])
	quiet(t, ws)
	require.ErrorIs(t, ws.Cancel(id), ErrWatcherNotExist)
	require.Equal(t, WatchStats{}, s.WatchStats())
}

func TestWatchCompactedStartRevision(t *testing.T) {
	s, _ := newTestStore(t)
	writeHistory(t, s)
	done, err := s.Compact(s.ConsistentIndex()+1, 5)
	require.NoError(t, err)
	waitDone(t, done)
	ws := newStream(t, s)
	compacted := mustWatch(t, ws, WatchRequest{Key: []byte("a"), StartRev: 4})
	rs := responses(t, ws, 2)
	require.Equal(t, WatchResponse{WatchID: compacted, CompactRevision: 5}, rs[1])

	// At the compaction revision itself the history is whole.
	atCompaction := mustWatch(t, ws, WatchRequest{Key: []byte("a"), StartRev: 5})
	rs = receive(t, ws, untilEvents(atCompaction, 2))
	require.Equal(t, []string{"DELETE a@5", "PUT a=6@6(6,1,l0)"}, eventStrings(watcherEvents(rs, atCompaction)))
	// A compacted watcher is gone from the hub but still known to its
	// stream, as in etcd: canceling it succeeds.
	require.NoError(t, ws.Cancel(compacted))
	require.Equal(t, WatchStats{Synced: 1}, s.WatchStats())
}

func TestWatchCompactionOvertakesCatchUp(t *testing.T) {
	s, _ := newTestStore(t)
	for range 3000 {
		put(s, "k", "v")
	}
	// A stream that takes one batch at a time: the consumer leaves the
	// first batch queued while a compaction passes the watcher.
	ws := newStreamWithBuffer(t, s, 1)
	id := mustWatch(t, ws, WatchRequest{Key: []byte("k"), StartRev: 2})
	responses(t, ws, 1)
	require.Eventually(t, func() bool { return ws.queue.len() == 1 }, 5*time.Second, time.Millisecond)
	done, err := s.Compact(s.ConsistentIndex()+1, 2000)
	require.NoError(t, err)
	waitDone(t, done)
	rs := responses(t, ws, 2)
	require.Len(t, rs[0].Events, 1000)
	require.Equal(t, WatchResponse{WatchID: id, CompactRevision: 2000}, rs[1])
	require.Equal(t, WatchStats{}, s.WatchStats())
}

// newStreamWithBuffer returns a stream that buffers at most maxEvents.
func newStreamWithBuffer(t *testing.T, s *Store, maxEvents int) *WatchStream {
	ws := newStream(t, s)
	ws.queue.maxEvents = maxEvents
	return ws
}

func TestWatchProgress(t *testing.T) {
	s, _ := newTestStore(t)
	for range 1500 {
		put(s, "k", "v")
	}
	ws := newStream(t, s)
	require.True(t, ws.RequestProgressAll(), "no watchers: nothing to wait for")
	synced := mustWatch(t, ws, WatchRequest{Key: []byte("k")})
	responses(t, ws, 1)
	ws.RequestProgress(synced)
	require.True(t, ws.RequestProgressAll())
	rs := responses(t, ws, 2)
	require.Equal(t, WatchResponse{WatchID: synced, Revision: 1501}, rs[0])
	require.Equal(t, WatchResponse{WatchID: InvalidWatchID, Revision: 1501}, rs[1])

	// While a watcher catches up, neither it nor its stream reports
	// progress.
	slow := newStreamWithBuffer(t, s, 1)
	behind := mustWatch(t, slow, WatchRequest{Key: []byte("k"), StartRev: 2})
	require.False(t, slow.RequestProgressAll())
	slow.RequestProgress(behind)
	rs = receive(t, slow, untilEvents(behind, 1500))
	require.Len(t, rs, 3) // created and two batches
	require.True(t, slow.RequestProgressAll())
	rs = responses(t, slow, 1)
	require.Equal(t, WatchResponse{WatchID: InvalidWatchID, Revision: 1501}, rs[0])
}

func TestWatchOneStreamThousandWatchers(t *testing.T) {
	s, _ := newTestStore(t)
	ws := newStream(t, s)
	const watchers = 1000
	for i := range watchers {
		req := WatchRequest{Key: []byte("k")}
		if i%2 == 1 {
			req = WatchRequest{Key: []byte("k"), End: []byte("l"), StartRev: 1}
		}
		mustWatch(t, ws, req)
	}
	for i := range 20 {
		put(s, "k", string(rune('a'+i)))
	}
	rs := receive(t, ws, func(rs []WatchResponse) bool {
		n := 0
		for _, r := range rs {
			n += len(r.Events)
		}
		return n == watchers*20
	})
	perWatcher := make(map[WatchID][]string)
	for _, r := range rs {
		perWatcher[r.WatchID] = append(perWatcher[r.WatchID], eventStrings(r.Events)...)
	}
	require.Len(t, perWatcher, watchers)
	want := perWatcher[0]
	require.Len(t, want, 20)
	for id, got := range perWatcher {
		require.Equal(t, want, got, "watcher %d", id)
	}
	quiet(t, ws)
}

// TestWatchSlowConsumerIsBounded writes far more events than a stream may
// buffer to watchers whose consumer reads nothing: the writes never wait,
// the buffered events stay under the bound, and once the consumer reads,
// every watcher gets every event in order.
func TestWatchSlowConsumerIsBounded(t *testing.T) {
	eng := newMemEngine()
	cfg := testConfig
	cfg.FlushInterval = 5 * time.Millisecond
	cfg.WatchBufferEvents = 256
	s := openStore(t, eng, cfg)
	slow, fast := newStream(t, s), newStream(t, s)
	const watchers, revs = 10, 5000
	for range watchers {
		mustWatch(t, slow, WatchRequest{Key: []byte("k"), End: []byte("l")})
	}
	mustWatch(t, fast, WatchRequest{Key: []byte("k"), End: []byte("l")})
	bound := int64(cfg.WatchBufferEvents + watchBatchMaxRevs*2) // buffer + one batch, per stream
	var peak int64
	fastEvents := make(chan int)
	go func() {
		// The fast consumer keeps up; it stops at all events or 10s.
		n, deadline := 0, time.After(10*time.Second)
		for n < 2*revs {
			select {
			case <-fast.Ready():
				for r, ok := fast.Next(); ok; r, ok = fast.Next() {
					n += len(r.Events)
				}
			case <-deadline:
				fastEvents <- n
				return
			}
		}
		fastEvents <- n
	}()
	for i := range revs {
		tw := s.Write(s.ConsistentIndex() + 1)
		tw.Put([]byte("k1"), []byte{byte(i)}, 0)
		tw.Put([]byte("k2"), []byte{byte(i)}, 0)
		tw.End()
		peak = max(peak, s.WatchStats().BufferedEvents)
	}
	require.LessOrEqual(t, peak, 2*bound, "events buffered for 2 streams")
	stats := s.WatchStats()
	require.Positive(t, stats.Unsynced, "slow watchers fell behind")
	require.LessOrEqual(t, stats.BufferedEvents, 2*bound)
	// The fast consumer was never held back by the slow one.
	require.Equal(t, 2*revs, <-fastEvents)

	rs := receive(t, slow, func(rs []WatchResponse) bool {
		n := 0
		for _, r := range rs {
			n += len(r.Events)
		}
		return n == watchers*2*revs
	})
	for id := range WatchID(watchers) {
		evs := watcherEvents(rs, id)
		require.Len(t, evs, 2*revs)
		for i, ev := range evs {
			require.Equal(t, int64(2+i/2), ev.Kv.ModRevision, "watcher %d event %d", id, i)
			require.Equal(t, []byte{byte(i / 2)}, ev.Kv.Value)
		}
	}
	require.Eventually(t, func() bool { return s.WatchStats() == WatchStats{Synced: watchers + 1} },
		5*time.Second, 10*time.Millisecond)
}

func TestWatchStreamCloseDropsBuffered(t *testing.T) {
	s, _ := newTestStore(t)
	ws := s.NewWatchStream()
	mustWatch(t, ws, WatchRequest{Key: []byte("k")})
	put(s, "k", "v")
	require.Equal(t, int64(1), s.WatchStats().BufferedEvents)
	ws.Close()
	ws.Close()
	require.Equal(t, WatchStats{}, s.WatchStats())
	put(s, "k", "v")
	_, ok := ws.Next()
	require.False(t, ok)
}
