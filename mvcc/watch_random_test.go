package mvcc

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// randomWatcher is a watcher of TestWatchRandom and what it was asked.
type randomWatcher struct {
	stream int
	id     WatchID
	req    WatchRequest
	// from is the first revision it must report.
	from int64
}

// streamConsumer takes a stream's responses at its own pace.
type streamConsumer struct {
	mu    sync.Mutex
	resps []WatchResponse
}

func (c *streamConsumer) run(ws *WatchStream, rng *rand.Rand, pause time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-ws.Ready():
		case <-stop:
			return
		}
		for r, ok := ws.Next(); ok; r, ok = ws.Next() {
			c.mu.Lock()
			c.resps = append(c.resps, r)
			c.mu.Unlock()
			if pause > 0 && rng.IntN(10) == 0 {
				time.Sleep(pause)
			}
		}
	}
}

func (c *streamConsumer) events(id WatchID) []*mvccpb.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return watcherEvents(c.resps, id)
}

// TestWatchRandom runs random transactions while watchers with random
// ranges, filters and start revisions (past, present and future) come and
// go on streams read fast, slowly and with tiny buffers. Every watcher must
// report exactly the history that Range reads back revision by revision:
// in order, whole, without loss or duplicates.
func TestWatchRandom(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runWatchRandom(t, seed) })
	}
}

func runWatchRandom(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	cfg := Config{FlushInterval: 2 * time.Millisecond, FlushOps: 50, CacheBytes: 16 * (cacheEntryOverhead + 8), WatchBufferEvents: 64}
	s := openStore(t, newMemEngine(), cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()

	streams := make([]*WatchStream, 4)
	consumers := make([]*streamConsumer, len(streams))
	for i := range streams {
		streams[i] = newStream(t, s)
		if i == 3 {
			streams[i].queue.maxEvents = 2
		}
		consumers[i] = &streamConsumer{}
		pause := time.Duration(i%3) * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			consumers[i].run(streams[i], rand.New(rand.NewPCG(seed, uint64(i))), pause, stop)
		}()
	}

	var watchers []randomWatcher
	const txns = 1200
	for n := range txns {
		if n%40 == 0 {
			watchers = append(watchers, addRandomWatcher(t, rng, s, streams))
		}
		randomTxn(rng, s)
	}
	final := s.Rev()
	states := make([]map[string]*mvccpb.KeyValue, final+1)
	for rev := int64(1); rev <= final; rev++ {
		states[rev] = make(map[string]*mvccpb.KeyValue)
		for _, kv := range rangeAll(t, s, rev).KVs {
			states[rev][string(kv.Key)] = kv
		}
	}
	for _, w := range watchers {
		want := expectedEvents(states, w)
		c := consumers[w.stream]
		require.Eventually(t, func() bool { return len(c.events(w.id)) >= len(want) },
			20*time.Second, 5*time.Millisecond, "watcher %+v: %d events expected", w, len(want))
		got := c.events(w.id)
		require.Equal(t, eventStrings(want), eventStrings(sortWithinRevisions(got)), "watcher %+v", w)
		for i := 1; i < len(got); i++ {
			require.LessOrEqual(t, got[i-1].Kv.ModRevision, got[i].Kv.ModRevision, "order of watcher %+v", w)
		}
	}
	// Each response holds whole revisions.
	for _, c := range consumers {
		c.mu.Lock()
		resps := slices.Clone(c.resps)
		c.mu.Unlock()
		seen := make(map[WatchID]int64)
		for _, r := range resps {
			if len(r.Events) > 0 {
				first := r.Events[0].Kv.ModRevision
				require.Less(t, seen[r.WatchID], first, "revision %d split across responses", first)
				seen[r.WatchID] = r.Events[len(r.Events)-1].Kv.ModRevision
			}
		}
	}
}

var randomKeys = []string{"a", "b", "c", "d", "e", "f", "g", "h"}

