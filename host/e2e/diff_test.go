package e2e

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// step is one etcdctl call of a script.
type step struct {
	args  []string
	stdin string
}

func ctl(args ...string) step { return step{args: args} }

func ctlIn(stdin string, args ...string) step { return step{args: args, stdin: stdin} }

// servers starts a fresh etcd and a fresh MetaStore.
func servers(t *testing.T) (etcd, metastore *hosttest.Process) {
	t.Helper()
	etcd = hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))
	metastore = hosttest.StartMember(t)
	return etcd, metastore
}

// runScript runs steps against m and returns a transcript: each call's
// stdout, stderr and exit status, with identities masked.
func runScript(t *testing.T, m *hosttest.Process, steps []step) []string {
	t.Helper()
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		stdout, err := m.EtcdctlStdin(t, s.stdin, s.args...)
		entry := fmt.Sprintf("$ etcdctl %s\n%s", strings.Join(s.args, " "), stdout)
		var cerr *hosttest.CmdError
		switch {
		case errors.As(err, &cerr):
			entry += fmt.Sprintf("[exit %d] %s", cerr.ExitCode(), cerr.Stderr)
		case err != nil:
			t.Fatalf("etcdctl %v: %v", s.args, err)
		}
		out = append(out, mask(entry))
	}
	return out
}

var maskers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`"(cluster_id|member_id|raft_term|raft_index|raft_applied_index)":"?\d+"?`), `"$1":N`},
	// clientv3's retry warnings carry times and connection addresses.
	{regexp.MustCompile(`\{"level":"warn"[^\n]*\n`), ""},
	{regexp.MustCompile(`"(ClusterID|MemberID|RaftTerm)" : \d+`), `"$1" : N`},
}

// mask hides what legitimately differs between two servers: identities and
// raft positions.
func mask(s string) string {
	for _, m := range maskers {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	return s
}

// requireSameAsEtcd runs steps on fresh etcd and MetaStore servers and
// requires identical transcripts, step by step.
func requireSameAsEtcd(t *testing.T, steps []step) {
	t.Helper()
	etcd, ms := servers(t)
	want := runScript(t, etcd, steps)
	got := runScript(t, ms, steps)
	for i := range want {
		require.Equal(t, want[i], got[i], "step %d differs from etcd", i)
	}
}
