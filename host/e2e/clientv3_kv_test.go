package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// transcript records responses and errors of clientv3 calls in a form that
// can be compared between servers.
type transcript struct {
	lines []string
}

func (tr *transcript) add(what string, resp proto.Message, err error) {
	var s string
	if err != nil {
		st, _ := status.FromError(err)
		s = fmt.Sprintf("%s: error code=%s msg=%q", what, st.Code(), st.Message())
	} else {
		b, merr := protojson.MarshalOptions{UseProtoNames: true}.Marshal(resp)
		if merr != nil {
			s = what + ": cannot marshal: " + merr.Error()
		} else {
			s = what + ": " + string(b)
		}
	}
	tr.lines = append(tr.lines, mask(compactJSON(s)))
}

// compactJSON removes the random spaces protojson inserts.
func compactJSON(s string) string {
	s = strings.ReplaceAll(s, ":  ", ":")
	s = strings.ReplaceAll(s, ": ", ":")
	s = strings.ReplaceAll(s, ",  ", ",")
	return strings.ReplaceAll(s, ", ", ",")
}

// requireSameClientResults runs script against fresh etcd and MetaStore
// servers through clientv3 and requires identical transcripts.
func requireSameClientResults(t *testing.T, script func(ctx context.Context, kv pb.KVClient, tr *transcript)) {
	t.Helper()
	etcd, ms := servers(t)
	run := func(m *hosttest.Process) []string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cli := m.Client(t)
		tr := &transcript{}
		script(ctx, pb.NewKVClient(cli.ActiveConnection()), tr)
		return tr.lines
	}
	want, got := run(etcd), run(ms)
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "call %d differs from etcd", i)
	}
}

func put(k, v string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k), Value: []byte(v)}}}
}

func get(k, end string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte(k), RangeEnd: []byte(end)}}}
}

func del(k, end string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(k), RangeEnd: []byte(end), PrevKv: true}}}
}

func nested(t *pb.TxnRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: t}}
}

func TestClientKVErrorsMatchEtcd(t *testing.T) {
	requireSameClientResults(t, func(ctx context.Context, kv pb.KVClient, tr *transcript) {
		r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("a")})
		tr.add("empty store", r, err)
		p, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1")})
		tr.add("put", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Value: []byte("1")})
		tr.add("empty key", p, err)
		r, err = kv.Range(ctx, &pb.RangeRequest{})
		tr.add("range empty key", r, err)
		r, err = kv.Range(ctx, &pb.RangeRequest{Key: []byte("a"), SortOrder: 9})
		tr.add("bad sort order", r, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("x"), IgnoreValue: true})
		tr.add("value provided", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Lease: 5, IgnoreLease: true})
		tr.add("lease provided", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("zz"), IgnoreValue: true})
		tr.add("ignore value missing key", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1"), Lease: 99})
		tr.add("lease not found", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("big"), Value: make([]byte, 1536*1024)})
		tr.add("request too large", p, err)
		d, err := kv.DeleteRange(ctx, &pb.DeleteRangeRequest{})
		tr.add("delete empty key", d, err)
		r, err = kv.Range(ctx, &pb.RangeRequest{Key: []byte("a"), Revision: 50})
		tr.add("future rev", r, err)
		c, err := kv.Compact(ctx, &pb.CompactionRequest{Revision: 50})
		tr.add("compact future", c, err)
		c, err = kv.Compact(ctx, &pb.CompactionRequest{Revision: 2, Physical: true})
		tr.add("compact", c, err)
		r, err = kv.Range(ctx, &pb.RangeRequest{Key: []byte("a"), Revision: 1})
		tr.add("compacted", r, err)
		c, err = kv.Compact(ctx, &pb.CompactionRequest{Revision: 1})
		tr.add("compact compacted", c, err)
	})
}

