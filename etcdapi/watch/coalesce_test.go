package watch

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/mvcc"
)

func eventsAt(rev int64, keys ...string) []*mvccpb.Event {
	evs := make([]*mvccpb.Event, len(keys))
	for i, k := range keys {
		evs[i] = &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(k), ModRevision: rev}}
	}
	return evs
}

// summary writes each response as "id@rev:n" (n events), or with a
// marker for what else it carries.
func summary(rs []mvcc.WatchResponse) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%d@%d:%d", r.WatchID, r.Revision, len(r.Events))
		switch {
		case r.Created:
			s += " created"
		case r.Canceled:
			s += " canceled"
		case r.CompactRevision != 0:
			s += " compacted"
		case len(r.Events) == 0:
			s += " progress"
		}
		out = append(out, s)
	}
	return out
}

func TestCoalescerMergesEachWatchersEventsInOrder(t *testing.T) {
	shared := eventsAt(2, "a")
	c := newCoalescer()
	c.add(mvcc.WatchResponse{WatchID: 1, Events: shared, Revision: 2})
	c.add(mvcc.WatchResponse{WatchID: 2, Events: shared, Revision: 2})
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(3, "b", "c"), Revision: 3})
	c.add(mvcc.WatchResponse{WatchID: 2, Events: eventsAt(4, "d"), Revision: 4})
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(4, "d"), Revision: 4})
	require.Equal(t, []string{"1@4:4", "2@4:2"}, summary(c.out))
	var revs []int64
	for _, ev := range c.out[0].Events {
		revs = append(revs, ev.Kv.ModRevision)
	}
	require.Equal(t, []int64{2, 3, 3, 4}, revs)
	require.Len(t, shared, 1, "the store's shared slice is not appended to")
	require.Equal(t, cap(shared), 1)

	c.reset()
	require.Empty(t, c.out)
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(5, "e"), Revision: 5})
	require.Equal(t, []string{"1@5:1"}, summary(c.out), "nothing merges across rounds")
}

func TestCoalescerKeepsNoticesBetweenEvents(t *testing.T) {
	c := newCoalescer()
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(2, "a"), Revision: 2})
	c.add(mvcc.WatchResponse{WatchID: 2, Events: eventsAt(2, "a"), Revision: 2})
	c.add(mvcc.WatchResponse{WatchID: 1, Revision: 2}) // progress of watcher 1
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(3, "b"), Revision: 3})
	c.add(mvcc.WatchResponse{WatchID: 2, Events: eventsAt(3, "b"), Revision: 3})
	require.Equal(t, []string{"1@2:1", "2@3:2", "1@2:0 progress", "1@3:1"}, summary(c.out),
		"watcher 1's events do not pass its own notice; watcher 2's merge")

	c.reset()
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(2, "a"), Revision: 2})
	c.add(mvcc.WatchResponse{WatchID: mvcc.InvalidWatchID, Revision: 2}) // progress of the whole stream
	c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(3, "b"), Revision: 3})
	require.Equal(t, []string{"1@2:1", "-1@2:0 progress", "1@3:1"}, summary(c.out),
		"no event passes a stream-wide notice")

	c.reset()
	c.add(mvcc.WatchResponse{WatchID: 3, Created: true, Revision: 1})
	c.add(mvcc.WatchResponse{WatchID: 3, Events: eventsAt(2, "a"), Revision: 2})
	c.add(mvcc.WatchResponse{WatchID: 3, Events: eventsAt(3, "a"), Revision: 3})
	c.add(mvcc.WatchResponse{WatchID: 3, Canceled: true, Revision: 3})
	c.add(mvcc.WatchResponse{WatchID: 4, Events: eventsAt(3, "a"), Revision: 3})
	c.add(mvcc.WatchResponse{WatchID: 4, CompactRevision: 5})
	c.add(mvcc.WatchResponse{WatchID: 4, Events: eventsAt(6, "a"), Revision: 6})
	require.Equal(t, []string{"3@1:0 created", "3@3:2", "3@3:0 canceled", "4@3:1", "4@0:0 compacted", "4@6:1"}, summary(c.out))
}

func TestCoalescerBoundsAResponse(t *testing.T) {
	c := newCoalescer()
	for rev := int64(1); rev <= coalesceMaxEvents+1; rev++ {
		c.add(mvcc.WatchResponse{WatchID: 1, Events: eventsAt(rev, "k"), Revision: rev})
	}
	require.Equal(t, []string{"1@1000:1000", "1@1001:1"}, summary(c.out), "at most 1,000 events")

	c.reset()
	big := make([]byte, coalesceMaxBytes/2)
	for rev := int64(1); rev <= 3; rev++ {
		evs := []*mvccpb.Event{{Kv: &mvccpb.KeyValue{Key: []byte("k"), Value: big, ModRevision: rev}}}
		c.add(mvcc.WatchResponse{WatchID: 1, Events: evs, Revision: rev})
	}
	require.Equal(t, []string{"1@1:1", "1@2:1", "1@3:1"}, summary(c.out), "at most 1 MiB of keys and values")
}

// TestWatchMergesWhatAStalledClientMissed: a client that does not read
// while 200 revisions are written gets them, once it reads, in fewer
// responses than revisions, every watcher every event in order, each
// response's header at its last event's revision.
func TestWatchMergesWhatAStalledClientMissed(t *testing.T) {
	store, wc := watchTestServer(t, Deps{}, mvcc.Config{})
	stream := openWatch(t, wc)
	for id := int64(1); id <= 3; id++ {
		createWatch(t, stream, &pb.WatchCreateRequest{Key: []byte("k"), RangeEnd: []byte("l"), WatchId: id})
	}
	// 16 KiB values fill gRPC's flow control window within a few
	// responses, so the send loop blocks and the rest wait queued.
	const revs = 200
	value := make([]byte, 16<<10)
	for i := range revs {
		putKey(t, store, fmt.Sprintf("k%d", i), value)
	}
	last := map[int64]int64{1: 1, 2: 1, 3: 1}
	responses := 0
	for n := 0; n < 3*revs; {
		resp, err := stream.Recv()
		require.NoError(t, err)
		require.NotEmpty(t, resp.Events)
		responses++
		for _, ev := range resp.Events {
			require.Equal(t, last[resp.WatchId]+1, ev.Kv.ModRevision, "watcher %d skipped or repeated", resp.WatchId)
			last[resp.WatchId] = ev.Kv.ModRevision
			n++
		}
		require.Equal(t, last[resp.WatchId], resp.Header.Revision)
	}
	require.Less(t, responses, 3*revs/2, "responses for %d events", 3*revs)
}
