package apply

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/alarm"
	"github.com/metastore/metastore/etcdapi/auth"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/etcdapi/membership"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

// log drives an applier one entry at a time, as the raft loop does.
type log struct {
	t       testing.TB
	a       *Applier
	store   *mvcc.Store
	index   uint64
	results map[uint64]Result
	ops     []string
}

func newLog(t testing.TB) *log {
	lg := zaptest.NewLogger(t)
	eng := memory.New()
	_, err := eng.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	store, err := mvcc.New(lg, eng, 0, mvcc.Config{FlushInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	l := &log{t: t, store: store, results: map[uint64]Result{}}
	l.a = New(Deps{
		Log: lg, Store: store, Leases: lease.New(lg, lease.Config{}, time.Now), Members: membership.New(0),
		Alarms: alarm.NewStore(), Auth: auth.NewStore(lg),
		Done: func(id uint64, res Result) { l.results[id] = res },
	})
	l.a.Observe(func(op string, _ bool, _ time.Duration) { l.ops = append(l.ops, op) })
	return l
}

// apply appends r as the next entry, as user at auth revision rev, and
// returns its result.
func (l *log) apply(r *pb.InternalRaftRequest, user string, rev uint64) Result {
	l.index++
	r.Header = &pb.RequestHeader{ID: 1000 + l.index, Username: user, AuthRevision: rev}
	data, err := proto.Marshal(r)
	require.NoError(l.t, err)
	l.a.Apply([]*raftpb.Entry{entry(l.index, 1, data)})
	require.Equal(l.t, l.index, l.store.ConsistentIndex(), "every applied entry advances the consistent index")
	return l.results[1000+l.index]
}

func entry(index, term uint64, data []byte) *raftpb.Entry {
	return &raftpb.Entry{Type: raftpb.EntryNormal.Enum(), Index: new(index), Term: new(term), Data: data}
}

func putReq(key string) *pb.InternalRaftRequest {
	return &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte(key), Value: []byte("v")}}
}

func alarmReq(action pb.AlarmRequest_AlarmAction) *pb.InternalRaftRequest {
	return &pb.InternalRaftRequest{Alarm: &pb.AlarmRequest{Action: action, MemberID: 1, Alarm: pb.AlarmType_CORRUPT}}
}

// TestApplyOrder: the corruption guard first, then auth, then the
// request's kind; a refusal at any step changes nothing but the
// consistent index.
func TestApplyOrder(t *testing.T) {
	l := newLog(t)
	res := l.apply(putReq("a"), "", 0)
	require.NoError(t, res.Err)
	require.EqualValues(t, 2, res.Resp.(*pb.PutResponse).Header.Revision)

	// Auth on: root exists, user u may not write.
	noPW := &authpb.UserAddOptions{NoPassword: true}
	for _, r := range []*pb.InternalRaftRequest{
		{AuthUserAdd: &pb.AuthUserAddRequest{Name: "root", Options: noPW}},
		{AuthUserGrantRole: &pb.AuthUserGrantRoleRequest{User: "root", Role: "root"}},
		{AuthUserAdd: &pb.AuthUserAddRequest{Name: "u", Options: noPW}},
		{AuthEnable: &pb.AuthEnableRequest{}},
	} {
		require.NoError(t, l.apply(r, "root", 0).Err)
	}
	_, authRev := l.a.auth.Status()

	require.ErrorIs(t, l.apply(putReq("b"), "u", authRev).Err, auth.ErrPermissionDenied)
	require.ErrorIs(t, l.apply(putReq("b"), "root", authRev-1).Err, auth.ErrAuthOldRevision,
		"a request proposed before the auth change is checked against it")
	require.NoError(t, l.apply(putReq("b"), "root", authRev).Err)
	require.EqualValues(t, 3, l.store.Rev())

	// CORRUPT refuses writes before auth is asked: even root's, even a
	// request auth would refuse.
	require.NoError(t, l.apply(alarmReq(pb.AlarmRequest_ACTIVATE), "root", authRev).Err)
	require.ErrorIs(t, l.apply(putReq("c"), "root", authRev).Err, ErrCorrupt)
	require.ErrorIs(t, l.apply(putReq("c"), "u", authRev).Err, ErrCorrupt)
	require.ErrorIs(t, l.apply(&pb.InternalRaftRequest{LeaseGrant: &pb.LeaseGrantRequest{ID: 5, TTL: 10}}, "root", authRev).Err, ErrCorrupt)
	require.EqualValues(t, 3, l.store.Rev(), "nothing was written while CORRUPT")
	require.NoError(t, l.apply(alarmReq(pb.AlarmRequest_DEACTIVATE), "root", authRev).Err)
	require.NoError(t, l.apply(putReq("c"), "root", authRev).Err)
	require.EqualValues(t, 4, l.store.Rev())

	require.Equal(t, []string{"Put", "AuthUserAdd", "AuthUserGrantRole", "AuthUserAdd", "AuthEnable", "Put", "Put", "Put",
		"Alarm", "Put", "Put", "LeaseGrant", "Alarm", "Put"}, l.ops, "the observer hears every request by etcd's name")
}

func TestApplySkipsWhatTheStoreHolds(t *testing.T) {
	l := newLog(t)
	require.NoError(t, l.apply(putReq("a"), "", 0).Err)
	data, err := proto.Marshal(&pb.InternalRaftRequest{Header: &pb.RequestHeader{ID: 7}, Put: &pb.PutRequest{Key: []byte("again")}})
	require.NoError(t, err)
	l.a.Apply([]*raftpb.Entry{entry(1, 1, data)})
	_, answered := l.results[7]
	require.False(t, answered, "an entry at or below the consistent index is not applied again")
	require.EqualValues(t, 2, l.store.Rev())

	// An entry without a request (a leader's no-op) only advances the
	// consistent index.
	l.a.Apply([]*raftpb.Entry{entry(2, 2, nil)})
	require.EqualValues(t, 2, l.store.ConsistentIndex())
	require.EqualValues(t, 2, l.store.Rev())
}

