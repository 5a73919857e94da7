package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(hosttest.MetastoreBin(t), "--version").CombinedOutput()
	require.NoError(t, err)
	require.Contains(t, string(out), "etcd Version: 3.7.3\n")
	require.Contains(t, string(out), "metastore Version: ")
}

func TestUnimplementedEtcdFlagIsRefused(t *testing.T) {
	cmd := exec.Command(hosttest.MetastoreBin(t), "--data-dir", t.TempDir(), "--max-wals=5")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "etcd flag not implemented by MetaStore: --max-wals")
}

func TestEndpointStatusAndHealth(t *testing.T) {
	m := hosttest.StartMember(t)
	_, err := m.Etcdctl(t, "put", "k", "v")
	require.NoError(t, err)

	out, err := m.Etcdctl(t, "endpoint", "health")
	require.NoError(t, err)
	require.Contains(t, out, "is healthy: successfully committed proposal")

	out, err = m.Etcdctl(t, "endpoint", "status", "-w", "json")
	require.NoError(t, err)
	var st []struct {
		Status struct {
			Header struct {
				MemberID uint64 `json:"member_id"`
				Revision int64  `json:"revision"`
			} `json:"header"`
			Version   string `json:"version"`
			DbSize    int64  `json:"dbSize"`
			Leader    uint64 `json:"leader"`
			RaftIndex uint64 `json:"raftIndex"`
			RaftTerm  uint64 `json:"raftTerm"`
		} `json:"Status"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Len(t, st, 1)
	s := st[0].Status
	require.Equal(t, "3.7.3", s.Version)
	require.Equal(t, s.Header.MemberID, s.Leader, "a single member leads itself")
	require.Equal(t, int64(2), s.Header.Revision)
	require.Positive(t, s.DbSize)
	require.Positive(t, s.RaftIndex)
	require.Positive(t, s.RaftTerm)
}

// TestProtobufOutputMatchesEtcd compares `-w protobuf` output, which is the
// raw response message, after clearing the identities in its header.
func TestProtobufOutputMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	decode := func(m *hosttest.Process) *pb.RangeResponse {
		for _, kv := range [][]string{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
			_, err := m.Etcdctl(t, "put", kv[0], kv[1])
			require.NoError(t, err)
		}
		out, err := m.Etcdctl(t, "get", "a", "--prefix", "-w", "protobuf")
		require.NoError(t, err)
		var resp pb.RangeResponse
		require.NoError(t, proto.Unmarshal([]byte(out), &resp))
		resp.Header.ClusterId, resp.Header.MemberId, resp.Header.RaftTerm = 0, 0, 0
		return &resp
	}
	want, got := decode(etcd), decode(ms)
	require.True(t, proto.Equal(want, got), "etcd: %v\nmetastore: %v", want, got)
	require.Equal(t, int64(4), got.Header.Revision)
}

// TestCorruptWALIsAClearError damages a record in the middle of the WAL: the
// member must refuse to start and say why, never start with data missing.
func TestCorruptWALIsAClearError(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	for i := range 50 {
		_, err := cli.Put(context.Background(), "key", strings.Repeat("v", 100+i))
		require.NoError(t, err)
	}
	require.NoError(t, m.Stop())
	seg := lastWALSegment(t, m.DataDir())
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	idx := strings.Index(string(data), strings.Repeat("v", 120))
	require.Positive(t, idx, "the value is in the WAL")
	data[idx+3] ^= 0xff
	require.NoError(t, os.WriteFile(seg, data, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hosttest.MetastoreBin(t), "--data-dir", m.DataDir(),
		"--listen-client-urls", "http://127.0.0.1:0", "--advertise-client-urls", "http://127.0.0.1:0",
		// The member's own peer URL, not the default 2380, which another
		// process on the machine may hold.
		"--listen-peer-urls", m.PeerURL(), "--initial-advertise-peer-urls", m.PeerURL(),
		"--initial-cluster", "default="+m.PeerURL())
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "a member with a corrupt WAL must not start")
	require.Contains(t, string(out), "corrupt record at segment "+filepath.Base(seg))
}
