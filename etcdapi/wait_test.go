package etcdapi

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/etcdapi/apply"
)

// TestDeadlinesNeverEarly: a request's deadline never closes before the
// request timeout has passed, and requests starting together share one.
func TestDeadlinesNeverEarly(t *testing.T) {
	d := newDeadlines(50*time.Millisecond, nil)
	start := time.Now()
	a, b := d.after(), d.after()
	require.Same(t, a, b, "requests within a tick share a deadline")
	<-a.expired
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	later := time.Now()
	c := d.after()
	require.NotSame(t, a, c, "a request after the deadline gets a new one")
	<-c.expired
	require.GreaterOrEqual(t, time.Since(later), 50*time.Millisecond)
}

// TestWaitsFailAtTheirDeadlineAndAtStop: a proposal's wait gets its
// result, or the timeout once its deadline passes, or ErrStopped when
// the server stops, each on its one channel.
func TestWaitsFailAtTheirDeadlineAndAtStop(t *testing.T) {
	w := newWaitRegistry()
	d := newDeadlines(30*time.Millisecond, w.expire)
	dl := d.after()
	answered := w.registerUntil(1, dl, nil, nil)
	late := w.registerUntil(2, dl, nil, nil)
	w.trigger(1, apply.Result{Err: apply.ErrCorrupt})
	require.Equal(t, apply.ErrCorrupt, (<-answered).Err)

	start := time.Now()
	res := <-late
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	require.Equal(t, dropped{context.DeadlineExceeded}, res.Err)
	w.trigger(2, apply.Result{}) // a result after the timeout is dropped
	require.Empty(t, late)

	waiting := w.registerUntil(3, d.after(), nil, nil)
	w.stop()
	require.Equal(t, dropped{ErrStopped}, (<-waiting).Err)
	require.Equal(t, dropped{ErrStopped}, (<-w.register(4)).Err, "a wait after stop fails at once")
	require.Zero(t, w.pending())
}

// TestProposedOnlyForItsOwnEntry: the applier gets the proposer's request
// only for the entry it was encoded into, and only while the proposer
// waits: an entry of another member's proposal whose id met this one's
// is decoded, as is one no proposer here waits for.
func TestProposedOnlyForItsOwnEntry(t *testing.T) {
	w := newWaitRegistry()
	req := &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}}
	data := []byte("the entry's bytes")
	w.registerUntil(7, nil, req, data)
	w.registerUntil(8, nil, nil, []byte("a lease grant's"))

	require.Same(t, req, w.proposed(7, []byte("the entry's bytes")))
	require.Nil(t, w.proposed(7, []byte("another member's entry")), "same id, other bytes")
	require.Nil(t, w.proposed(8, []byte("a lease grant's")), "registered without a request")
	require.Nil(t, w.proposed(9, data), "nobody waits")
	w.cancel(7)
	require.Nil(t, w.proposed(7, data), "the proposer went away")
}
