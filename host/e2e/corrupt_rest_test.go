package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// walRecordHeader is the length, checksum and type in front of every WAL
// record (raft/wal's format, read here from outside as a disk would be).
const walRecordHeader = 9

// lastWALRecord returns the offset and the encoded size of the last record
// of a WAL segment: its records end at the first zero length, where the
// preallocated space starts.
func lastWALRecord(t *testing.T, seg string) (off, size int) {
	t.Helper()
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	for at := 0; at+walRecordHeader <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[at:]))
		if n == 0 && b[at+8] == 0 {
			break
		}
		off, size = at, walRecordHeader+n
		at += size
	}
	require.NotZero(t, size, "records in %s", seg)
	return off, size
}

// flipByte inverts one bit of the byte at off in path, as a bad disk would.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0x04
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

// requireExitsWith waits until m, just started, exits non-zero without
// ever serving, and checks its output says want.
func requireExitsWith(t *testing.T, m *hosttest.Process, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return !m.Running() }, 30*time.Second, 50*time.Millisecond,
		"%s exits", m.Name())
	require.Error(t, m.ExitErr())
	out := m.Output()
	out = out[strings.LastIndex(out, "=== hosttest: starting"):]
	require.Contains(t, out, want)
	require.NotContains(t, out, hosttest.ReadyLine, "%s never served", m.Name())
}

// A bit flipped in the last record of a follower's WAL, a record written
// whole and acknowledged, is corruption, not a torn write: the member
// refuses to start with an error naming the segment and the record's
// offset, and never serves what it could not read. Removed and added back
// with an empty data directory, it is rebuilt from its peers.
func TestCorruptWALRecordStopsMemberAndItIsRebuilt(t *testing.T) {
	ms := hosttest.StartCluster(t, 3)
	rev := writeAndSettle(t, ms)
	lead := leaderOf(t, ms...)
	victim := followersOf(lead, ms)[0]
	require.NoError(t, victim.Stop())

	seg := lastWALSegment(t, victim.DataDir())
	off, size := lastWALRecord(t, seg)
	flipByte(t, seg, int64(off+size-2))

	victim.Start()
	requireExitsWith(t, victim, fmt.Sprintf("wal: corrupt record at segment %s offset %d: record checksum mismatch",
		filepath.Base(seg), off))
	// Started again, it says the same, without ever serving.
	victim.Start()
	requireExitsWith(t, victim, fmt.Sprintf("wal: corrupt record at segment %s offset %d", filepath.Base(seg), off))

	_, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "while", "two")
	require.NoError(t, err)
	victim.Rejoin(t, lead, followersOf(victim, ms)...)
	requireSameState(t, rev+1, ms...)
}

// A segment cut inside its last record is what a write torn by a crash
// leaves where the file system could not preallocate: the member cuts the
// record away with a warning naming the segment, as etcd repairs its WAL,
// and catches up from its peers.
func TestTruncatedWALRecordIsRepairedAndCaughtUp(t *testing.T) {
	ms := hosttest.StartCluster(t, 3)
	rev := writeAndSettle(t, ms)
	victim := followersOf(leaderOf(t, ms...), ms)[0]
	require.NoError(t, victim.Stop())

	seg := lastWALSegment(t, victim.DataDir())
	off, size := lastWALRecord(t, seg)
	require.NoError(t, os.Truncate(seg, int64(off+size/2)))

	victim.Restart(t)
	require.Contains(t, victim.Output(), "wal: truncating torn tail")
	require.Contains(t, victim.Output(), fmt.Sprintf(`"segment":"%s","offset":%d`, filepath.Base(seg), off))
	requireSameState(t, rev, ms...)
}

// flipInFile inverts one bit in the middle of every occurrence of find in
// path: a bbolt file may still hold copies of a page in free space beside
// the live one.
func flipInFile(t *testing.T, path string, find []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0
	for at := bytes.Index(b, find); at >= 0; {
		flipByte(t, path, int64(at+len(find)/2))
		n++
		next := bytes.Index(b[at+1:], find)
		if next < 0 {
			break
		}
		at += 1 + next
	}
	require.Positive(t, n, "%q in %s", find, path)
}

func engineFile(m *hosttest.Process) string {
	return filepath.Join(m.DataDir(), "member", "engine", "db")
}

