package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// A member's log lines carry their time as etcd's do (microseconds and the
// zone, "2026-12-06T14:09:34.282832Z"), so that what parses etcd's logs
// parses MetaStore's.
func TestLogTimestampsAreEtcds(t *testing.T) {
	etcd, ms := servers(t)
	layout := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d{4})$`)
	for _, m := range []*hosttest.Process{etcd, ms} {
		checked := 0
		for _, line := range strings.Split(m.Output(), "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var entry struct {
				TS string `json:"ts"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
			require.Regexp(t, layout, entry.TS, "a log time of %s", m.Name())
			checked++
		}
		require.Positive(t, checked, "%s logs JSON lines", m.Name())
	}
}

// --enable-log-rotation with --log-rotation-config-json rotates the one log
// file of --log-outputs, as etcd's do: both servers take the same flags and
// write their log there (and to stderr beside it). Rotation without a file
// to rotate is refused.
func TestLogRotationFlags(t *testing.T) {
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "member.log")
			m := hosttest.StartMember(t, hosttest.WithBinary(bin), hosttest.WithArgs("--log-outputs", "stderr,"+file,
				"--enable-log-rotation", "--log-rotation-config-json", `{"maxsize": 1, "maxbackups": 2, "compress": true}`))
			_, err := m.Etcdctl(t, "put", "k", "v")
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				raw, err := os.ReadFile(file)
				return err == nil && strings.Contains(string(raw), "ready to serve client requests")
			}, 10*time.Second, 50*time.Millisecond, "the log goes to the rotated file")
		})
	}
	out, err := exec.Command(hosttest.MetastoreBin(t), "--enable-log-rotation", "--data-dir", filepath.Join(t.TempDir(), "d")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "--enable-log-rotation needs a file in --log-outputs")
	out, err = exec.Command(hosttest.MetastoreBin(t), "--enable-log-rotation", "--log-outputs", filepath.Join(t.TempDir(), "x.log"),
		"--log-rotation-config-json", `{"maxsize": "big"}`, "--data-dir", filepath.Join(t.TempDir(), "d")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "invalid --log-rotation-config-json")
}
