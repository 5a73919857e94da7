package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/host/hosttest"
)

// ext4Disk is an ext4 file system in an image file, mounted through a
// loop device, on which a test can make the disk fail: remount it
// read-only as the kernel does after an I/O error, or freeze it so that
// every write and fsync waits, as on a disk that stalls.
type ext4Disk struct {
	image, dir, dev string
}

// mountExt4 makes and mounts an ext4 file system of size bytes
// (errors=remount-ro, as a production mount) and unmounts it when the
// test ends. It needs root and loop devices, and fails the test, saying
// so, without them.
func mountExt4(t *testing.T, size int64) *ext4Disk {
	t.Helper()
	return mountExt4In(t, t.TempDir(), size)
}

// mountExt4In is mountExt4 with the image file, sparse, in imageDir.
// mkfs initializes the journal and inode tables lazily, so the image
// takes little room until it is written.
func mountExt4In(t *testing.T, imageDir string, size int64) *ext4Disk {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("mounting a loop device needs root: run the test as root")
	}
	d := &ext4Disk{image: filepath.Join(imageDir, "disk.img"), dir: filepath.Join(t.TempDir(), "disk")}
	require.NoError(t, os.Mkdir(d.dir, 0o700))
	f, err := os.Create(d.image)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	run(t, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1", d.image)
	d.mount(t)
	t.Cleanup(func() {
		if err := d.unmount(); err != nil {
			t.Logf("%v; unmounting lazily", err)
			_ = exec.Command("umount", "-l", d.dir).Run()
		}
	})
	return d
}

// unmount thaws and unmounts the file system, waiting up to 10 s for the
// processes that used it to let go.
func (d *ext4Disk) unmount() error {
	_ = exec.Command("fsfreeze", "-u", d.dir).Run()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command("umount", d.dir).CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("umount %s: %v: %s", d.dir, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freeze holds every write and fsync on the file system until thaw, as a
// disk that stalls; the test's end thaws it, before its members stop.
func (d *ext4Disk) freeze(t *testing.T) {
	t.Helper()
	run(t, "fsfreeze", "-f", d.dir)
	t.Cleanup(func() { _ = exec.Command("fsfreeze", "-u", d.dir).Run() })
}

// thaw lets writes and fsyncs go on.
func (d *ext4Disk) thaw(t *testing.T) {
	t.Helper()
	run(t, "fsfreeze", "-u", d.dir)
}

// run runs a command and fails the test with its output if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
	return string(out)
}

func (d *ext4Disk) mount(t *testing.T) {
	t.Helper()
	run(t, "mount", "-o", "loop,errors=remount-ro", d.image, d.dir)
	d.dev = filepath.Base(strings.TrimSpace(run(t, "findmnt", "-n", "-o", "SOURCE", d.dir)))
	require.True(t, strings.HasPrefix(d.dev, "loop"), "mounted from %q", d.dev)
}

// failReadOnly makes ext4 record an error, upon which errors=remount-ro
// turns the file system read-only under its open files: every later
// write fails with EROFS, as after a disk's I/O error.
func (d *ext4Disk) failReadOnly(t *testing.T) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join("/sys/fs/ext4", d.dev, "trigger_fs_error"), []byte("1"), 0o200))
}

// repair unmounts the file system, checks it with e2fsck and mounts it
// again: what an operator does once the disk is replaced or checked.
func (d *ext4Disk) repair(t *testing.T) {
	t.Helper()
	require.NoError(t, d.unmount())
	// Exit status 1 means e2fsck corrected errors.
	if out, err := exec.Command("e2fsck", "-f", "-y", d.image).CombinedOutput(); err != nil {
		exit, ok := err.(*exec.ExitError)
		require.True(t, ok && exit.ExitCode() == 1, "e2fsck: %v: %s", err, out)
	}
	d.mount(t)
}

