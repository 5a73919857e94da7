package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/status"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// The permission matrix: users with different roles try every kind of
// operation on keys inside and outside their ranges. The same code runs
// against etcd and MetaStore; the outcomes must be the same, and a few are
// pinned here as data, so a change on both sides is noticed too.

type matrixRole struct {
	name  string
	perms []matrixPerm
}

type matrixPerm struct {
	typ      authpb.Permission_Type
	key, end string
}

func perm(typ authpb.Permission_Type, key, end string) matrixPerm {
	return matrixPerm{typ, key, end}
}

var matrixRoles = []matrixRole{
	{"rw-prefix", []matrixPerm{perm(authpb.Permission_READWRITE, "/a/", "/a0")}},
	{"read-key", []matrixPerm{perm(authpb.Permission_READ, "/k", "")}},
	{"write-range", []matrixPerm{perm(authpb.Permission_WRITE, "/m", "/p")}},
	{"read-range", []matrixPerm{perm(authpb.Permission_READ, "/n", "/q")}},
	{"read-from", []matrixPerm{perm(authpb.Permission_READ, "/x/", "\x00")}},
}

var matrixUsers = map[string][]string{
	"root":  {"root"},
	"rw":    {"rw-prefix"},
	"rkey":  {"read-key"},
	"wrng":  {"write-range"},
	"multi": {"read-key", "write-range", "read-range"},
	"from":  {"read-from"},
	"none":  nil,
}

// matrixOp is one operation; it returns nil or the error.
type matrixOp struct {
	name string
	run  func(ctx context.Context, c *clientv3.Client) error
}

func mGet(key string, opts ...clientv3.OpOption) matrixOp {
	return matrixOp{fmt.Sprintf("get %q %d", key, len(opts)), func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Get(ctx, key, opts...)
		return err
	}}
}

func mPut(key string, opts ...clientv3.OpOption) matrixOp {
	return matrixOp{fmt.Sprintf("put %q %d", key, len(opts)), func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Put(ctx, key, "v", opts...)
		return err
	}}
}

func mDel(key string, opts ...clientv3.OpOption) matrixOp {
	return matrixOp{fmt.Sprintf("del %q %d", key, len(opts)), func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Delete(ctx, key, opts...)
		return err
	}}
}

func mTxn(name string, cmps []clientv3.Cmp, then, els []clientv3.Op) matrixOp {
	return matrixOp{"txn " + name, func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Txn(ctx).If(cmps...).Then(then...).Else(els...).Commit()
		return err
	}}
}

func watchOp(key string, opts ...clientv3.OpOption) matrixOp {
	return matrixOp{fmt.Sprintf("watch %q %d", key, len(opts)), func(ctx context.Context, c *clientv3.Client) error {
		wctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), 10*time.Second)
		defer cancel()
		opts = append(opts, clientv3.WithCreatedNotify())
		for wr := range c.Watch(wctx, key, opts...) {
			if err := wr.Err(); err != nil {
				return err
			}
			if wr.Created {
				return nil
			}
		}
		return wctx.Err()
	}}
}

func mCall(name string, f func(ctx context.Context, c *clientv3.Client) error) matrixOp {
	return matrixOp{name, f}
}

