package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// authArgs keep password hashing cheap on the shared test machines.
var authArgs = []string{"--bcrypt-cost", "4"}

// authServers starts a fresh etcd and a fresh MetaStore with args.
func authServers(t *testing.T, args ...string) (etcd, metastore *hosttest.Process) {
	t.Helper()
	args = append(append([]string(nil), authArgs...), args...)
	etcd = hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)), hosttest.WithArgs(args...))
	metastore = hosttest.StartMember(t, hosttest.WithArgs(args...))
	return etcd, metastore
}

// requireSameAsEtcdWith runs steps on etcd and MetaStore started with args
// and requires identical transcripts.
func requireSameAsEtcdWith(t *testing.T, steps []step, args ...string) {
	t.Helper()
	etcd, ms := authServers(t, args...)
	want := runScript(t, etcd, steps)
	got := runScript(t, ms, steps)
	for i := range want {
		require.Equal(t, want[i], got[i], "step %d differs from etcd", i)
	}
}

// authSetup adds root (with the root role) and alice, who may read and
// write /a/ and read /r, and enables auth.
var authSetup = []step{
	ctl("auth", "enable"),
	ctl("user", "add", "root:rootpw"),
	ctl("auth", "enable"),
	ctl("user", "add", "root:again"),
	ctl("user", "get", "root"),
	ctl("role", "add", "root"),
	ctl("role", "get", "root"),
	ctl("user", "grant-role", "root", "root"),
	ctl("user", "grant-role", "root", "root"),
	ctl("user", "grant-role", "root", "nosuch"),
	ctl("user", "add", "alice:alicepw"),
	ctl("role", "add", "tenant"),
	ctl("role", "add", "tenant"),
	ctl("role", "grant-permission", "tenant", "readwrite", "/a/", "--prefix"),
	ctl("role", "grant-permission", "tenant", "read", "/r"),
	ctl("role", "grant-permission", "tenant", "write", "/w", "/x"),
	ctl("role", "grant-permission", "tenant", "read", "/z", "--from-key"),
	ctl("role", "grant-permission", "nosuch", "read", "/z"),
	ctl("role", "get", "tenant"),
	ctl("user", "grant-role", "alice", "tenant"),
	ctl("user", "get", "alice", "--detail"),
	ctl("user", "list"),
	ctl("role", "list"),
	ctl("auth", "enable"),
	ctl("auth", "status"),
}

