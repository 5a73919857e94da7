package e2e

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// Lease IDs are random unless the client picks them, so the differential
// tests grant leases with fixed IDs (0x100 and 0x200) and mask the rest.

var leaseMaskers = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Remaining TTLs depend on timing.
	{regexp.MustCompile(`remaining\(\d+s\)`), "remaining(Ns)"},
	// Server-chosen IDs.
	{regexp.MustCompile(`lease [0-9a-f]{9,16} granted`), "lease ID granted"},
}

// attachedKeys matches etcdctl's list of a lease's keys, which etcd gives
// in map order: maskLease sorts it so that both servers compare equal.
var attachedKeys = regexp.MustCompile(`attached keys\(\[([^\]]*)\]\)`)

func maskLease(s string) string {
	for _, m := range leaseMaskers {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	return attachedKeys.ReplaceAllStringFunc(s, func(m string) string {
		keys := strings.Fields(attachedKeys.FindStringSubmatch(m)[1])
		sort.Strings(keys)
		return "attached keys([" + strings.Join(keys, " ") + "])"
	})
}

// grantFixedLeases grants leases 0x100 and 0x200 with a 60s TTL.
func grantFixedLeases(t *testing.T, m *hosttest.Process) {
	t.Helper()
	lc := pb.NewLeaseClient(m.Client(t).ActiveConnection())
	for _, id := range []int64{0x100, 0x200} {
		_, err := lc.LeaseGrant(context.Background(), &pb.LeaseGrantRequest{ID: id, TTL: 60})
		require.NoError(t, err)
	}
}

func TestEtcdctlLeaseMatchesEtcd(t *testing.T) {
	steps := []step{
		ctl("put", "--lease=100", "k1", "v1"),
		ctl("put", "--lease=100", "k2", "v2"),
		ctl("put", "--lease=999", "x", "y"),
		ctl("lease", "timetolive", "100", "--keys"),
		ctl("lease", "timetolive", "200"),
		ctl("lease", "timetolive", "999"),
		ctl("lease", "keep-alive", "--once", "100"),
		ctl("lease", "keep-alive", "--once", "999"),
		ctl("put", "--lease=200", "k2", "moved"),
		ctl("lease", "timetolive", "100", "--keys"),
		ctl("lease", "timetolive", "200", "--keys"),
		ctl("put", "k2", "same-lease", "--ignore-lease"),
		ctl("get", "k2", "-w", "json"),
		ctl("lease", "revoke", "100"),
		ctl("lease", "revoke", "100"),
		ctl("get", "k", "--prefix", "-w", "json"),
		ctl("del", "k2"),
		ctl("lease", "timetolive", "200", "--keys"),
		ctl("lease", "list"),
		ctl("lease", "revoke", "200"),
		ctl("lease", "list"),
		ctl("lease", "grant", "9000000001"),
		ctl("lease", "grant", "1"),
		ctl("lease", "revoke", "0"),
	}
	etcd, ms := servers(t)
	grantFixedLeases(t, etcd)
	grantFixedLeases(t, ms)
	want, got := runScript(t, etcd, steps), runScript(t, ms, steps)
	for i := range want {
		require.Equal(t, maskLease(want[i]), maskLease(got[i]), "step %d differs from etcd", i)
	}
}

func TestClientLeaseMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	run := func(m *hosttest.Process) []string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn := m.Client(t).ActiveConnection()
		lc, kv := pb.NewLeaseClient(conn), pb.NewKVClient(conn)
		tr := &transcript{}
		g, err := lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: 0x100, TTL: 30})
		tr.add("grant", g, err)
		g, err = lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: 0x100, TTL: 30})
		tr.add("grant existing", g, err)
		g, err = lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: 0x200, TTL: 1})
		tr.add("grant below minimum", g, err)
		g, err = lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: 0x300, TTL: 9000000001})
		tr.add("grant too large", g, err)
		g, err = lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: 0x300, TTL: 9000000000})
		tr.add("grant largest", g, err)
		g, err = lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: 5})
		if err == nil && g.ID > 0 {
			g.ID = 1 // server-chosen: positive, otherwise random
		}
		tr.add("grant server-chosen id", g, err)
		r, err := lc.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: g.GetID()})
		tr.add("revoke unknown", r, err)
		p, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1"), Lease: 0x100})
		tr.add("put a", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("b"), Value: []byte("1"), Lease: 0x100})
		tr.add("put b", p, err)
		p, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("c"), Value: []byte("1"), Lease: 0x400})
		tr.add("put missing lease", p, err)
		txn, err := kv.Txn(ctx, &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{
			RequestPut: &pb.PutRequest{Key: []byte("c"), Value: []byte("1"), Lease: 0x300}}}}})
		tr.add("txn put with lease", txn, err)
		ttl, err := lc.LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: 0x100, Keys: true})
		if err == nil && ttl.TTL > 0 {
			ttl.TTL = 1 // timing
			// etcd lists keys in map order.
			sort.Slice(ttl.Keys, func(i, j int) bool { return bytes.Compare(ttl.Keys[i], ttl.Keys[j]) < 0 })
		}
		tr.add("timetolive", ttl, err)
		ttl, err = lc.LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: 0x999})
		tr.add("timetolive unknown", ttl, err)
		ka, err := lc.LeaseKeepAlive(ctx)
		require.NoError(t, err)
		for _, id := range []int64{0x100, 0x999, 0x200} {
			require.NoError(t, ka.Send(&pb.LeaseKeepAliveRequest{ID: id}))
			resp, err := ka.Recv()
			tr.add("keepalive", resp, err)
		}
		require.NoError(t, ka.CloseSend())
		ls, err := lc.LeaseLeases(ctx, &pb.LeaseLeasesRequest{})
		if err == nil {
			// The order is the map order in etcd: compare the count.
			masked := &pb.LeaseLeasesResponse{Header: ls.Header}
			for range ls.Leases {
				masked.Leases = append(masked.Leases, &pb.LeaseStatus{})
			}
			tr.add("leases count", masked, nil)
		} else {
			tr.add("leases", ls, err)
		}
		r, err = lc.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 0x100})
		tr.add("revoke", r, err)
		rg, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}})
		tr.add("range after revoke", rg, err)
		r, err = lc.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 0x300})
		tr.add("revoke c's lease", r, err)
		r, err = lc.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 0x200})
		tr.add("revoke without keys", r, err)
		return tr.lines
	}
	want, got := run(etcd), run(ms)
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "call %d differs from etcd", i)
	}
}
