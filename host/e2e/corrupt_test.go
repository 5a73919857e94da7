package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/host/hosttest"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

// corruptLatestValue rewrites, in the bbolt engine of a stopped member,
// the value of key's latest revision: the data changes under the member
// without raft knowing, as a bad disk would change it.
func corruptLatestValue(t *testing.T, dataDir, key string) {
	t.Helper()
	ctx := context.Background()
	eng := bbolt.New()
	_, err := eng.Open(ctx, storage.OpenRequest{Dir: filepath.Join(dataDir, "member", "engine")})
	require.NoError(t, err)
	defer func() { require.NoError(t, eng.Close(ctx)) }()
	var lastKey, lastValue []byte
	err = eng.Scan(ctx, storage.ScanRequest{Namespace: "key"}, func(e storage.KeyValue) bool {
		var kv mvccpb.KeyValue
		if proto.Unmarshal(e.Value, &kv) == nil && string(kv.Key) == key {
			lastKey, lastValue = append([]byte(nil), e.Key...), append([]byte(nil), e.Value...)
		}
		return true
	})
	require.NoError(t, err)
	require.NotNil(t, lastKey, "no revision of %q in %s", key, dataDir)
	var kv mvccpb.KeyValue
	require.NoError(t, proto.Unmarshal(lastValue, &kv))
	kv.Value = []byte("not what was written")
	b, err := proto.Marshal(&kv)
	require.NoError(t, err)
	_, err = eng.ApplyBatch(ctx, storage.ApplyBatchRequest{Sync: true,
		Ops: []storage.Op{{Kind: storage.OpPut, Namespace: "key", Key: lastKey, Value: b}}})
	require.NoError(t, err)
}

// oneSpaced joins the words of s with single spaces: etcdctl prints
// alarms in protobuf text form, whose spacing varies.
func oneSpaced(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeAndSettle writes keys through m and waits until every member has
// applied them with the same hash.
func writeAndSettle(t *testing.T, ms []*hosttest.Process) int64 {
	t.Helper()
	cli := ms[0].Client(t)
	var rev int64
	for i := range 30 {
		resp, err := cli.Put(ctxFor(t, 10*time.Second), fmt.Sprintf("k%d", i%10), fmt.Sprintf("v%d", i))
		require.NoError(t, err)
		rev = resp.Header.Revision
	}
	requireSameState(t, rev, ms...)
	return rev
}

// stopAndCorrupt stops a follower and changes a value in its engine.
func stopAndCorrupt(t *testing.T, ms []*hosttest.Process) *hosttest.Process {
	t.Helper()
	victim := followersOf(leaderOf(t, ms...), ms)[0]
	require.NoError(t, victim.Stop())
	corruptLatestValue(t, victim.DataDir(), "k3")
	return victim
}

func TestCorruptMemberRefusesToStartWithInitialCheck(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, hosttest.WithArgs("--feature-gates", "InitialCorruptCheck=true"))
	writeAndSettle(t, ms)

	// A restart with untouched data passes the check.
	ms[2].Restart(t)

	victim := stopAndCorrupt(t, ms)
	victim.Start()
	require.Eventually(t, func() bool { return !victim.Running() }, 60*time.Second, 50*time.Millisecond,
		"the corrupt member exits")
	require.Error(t, victim.ExitErr())
	require.Contains(t, victim.Output(), "found data inconsistency with peers")
	require.NotContains(t, victim.Output()[strings.LastIndex(victim.Output(), "=== hosttest: starting"):], hosttest.ReadyLine)

	// The others go on.
	var live []*hosttest.Process
	for _, m := range ms {
		if m != victim {
			live = append(live, m)
		}
	}
	_, err := live[0].Etcdctl(t, "put", "after", "check")
	require.NoError(t, err)
	out, err := live[1].Etcdctl(t, "alarm", "list")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(out))
}

func TestCorruptMemberRaisesCorruptAlarm(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		after func(t *testing.T, ms []*hosttest.Process)
	}{
		{"periodic check", []string{"--corrupt-check-time", "1s"}, nil},
		{"compaction hash check", []string{"--feature-gates", "CompactHashCheck=true", "--compact-hash-check-time", "1s"},
			func(t *testing.T, ms []*hosttest.Process) {
				resp, err := ms[0].Client(t).Put(ctxFor(t, 10*time.Second), "compact", "here")
				require.NoError(t, err)
				_, err = ms[0].Client(t).Compact(ctxFor(t, 10*time.Second), resp.Header.Revision, clientv3.WithCompactPhysical())
				require.NoError(t, err)
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ms := hosttest.StartCluster(t, 3, hosttest.WithArgs(tt.args...))
			writeAndSettle(t, ms)
			victim := stopAndCorrupt(t, ms)
			victim.Restart(t)
			if tt.after != nil {
				tt.after(t, ms)
			}
			want := fmt.Sprintf("memberID:%d alarm:CORRUPT", memberIDOf(t, victim, ms...))
			var out string
			require.Eventually(t, func() bool {
				out, _ = ms[0].Etcdctl(t, "alarm", "list")
				return strings.Contains(out, "CORRUPT")
			}, 60*time.Second, 200*time.Millisecond, "CORRUPT is raised")
			require.Equal(t, want, oneSpaced(out))

			for _, m := range ms {
				_, err := m.Etcdctl(t, "put", "k1", "refused")
				require.ErrorContains(t, err, "etcdserver: corrupt cluster", "put through %s", m.Name())
				out, err := m.Etcdctl(t, "alarm", "list")
				require.NoError(t, err)
				require.Equal(t, want, oneSpaced(out), "alarm list of %s", m.Name())
			}
			_, err := ms[0].Etcdctl(t, "del", "k1")
			require.ErrorContains(t, err, "etcdserver: corrupt cluster")
			out, err = ms[0].Etcdctl(t, "get", "k2", "--print-value-only")
			require.NoError(t, err, "reads go on")
			require.Equal(t, "v22", strings.TrimSpace(out))
		})
	}
}
