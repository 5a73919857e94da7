package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReason(t *testing.T) {
	tests := []struct {
		name   string
		status Status
		output []string
		want   string
	}{
		{
			name:   "testify error with its next line",
			status: Fail,
			output: []string{
				"    logger.go:146: 2026 INFO starting server",
				"    kv_test.go:61: ",
				"        \tError Trace:\t/x/kv_test.go:61",
				"        \tError:      \tReceived unexpected error:",
				"        \t            \tetcdserver: request timed out",
				"        \tTest:       \tTestKVGet/NoTLS",
			},
			want: "Received unexpected error: etcdserver: request timed out",
		},
		{
			name:   "command that failed",
			status: Fail,
			output: []string{
				"        \tError:      \tReceived unexpected error:",
				"        \t            \tRoleAdd failed: match not found.  Set EXPECT_DEBUG for more info Errs: [unexpected exit code [1] after running [/w/bin/etcdctl --endpoints=http://a:1,http://b:2 role add role0 -w json]], last lines:",
				"        \t            \t{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\"}",
				"        \t            \tError: rpc error: code = Unimplemented desc = unknown service etcdserverpb.Auth",
				"        \tTest:       \tTestDefragmentWithNoAuth",
			},
			want: "etcdctl role add role0 -w json: Error: rpc error: code = Unimplemented desc = unknown service etcdserverpb.Auth",
		},
		{
			name:   "command that failed, its output cut off",
			status: Fail,
			output: []string{
				"        \tError:      \tMemberRemove failed: Errs: [unexpected exit code [1] after running [/w/bin/etcdctl member remove 1]], last lines:",
				"        \tTest:       \tTestMemberRemove",
			},
			want: "etcdctl member remove 1",
		},
		{
			name:   "assertion with a message",
			status: Fail,
			output: []string{
				"    e2e.go:146: ",
				"        \tError Trace:\te2e.go:146",
				"        \tError:      \tShould be true",
				"        \tTest:       \tTestAuthority/x",
				"        \tMessages:   \tGot \"a\" expected suffix \"b\"",
				"    e2e.go:146: ",
			},
			want: `Should be true: Got "a" expected suffix "b"`,
		},
		{
			name:   "fatal line after logs",
			status: Fail,
			output: []string{
				"    testing.go:25: Changing working directory to: /tmp/x",
				"    logger.go:146: INFO spawning process",
				"    execute.go:47: ---> Test failed: test timed out after 9.8s, err: context deadline exceeded",
				"    execute.go:47: goroutine 122 [running]:",
			},
			want: "execute.go:47: ---> Test failed: test timed out after 9.8s, err: context deadline exceeded",
		},
		{
			name:   "server that did not start",
			status: Fail,
			output: []string{
				`    e2e.go:98: could not start etcd integrationCluster: cannot start: failed to find etcd ready lines ["ready to serve client requests"], err: match not found. Errs: [unexpected exit code [2] after running [/bin/etcd --name=x]], last lines:`,
				"        metastore: etcd flag not implemented by MetaStore: --strict-reconfig-check",
			},
			want: "e2e.go:98: server did not become ready: metastore: etcd flag not implemented by MetaStore: --strict-reconfig-check",
		},
		{
			name:   "skip message",
			status: Skip,
			output: []string{"    lease_test.go:40: skipping on this configuration"},
			want:   "lease_test.go:40: skipping on this configuration",
		},
		{
			name:   "failure without message",
			status: Fail,
			output: []string{"=== RUN   TestX"},
			want:   "no failure message",
		},
		{
			name:   "pass has no reason",
			status: Pass,
			output: []string{"    x.go:1: note"},
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, reason(&Unit{Status: tt.status, Output: tt.output}))
		})
	}
}

func collect(t *testing.T, stream, top string) []*Unit {
	t.Helper()
	c := newCollector()
	require.NoError(t, decode(strings.NewReader(stream), c))
	return c.finish(top)
}

func statuses(units []*Unit) map[string]Status {
	m := map[string]Status{}
	for _, u := range units {
		m[u.Name] = u.Status
	}
	return m
}