// healthCodes answers the HTTP status of /health, /livez and /readyz, 0
// for a request that got no answer within timeout.
func healthCodes(m *hosttest.Process, timeout time.Duration) map[string]int {
	client := &http.Client{Timeout: timeout}
	codes := map[string]int{}
	for _, path := range []string{"/health", "/livez", "/readyz"} {
		resp, err := client.Get(m.Endpoint() + path)
		if err != nil {
			codes[path] = 0
			continue
		}
		_ = resp.Body.Close()
		codes[path] = resp.StatusCode
	}
	return codes
}

// putAcked puts n keys named prefix%04d and returns those acknowledged.
func putAcked(t *testing.T, m *hosttest.Process, prefix string, n int) []string {
	t.Helper()
	var acked []string
	for i := range n {
		key := fmt.Sprintf("%s%04d", prefix, i)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := m.Client(t).Put(ctx, key, "v")
		cancel()
		require.NoError(t, err)
		acked = append(acked, key)
	}
	return acked
}

// requireAllPresent checks that every key of acked is served by m.
func requireAllPresent(t *testing.T, m *hosttest.Process, prefix string, acked []string) {
	t.Helper()
	var resp *clientv3.GetResponse
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var err error
		resp, err = hosttest.NewClient(t, m.Endpoint()).Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "%s serves", m.Name())
	have := map[string]bool{}
	for _, kv := range resp.Kvs {
		have[string(kv.Key)] = true
	}
	for _, k := range acked {
		require.True(t, have[k], "acknowledged %s is lost", k)
	}
}

// A disk that turns read-only under a member (ext4's errors=remount-ro
// after an I/O error) fails its next WAL write: the member exits non-zero
// with the error, as etcd does, because a WAL that could not be written
// cannot be trusted. Once the file system is checked and mounted again,
// the restarted member holds every write it acknowledged and rejoins its
// cluster.
func TestReadOnlyDiskStopsTheMember(t *testing.T) {
	disk := mountExt4(t, 256<<20)
	dataDir := filepath.Join(disk.dir, "data")
	ms := hosttest.StartCluster(t, 3)
	victim := followersOf(leaderOf(t, ms...), ms)[0]
	require.NoError(t, victim.Stop())
	run(t, "cp", "-a", victim.DataDir(), dataDir)
	victim.SetArgs("--data-dir", dataDir)
	victim.Restart(t)
	acked := putAcked(t, victim, "before", 20)

	disk.failReadOnly(t)
	var failed error
	for i := 0; i < 50 && failed == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		key := fmt.Sprintf("during%04d", i)
		if _, failed = victim.Client(t).Put(ctx, key, "v"); failed == nil {
			acked = append(acked, key)
		}
		cancel()
	}
	t.Logf("put: %v; health: %v", failed, healthCodes(victim, 2*time.Second))
	require.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, codeOf(failed), "the failed put: %v", failed)
	require.Eventually(t, func() bool { return !victim.Running() }, 30*time.Second, 50*time.Millisecond,
		"the member exits once its WAL cannot be written")
	require.Error(t, victim.ExitErr())
	require.Contains(t, victim.Output(), "read-only file system")

	disk.repair(t)
	victim.Restart(t)
	requireAllPresent(t, victim, "", acked)
	rev := writeAndSettle(t, ms)
	requireSameState(t, rev, ms...)
}

// codeOf is the gRPC code of a client's error, as clientv3 returns it:
// a client deadline that passed is DeadlineExceeded.
func codeOf(err error) codes.Code {
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	return status.Code(err)
}