// randomTxn writes 1-4 changes to distinct keys, so that Range at each
// revision tells every event of the history.
func randomTxn(rng *rand.Rand, s *Store) {
	tw := s.Write(s.ConsistentIndex() + 1)
	defer tw.End()
	for _, i := range rng.Perm(len(randomKeys))[:1+rng.IntN(4)] {
		key := []byte(randomKeys[i])
		if rng.IntN(4) == 0 {
			tw.DeleteRange(key, nil)
		} else {
			tw.Put(key, fmt.Appendf(nil, "v%d", rng.IntN(1000)), rng.Int64N(2))
		}
	}
}

func addRandomWatcher(t *testing.T, rng *rand.Rand, s *Store, streams []*WatchStream) randomWatcher {
	cur := s.Rev()
	w := randomWatcher{stream: rng.IntN(len(streams))}
	switch rng.IntN(3) {
	case 0:
		w.req = WatchRequest{Key: []byte(randomKeys[rng.IntN(len(randomKeys))])}
	case 1:
		w.req = WatchRequest{Key: []byte("b"), End: []byte("f")}
	default:
		w.req = WatchRequest{Key: []byte("d"), End: []byte{0}}
	}
	switch rng.IntN(4) {
	case 0: // now
	case 1:
		w.req.StartRev = cur + 1 + rng.Int64N(50)
	default:
		w.req.StartRev = 1 + rng.Int64N(cur)
	}
	w.req.NoPut = rng.IntN(8) == 0
	w.req.NoDelete = !w.req.NoPut && rng.IntN(8) == 0
	w.from = max(w.req.StartRev, 2)
	if w.req.StartRev == 0 {
		w.from = cur + 1
	}
	w.id = mustWatch(t, streams[w.stream], w.req)
	return w
}

// expectedEvents derives a watcher's events from the states at each
// revision, sorted by key within a revision.
func expectedEvents(states []map[string]*mvccpb.KeyValue, w randomWatcher) []*mvccpb.Event {
	var out []*mvccpb.Event
	for rev := w.from; rev < int64(len(states)); rev++ {
		for _, key := range randomKeys {
			if !watches(w.req, []byte(key)) {
				continue
			}
			before, after := states[rev-1][key], states[rev][key]
			switch {
			case after != nil && after.ModRevision == rev && !w.req.NoPut:
				out = append(out, &mvccpb.Event{Type: mvccpb.Event_PUT, Kv: after})
			case before != nil && after == nil && !w.req.NoDelete:
				out = append(out, &mvccpb.Event{Type: mvccpb.Event_DELETE, Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: rev}})
			}
		}
	}
	return out
}

func watches(req WatchRequest, key []byte) bool {
	switch {
	case req.End == nil:
		return bytes.Equal(key, req.Key)
	case isFromKey(req.End):
		return bytes.Compare(key, req.Key) >= 0
	default:
		return bytes.Compare(key, req.Key) >= 0 && bytes.Compare(key, req.End) < 0
	}
}

// sortWithinRevisions orders the events of each revision by key.
func sortWithinRevisions(evs []*mvccpb.Event) []*mvccpb.Event {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b *mvccpb.Event) int {
		if a.Kv.ModRevision != b.Kv.ModRevision {
			return int(a.Kv.ModRevision - b.Kv.ModRevision)
		}
		return bytes.Compare(a.Kv.Key, b.Kv.Key)
	})
	return out
}

// TestWatchRandomHistoryAcrossRestart checks that a watcher of a reopened
// store replays the history written before the restart.
func TestWatchRandomHistoryAcrossRestart(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	eng := newMemEngine()
	s := openStore(t, eng, testConfig)
	for range 300 {
		randomTxn(rng, s)
	}
	want, _, err := s.Events(context.Background(), 2, s.Rev(), 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openStore(t, eng, testConfig)
	ws := newStream(t, s)
	id := mustWatch(t, ws, WatchRequest{Key: []byte{0}, End: []byte{}, StartRev: 2})
	rs := receive(t, ws, untilEvents(id, len(want)))
	require.Equal(t, eventStrings(want), eventStrings(watcherEvents(rs, id)))
}