func TestCollector(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   map[string]Status
	}{
		{
			name: "leaves are units",
			stream: `{"Action":"run","Test":"TestKV"}
{"Action":"run","Test":"TestKV/NoTLS"}
{"Action":"run","Test":"TestKV/NoTLS/case1"}
{"Action":"fail","Test":"TestKV/NoTLS/case1"}
{"Action":"run","Test":"TestKV/NoTLS/case2"}
{"Action":"pass","Test":"TestKV/NoTLS/case2"}
{"Action":"fail","Test":"TestKV/NoTLS"}
{"Action":"run","Test":"TestKV/TLS"}
{"Action":"pass","Test":"TestKV/TLS"}
{"Action":"fail","Test":"TestKV"}
`,
			want: map[string]Status{"TestKV/NoTLS/case1": Fail, "TestKV/NoTLS/case2": Pass, "TestKV/TLS": Pass},
		},
		{
			name: "subtest names holding a slash",
			stream: `{"Action":"run","Test":"TestLease"}
{"Action":"run","Test":"TestLease/NoTLS/one_lease"}
{"Action":"pass","Test":"TestLease/NoTLS/one_lease"}
{"Action":"run","Test":"TestLease/NoTLS/no_leases"}
{"Action":"skip","Test":"TestLease/NoTLS/no_leases"}
{"Action":"pass","Test":"TestLease"}
`,
			want: map[string]Status{"TestLease/NoTLS/one_lease": Pass, "TestLease/NoTLS/no_leases": Skip},
		},
		{
			name: "test without subtests",
			stream: `{"Action":"run","Test":"TestAlarm"}
{"Action":"skip","Test":"TestAlarm"}
`,
			want: map[string]Status{"TestAlarm": Skip},
		},
		{
			name: "process died mid-test",
			stream: `{"Action":"run","Test":"TestKV"}
{"Action":"run","Test":"TestKV/NoTLS"}
{"Action":"output","Test":"TestKV/NoTLS","Output":"panic: test timed out after 5m0s\n"}
`,
			want: map[string]Status{"TestKV/NoTLS": Fail},
		},
		{
			name: "failure no leaf explains",
			stream: `{"Action":"run","Test":"TestKV"}
{"Action":"run","Test":"TestKV/NoTLS"}
{"Action":"pass","Test":"TestKV/NoTLS"}
{"Action":"fail","Test":"TestKV"}
`,
			want: map[string]Status{"TestKV/NoTLS": Pass, "TestKV": Fail},
		},
		{
			name:   "process that ran nothing",
			stream: `{"Action":"output","Output":"flag provided but not defined: -x\n"}`,
			want:   map[string]Status{"TestKV": Fail},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, statuses(collect(t, tt.stream, "TestKV")))
		})
	}
}

func TestCollectorJoinsSplitLinesAndNamesDeath(t *testing.T) {
	units := collect(t, `{"Action":"run","Test":"TestKV"}
{"Action":"output","Test":"TestKV","Output":"    e2e.go:98: could not start: failed to find etcd "}
{"Action":"output","Test":"TestKV","Output":"ready lines, last lines:\n"}
{"Action":"output","Test":"TestKV","Output":"        metastore: refused\n"}
{"Action":"fail","Test":"TestKV"}
{"Action":"run","Test":"TestWatch"}
{"Action":"output","Output":"panic: test timed out after 5m0s\n"}
`, "TestKV")
	require.Len(t, units, 2)
	require.Equal(t, "e2e.go:98: server did not become ready: metastore: refused", units[0].Reason)
	require.Equal(t, "process died: panic: test timed out after 5m0s", units[1].Reason)
}

func TestPlanFromList(t *testing.T) {
	plan := planFromList([]string{"TestKV/NoTLS", "TestAlarm", "TestKV/PeerTLS_and_ClientTLS",
		"TestWatch/NoTLS", "TestWatch", "TestLease/NoTLS/one_lease", "TestLease/TLS/one_lease", "TestLease/a.b"})
	require.Equal(t, []step{
		{top: "TestKV", subs: []string{"NoTLS", "PeerTLS_and_ClientTLS"}},
		{top: "TestAlarm"},
		{top: "TestWatch"},
		{top: "TestLease", subs: []string{"NoTLS/one_lease", "TLS/one_lease", "a.b"}},
	}, plan)
	require.Equal(t, `^TestKV$/^NoTLS$|^TestKV$/^PeerTLS_and_ClientTLS$`, plan[0].runPattern())
	require.Equal(t, `^TestAlarm$`, plan[1].runPattern())
	require.Equal(t, `^TestLease$/^NoTLS$/^one_lease$|^TestLease$/^TLS$/^one_lease$|^TestLease$/^a\.b$`, plan[3].runPattern())
}

func TestReportCountsRefusedFlags(t *testing.T) {
	units := []*Unit{
		{Name: "TestA/NoTLS", Status: Fail, Output: []string{"        metastore: etcd flag not implemented by MetaStore: --strict-reconfig-check"}},
		{Name: "TestA/TLS", Status: Fail, Output: []string{"        metastore: etcd flag not implemented by MetaStore: --strict-reconfig-check, --cert-file"}},
		{Name: "TestB", Status: Pass},
	}
	var b bytes.Buffer
	require.NoError(t, writeReport(&b, units))
	require.Contains(t, b.String(), "   2 --strict-reconfig-check\n   1 --cert-file\n")
	require.Equal(t, "1 passed, 2 failed, 0 skipped", count(units).Summary())
}
