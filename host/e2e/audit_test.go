package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/metastore/metastore/host/hosttest"
)

// auditLine is a line of the audit log as the test reads it.
type auditLine struct {
	Time   string         `json:"time"`
	Event  string         `json:"event"`
	Method string         `json:"method"`
	User   string         `json:"user"`
	Peer   string         `json:"peer"`
	Args   map[string]any `json:"args"`
	Result string         `json:"result"`
}

// readAudit parses every line of the audit log; each must be a record.
func readAudit(t *testing.T, path string) []auditLine {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []auditLine
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var l auditLine
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		_, err := time.Parse(time.RFC3339Nano, l.Time)
		require.NoError(t, err, line)
		out = append(out, l)
	}
	return out
}

// waitAudit waits until the audit log has a record of event for which
// match holds, and returns it.
func waitAudit(t *testing.T, path, event string, match func(auditLine) bool) auditLine {
	t.Helper()
	var found auditLine
	require.Eventually(t, func() bool {
		for _, l := range readAudit(t, path) {
			if l.Event == event && match(l) {
				found = l
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "audit record %s", event)
	return found
}

func okBy(user string) func(auditLine) bool {
	return func(l auditLine) bool { return l.Result == "ok" && l.User == user }
}

// Every audited event made with etcdctl against one member lands in the
// audit log with who, what, when and the result; no password ever does.
func TestAuditLogEtcdctl(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	m := hosttest.StartMember(t, hosttest.WithArgs(append([]string{"--audit-log", path}, authArgs...)...))
	ctl := func(args ...string) string {
		t.Helper()
		out, err := m.Etcdctl(t, args...)
		require.NoError(t, err, "etcdctl %v", args)
		return out
	}
	root := func(args ...string) string { return ctl(append([]string{"--user", "root:rootpw"}, args...)...) }

	// Auth off: the user is "".
	ctl("put", "k", "v1")
	ctl("put", "k", "v2")
	ctl("compact", "2")
	l := waitAudit(t, path, "Compact", okBy(""))
	require.Equal(t, "/etcdserverpb.KV/Compact", l.Method)
	require.EqualValues(t, 2, l.Args["revision"])
	require.Contains(t, l.Peer, "127.0.0.1:")

	ctl("defrag")
	waitAudit(t, path, "Defragment", okBy(""))
	ctl("snapshot", "save", filepath.Join(t.TempDir(), "snap.db"))
	waitAudit(t, path, "Snapshot", okBy(""))

	peerPort := freePort(t)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	out := ctl("member", "add", "learner1", "--learner", "--peer-urls", peerURL)
	id := learnerID(t, out)
	waitAudit(t, path, "MemberAdd", func(l auditLine) bool {
		return l.Result == "ok" && l.Args["learner"] == true && fmt.Sprint(l.Args["peer-urls"]) == "["+peerURL+"]"
	})
	ctl("member", "update", id, "--peer-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	waitAudit(t, path, "MemberUpdate", func(l auditLine) bool { return l.Result == "ok" && l.Args["id"] == id })
	_, err := m.Etcdctl(t, "member", "promote", id)
	require.Error(t, err, "a learner that never started cannot be promoted")
	waitAudit(t, path, "MemberPromote", func(l auditLine) bool { return l.Result != "ok" && l.Args["id"] == id })
	ctl("member", "remove", id)
	waitAudit(t, path, "MemberRemove", func(l auditLine) bool { return l.Result == "ok" && l.Args["id"] == id })

	self := strings.Fields(ctl("endpoint", "status", "--write-out", "fields"))
	memberID, err := strconv.ParseUint(fieldValue(t, self, `"MemberID"`), 10, 64)
	require.NoError(t, err)
	selfHex := strconv.FormatUint(memberID, 16)
	_, _ = m.Etcdctl(t, "move-leader", selfHex) // to itself: etcdctl may refuse
	waitAudit(t, path, "MoveLeader", func(l auditLine) bool { return l.Args["target"] == selfHex })

	// There is no etcdctl command to raise an alarm; the API call is the
	// one any client makes.
	conn, err := grpc.NewClient(strings.TrimPrefix(m.Endpoint(), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = pb.NewMaintenanceClient(conn).Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: memberID, Alarm: pb.AlarmType_NOSPACE})
	require.NoError(t, err)
	waitAudit(t, path, "Alarm", func(l auditLine) bool { return l.Result == "ok" && l.Args["action"] == "ACTIVATE" })
	ctl("alarm", "disarm")
	waitAudit(t, path, "Alarm", func(l auditLine) bool { return l.Result == "ok" && l.Args["action"] == "DEACTIVATE" })

	// Users, roles, auth.
	ctl("user", "add", "root:rootpw")
	waitAudit(t, path, "UserAdd", func(l auditLine) bool { return l.Result == "ok" && l.Args["name"] == "root" })
	ctl("role", "add", "root")
	ctl("user", "grant-role", "root", "root")
	waitAudit(t, path, "UserGrantRole", func(l auditLine) bool { return l.Args["name"] == "root" && l.Args["role"] == "root" })
	ctl("auth", "enable")
	waitAudit(t, path, "AuthEnable", okBy(""))
	root("user", "add", "alice:alicesecret")
	waitAudit(t, path, "UserAdd", func(l auditLine) bool { return l.User == "root" && l.Args["name"] == "alice" })
	waitAudit(t, path, "Authenticate", func(l auditLine) bool { return l.Result == "ok" && l.User == "root" && l.Args["name"] == "root" })
	_, err = m.Etcdctl(t, "--user", "alice:wrongpass", "get", "k")
	require.Error(t, err)
	failed := waitAudit(t, path, "Authenticate", func(l auditLine) bool { return l.Result != "ok" && l.Args["name"] == "alice" })
	require.Contains(t, failed.Result, "authentication failed")
	require.Equal(t, "", failed.User)
	_, err = m.EtcdctlStdin(t, "newalicepass\n", "--user", "root:rootpw", "user", "passwd", "alice", "--interactive=false")
	require.NoError(t, err)
	waitAudit(t, path, "UserChangePassword", func(l auditLine) bool { return l.User == "root" && l.Args["name"] == "alice" })
	root("role", "add", "tenant")
	waitAudit(t, path, "RoleAdd", func(l auditLine) bool { return l.User == "root" && l.Args["role"] == "tenant" })
	root("role", "grant-permission", "tenant", "readwrite", "/a/", "--prefix")
	waitAudit(t, path, "RoleGrantPermission", func(l auditLine) bool {
		return l.Args["role"] == "tenant" && l.Args["perm"] == "READWRITE" && l.Args["key"] == "/a/" && l.Args["range-end"] == "/a0"
	})
	root("user", "grant-role", "alice", "tenant")
	root("role", "revoke-permission", "tenant", "/a/", "--prefix")
	waitAudit(t, path, "RoleRevokePermission", func(l auditLine) bool { return l.User == "root" && l.Args["key"] == "/a/" })
	root("user", "revoke-role", "alice", "tenant")
	waitAudit(t, path, "UserRevokeRole", func(l auditLine) bool { return l.User == "root" && l.Args["role"] == "tenant" })
	root("user", "delete", "alice")
	waitAudit(t, path, "UserDelete", func(l auditLine) bool { return l.User == "root" && l.Args["name"] == "alice" })
	root("role", "delete", "tenant")
	waitAudit(t, path, "RoleDelete", func(l auditLine) bool { return l.User == "root" && l.Args["role"] == "tenant" })
	// A refused call is recorded with its error.
	_, err = m.Etcdctl(t, "--user", "alice:newalicepass", "defrag")
	require.Error(t, err)
	root("auth", "disable")
	waitAudit(t, path, "AuthDisable", okBy("root"))

	require.NoError(t, m.Stop())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, secret := range []string{"rootpw", "alicesecret", "wrongpass", "newalicepass"} {
		require.NotContains(t, string(data), secret, "the audit log holds no password")
	}
	for _, l := range readAudit(t, path) {
		require.NotEqual(t, "Range", l.Event, "reads are not audited")
		require.NotEqual(t, "Put", l.Event, "writes of keys are not audited")
	}
}

// learnerID is the hex id in `etcdctl member add` output.
func learnerID(t *testing.T, out string) string {
	t.Helper()
	// etcdctl pads the id to 16 hex digits with spaces: "Member  8a5... added".
	m := regexp.MustCompile(`Member\s+([0-9a-f]+)\s+added`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no member id in %q", out)
	}
	return m[1]
}

// fieldValue returns the value after `name :` in etcdctl's fields output.
func fieldValue(t *testing.T, fields []string, name string) string {
	t.Helper()
	for i := 0; i+2 < len(fields); i++ {
		if fields[i] == name && fields[i+1] == ":" {
			return fields[i+2]
		}
	}
	t.Fatalf("no %s in %v", name, fields)
	return ""
}

// A storage plugin's start, exit and restart are audited; the last
// records are in the file once the member stops.
func TestAuditLogPluginEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	m := startPluginMember(t, "bbolt", hosttest.WithArgs("--audit-log", path))
	start := waitAudit(t, path, "plugin.start", func(l auditLine) bool { return l.Result == "ok" })
	require.Equal(t, "storage", start.Args["kind"])
	require.Equal(t, "bbolt-plugin", start.Args["name"])
	require.Equal(t, "", start.User)

	pid := m.ChildPid(t, "metastore-stora")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	exit := waitAudit(t, path, "plugin.exit", func(l auditLine) bool { return l.Args["name"] == "bbolt-plugin" })
	require.NotEqual(t, "ok", exit.Result, "the exit says why")
	waitAudit(t, path, "plugin.restart", func(l auditLine) bool { return l.Result == "ok" })
	_, err := m.Etcdctl(t, "put", "k", "v")
	require.NoError(t, err)
	require.NoError(t, m.Stop())
	var starts int
	for _, l := range readAudit(t, path) {
		if l.Event == "plugin.start" {
			starts++
		}
	}
	require.Equal(t, 2, starts, "the first start and the restart's")
}

// A compaction the member makes by itself is audited too.
func TestAuditLogAutoCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	m := hosttest.StartMember(t, hosttest.WithArgs("--audit-log", path, "--auto-compaction-mode", "revision",
		"--auto-compaction-retention", "10", "--auto-compaction-check-interval", "200ms"))
	for i := range 20 {
		_, err := m.Etcdctl(t, "put", fmt.Sprintf("k%d", i), "v")
		require.NoError(t, err)
	}
	l := waitAudit(t, path, "auto-compaction", func(l auditLine) bool {
		rev, _ := l.Args["revision"].(float64)
		return l.Result == "ok" && rev > 1
	})
	require.Equal(t, "", l.User)
	require.Equal(t, "", l.Peer)
}

// An alarm the member raises by itself (here NOSPACE, when a write finds
// the quota exhausted) is audited once, as the member's own event.
func TestAuditLogAlarmTheMemberRaises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	m := hosttest.StartMember(t, hosttest.WithArgs("--audit-log", path, "--quota-backend-bytes", "400000"))
	cli := m.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	value := strings.Repeat("a", 20000)
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = cli.Put(ctx, fmt.Sprintf("big%d", i%4), value)
	}
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)
	st, err := cli.Status(ctx, m.Endpoint())
	require.NoError(t, err)
	self := strconv.FormatUint(st.Header.MemberId, 16)

	l := waitAudit(t, path, "alarm", func(l auditLine) bool { return l.Args["alarm"] == "NOSPACE" })
	require.Equal(t, auditLine{Time: l.Time, Event: "alarm", User: "", Peer: "", Result: "ok", Args: map[string]any{
		"action": "ACTIVATE", "alarm": "NOSPACE", "member": self, "raised-by": self,
	}}, l)
	// Writes refused while the alarm is raised raise nothing more.
	for range 3 {
		_, err = cli.Put(ctx, "small", "x")
		require.ErrorIs(t, err, rpctypes.ErrNoSpace)
	}
	require.NoError(t, m.Stop())
	var alarms int
	for _, l := range readAudit(t, path) {
		if l.Event == "alarm" {
			alarms++
		}
	}
	require.Equal(t, 1, alarms)
}