// A bit flipped in a leaf page of a follower's bbolt file, inside a value
// it holds, is found when the member restarts and reads its keys back:
// each value carries a checksum. It refuses to start, naming the file and
// the key, and is rebuilt from its peers once removed and added back.
func TestCorruptEngineFileStopsMemberAndItIsRebuilt(t *testing.T) {
	ms := hosttest.StartCluster(t, 3)
	lead := leaderOf(t, ms...)
	_, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "victim", "a value only this key holds")
	require.NoError(t, err)
	rev := writeAndSettle(t, ms)
	victim := followersOf(lead, ms)[0]
	require.NoError(t, victim.Stop())
	flipInFile(t, engineFile(victim), []byte("a value only this key holds"))

	victim.Start()
	requireExitsWith(t, victim, "bbolt: "+engineFile(victim)+`: namespace \"key\" key `)
	requireExitsWith(t, victim, "value checksum mismatch")

	victim.Rejoin(t, lead, followersOf(victim, ms)...)
	requireSameState(t, rev, ms...)
	resp, err := victim.Client(t).Get(ctxFor(t, 10*time.Second), "victim", clientv3.WithSerializable())
	require.NoError(t, err)
	require.Equal(t, "a value only this key holds", string(resp.Kvs[0].Value))
}

// A bit flipped in the bbolt file under a running member is found by the
// next read of that value from the file: the read fails with etcd's
// corrupt cluster error, the member raises its CORRUPT alarm and keeps
// serving what it can verify, and its log names the file.
func TestCorruptEngineFileWhileRunningRaisesCorrupt(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	_, err := cli.Put(ctxFor(t, 10*time.Second), "victim", "a value only this key holds")
	require.NoError(t, err)
	_, err = cli.Put(ctxFor(t, 10*time.Second), "other", "fine")
	require.NoError(t, err)
	// The write buffer reaches the file within 100 ms.
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(engineFile(m))
		return err == nil && bytes.Contains(b, []byte("a value only this key holds"))
	}, 10*time.Second, 50*time.Millisecond)
	flipInFile(t, engineFile(m), []byte("a value only this key holds"))

	// A snapshot reads every value from the file.
	_, err = m.Etcdctl(t, "snapshot", "save", filepath.Join(t.TempDir(), "snap.db"))
	require.ErrorContains(t, err, "etcdserver: corrupt cluster")
	var out string
	require.Eventually(t, func() bool {
		out, _ = m.Etcdctl(t, "alarm", "list")
		return strings.Contains(out, "CORRUPT")
	}, 10*time.Second, 100*time.Millisecond, "CORRUPT is raised")
	require.Contains(t, m.Output(), "bbolt: "+engineFile(m)+`: namespace \"key\" key `)

	out, err = m.Etcdctl(t, "get", "other", "--print-value-only")
	require.NoError(t, err, "reads of verified data go on")
	require.Equal(t, "fine", strings.TrimSpace(out))
	_, err = m.Etcdctl(t, "put", "k", "v")
	require.ErrorContains(t, err, "etcdserver: corrupt cluster")
}

// damageCopy writes a copy of file with one damage applied and returns
// its path.
func damageCopy(t *testing.T, file, damage string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	switch damage {
	case "flipped bit in the middle":
		b[len(b)/2] ^= 0x01
	case "flipped bit in the checksum":
		b[len(b)-1] ^= 0x01
	case "cut in the middle":
		b = b[:len(b)/2]
	default:
		t.Fatalf("no damage %q", damage)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(file))
	require.NoError(t, os.WriteFile(out, b, 0o600))
	return out
}

