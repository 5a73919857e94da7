package mvcc

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// eventStrings renders events as "PUT k=v@mod(create,ver)" / "DELETE k@mod".
func eventStrings(evs []*mvccpb.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		kv := ev.Kv
		if ev.Type == mvccpb.Event_DELETE {
			out[i] = fmt.Sprintf("DELETE %s@%d", kv.Key, kv.ModRevision)
		} else {
			out[i] = fmt.Sprintf("PUT %s=%s@%d(%d,%d,l%d)", kv.Key, kv.Value, kv.ModRevision, kv.CreateRevision, kv.Version, kv.Lease)
		}
	}
	return out
}

// writeHistory writes revisions 2..7: one txn puts two keys (revision 4).
func writeHistory(t *testing.T, s *Store) {
	t.Helper()
	put(s, "a", "1") // 2
	put(s, "b", "2") // 3
	tw := s.Write(s.ConsistentIndex() + 1)
	tw.Put([]byte("a"), []byte("3"), 0)
	tw.Put([]byte("c"), []byte("4"), 7)
	tw.End()          // 4
	del(s, "a", "")   // 5
	put(s, "a", "6")  // 6
	del(s, "b", "c~") // 7: deletes b and c
}

var historyEvents = []string{
	"PUT a=1@2(2,1,l0)",
	"PUT b=2@3(3,1,l0)",
	"PUT a=3@4(2,2,l0)", "PUT c=4@4(4,1,l7)",
	"DELETE a@5",
	"PUT a=6@6(6,1,l0)",
	"DELETE b@7", "DELETE c@7",
}

func TestEventsReadBufferAndEngine(t *testing.T) {
	for _, flushAfter := range []int64{0, 1, 3, 4, 7} {
		t.Run(fmt.Sprintf("flushed-through-%d", flushAfter), func(t *testing.T) {
			s, _ := newTestStore(t)
			ctx := context.Background()
			writeHistory(t, s)
			if flushAfter > 0 {
				// Flush everything, then rewrite nothing: the records of
				// revisions after flushAfter stay only in the engine as
				// well; the reader must not return them twice.
				require.NoError(t, s.Flush(ctx))
			}
			evs, next, err := s.Events(ctx, 1, 7, 0)
			require.NoError(t, err)
			require.Equal(t, int64(8), next)
			require.Equal(t, historyEvents, eventStrings(evs))

			evs, next, err = s.Events(ctx, 4, 5, 0)
			require.NoError(t, err)
			require.Equal(t, int64(6), next)
			require.Equal(t, historyEvents[2:5], eventStrings(evs))
		})
	}
}

func TestEventsReturnWholeRevisions(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushed=%v", flush), func(t *testing.T) {
			s, _ := newTestStore(t)
			ctx := context.Background()
			writeHistory(t, s)
			if flush {
				require.NoError(t, s.Flush(ctx))
			}
			for _, tc := range []struct {
				from, limit int
				want        []string
				next        int64
			}{
				{from: 2, limit: 1, want: historyEvents[:1], next: 3},
				{from: 2, limit: 2, want: historyEvents[:2], next: 4},
				{from: 2, limit: 3, want: historyEvents[:2], next: 4},  // 4 has two events
				{from: 4, limit: 1, want: historyEvents[2:4], next: 5}, // one revision fills the page
				{from: 7, limit: 1, want: historyEvents[6:], next: 8},
				{from: 3, limit: 100, want: historyEvents[1:], next: 8},
			} {
				evs, next, err := s.Events(ctx, int64(tc.from), 7, tc.limit)
				require.NoError(t, err)
				require.Equal(t, tc.want, eventStrings(evs), "from %d limit %d", tc.from, tc.limit)
				require.Equal(t, tc.next, next, "from %d limit %d", tc.from, tc.limit)
			}
		})
	}
}

func TestEventsErrors(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	writeHistory(t, s)
	_, _, err := s.Events(ctx, 2, 8, 0)
	require.ErrorIs(t, err, ErrFutureRev)

	evs, next, err := s.Events(ctx, 8, 7, 0)
	require.NoError(t, err)
	require.Empty(t, evs)
	require.Equal(t, int64(8), next)

	done, err := s.Compact(s.ConsistentIndex()+1, 5)
	require.NoError(t, err)
	waitDone(t, done)
	_, _, err = s.Events(ctx, 4, 7, 0)
	require.ErrorIs(t, err, ErrCompacted)
	// The compaction revision itself stays readable, tombstones included.
	evs, _, err = s.Events(ctx, 5, 7, 0)
	require.NoError(t, err)
	require.Equal(t, historyEvents[4:], eventStrings(evs))
}