var matrixOps = []matrixOp{
	mGet("/a/1"), mGet("/a/", clientv3.WithPrefix()), mGet("/a/", clientv3.WithRange("/b")),
	mGet("/k"), mGet("/k", clientv3.WithPrefix()), mGet("/b"),
	mGet("/m1"), mGet("/m", clientv3.WithRange("/p")),
	mGet("/n", clientv3.WithRange("/p")), mGet("/m", clientv3.WithRange("/q")), mGet("/o", clientv3.WithRange("/r")),
	mGet("/x/", clientv3.WithFromKey()), mGet("/x/1"), mGet("/x", clientv3.WithFromKey()), mGet("", clientv3.WithFromKey()),
	mGet("/k", clientv3.WithSerializable()), mGet("/k", clientv3.WithCountOnly()),
	mPut("/a/1"), mPut("/a/1", clientv3.WithPrevKV()), mPut("/k"), mPut("/m1"), mPut("/m1", clientv3.WithPrevKV()), mPut("/b"),
	mDel("/a/1"), mDel("/a/", clientv3.WithPrefix()), mDel("/m", clientv3.WithRange("/p")),
	mDel("/m", clientv3.WithRange("/p"), clientv3.WithPrevKV()), mDel("/b"), mDel("/n", clientv3.WithRange("/o"), clientv3.WithPrevKV()),
	mTxn("cmp-k put-m", []clientv3.Cmp{clientv3.Compare(clientv3.Version("/k"), "=", 0)}, []clientv3.Op{clientv3.OpPut("/m1", "v")}, nil),
	mTxn("cmp-b put-m", []clientv3.Cmp{clientv3.Compare(clientv3.Version("/b"), "=", 0)}, []clientv3.Op{clientv3.OpPut("/m1", "v")}, nil),
	mTxn("cmp-range", []clientv3.Cmp{clientv3.Compare(clientv3.Version("/n"), ">", -1).WithRange("/p")}, nil, nil),
	mTxn("else-b", nil, []clientv3.Op{clientv3.OpPut("/a/1", "v")}, []clientv3.Op{clientv3.OpPut("/b", "v")}),
	mTxn("read-only", nil, []clientv3.Op{clientv3.OpGet("/k")}, []clientv3.Op{clientv3.OpGet("/n1")}),
	mTxn("nested", nil, []clientv3.Op{clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpPut("/a/2", "v")}, []clientv3.Op{clientv3.OpGet("/b")})}, nil),
	mTxn("del-prev", nil, []clientv3.Op{clientv3.OpDelete("/m1", clientv3.WithPrevKV())}, nil),
	watchOp("/a/", clientv3.WithPrefix()), watchOp("/k"), watchOp("/b"), watchOp("/m1"), watchOp("/x/", clientv3.WithFromKey()),
	mCall("compact", func(ctx context.Context, c *clientv3.Client) error { _, err := c.Compact(ctx, 1); return err }),
	mCall("status", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.Status(ctx, c.Endpoints()[0])
		return err
	}),
	mCall("alarm list", func(ctx context.Context, c *clientv3.Client) error { _, err := c.AlarmList(ctx); return err }),
	mCall("alarm disarm", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.AlarmDisarm(ctx, &clientv3.AlarmMember{})
		return err
	}),
	mCall("hashkv", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.HashKV(ctx, c.Endpoints()[0], 0)
		return err
	}),
	mCall("member list", func(ctx context.Context, c *clientv3.Client) error { _, err := c.MemberList(ctx); return err }),
	mCall("member remove 1", func(ctx context.Context, c *clientv3.Client) error { _, err := c.MemberRemove(ctx, 1); return err }),
	mCall("auth status", func(ctx context.Context, c *clientv3.Client) error { _, err := c.AuthStatus(ctx); return err }),
	mCall("user list", func(ctx context.Context, c *clientv3.Client) error { _, err := c.UserList(ctx); return err }),
	mCall("user get rw", func(ctx context.Context, c *clientv3.Client) error { _, err := c.UserGet(ctx, "rw"); return err }),
	mCall("role get read-key", func(ctx context.Context, c *clientv3.Client) error { _, err := c.RoleGet(ctx, "read-key"); return err }),
	mCall("role add", func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.RoleAdd(ctx, "r-"+c.Username)
		return err
	}),
}

// matrixSetup adds to the data, as root, before auth is enabled.
type matrixSetup func(ctx context.Context, t *testing.T, c *clientv3.Client)

// setupMatrix creates the roles and users, runs setup and enables auth.
func setupMatrix(ctx context.Context, t *testing.T, c *clientv3.Client, setup matrixSetup) {
	t.Helper()
	for _, r := range matrixRoles {
		_, err := c.RoleAdd(ctx, r.name)
		require.NoError(t, err)
		for _, p := range r.perms {
			_, err := c.RoleGrantPermission(ctx, r.name, p.key, p.end, clientv3.PermissionType(p.typ))
			require.NoError(t, err)
		}
	}
	_, err := c.RoleAdd(ctx, "root")
	require.NoError(t, err)
	for _, name := range sortedKeys(matrixUsers) {
		_, err := c.UserAdd(ctx, name, name+"pw")
		require.NoError(t, err)
		for _, role := range matrixUsers[name] {
			_, err := c.UserGrantRole(ctx, name, role)
			require.NoError(t, err)
		}
	}
	if setup != nil {
		setup(ctx, t, c)
	}
	_, err = c.AuthEnable(ctx)
	require.NoError(t, err)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// userClient connects as name.
func userClient(t *testing.T, m *hosttest.Process, name, password string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints: []string{m.Endpoint()}, DialTimeout: 5 * time.Second,
		Username: name, Password: password, Logger: zap.NewNop(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

// runMatrix sets up m and returns "user op: outcome" for every pair.
func runMatrix(t *testing.T, m *hosttest.Process, ops []matrixOp, setup matrixSetup) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := m.Client(t)
	setupMatrix(ctx, t, admin, setup)
	var out []string
	for _, name := range sortedKeys(matrixUsers) {
		c := userClient(t, m, name, name+"pw")
		for _, op := range ops {
			out = append(out, fmt.Sprintf("%s %s: %s", name, op.name, outcome(op.run(ctx, c))))
		}
	}
	return out
}

func TestAuthPermissionMatrix(t *testing.T) {
	etcd, ms := authServers(t)
	want := runMatrix(t, etcd, matrixOps, nil)
	got := runMatrix(t, ms, matrixOps, nil)
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
	pinned := []string{
		`none get "/a/1" 0: etcdserver: permission denied`,
		`rw get "/a/" 1: ok`,
		`rw get "/a/" 1: ok`,
		`rkey put "/k" 0: etcdserver: permission denied`,
		`wrng put "/m1" 1: etcdserver: permission denied`,
		`multi get "/m" 1: etcdserver: permission denied`,
		`rw compact: etcdserver: permission denied`,
		`root compact: ok`,
	}
	for _, p := range pinned {
		require.Contains(t, got, p)
	}
}