// A snapshot file from `etcdctl snapshot save`, of MetaStore or of etcd,
// damaged at rest is refused by `metastore snapshot restore` and `metastore
// snapshot status` with an error naming the file, and the restore leaves
// no data directory behind.
func TestDamagedSnapshotFileIsRefused(t *testing.T) {
	files := map[string]string{}
	for name, bin := range map[string]string{"metastore": hosttest.MetastoreBin(t), "etcd": hosttest.EtcdBin(t)} {
		m := hosttest.StartMember(t, hosttest.WithBinary(bin))
		for i := range 20 {
			_, err := m.Client(t).Put(ctxFor(t, 10*time.Second), fmt.Sprintf("k%d", i), "a value to keep")
			require.NoError(t, err)
		}
		files[name] = filepath.Join(t.TempDir(), name+".db")
		_, err := m.Etcdctl(t, "snapshot", "save", files[name])
		require.NoError(t, err)
		require.NoError(t, m.Stop())
	}
	for _, tt := range []struct {
		source, damage, want string
	}{
		{"metastore", "flipped bit in the middle", "storage: data corrupt: not a whole snapshot file: SHA-256 mismatch"},
		{"metastore", "flipped bit in the checksum", "storage: data corrupt: not a whole snapshot file: SHA-256 mismatch"},
		{"metastore", "cut in the middle", "storage: data corrupt: not a whole snapshot file: "},
		{"etcd", "flipped bit in the middle", "SHA-256 mismatch"},
		{"etcd", "flipped bit in the checksum", "SHA-256 mismatch"},
		{"etcd", "cut in the middle", "is cut short, or has no SHA-256 appended"},
	} {
		t.Run(tt.source+" "+tt.damage, func(t *testing.T) {
			file := damageCopy(t, files[tt.source], tt.damage)
			dataDir := filepath.Join(t.TempDir(), "restored")
			out, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "restore", file, "--data-dir", dataDir).CombinedOutput()
			require.Error(t, err, "%s", out)
			require.Contains(t, string(out), file)
			require.Contains(t, string(out), tt.want)
			require.NoDirExists(t, dataDir)
			if tt.source == "metastore" {
				out, err = exec.Command(hosttest.MetastoreBin(t), "snapshot", "status", file).CombinedOutput()
				require.Error(t, err, "%s", out)
				require.Contains(t, string(out), file+": "+tt.want)
			}
		})
	}
}

// A bit flipped in a block of the RocksDB plugin's table files fails the
// block's checksum when the restarting member reads its keys back: it
// refuses to start, and the error names the table file.
func TestCorruptRocksDBTableStopsMember(t *testing.T) {
	bin := pluginBin(t, "rocksdb")
	config := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`storage-engine: rocksdb-plugin
plugins:
  - kind: storage
    name: rocksdb-plugin
    path: %s
    sha256: %s
    options:
      write-buffer-size: "65536"
`, bin, fileSum(t, bin))), 0o600))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", config))
	const marker = "a value only this key holds"
	cli := m.Client(t)
	_, err := cli.Put(ctxFor(t, 10*time.Second), "victim", marker)
	require.NoError(t, err)
	// Enough to fill the 64 KiB memtable a few times: the marker goes to
	// a table file.
	filler := strings.Repeat("x", 1024)
	for i := range 300 {
		_, err := cli.Put(ctxFor(t, 10*time.Second), fmt.Sprintf("fill%03d", i), filler)
		require.NoError(t, err)
	}
	require.NoError(t, m.Stop())

	tables, err := filepath.Glob(filepath.Join(m.DataDir(), "member", "engine", "*", "*.sst"))
	require.NoError(t, err)
	var damaged []string
	for _, table := range tables {
		b, err := os.ReadFile(table)
		require.NoError(t, err)
		if bytes.Contains(b, []byte(marker)) {
			flipInFile(t, table, []byte(marker))
			damaged = append(damaged, table)
		}
	}
	require.NotEmpty(t, damaged, "the marker in a table file of %v", tables)

	m.Start()
	requireExitsWith(t, m, "Corruption: block checksum mismatch")
	out := m.Output()
	named := false
	for _, table := range damaged {
		named = named || strings.Contains(out, table)
	}
	require.True(t, named, "the error names one of %v", damaged)
}

// A bbolt file cut short (its last pages gone) is refused at start, naming
// the file, rather than read as zeros or faulted on.
func TestEngineFileCutShortStopsMember(t *testing.T) {
	m := hosttest.StartMember(t)
	putMany(t, m.Client(t), "k", 200)
	require.NoError(t, m.Stop())
	require.NoError(t, os.Truncate(engineFile(m), 3*4096))

	m.Start()
	requireExitsWith(t, m, "bbolt: "+engineFile(m)+": file of 12288 bytes is cut short: its pages need ")
}

