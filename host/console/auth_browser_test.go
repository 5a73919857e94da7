package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// enableAuth makes root (password "rootpw") and alice (password
// "alicepw", who may read and write /alice/ only), writes a key under
// /alice/ and one under /secret/, and turns auth on.
func enableAuth(t *testing.T, m *hosttest.Process) {
	t.Helper()
	cli := m.Client(t)
	ctx := context.Background()
	steps := []func() error{
		func() error { _, err := cli.Put(ctx, "/alice/notes", "mine"); return err },
		func() error { _, err := cli.Put(ctx, "/secret/plan", "nobody reads this"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "root"); return err },
		func() error { _, err := cli.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "alice-rw"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "alice-rw", "/alice/", clientv3.GetPrefixRangeEnd("/alice/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := cli.UserAdd(ctx, "alice", "alicepw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "alice", "alice-rw"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	}
	for _, step := range steps {
		require.NoError(t, step())
	}
}

// login fills in the console's login form.
func (p *page) login(user, password string) {
	p.t.Helper()
	p.waitFor(`document.querySelector("#login-password")`)
	p.fill("#login-name", user)
	p.fill("#login-password", password)
	p.click("#login-submit")
}

// With auth on, the console asks for a user; a user restricted to a
// prefix reads it (a YAML value pretty-printed), is denied another and does not see the other users;
// root sees and edits users and roles.
func TestConsoleAuth(t *testing.T) {
	m := hosttest.StartMember(t)
	enableAuth(t, m)

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/keys?prefix=/alice/")
	p.waitFor(`document.querySelector("#login")`)
	p.screenshot("login", true)
	// An expired token, as the cookie of an earlier session holds it,
	// shows the login form too (and no password prompt of the browser).
	port := m.Endpoint()[strings.LastIndexByte(m.Endpoint(), ':')+1:]
	_ = eval[bool](p, `document.cookie = "metastore_console_`+port+`=expired.1; path=/ui/api/", true`)
	p.open(m.Endpoint() + "/ui/keys?prefix=/alice/")
	p.waitText("#login", "invalid auth token")
	p.login("alice", "wrong")
	p.waitText(`#login [data-testid="error"]`, "authentication failed")
	p.login("alice", "alicepw")
	p.waitText("#tree-list li", "notes")
	p.waitText("#whoami", "alice")
	cookie := eval[string](p, `document.cookie`)
	require.NotContains(t, cookie, "metastore_console", "the session cookie is readable by scripts")
	// The member pretty-prints a YAML value for a logged in user.
	_, err := m.Etcdctl(t, "--user", "root:rootpw", "put", "/alice/conf", "a: {b: 1}\nc: [2]\n")
	require.NoError(t, err)
	p.open(m.Endpoint() + "/ui/keys?prefix=/alice/&key=/alice/conf")
	p.waitFor(`document.querySelector("#value")?.textContent === "a:\n  b: 1\nc:\n  - 2"`)

	p.open(m.Endpoint() + "/ui/keys?prefix=/secret/")
	p.waitText(`[data-testid="error"]`, "permission denied")
	p.screenshot("denied", false)
	p.open(m.Endpoint() + "/ui/auth")
	p.waitText("#own-user", "alice-rw")
	require.False(t, eval[bool](p, `!!document.querySelector("[data-user]")`), "alice sees the user list")
	p.open(m.Endpoint() + "/ui/plugins")
	p.waitText(`[data-testid="error"]`, "permission denied")
	p.open(m.Endpoint() + "/ui/members")
	p.waitText(`tr[data-member="default"]`, "healthy")
	p.open(m.Endpoint() + "/ui/leases")
	p.waitText("#no-leases", "No leases")

	p.click("#logout")
	p.login("root", "rootpw")
	p.waitText("#whoami", "root")
	p.open(m.Endpoint() + "/ui/auth")
	p.waitText(`tr[data-role="alice-rw"]`, "READWRITE  /alice/ (prefix)")
	p.fill("#new-user", "bob")
	p.fill("#new-user-password", "bobpw")
	p.do() // let the form settle
	p.fill("#grant-role", "alice-rw")
	p.click(`#new-user ~ button[type="submit"]`)
	p.waitText(`tr[data-user="bob"]`, "alice-rw")
	p.screenshot("auth", true)
	out, err := m.Etcdctl(t, "--user", "root:rootpw", "user", "get", "bob")
	require.NoError(t, err)
	require.Contains(t, out, "alice-rw")

	p.click(`tr[data-user="bob"] [data-revoke-role="alice-rw"]`)
	p.waitFor(`document.querySelector('tr[data-user="bob"]') && !document.querySelector('tr[data-user="bob"]').textContent.includes("alice-rw")`)
	out, err = m.Etcdctl(t, "--user", "root:rootpw", "user", "get", "bob")
	require.NoError(t, err)
	require.NotContains(t, out, "alice-rw")
	p.click(`tr[data-role="alice-rw"] [data-revoke-perm="/alice/"]`)
	p.waitText(`tr[data-role="alice-rw"]`, "none")
	out, err = m.Etcdctl(t, "--user", "root:rootpw", "role", "get", "alice-rw")
	require.NoError(t, err)
	require.NotContains(t, out, "/alice/")
}
