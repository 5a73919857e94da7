package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/host/hosttest"
)

// hostileSeed is the run's seed: HOSTILE_SEED, or a fixed one so that the
// normal suite sends the same requests each time.
func hostileSeed(t *testing.T) uint64 {
	t.Helper()
	v := os.Getenv("HOSTILE_SEED")
	if v == "" {
		return 1
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("HOSTILE_SEED=%q: %v", v, err)
	}
	return seed
}

// TestHostileInput sends random and mutated requests of every method of
// etcd's gRPC API to a member and to etcd 3.7.3, then random JSON to the
// JSON gateway and garbage to the client port (hostile_http_test.go).
func TestHostileInput(t *testing.T) {
	seed := hostileSeed(t)
	etcd := dialHostile(t, "etcd", hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t))))
	ms := dialHostile(t, "metastore", hosttest.StartMember(t, hosttest.WithArgs("--enable-pprof")))
	methods := hostileMethods()
	g := newHostileGen(seed)
	before := sampleResources(t, ms.proc)
	deadline := time.Now().Add(hostileDuration(t, 30*time.Second))

	diffs := hostileDiffs{}
	var sent, rejected int
	var etcdCrashes []string
	perMethod := map[string]int{}
	var hash *pb.HashKVResponse // before the request, nil when unknown
	compacted := false          // the last accepted request was a compaction
	for i := 0; time.Now().Before(deadline) || i < len(methods); i++ {
		if hash == nil {
			hash = ms.hashKV(t)
			if compacted {
				hash = ms.settledHashKV(t)
			}
		}
		m := methods[i%len(methods)]
		if i >= len(methods) {
			m = methods[g.rnd.IntN(len(methods))]
		}
		if i%200 == 199 {
			// Alarms raised by random requests refuse every write: clear
			// them now and then, on both.
			disarm(t, etcd)
			disarm(t, ms)
			hash = nil
			continue
		}
		body, md := g.message(m.in), g.metadata()
		want := etcd.call(m, body, md)
		got := ms.call(m, body, md)
		sent++
		perMethod[m.name]++
		example := fmt.Sprintf("seed %d request %d, %d bytes", seed, i, len(body))
		if !ms.proc.Running() {
			t.Fatalf("%s: the member exited on %s (%s):\n%s", example, m.name, got, ms.proc.Output())
		}
		if want.code == codes.Unavailable {
			time.Sleep(200 * time.Millisecond) // a crashing etcd takes a moment to exit
		}
		if !etcd.proc.Running() {
			// The reference failed, not MetaStore: note it, start etcd
			// again and go on without comparing this one.
			etcdCrashes = append(etcdCrashes, fmt.Sprintf("%s: %s %x: %s", example, m.name, body[:min(len(body), 64)], lastPanic(etcd.proc.Output())))
			etcd.proc.Restart(t)
			etcd.conn.Close()
			etcd = dialHostile(t, "etcd", etcd.proc) // no reconnection backoff
			hash = nil
			continue
		}
		if known, ok := hostileKnownDifferences[m.name]; ok && got == known && want.code == codes.Unknown {
			got = want
		}
		if !sameAnswerAsEtcd(want, got) {
			diffs.add(m.name, want, got, example)
		}
		if (got.code == codes.Unknown || got.code == codes.Internal) && got.code != want.code {
			t.Errorf("%s: %s answered %s, etcd %s", example, m.name, got, want)
		}
		if got.code == codes.OK {
			hash, compacted = nil, m.name == "/etcdserverpb.KV/Compact"
			continue
		}
		rejected++
		after := ms.hashKV(t)
		if after.Hash != hash.Hash || after.Header.Revision != hash.Header.Revision {
			t.Errorf("%s: %s was refused (%s) but changed the data: HashKV %d at revision %d before, %d at %d after",
				example, m.name, got, hash.Hash, hash.Header.Revision, after.Hash, after.Header.Revision)
		}
		hash = after
	}
	t.Logf("seed %d: %d gRPC requests over %d methods, %d refused, each leaving HashKV as it was",
		seed, sent, len(perMethod), rejected)
	for _, c := range etcdCrashes {
		t.Logf("etcd 3.7.3 crashed (MetaStore did not): %s", c)
	}
	if len(diffs) > 0 {
		t.Logf("answers that differ from etcd's:")
		diffs.report(t)
	}

	hostileGateway(t, g, etcd, ms, 200)
	hostileFrames(t, g, ms, 200)
	if !ms.proc.Running() {
		t.Fatalf("the member exited:\n%s", ms.proc.Output())
	}
	disarm(t, ms)
	requireServing(t, ms)
	ms.conn.Close()
	requireResourcesBack(t, ms.proc, before)
}

// lastPanic is the first line of the last panic in a process's output.
func lastPanic(out string) string {
	i := strings.LastIndex(out, "panic: ")
	if i < 0 {
		return "no panic in its output"
	}
	line, _, _ := strings.Cut(out[i:], "\n")
	return line
}

// hostileCorpus holds requests whose answers differed from etcd's in
// hostile runs, now fixed, so that they stay covered whatever the
// generator becomes.
var hostileCorpus = []struct {
	name, method string
	req          proto.Message
	// etcdCrashes marks a request etcd 3.7.3 crashes on: the member
	// must answer it with a code other than Unknown and stay up.
	etcdCrashes bool
}{
	{"an alarm action etcd does not know", "/etcdserverpb.Maintenance/Alarm",
		&pb.AlarmRequest{Action: 3, Alarm: pb.AlarmType_NOSPACE}, true},
	{"updating an unknown member with bad URLs is not found", "/etcdserverpb.Cluster/MemberUpdate",
		&pb.MemberUpdateRequest{ID: 12345, PeerURLs: []string{"::bad"}}, false},
	{"updating an unknown member without URLs is not found", "/etcdserverpb.Cluster/MemberUpdate",
		&pb.MemberUpdateRequest{ID: 12345}, false},
}

// hostileKnownDifferences are answers where MetaStore chooses not to be
// etcd: etcd answers Unknown, which clients cannot act on.
var hostileKnownDifferences = map[string]hostileAnswer{
	// A downgrade action etcd does not know: etcd lets the error through
	// unmapped.
	"/etcdserverpb.Maintenance/Downgrade": {code: codes.InvalidArgument, msg: "etcdserver: unknown method"},
}

func TestHostileCorpus(t *testing.T) {
	etcd := dialHostile(t, "etcd", hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t))))
	ms := dialHostile(t, "metastore", hosttest.StartMember(t))
	methods := map[string]hostileMethod{}
	for _, m := range hostileMethods() {
		methods[m.name] = m
	}
	for _, c := range hostileCorpus {
		t.Run(c.name, func(t *testing.T) {
			body, err := proto.Marshal(c.req)
			require.NoError(t, err)
			m, ok := methods[c.method]
			require.True(t, ok, c.method)
			got := ms.call(m, body, nil)
			require.True(t, ms.proc.Running(), "the member exited")
			if c.etcdCrashes {
				require.NotEqual(t, codes.Unknown, got.code, got.msg)
				t.Logf("MetaStore answers %s", got)
				return
			}
			want := etcd.call(m, body, nil)
			require.Equal(t, want, got, "etcd's answer, then MetaStore's")
		})
	}
}