// TestApplyInPlaceAsDecoded: a member applies the key space writes it
// proposed from the proposer's own requests (Deps.Proposed), its peers
// decode them from the entries; both must end in the same state, with the
// same results. The requests hold what decoding would leave otherwise:
// empty but present bytes, a comparison with an empty value, nested txns.
func TestApplyInPlaceAsDecoded(t *testing.T) {
	decoded, inPlace := newLog(t), newLog(t)
	proposed := map[uint64]*pb.InternalRaftRequest{}
	used := 0
	inPlace.a.proposed = func(id uint64, _ []byte) *pb.InternalRaftRequest {
		r := proposed[id]
		if r != nil {
			used++
		}
		return r
	}
	put := func(k, v string, o ...func(*pb.PutRequest)) *pb.RequestOp {
		p := &pb.PutRequest{Key: []byte(k), Value: []byte(v)}
		for _, f := range o {
			f(p)
		}
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: p}}
	}
	prevKV := func(p *pb.PutRequest) { p.PrevKv = true }
	ignoreValue := func(p *pb.PutRequest) { p.IgnoreValue, p.Value = true, []byte{} }
	del := func(k, end string, prev bool) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{
			RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(k), RangeEnd: []byte(end), PrevKv: prev}}}
	}
	get := func(k, end string) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{
			RequestRange: &pb.RangeRequest{Key: []byte(k), RangeEnd: []byte(end)}}}
	}
	valueIs := func(k, v string) *pb.Compare {
		return &pb.Compare{Key: []byte(k), Target: pb.Compare_VALUE, Result: pb.Compare_EQUAL,
			TargetUnion: &pb.Compare_Value{Value: []byte(v)}}
	}
	versionIs := func(k string, v int64, end string) *pb.Compare {
		return &pb.Compare{Key: []byte(k), RangeEnd: []byte(end), Target: pb.Compare_VERSION,
			Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Version{Version: v}}
	}
	txnOf := func(cmps []*pb.Compare, then, els []*pb.RequestOp) *pb.TxnRequest {
		return &pb.TxnRequest{Compare: cmps, Success: then, Failure: els}
	}
	requests := []*pb.InternalRaftRequest{
		{Put: put("a", "1").GetRequestPut()},
		{Put: put("b", "", prevKV).GetRequestPut()},
		{Put: put("a", "", ignoreValue, prevKV).GetRequestPut()},
		{Put: put("missing", "", ignoreValue).GetRequestPut()}, // fails: no key to keep the value of
		{Txn: txnOf([]*pb.Compare{valueIs("b", "")}, []*pb.RequestOp{put("c", "3"), get("a", "z")}, nil)},
		{Txn: txnOf([]*pb.Compare{versionIs("a", 0, "")}, []*pb.RequestOp{put("x", "no")},
			[]*pb.RequestOp{del("c", "", true), {Request: &pb.RequestOp_RequestTxn{RequestTxn: txnOf(
				[]*pb.Compare{versionIs("a", 2, "\x00")}, []*pb.RequestOp{put("d", "4", prevKV)}, nil)}}})},
		{DeleteRange: &pb.DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte{}, PrevKv: true}},
		{DeleteRange: &pb.DeleteRangeRequest{Key: []byte("b"), RangeEnd: []byte("\x00")}},
		{Put: put("e", "5").GetRequestPut()},
	}
	for i, r := range requests {
		want := decoded.apply(proto.Clone(r).(*pb.InternalRaftRequest), "", 0)
		proposed[1000+inPlace.index+1] = r
		got := inPlace.apply(r, "", 0)
		require.Equal(t, want.Err, got.Err, "request %d: %v", i, r)
		require.True(t, proto.Equal(want.Resp, got.Resp), "request %d: %v\nwant %v\ngot  %v", i, r, want.Resp, got.Resp)
	}
	require.Equal(t, len(requests), used, "every request was applied in place")
	wantHash, _, _, err := decoded.store.HashKV(0)
	require.NoError(t, err)
	gotHash, _, _, err := inPlace.store.HashKV(0)
	require.NoError(t, err)
	require.Equal(t, wantHash, gotHash)
	require.Equal(t, decoded.store.Rev(), inPlace.store.Rev())
}

// TestCompactionOfACompactedRevisionWaitsForTheOnesBefore: a compaction
// of a revision compacted already is refused with a barrier that closes
// only once the compactions before it have finished, so that a physical
// one waits for them, as etcd's does (a HashKV after it then finds their
// hashes).
func TestCompactionOfACompactedRevisionWaitsForTheOnesBefore(t *testing.T) {
	l := newLog(t)
	for i := range 50 {
		l.apply(putReq(string(rune('a'+i%26))), "", 0)
	}
	first := l.apply(&pb.InternalRaftRequest{Compaction: &pb.CompactionRequest{Revision: 40}}, "", 0)
	require.NoError(t, first.Err)
	require.NotNil(t, first.Physc)
	again := l.apply(&pb.InternalRaftRequest{Compaction: &pb.CompactionRequest{Revision: 40, Physical: true}}, "", 0)
	require.ErrorIs(t, again.Err, mvcc.ErrCompacted)
	require.NotNil(t, again.Physc, "a refused compaction still says when the ones before it are done")
	select {
	case <-again.Physc:
	case <-time.After(10 * time.Second):
		t.Fatal("the barrier never closed")
	}
	select {
	case <-first.Physc:
	default:
		t.Fatal("the barrier closed before the compaction queued before it finished")
	}
}
