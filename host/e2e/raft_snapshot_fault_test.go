package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/etcdapi/snapfile"
	"github.com/metastore/metastore/host/hosttest"
	"github.com/metastore/metastore/pluginapi/storage"
)

// installedSnapshot finds the index of the last raft snapshot a member
// installed in its output.
var installedSnapshot = regexp.MustCompile(`"msg":"installed a raft snapshot","snapshot-index":(\d+)`)

// interruptedInstall is a member stopped, as by a crash, after its WAL
// recorded a raft snapshot from the leader but before its engine was
// restored from the received file: its engine is back at an index below
// the snapshot's.
type interruptedInstall struct {
	ms           []*hosttest.Process
	lead, victim *hosttest.Process
	snapFile     string         // where the received state of the WAL's snapshot belongs
	stream       []byte         // the leader's engine stream, at or past that snapshot
	keys         map[string]int // how many keys each putMany prefix holds
}

// interruptInstall starts 3 members, has a stopped follower catch up by a
// raft snapshot, then puts back the engine it had before, as the crash
// between the WAL write and the engine restore leaves it. The received
// file is removed once installed, so the test takes one like it from the
// leader: its engine stream, out of `etcdctl snapshot save`'s file.
func interruptInstall(t *testing.T) *interruptedInstall {
	t.Helper()
	// The leader snapshots and compacts its log every 100 entries, keeping
	// 20 for slow followers. The follower that catches up takes no
	// snapshot of its own: the engine state it receives is past the
	// leader's snapshot, so with the same count it would at once record a
	// snapshot of its own in the WAL, past the leader's, and its WAL would
	// no longer be what a crash between the two steps leaves.
	var quiet string
	snapshotCounts := hosttest.WithSettings(func(s hosttest.Settings) ([]string, []string) {
		count := "100"
		if s.Name == quiet {
			count = "1000000"
		}
		return append(s.Flags(), "--snapshot-count", count, "--snapshot-catchup-entries", "20"), nil
	})
	ms := hosttest.StartCluster(t, 3, clusterFlags, snapshotCounts)
	lead := leaderOf(t, ms...)
	victim := followersOf(lead, ms)[0]
	quiet = victim.Name()
	cli := hosttest.NewClient(t, lead.Endpoint())
	putMany(t, cli, "before", 50)
	stoppedAt := raftIndex(t, victim)
	require.NoError(t, victim.Stop())
	engine := filepath.Join(victim.DataDir(), "member", "engine")
	old := filepath.Join(t.TempDir(), "engine")
	run(t, "cp", "-a", engine, old)

	// The extra writes go under "during-NNN/", outside "during/".
	rev := writeUntilCompactedPast(t, cli, lead, "during", 400, stoppedAt)
	victim.Restart(t)
	requireSameState(t, rev, ms...)
	found := installedSnapshot.FindAllStringSubmatch(victim.Output(), -1)
	require.NotEmpty(t, found, "%s catches up by a raft snapshot", victim.Name())
	snapIndex, err := strconv.ParseUint(found[len(found)-1][1], 10, 64)
	require.NoError(t, err)
	require.NoError(t, victim.Stop())

	require.NoError(t, os.RemoveAll(engine))
	run(t, "cp", "-a", old, engine)
	return &interruptedInstall{
		ms: ms, lead: lead, victim: victim,
		snapFile: filepath.Join(victim.DataDir(), "member", "snap", fmt.Sprintf("%016x.snap.db", snapIndex)),
		stream:   engineStream(t, lead, snapIndex),
		keys:     map[string]int{"before": 50, "during": 400},
	}
}

