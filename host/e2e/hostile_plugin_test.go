package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// buildHostilePlugin builds testdata/hostileplugin, a storage plugin that
// misbehaves once, as METASTORE_HOSTILE_MODE says.
func buildHostilePlugin(t *testing.T) string {
	return buildTestdataPlugin(t, "hostileplugin", "metastore-storage-hostile")
}

// buildTestdataPlugin builds the plugin command testdata/<pkg> into a
// temporary file named name and returns its path.
func buildTestdataPlugin(t *testing.T, pkg, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building testdata/%s: %s", pkg, out)
	return bin
}

// TestHostilePlugin runs a member on a storage plugin that, once, exits
// in the middle of a batch, never answers one, or answers a read with
// fewer values than asked, a 48 MiB value, a value no engine wrote, each
// key with another key's record, or a message of another type. A
// storage engine's policy is fail-stop: the member refuses requests
// (Unavailable) or answers them correctly, never with a wrong value,
// restarts the plugin, and every acknowledged write is there afterwards.
func TestHostilePlugin(t *testing.T) {
	bin := buildHostilePlugin(t)
	sum := fileSum(t, bin)
	for _, mode := range []string{"exit", "hang", "short", "huge", "garbage", "swap", "wrongtype"} {
		t.Run(mode, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "metastore.yaml")
			require.NoError(t, os.WriteFile(file, fmt.Appendf(nil, `storage-engine: hostile
plugins:
  - kind: storage
    name: hostile
    path: %s
    sha256: %s
    ping-interval: 200ms
    ping-timeout: 2s
    call-timeout: 2s
    env:
      METASTORE_HOSTILE_MODE: %s
      METASTORE_HOSTILE_ONCE: %s
`, bin, sum, mode, filepath.Join(t.TempDir(), "once")), 0o600))
			m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", file))
			cli := m.Client(t)
			first := m.ChildPid(t, "metastore-stora")
			want := map[string]string{}
			refused := 0
			for i := range 120 {
				k, v := fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := cli.Put(ctx, k, v)
				cancel()
				time.Sleep(20 * time.Millisecond) // puts over many batches
				if err != nil {
					refused++
					continue
				}
				want[k] = v
			}
			if mode == "exit" || mode == "hang" {
				// The host saw it (the process gone, or a batch not
				// answered within call-timeout) and runs a new one.
				require.Eventually(t, func() bool {
					pids := hosttest.ChildPids(m.Pid(), "metastore-stora")
					return len(pids) == 1 && pids[0] != first
				}, 30*time.Second, 100*time.Millisecond, "a new plugin process")
			} else {
				// Reads go to the engine once the member's caches are
				// empty: after a restart.
				m.Restart(t)
				cli = m.Client(t)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				resp, err := cli.Get(ctx, "k", clientv3.WithPrefix())
				cancel()
				if err == nil {
					requireValues(t, want, resp)
				} else {
					var ee rpctypes.EtcdError
					require.True(t, errors.As(err, &ee) || status.Code(err) != codes.Unknown, "a refusal with etcd's code: %v", err)
					t.Logf("%s: the first read after the restart was refused: %v", mode, err)
				}
			}
			require.True(t, m.Running(), "the member exited:\n%s", m.Output())
			var resp *clientv3.GetResponse
			require.Eventually(t, func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				var err error
				resp, err = cli.Get(ctx, "k", clientv3.WithPrefix())
				return err == nil
			}, 60*time.Second, 200*time.Millisecond, "the member serves again")
			requireValues(t, want, resp)
			t.Logf("%s: %d puts acknowledged, %d refused or timed out; all acknowledged ones read back", mode, len(want), refused)
		})
	}
}

// requireValues requires every acknowledged key with its value, and no
// value that was never written.
func requireValues(t *testing.T, want map[string]string, resp *clientv3.GetResponse) {
	t.Helper()
	have := map[string]string{}
	for _, kv := range resp.Kvs {
		have[string(kv.Key)] = string(kv.Value)
	}
	for k, v := range want {
		require.Equal(t, v, have[k], "acknowledged key %s", k)
	}
	for k, v := range have {
		// A put whose answer was lost may have landed, with its value.
		i, err := strconv.Atoi(k[1:])
		require.NoError(t, err, "a key never written: %q", k)
		require.Equal(t, "v"+strconv.Itoa(i), v, "key %s", k)
	}
}

// TestHostileQuotaPlugin runs a member whose quota plugin, once, never
// answers a check while it goes on answering pings. The write waits at
// most call-timeout, then the plugin counts as down and the built-in
// check decides, as when it dies: no write is held longer, none refused.
func TestHostileQuotaPlugin(t *testing.T) {
	bin := buildTestdataPlugin(t, "hostilequota", "metastore-quota-hostile")
	cfg := hosttest.PrefixQuotaConfig(bin, fileSum(t, bin), "        - prefix: /a/\n          max-keys: 100\n")
	cfg = strings.Replace(cfg, "    ping-interval: 200ms\n", fmt.Sprintf("    ping-interval: 200ms\n    call-timeout: 1s\n    env:\n      METASTORE_HOSTILE_ONCE: %s\n",
		filepath.Join(t.TempDir(), "once")), 1)
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte(cfg), 0o600))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", file))
	cli := m.Client(t)
	var slowest time.Duration
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := cli.Put(ctx, fmt.Sprintf("/a/%d", i), "v")
		cancel()
		require.NoError(t, err, "put %d", i)
		slowest = max(slowest, time.Since(start))
	}
	require.Less(t, slowest, 3*time.Second)
	t.Logf("10 puts acknowledged; the slowest, held by the check that never came, took %v", slowest.Round(time.Millisecond))
}

// TestHostileAuthPlugin runs a member whose auth provider plugin, once,
// never answers a token verification while it goes on answering pings.
// The request waits at most call-timeout and is refused with Unavailable
// (the host fails closed); the plugin counts as dead, and the next
// unverified token is verified by a new process.
func TestHostileAuthPlugin(t *testing.T) {
	dir := t.TempDir()
	bin := buildTestdataPlugin(t, "hostileauth", "metastore-auth-hostile")
	jwksFile, token := oidcIssuer(t, dir)
	cfgFile := filepath.Join(dir, "metastore.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`auth-provider: oidc
plugins:
  - kind: auth
    name: oidc
    path: %s
    sha256: %s
    call-timeout: 1s
    env:
      METASTORE_OIDC_JWKS_FILE: %s
      METASTORE_OIDC_ISSUER: https://idp.example
      METASTORE_OIDC_AUDIENCE: metastore
      METASTORE_HOSTILE_ONCE: %s
`, bin, fileSum(t, bin), jwksFile, filepath.Join(dir, "once"))), 0o600))
	m := hosttest.StartMember(t, hosttest.WithArgs(append([]string{"--config-file", cfgFile}, authArgs...)...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dialRaw(t, m)
	setupAlice(ctx, t, c)

	require.NoError(t, c.put(ctx, token("alice", "metastore", time.Hour), "/a/1"), "the first verification is answered")
	start := time.Now()
	err := c.put(ctx, token("alice", "metastore", 2*time.Hour), "/a/2")
	require.Equal(t, codes.Unavailable, status.Code(err), "a verification the plugin never answers fails closed: %v", err)
	require.Less(t, time.Since(start), 5*time.Second, "held about call-timeout, not the client's deadline")
	require.Eventually(t, func() bool {
		return c.put(ctx, token("alice", "metastore", 3*time.Hour), "/a/3") == nil
	}, 15*time.Second, 200*time.Millisecond, "a new plugin process verifies tokens again")
}