// A damaged page header in the bbolt file (its type) would make bbolt
// panic while opening it, where no caller can recover: the member finds it
// first, refuses to start and names the file and the page.
func TestEnginePageHeaderDamageStopsMember(t *testing.T) {
	m := hosttest.StartMember(t)
	putMany(t, m.Client(t), "k", 300)
	require.NoError(t, m.Stop())
	b, err := os.ReadFile(engineFile(m))
	require.NoError(t, err)
	damaged := -1
	for p := 2; (p+1)*4096 <= len(b) && damaged < 0; p++ {
		h := b[p*4096:]
		// A leaf page (type 0x02) of more than 10 keys, where it says it is.
		if binary.LittleEndian.Uint64(h) == uint64(p) && binary.LittleEndian.Uint16(h[8:]) == 0x02 &&
			binary.LittleEndian.Uint16(h[10:]) > 10 {
			h[8] = 0x20
			damaged = p
		}
	}
	require.Positive(t, damaged, "a leaf page in %s", engineFile(m))
	require.NoError(t, os.WriteFile(engineFile(m), b, 0o600))

	m.Start()
	requireExitsWith(t, m, fmt.Sprintf("bbolt: %s: page %d: unexpected type/flags 0x20", engineFile(m), damaged))
}

// The operator's way out of a CORRUPT alarm raised by damage under a
// running follower: rebuild the follower from its peers (remove it, add it
// back empty) and disarm the alarm; the cluster takes writes again and
// every member holds the same data.
func TestCorruptFollowerRebuiltAndAlarmDisarmed(t *testing.T) {
	ms := hosttest.StartCluster(t, 3)
	lead := leaderOf(t, ms...)
	_, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "victim", "a value only this key holds")
	require.NoError(t, err)
	writeAndSettle(t, ms)
	victim := followersOf(lead, ms)[0]
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(engineFile(victim))
		return err == nil && bytes.Contains(b, []byte("a value only this key holds"))
	}, 10*time.Second, 50*time.Millisecond)
	flipInFile(t, engineFile(victim), []byte("a value only this key holds"))

	_, err = victim.Etcdctl(t, "snapshot", "save", filepath.Join(t.TempDir(), "snap.db"))
	require.ErrorContains(t, err, "etcdserver: corrupt cluster")
	want := fmt.Sprintf("memberID:%d alarm:CORRUPT", memberIDOf(t, victim, ms...))
	require.Eventually(t, func() bool {
		out, _ := lead.Etcdctl(t, "alarm", "list")
		return oneSpaced(out) == want
	}, 10*time.Second, 100*time.Millisecond, "CORRUPT is raised for %s", victim.Name())
	_, err = lead.Etcdctl(t, "put", "k", "refused")
	require.ErrorContains(t, err, "etcdserver: corrupt cluster")

	victim.Rejoin(t, lead, followersOf(victim, ms)...)
	_, err = lead.Etcdctl(t, "alarm", "disarm")
	require.NoError(t, err)
	out, err := lead.Etcdctl(t, "alarm", "list")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(out))
	resp, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "k", "accepted")
	require.NoError(t, err)
	requireSameState(t, resp.Header.Revision, ms...)
}

// Data damaged at rest found while the member restarts in place (here
// after its bbolt plugin process was killed) does not heal by retrying:
// the process exits with the error naming the file instead of restarting
// the member over and over.
func TestCorruptEngineFoundOnRestartInPlaceStopsTheProcess(t *testing.T) {
	m := startPluginMember(t, "bbolt")
	_, err := m.Client(t).Put(ctxFor(t, 10*time.Second), "victim", "a value only this key holds")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(engineFile(m))
		return err == nil && bytes.Contains(b, []byte("a value only this key holds"))
	}, 10*time.Second, 50*time.Millisecond)
	flipInFile(t, engineFile(m), []byte("a value only this key holds"))

	require.NoError(t, syscall.Kill(m.ChildPid(t, "metastore-stora"), syscall.SIGKILL))
	require.Eventually(t, func() bool { return !m.Running() }, 30*time.Second, 50*time.Millisecond,
		"the process exits")
	require.Error(t, m.ExitErr())
	out := m.Output()
	require.Contains(t, out, "the member cannot go on, exiting")
	require.Contains(t, out, "bbolt: "+engineFile(m)+`: namespace \"key\" key `)
	require.NotContains(t, out, "restarting the member failed; retrying")
}