// engineStream returns m's engine stream, checked whole and at or past
// index: what a follower receives with a raft snapshot at index.
func engineStream(t *testing.T, m *hosttest.Process, index uint64) []byte {
	t.Helper()
	file := filepath.Join(t.TempDir(), "leader.db")
	_, err := m.Etcdctl(t, "snapshot", "save", file)
	require.NoError(t, err)
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	section, err := snapfile.Verify(f, st.Size(), nil)
	require.NoError(t, err)
	stream, err := io.ReadAll(section)
	require.NoError(t, err)
	sr, err := storage.NewSnapshotReader(bytes.NewReader(stream))
	require.NoError(t, err)
	for err == nil {
		_, _, _, err = sr.Next()
	}
	require.ErrorIs(t, err, io.EOF)
	require.GreaterOrEqual(t, sr.ConsistentIndex(), index, "the stream holds the snapshot's state")
	return stream
}

// requireKeys checks that m holds every key each putMany wrote.
func requireKeys(t *testing.T, m *hosttest.Process, keys map[string]int) {
	t.Helper()
	for prefix, n := range keys {
		resp, err := m.Client(t).Get(ctxFor(t, 10*time.Second), prefix+"/", clientv3.WithPrefix(),
			clientv3.WithSerializable(), clientv3.WithCountOnly())
		require.NoError(t, err)
		require.EqualValues(t, n, resp.Count, "keys under %s/ on %s", prefix, m.Name())
	}
}

// A member stopped between recording a raft snapshot in its WAL and
// restoring its engine from the received file restores the engine from
// that file at its next start. Damaged (a bit flipped, cut in half) or
// missing, the file cannot be used: the member refuses to start, exiting
// non-zero with an error that names the file, and never serves state it
// does not have. The other two keep serving; removed and added back with
// an empty data directory, the member is rebuilt from its peers.
func TestDamagedRaftSnapshotFileStopsMemberAndItIsRebuilt(t *testing.T) {
	c := interruptInstall(t)
	others := followersOf(c.victim, c.ms)
	require.NoError(t, os.MkdirAll(filepath.Dir(c.snapFile), 0o700))
	for i, tt := range []struct {
		damage string
		file   func([]byte) []byte // nil: no file
		want   string
	}{
		{"flipped bit in the middle", func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b },
			"restoring the engine from " + c.snapFile + ": storage: data corrupt"},
		{"cut in the middle", func(b []byte) []byte { return b[:len(b)/2] },
			"restoring the engine from " + c.snapFile + ": storage: data corrupt"},
		{"missing", nil, fmt.Sprintf("the received snapshot %s is missing", c.snapFile)},
	} {
		require.NoError(t, os.RemoveAll(c.snapFile))
		if tt.file != nil {
			require.NoError(t, os.WriteFile(c.snapFile, tt.file(bytes.Clone(c.stream)), 0o600))
		}
		c.victim.Start()
		requireExitsWith(t, c.victim, tt.want)
		_, err := c.lead.Client(t).Put(ctxFor(t, 10*time.Second), fmt.Sprintf("while/%04d", i), tt.damage)
		require.NoError(t, err, "the others serve while %s is down (%s)", c.victim.Name(), tt.damage)
	}
	c.keys["while"] = 3

	c.victim.Rejoin(t, c.lead, others...)
	rev := putMany(t, hosttest.NewClient(t, c.lead.Endpoint()), "after", 20)
	c.keys["after"] = 20
	requireSameState(t, rev, c.ms...)
	requireKeys(t, c.victim, c.keys)
}

// The same member given the file whole restores its engine from it, as
// it would after a crash at that point, and serves every key.
func TestInterruptedRaftSnapshotInstallRecoversFromTheFile(t *testing.T) {
	c := interruptInstall(t)
	require.NoError(t, os.MkdirAll(filepath.Dir(c.snapFile), 0o700))
	require.NoError(t, os.WriteFile(c.snapFile, c.stream, 0o600))
	c.victim.Restart(t)
	require.Contains(t, c.victim.Output(), "restoring it from the received snapshot")
	require.NoFileExists(t, c.snapFile, "the installed file is removed")
	rev := putMany(t, hosttest.NewClient(t, c.lead.Endpoint()), "after", 20)
	c.keys["after"] = 20
	requireSameState(t, rev, c.ms...)
	requireKeys(t, c.victim, c.keys)
}