// A disk that turns read-only under the storage engine alone (the WAL
// elsewhere) fails the engine's next write: the member fails stop in
// process as for any engine failure, but reopening the engine on a
// read-only file system fails, and that does not heal by itself, so the
// process exits non-zero with the error instead of retrying forever.
// Once the file system is checked and mounted again, the restarted
// member holds every write it acknowledged.
func TestReadOnlyEngineDiskStopsTheMember(t *testing.T) {
	disk := mountExt4(t, 256<<20)
	m := hosttest.StartMember(t, hosttest.WithArgs("--data-dir", filepath.Join(disk.dir, "data"),
		"--wal-dir", filepath.Join(t.TempDir(), "wal")))
	acked := putAcked(t, m, "before", 20)

	disk.failReadOnly(t)
	var failed error
	for i := 0; i < 50 && failed == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		key := fmt.Sprintf("during%04d", i)
		if _, failed = m.Client(t).Put(ctx, key, "v"); failed == nil {
			acked = append(acked, key)
		}
		cancel()
		time.Sleep(50 * time.Millisecond) // past the write buffer's flush
	}
	require.Error(t, failed)
	t.Logf("put: %v", failed)
	require.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, codeOf(failed), "the failed put: %v", failed)
	require.Eventually(t, func() bool { return !m.Running() }, 30*time.Second, 50*time.Millisecond,
		"the member exits once its engine's file system is read-only")
	require.Error(t, m.ExitErr())
	require.Contains(t, m.Output(), "storage engine failed")
	require.Contains(t, m.Output(), "the member cannot go on, exiting")
	require.Contains(t, m.Output(), "read-only file system")

	disk.repair(t)
	m.Restart(t)
	requireAllPresent(t, m, "", acked)
}

// A disk that stalls (the file system frozen: every write and fsync
// waits) holds a member's writes; it never fails them, and the member
// never exits: a slow fsync is not a failed one. Held longer than the
// request timeout (7 s by default), puts answer etcd's "request timed
// out" (Unavailable, outcome unknown), /livez stays 200 (serializable
// reads need no disk), /health and /readyz answer 503 once their
// linearizable read times out. Once the disk moves, every acknowledged
// write is there and the checks pass again.
func TestStalledDiskHoldsWritesUntilItMoves(t *testing.T) {
	disk := mountExt4(t, 256<<20)
	m := hosttest.StartMember(t, hosttest.WithArgs("--data-dir", filepath.Join(disk.dir, "data")))
	acked := putAcked(t, m, "before", 20)

	disk.freeze(t)
	frozen := time.Now()
	type answer struct {
		what string
		err  error
		code int
		at   time.Duration
	}
	answers := make(chan answer, 6)
	for i := range 3 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := m.Client(t).Put(ctx, fmt.Sprintf("during%d", i), "v")
			answers <- answer{what: "put", err: err, at: time.Since(frozen)}
		}()
	}
	// The puts hold the raft loop in a WAL write first.
	time.Sleep(500 * time.Millisecond)
	client := &http.Client{Timeout: 20 * time.Second}
	for _, path := range []string{"/health", "/livez", "/readyz"} {
		go func() {
			a := answer{what: path}
			resp, err := client.Get(m.Endpoint() + path)
			if a.err = err; err == nil {
				a.code = resp.StatusCode
				_ = resp.Body.Close()
			}
			a.at = time.Since(frozen)
			answers <- a
		}()
	}
	const stall = 10 * time.Second
	for range 6 {
		a := <-answers
		t.Logf("%s answered after %v: %d %v", a.what, a.at.Round(time.Millisecond), a.code, a.err)
		require.Less(t, a.at, stall, "%s answers while the disk stalls", a.what)
		switch a.what {
		case "put":
			var code rpctypes.EtcdError
			require.ErrorAs(t, a.err, &code)
			require.Equal(t, codes.Unavailable, code.Code(), "put: %v", a.err)
			require.ErrorIs(t, a.err, rpctypes.ErrTimeout)
		case "/livez":
			require.NoError(t, a.err)
			require.Equal(t, http.StatusOK, a.code)
			require.Less(t, a.at, 3*time.Second)
		default:
			require.NoError(t, a.err)
			require.Equal(t, http.StatusServiceUnavailable, a.code, a.what)
		}
	}
	time.Sleep(time.Until(frozen.Add(stall)))
	disk.thaw(t)

	require.True(t, m.Running(), "a stalled disk does not stop the member")
	requireAllPresent(t, m, "", acked)
	acked = append(acked, putAcked(t, m, "after", 5)...)
	requireAllPresent(t, m, "", acked)
	require.Equal(t, map[string]int{"/health": 200, "/livez": 200, "/readyz": 200}, healthCodes(m, 5*time.Second))
}