func TestClientTxnMatchesEtcd(t *testing.T) {
	requireSameClientResults(t, func(ctx context.Context, kv pb.KVClient, tr *transcript) {
		for _, k := range []string{"a", "b", "c"} {
			p, err := kv.Put(ctx, &pb.PutRequest{Key: []byte(k), Value: []byte(k + "1")})
			tr.add("put "+k, p, err)
		}
		txns := []struct {
			name string
			req  *pb.TxnRequest
		}{
			{"too many ops", &pb.TxnRequest{Success: manyPuts(129)}},
			{"max ops", &pb.TxnRequest{Success: manyPuts(128)}},
			{"duplicate put", &pb.TxnRequest{Success: []*pb.RequestOp{put("a", "1"), put("a", "2")}}},
			{"put in deleted range", &pb.TxnRequest{Success: []*pb.RequestOp{del("a", "c"), put("b", "2")}}},
			{"dup via nested", &pb.TxnRequest{Success: []*pb.RequestOp{put("a", "1"), nested(&pb.TxnRequest{Success: []*pb.RequestOp{put("a", "2")}})}}},
			{"then/else same key ok", &pb.TxnRequest{Success: []*pb.RequestOp{nested(&pb.TxnRequest{Success: []*pb.RequestOp{put("n", "1")}, Failure: []*pb.RequestOp{put("n", "2")}})}}},
			{"empty op", &pb.TxnRequest{Success: []*pb.RequestOp{{}}}},
			{"compare empty key", &pb.TxnRequest{Compare: []*pb.Compare{{Target: pb.Compare_VERSION}}}},
			{"range compare", &pb.TxnRequest{
				Compare: []*pb.Compare{{Key: []byte("a"), RangeEnd: []byte("d"), Target: pb.Compare_VERSION, Result: pb.Compare_GREATER, TargetUnion: &pb.Compare_Version{Version: 0}}},
				Success: []*pb.RequestOp{get("a", "d"), put("d", "d1")},
				Failure: []*pb.RequestOp{put("e", "fail")},
			}},
			{"from-key compare fails", &pb.TxnRequest{
				Compare: []*pb.Compare{{Key: []byte("a"), RangeEnd: []byte{0}, Target: pb.Compare_VALUE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Value{Value: []byte("a1")}}},
				Success: []*pb.RequestOp{put("x", "1")},
				Failure: []*pb.RequestOp{get("a", "\x00"), del("c", ""), get("c", "")},
			}},
			{"nested", &pb.TxnRequest{
				Compare: []*pb.Compare{{Key: []byte("a"), Target: pb.Compare_MOD, Result: pb.Compare_LESS, TargetUnion: &pb.Compare_ModRevision{ModRevision: 100}}},
				Success: []*pb.RequestOp{
					put("p", "1"),
					nested(&pb.TxnRequest{
						Compare: []*pb.Compare{{Key: []byte("p"), Target: pb.Compare_CREATE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_CreateRevision{CreateRevision: 0}}},
						Success: []*pb.RequestOp{put("q", "created-p-before")},
						Failure: []*pb.RequestOp{put("q", "p-existed"), get("p", "")},
					}),
					get("p", "r"),
				},
			}},
			{"read only", &pb.TxnRequest{Success: []*pb.RequestOp{get("a", ""), get("a", "z")}}},
			{"read only future rev", &pb.TxnRequest{Success: []*pb.RequestOp{get("a", ""), {Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte("a"), Revision: 1000}}}}}},
			{"write with future rev range", &pb.TxnRequest{Success: []*pb.RequestOp{put("w", "1"), {Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte("a"), Revision: 1000}}}}}},
			{"no ops", &pb.TxnRequest{}},
			{"lease compare", &pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("zz"), Target: pb.Compare_LEASE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Lease{Lease: 0}}}, Success: []*pb.RequestOp{put("zz", "1")}}},
			{"value compare missing", &pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("missing"), Target: pb.Compare_VALUE, Result: pb.Compare_NOT_EQUAL, TargetUnion: &pb.Compare_Value{Value: []byte("x")}}}, Success: []*pb.RequestOp{put("m", "1")}}},
		}
		for _, tx := range txns {
			resp, err := kv.Txn(ctx, tx.req)
			tr.add(tx.name, resp, err)
		}
		r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}})
		tr.add("final", r, err)
	})
}

func manyPuts(n int) []*pb.RequestOp {
	ops := make([]*pb.RequestOp, n)
	for i := range ops {
		ops[i] = put(fmt.Sprintf("many%03d", i), "v")
	}
	return ops
}

func TestClientRangeStreamMatchesEtcd(t *testing.T) {
	requireSameClientResults(t, func(ctx context.Context, kv pb.KVClient, tr *transcript) {
		for i := range 60 {
			_, err := kv.Put(ctx, &pb.PutRequest{Key: fmt.Appendf(nil, "s%03d", i), Value: []byte(strings.Repeat("v", i))})
			if err != nil {
				tr.add("put", nil, err)
			}
		}
		for _, r := range []*pb.RangeRequest{
			{Key: []byte("s"), RangeEnd: []byte("t")},
			{Key: []byte("s"), RangeEnd: []byte("t"), Limit: 25},
			{Key: []byte("s"), RangeEnd: []byte("t"), CountOnly: true},
			{Key: []byte("s"), RangeEnd: []byte("t"), KeysOnly: true, Revision: 30},
			{Key: []byte("s"), RangeEnd: []byte("t"), SortOrder: pb.RangeRequest_DESCEND},
			{Key: []byte("s"), RangeEnd: []byte("t"), MinModRevision: 3},
		} {
			stream, err := kv.RangeStream(ctx, r)
			if err != nil {
				tr.add("rangestream open", nil, err)
				continue
			}
			merged := &pb.RangeResponse{}
			for {
				chunk, err := stream.Recv()
				if err != nil {
					if err.Error() != "EOF" {
						tr.add("rangestream", nil, err)
					}
					break
				}
				proto.Merge(merged, chunk.RangeResponse)
			}
			tr.add("rangestream merged", merged, nil)
		}
	})
}

