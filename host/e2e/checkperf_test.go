package e2e

import (
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// checkVerdicts are the verdict lines of `etcdctl check perf`, found
// anywhere in its output: the first follows its progress bar on the same
// line.
var checkVerdicts = regexp.MustCompile(`(PASS: Throughput is|FAIL: Throughput too low:) [0-9]+ writes/s|` +
	`(PASS: Slowest request took|Slowest request took too long:) [0-9.]+s|(PASS: Stddev is|Stddev too high:) [0-9.]+s|` +
	`(?m)^(PASS|FAIL)$`)

// `etcdctl check datascale --load=s` writes 10,000 1 KiB pairs with 50
// clients, reads the member's memory from /metrics, and passes.
func TestEtcdctlCheckDatascale(t *testing.T) {
	m := hosttest.StartMember(t)
	out, err := m.Etcdctl(t, "check", "datascale", "--load=s")
	require.NoError(t, err, out)
	require.Regexp(t, regexp.MustCompile(`PASS: Approximate system memory used : [0-9.]+ MB\.`), out)
	left, err := m.Etcdctl(t, "get", "/etcdctl-check-datascale/", "--prefix", "--count-only", "--write-out", "fields")
	require.NoError(t, err)
	require.Contains(t, left, `"Count" : 0`, "the check cleans up its keys")
}

// `etcdctl check perf --load=s` runs its minute of 150 writes/s from 50
// clients with every write acknowledged, and reports its three
// measurements. Whether they pass depends on the machine's load, so the
// verdict is logged, not asserted: on a quiet machine it is PASS.
func TestEtcdctlCheckPerf(t *testing.T) {
	m := hosttest.StartMember(t)
	// Longer than hosttest's etcdctl timeout: the check alone takes 60 s.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hosttest.EtcdctlBin(t), "--endpoints="+m.Endpoint(), "check", "perf", "--load=s")
	raw, err := cmd.CombinedOutput()
	out := string(raw)
	lines := checkVerdicts.FindAllString(out, -1)
	t.Logf("etcdctl check perf: %q (exit error: %v)", lines, err)
	require.NotContains(t, out, "FAIL: too many errors", "every write succeeded")
	require.NotContains(t, out, "FAIL: ERROR")
	require.Len(t, lines, 4, "throughput, slowest request, stddev and the verdict")
	require.Contains(t, lines[0], "Throughput")
	require.Contains(t, lines[1], "Slowest request")
	require.Contains(t, lines[2], "Stddev")
	require.Equal(t, lines[3] == "PASS", err == nil, "the exit status agrees with the verdict")
	left, gerr := m.Etcdctl(t, "get", "/etcdctl-check-perf/", "--prefix", "--count-only", "--write-out", "fields")
	require.NoError(t, gerr)
	require.Contains(t, left, `"Count" : 0`, "the check cleans up its keys")
}