func TestAuthEtcdctlUsersRolesAndPermissions(t *testing.T) {
	steps := append(append([]step(nil), authSetup...),
		// Nobody, wrong passwords, unknown users.
		ctl("get", "/a/1"),
		ctl("--user", "alice:wrong", "get", "/a/1"),
		ctl("--user", "bob:pw", "get", "/a/1"),
		// Alice inside and outside her permissions.
		ctl("--user", "alice:alicepw", "put", "/a/1", "v1"),
		ctl("--user", "alice:alicepw", "get", "/a/", "--prefix"),
		ctl("--user", "alice:alicepw", "put", "/b/1", "v1"),
		ctl("--user", "alice:alicepw", "get", "/r"),
		ctl("--user", "alice:alicepw", "put", "/r", "v"),
		ctl("--user", "alice:alicepw", "put", "/w1", "v"),
		ctl("--user", "alice:alicepw", "get", "/w1"),
		ctl("--user", "alice:alicepw", "put", "/w1", "v", "--prev-kv"),
		ctl("--user", "alice:alicepw", "get", "/z", "--from-key"),
		ctl("--user", "alice:alicepw", "get", "/y", "--from-key"),
		ctl("--user", "alice:alicepw", "del", "/a/1"),
		ctl("--user", "alice:alicepw", "del", "/a/", "--prefix", "--prev-kv"),
		ctl("--user", "alice:alicepw", "del", "/w", "--prefix"),
		ctlIn("mod(\"/r\") > \"0\"\n\nput /a/2 v2\n\nput /a/3 v3\n\n", "--user", "alice:alicepw", "txn"),
		ctlIn("mod(\"/b\") > \"0\"\n\nput /a/2 v2\n\nput /a/3 v3\n\n", "--user", "alice:alicepw", "txn"),
		ctlIn("mod(\"/r\") > \"0\"\n\nput /a/2 v2\n\nput /b v3\n\n", "--user", "alice:alicepw", "txn"),
		ctlIn("mod(\"/r\") > \"0\"\n\nget /a/2\n\nget /b\n\n", "--user", "alice:alicepw", "txn"),
		ctl("--user", "alice:alicepw", "compaction", "1"),
		ctl("--user", "alice:alicepw", "user", "list"),
		ctl("--user", "alice:alicepw", "user", "get", "alice"),
		ctl("--user", "alice:alicepw", "user", "get", "root"),
		ctl("--user", "alice:alicepw", "role", "get", "tenant"),
		ctl("--user", "alice:alicepw", "role", "get", "root"),
		ctl("--user", "alice:alicepw", "role", "add", "x"),
		ctl("--user", "alice:alicepw", "auth", "disable"),
		ctl("--user", "alice:alicepw", "auth", "status"),
		ctl("--user", "alice:alicepw", "alarm", "list"),
		ctl("--user", "alice:alicepw", "member", "list", "-w", "json"),
		// Root rules while auth is on.
		ctl("--user", "root:rootpw", "get", "", "--from-key"),
		ctl("--user", "root:rootpw", "user", "delete", "root"),
		ctl("--user", "root:rootpw", "user", "revoke-role", "root", "root"),
		ctl("--user", "root:rootpw", "role", "delete", "root"),
		ctl("--user", "root:rootpw", "compaction", "2"),
		// Revoking and deleting.
		ctl("--user", "root:rootpw", "role", "revoke-permission", "tenant", "/a/", "--prefix"),
		ctl("--user", "root:rootpw", "role", "revoke-permission", "tenant", "/a/", "--prefix"),
		ctl("--user", "alice:alicepw", "get", "/a/2"),
		ctl("--user", "root:rootpw", "user", "revoke-role", "alice", "tenant"),
		ctl("--user", "root:rootpw", "user", "revoke-role", "alice", "tenant"),
		ctl("--user", "alice:alicepw", "get", "/r"),
		ctl("--user", "root:rootpw", "user", "grant-role", "alice", "tenant"),
		ctl("--user", "root:rootpw", "role", "delete", "tenant"),
		ctl("--user", "root:rootpw", "user", "get", "alice"),
		ctlIn("newpw\n", "--user", "root:rootpw", "user", "passwd", "alice", "--interactive=false"),
		ctl("--user", "alice:alicepw", "user", "get", "alice"),
		ctl("--user", "alice:newpw", "user", "get", "alice"),
		ctl("--user", "root:rootpw", "user", "delete", "alice"),
		ctl("--user", "root:rootpw", "user", "delete", "alice"),
		ctl("--user", "alice:newpw", "get", "/r"),
		// Off and on again.
		ctl("--user", "root:rootpw", "auth", "disable"),
		ctl("auth", "status"),
		ctl("get", "/a/2"),
		ctl("user", "delete", "root"),
		ctl("auth", "enable"),
		ctl("user", "add", "root:rootpw"),
		ctl("user", "grant-role", "root", "root"),
		ctl("auth", "enable"),
		ctl("--user", "root:rootpw", "get", "/a/2"),
		ctl("--user", "root:rootpw", "auth", "status"),
	)
	requireSameAsEtcdWith(t, steps)
}

func TestAuthEtcdctlNoPasswordUsersAndEmptyNames(t *testing.T) {
	steps := []step{
		ctl("user", "add", "root:rootpw"),
		ctl("user", "grant-role", "root", "root"),
		ctl("user", "add", "carol", "--no-password"),
		ctl("user", "get", "carol"),
		ctl("role", "add", ""),
		ctl("role", "grant-permission", "root", "read", ""),
		ctl("auth", "enable"),
		ctl("--user", "carol:pw", "get", "a"),
		ctl("--user", "carol", "--password", "", "get", "a"),
		ctlIn("pw\n", "--user", "root:rootpw", "user", "passwd", "carol", "--interactive=false"),
		ctl("--user", "root:rootpw", "user", "list"),
	}
	requireSameAsEtcdWith(t, steps)
}
