package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestSnapshotRestoresIntoThreeMemberCluster saves a snapshot of a member
// with etcdctl, restores it into the data dirs of three members of a new
// cluster, and checks that they serve the same keys and HashKV as the
// source, then take writes.
func TestSnapshotRestoresIntoThreeMemberCluster(t *testing.T) {
	restoreIntoThreeMembers(t, hosttest.StartMember(t))
}

// An etcd 3.7.3 snapshot (an etcd backend) restored the same way.
func TestEtcdSnapshotRestoresIntoThreeMemberCluster(t *testing.T) {
	restoreIntoThreeMembers(t, hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t))))
}

// restoreIntoThreeMembers writes a history to src, saves its snapshot,
// restores it into the three members of a new cluster and checks them.
func restoreIntoThreeMembers(t *testing.T, src *hosttest.Process) {
	scli := src.Client(t)
	rev := writeHistory(t, scli)
	want := allKVs(t, scli)
	wantHash, err := scli.HashKV(context.Background(), src.Endpoint(), rev)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "snap.db")
	_, err = src.Etcdctl(t, "snapshot", "save", file)
	require.NoError(t, err)

	const token = "restored-cluster"
	ms := make([]*hosttest.Process, 3)
	peers := make([]string, 3)
	for i := range ms {
		ms[i] = hosttest.PrepareMember(t, fmt.Sprintf("r%d", i+1), hosttest.WithArgs("--initial-cluster-token", token))
		peers[i] = ms[i].Name() + "=" + ms[i].PeerURL()
	}
	cluster := strings.Join(peers, ",")
	for _, m := range ms {
		out, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "restore", file,
			"--data-dir", m.DataDir(), "--name", m.Name(), "--initial-cluster", cluster,
			"--initial-cluster-token", token, "--initial-advertise-peer-urls", m.PeerURL()).CombinedOutput()
		require.NoError(t, err, string(out))
		m.SetInitialCluster(cluster)
	}
	for _, m := range ms {
		m.Start()
	}
	for _, m := range ms {
		m.WaitReady()
	}

	requireSameState(t, rev, ms...)
	for _, m := range ms {
		cli := m.Client(t)
		require.Equal(t, want, allKVs(t, cli), "keys of %s", m.Name())
		h, err := cli.HashKV(ctxFor(t, 10*time.Second), m.Endpoint(), rev)
		require.NoError(t, err)
		require.Equal(t, wantHash.Hash, h.Hash, "HashKV of %s at %d", m.Name(), rev)
		require.Equal(t, wantHash.CompactRevision, h.CompactRevision, "compaction revision of %s", m.Name())
		require.Equal(t, rev, h.HashRevision)
	}

	list := memberList(t, ms[0])
	var names []string
	for _, m := range list {
		names = append(names, m.Name)
	}
	require.ElementsMatch(t, []string{"r1", "r2", "r3"}, names)

	put, err := ms[1].Client(t).Put(ctxFor(t, 10*time.Second), "after", "restore")
	require.NoError(t, err)
	require.Equal(t, rev+1, put.Header.Revision)
	requireSameState(t, rev+1, ms...)
}
