package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/metastore/metastore/host/hosttest"
)

// A WAL fsync that fails (EIO) stops the member, as it stops etcd: the
// write that went before it succeeded into the page cache, but after a
// failed fsync the kernel may have dropped those dirty pages and marked
// them clean, so a second fsync would report success for data that never
// reached the disk. The member therefore never retries it: the process
// exits non-zero naming the failed sync. Its peers keep serving, and once
// the disk is checked and mounted again the restarted member holds every
// write it acknowledged and rejoins its cluster.
//
// The fault is real: the WAL lives on a 512 MiB ext4 image that is sparse
// in a 32 MiB tmpfs. Writes land in ext4's page cache; fdatasync pushes
// them to the loop device, whose writes to the full tmpfs fail, so the
// fsync returns EIO. The victim is a follower, so that the cluster keeps
// its leader and goes on serving while the victim is down; a leader's
// failed fsync takes the same path (the raft loop's WAL save) and adds
// only an election.
func TestFailedWALFsyncStopsTheMember(t *testing.T) {
	backing := mountTmpfs(t, "32m")
	disk := mountExt4In(t, backing, 512<<20)
	walDir := filepath.Join(disk.dir, "wal")
	ms := hosttest.StartCluster(t, 3)
	lead := leaderOf(t, ms...)
	victim := followersOf(lead, ms)[0]
	require.NoError(t, victim.Stop())
	memberWAL := filepath.Join(victim.DataDir(), "member", "wal")
	// Sparse: the segment's preallocated zeros would fill the tmpfs.
	run(t, "cp", "-a", "--sparse=always", memberWAL, walDir)
	run(t, "rm", "-rf", memberWAL)
	victim.SetArgs("--wal-dir", walDir)
	victim.Restart(t)
	acked := putAcked(t, victim, "before", 20)

	acked = append(acked, loadUntilExit(t, victim)...)
	var exit *exec.ExitError
	require.True(t, errors.As(victim.ExitErr(), &exit) && exit.ExitCode() != 0, "a non-zero exit: %v", victim.ExitErr())
	out := victim.Output()
	logLines(t, out, "wal: ")
	require.Contains(t, out, "wal: sync segment")
	require.Contains(t, out, "input/output error")
	require.Equal(t, 1, strings.Count(out, "raft: node failed, stopping"), "the node fails once:\n%s", out)
	// Closing the WAL does not fsync it again (raft/wal
	// TestFailedSyncIsNeverRetried): such a retry, when it failed too,
	// showed here as a second "sync segment" error.
	require.Equal(t, 1, strings.Count(out, `"error":"wal: sync segment`), "one fsync failed:\n%s", out)

	// The others serve while the victim is down.
	acked = append(acked, putAcked(t, lead, "down", 20)...)

	run(t, "mount", "-o", "remount,size=700m", backing)
	disk.repair(t)
	victim.Restart(t)
	logLines(t, strings.TrimPrefix(victim.Output(), out), "torn", "restarting local member")
	requireAllPresent(t, victim, "", acked)
	rev := writeAndSettle(t, ms)
	requireSameState(t, rev, ms...)
}

// loadUntilExit puts 100 KiB values through m until its process exits,
// and returns the keys acknowledged. Every put that fails must fail as
// etcd's would: Unavailable (the connection closed) or the client's
// deadline, never Unknown.
func loadUntilExit(t *testing.T, m *hosttest.Process) []string {
	t.Helper()
	value := strings.Repeat("x", 100<<10)
	var acked []string
	var failures []codes.Code
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; m.Running(); i++ {
		require.True(t, time.Now().Before(deadline), "%s still runs after %d puts (%d acknowledged)", m.Name(), i, len(acked))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		key := fmt.Sprintf("during%05d", i)
		_, err := m.Client(t).Put(ctx, key, value)
		cancel()
		if err == nil {
			acked = append(acked, key)
			continue
		}
		failures = append(failures, codeOf(err))
		require.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, codeOf(err), "put %s: %v", key, err)
	}
	t.Logf("%d puts acknowledged, %v failed before %s exited", len(acked), failures, m.Name())
	require.NotEmpty(t, acked)
	return acked
}

// logLines logs the lines of out that hold any of words.
func logLines(t *testing.T, out string, words ...string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				t.Log(line)
				break
			}
		}
	}
}