// TestClientv3KVSurface drives the typed clientv3 API (what applications
// use) against MetaStore alone, checking values that etcd gives.
func TestClientv3KVSurface(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	resp, err := cli.Get(ctx, "any")
	require.NoError(t, err)
	require.Equal(t, int64(1), resp.Header.Revision, "an empty store reads at revision 1")

	pr, err := cli.Put(ctx, "k", "v1")
	require.NoError(t, err)
	require.Equal(t, int64(2), pr.Header.Revision)
	pr, err = cli.Put(ctx, "k", "v2", clientv3.WithPrevKV())
	require.NoError(t, err)
	require.Equal(t, "v1", string(pr.PrevKv.Value))
	require.Equal(t, int64(3), pr.Header.Revision)

	gr, err := cli.Get(ctx, "k")
	require.NoError(t, err)
	require.Len(t, gr.Kvs, 1)
	kv := gr.Kvs[0]
	require.Equal(t, []int64{2, 3, 2}, []int64{kv.CreateRevision, kv.ModRevision, kv.Version})

	tx, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version("k"), "=", 2)).
		Then(clientv3.OpPut("k", "v3"), clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.Value("k"), "=", "v2")},
			[]clientv3.Op{clientv3.OpPut("inner", "then")},
			[]clientv3.Op{clientv3.OpPut("inner", "else")})).
		Commit()
	require.NoError(t, err)
	require.True(t, tx.Succeeded)
	require.True(t, tx.Responses[1].GetResponseTxn().Succeeded, "nested compares see the state before the txn")

	dr, err := cli.Delete(ctx, "", clientv3.WithFromKey(), clientv3.WithPrevKV())
	require.NoError(t, err)
	require.Equal(t, int64(2), dr.Deleted)
	require.Equal(t, int64(5), dr.Header.Revision)

	_, err = cli.Compact(ctx, 4, clientv3.WithCompactPhysical())
	require.NoError(t, err)
	_, err = cli.Get(ctx, "k", clientv3.WithRev(3))
	require.ErrorContains(t, err, "required revision has been compacted")
}

// etcd 3.7.3 accepts a transaction that deletes a from-key range and puts
// a key inside it (its duplicate-key check misses the range), and a
// compaction at that revision then deletes the put from etcd's backend: etcd
// exits on the next read of the key. MetaStore accepts the same
// transaction, answers as etcd does, and keeps the put through compaction
// and a restart.
func TestTxnPutIntoFromKeyDeleteSurvivesCompaction(t *testing.T) {
	ms := hosttest.StartMember(t)
	cli := ms.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cli.Put(ctx, "b/1", "old")
	require.NoError(t, err)
	txn, err := cli.Txn(ctx).Then(
		clientv3.OpDelete("a", clientv3.WithFromKey()),
		clientv3.OpPut("b/1", "new"),
	).Commit()
	require.NoError(t, err)
	require.Equal(t, int64(1), txn.Responses[0].GetResponseDeleteRange().Deleted)
	rev := txn.Header.Revision
	_, err = cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
	require.NoError(t, err)

	check := func() {
		t.Helper()
		got, err := cli.Get(ctx, "b/1")
		require.NoError(t, err)
		require.Len(t, got.Kvs, 1)
		require.Equal(t, "new", string(got.Kvs[0].Value))
		require.Equal(t, rev, got.Kvs[0].CreateRevision)
		require.Equal(t, rev, got.Kvs[0].ModRevision)
		require.Equal(t, int64(1), got.Kvs[0].Version)
	}
	check()
	ms.Restart(t)
	cli = ms.Client(t)
	check()
}

// TestConcurrentLargeRanges: replies of many keys, whose KVs the member
// takes from a pool and hands back once each reply is marshalled, and
// which it writes in pooled pieces that gRPC frees as it sends them (each
// reply here is about 85 KB, three pieces), come out whole and right
// while other large ranges and writes run beside them. A reply whose KVs
// or pieces went back to the pool before it was written would carry
// another range's keys or none.
func TestConcurrentLargeRanges(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const prefixes, keys = 4, 300
	value := func(p, i int) string { return fmt.Sprintf("p%d-%d-%s", p, i, strings.Repeat("v", 250)) }
	for p := range prefixes {
		for i := range keys {
			_, err := cli.Put(ctx, fmt.Sprintf("p%d/%04d", p, i), value(p, i))
			require.NoError(t, err)
		}
	}
	errc := make(chan error, 2*prefixes+1)
	for g := range 2 * prefixes {
		go func() {
			p := g % prefixes
			for range 100 {
				resp, err := cli.Get(ctx, fmt.Sprintf("p%d/", p), clientv3.WithPrefix())
				if err != nil {
					errc <- err
					return
				}
				if len(resp.Kvs) != keys || resp.Count != keys {
					errc <- fmt.Errorf("prefix %d: %d KVs, count %d", p, len(resp.Kvs), resp.Count)
					return
				}
				for i, kv := range resp.Kvs {
					if string(kv.Key) != fmt.Sprintf("p%d/%04d", p, i) || string(kv.Value) != value(p, i) {
						errc <- fmt.Errorf("prefix %d, KV %d: %q = %q", p, i, kv.Key, kv.Value)
						return
					}
				}
			}
			errc <- nil
		}()
	}
	go func() {
		for i := range 200 {
			if _, err := cli.Put(ctx, fmt.Sprintf("other/%d", i%10), "x"); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range 2*prefixes + 1 {
		require.NoError(t, <-errc)
	}
}
