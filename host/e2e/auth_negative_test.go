package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// Negative paths of authentication, driven with raw gRPC so that the
// token each call carries is the test's choice (clientv3 would fetch a
// fresh one). Each scenario runs against etcd and MetaStore and the
// outcomes must match.

type authPerm = authpb.Permission

// rawConn is a gRPC connection to m without credentials.
type rawConn struct {
	kv    pb.KVClient
	auth  pb.AuthClient
	watch pb.WatchClient
}

func dialRaw(t *testing.T, m *hosttest.Process) rawConn {
	t.Helper()
	conn, err := grpc.NewClient(strings.TrimPrefix(m.Endpoint(), "http://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return rawConn{kv: pb.NewKVClient(conn), auth: pb.NewAuthClient(conn), watch: pb.NewWatchClient(conn)}
}

func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "token", token)
}

// rec records outcomes in a comparable form.
type rec []string

func (r *rec) add(what string, err error) {
	out := "ok"
	if err != nil {
		st, _ := status.FromError(err)
		out = fmt.Sprintf("%s %q", st.Code(), st.Message())
	}
	*r = append(*r, what+": "+out)
}

func (c rawConn) get(ctx context.Context, token, key string) error {
	_, err := c.kv.Range(withToken(ctx, token), &pb.RangeRequest{Key: []byte(key)})
	return err
}

func (c rawConn) put(ctx context.Context, token, key string) error {
	_, err := c.kv.Put(withToken(ctx, token), &pb.PutRequest{Key: []byte(key), Value: []byte("v")})
	return err
}

func (c rawConn) login(ctx context.Context, user, password string) (string, error) {
	resp, err := c.auth.Authenticate(ctx, &pb.AuthenticateRequest{Name: user, Password: password})
	if err != nil {
		return "", err
	}
	return resp.Token, nil
}

// setupAlice adds root and alice (read-write on /a/) and enables auth.
func setupAlice(ctx context.Context, t *testing.T, c rawConn) {
	t.Helper()
	steps := []func() error{
		func() error {
			_, err := c.auth.UserAdd(ctx, &pb.AuthUserAddRequest{Name: "root", Password: "rootpw"})
			return err
		},
		func() error { _, err := c.auth.RoleAdd(ctx, &pb.AuthRoleAddRequest{Name: "root"}); return err },
		func() error {
			_, err := c.auth.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: "root", Role: "root"})
			return err
		},
		func() error {
			_, err := c.auth.UserAdd(ctx, &pb.AuthUserAddRequest{Name: "alice", Password: "alicepw"})
			return err
		},
		func() error { _, err := c.auth.RoleAdd(ctx, &pb.AuthRoleAddRequest{Name: "tenant"}); return err },
		func() error {
			_, err := c.auth.RoleGrantPermission(ctx, &pb.AuthRoleGrantPermissionRequest{Name: "tenant",
				Perm: &authPerm{PermType: 2, Key: []byte("/a/"), RangeEnd: []byte("/a0")}})
			return err
		},
		func() error {
			_, err := c.auth.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: "alice", Role: "tenant"})
			return err
		},
		func() error { _, err := c.auth.AuthEnable(ctx, &pb.AuthEnableRequest{}); return err },
	}
	for _, s := range steps {
		require.NoError(t, s())
	}
}

// tokenScenario is the script of the token tests; it returns its record.
func tokenScenario(t *testing.T, m *hosttest.Process, expiry time.Duration) rec {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := dialRaw(t, m)
	setupAlice(ctx, t, c)
	var r rec
	r.add("no token get", c.get(ctx, "", "/a/1"))
	r.add("no token put", c.put(ctx, "", "/a/1"))
	r.add("bad token get", c.get(ctx, "bogus", "/a/1"))
	r.add("bad token put", c.put(ctx, "bogus", "/a/1"))
	_, err := c.login(ctx, "alice", "wrong")
	r.add("wrong password", err)
	_, err = c.login(ctx, "nobody", "pw")
	r.add("unknown user", err)
	alice, err := c.login(ctx, "alice", "alicepw")
	r.add("login", err)
	root, err := c.login(ctx, "root", "rootpw")
	r.add("root login", err)
	r.add("alice put", c.put(ctx, alice, "/a/1"))
	r.add("alice get", c.get(ctx, alice, "/a/1"))
	r.add("alice put outside", c.put(ctx, alice, "/b/1"))
	r.add("bearer get", c.get(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+alice), "", "/a/1"))

	// A permission revoked while the token lives is honoured.
	_, err = c.auth.RoleRevokePermission(withToken(ctx, root), &pb.AuthRoleRevokePermissionRequest{Role: "tenant", Key: []byte("/a/"), RangeEnd: []byte("/a0")})
	r.add("revoke", err)
	r.add("alice get after revoke", c.get(ctx, alice, "/a/1"))
	r.add("alice put after revoke", c.put(ctx, alice, "/a/1"))
	root, _ = c.login(ctx, "root", "rootpw")
	_, err = c.auth.RoleGrantPermission(withToken(ctx, root), &pb.AuthRoleGrantPermissionRequest{Name: "tenant",
		Perm: &authPerm{PermType: 2, Key: []byte("/a/"), RangeEnd: []byte("/a0")}})
	r.add("grant again", err)
	alice, _ = c.login(ctx, "alice", "alicepw")
	r.add("alice get after new login", c.get(ctx, alice, "/a/1"))

	// Disabling auth drops every token; enabling again does not revive them.
	root, _ = c.login(ctx, "root", "rootpw")
	_, err = c.auth.AuthDisable(withToken(ctx, root), &pb.AuthDisableRequest{})
	r.add("disable", err)
	r.add("get while disabled with old token", c.get(ctx, alice, "/a/1"))
	r.add("get while disabled without token", c.get(ctx, "", "/b/1"))
	_, err = c.login(ctx, "alice", "alicepw")
	r.add("login while disabled", err)
	_, err = c.auth.AuthEnable(ctx, &pb.AuthEnableRequest{})
	r.add("enable again", err)
	r.add("old token after re-enable", c.get(ctx, alice, "/a/1"))
	alice, _ = c.login(ctx, "alice", "alicepw")
	r.add("new token after re-enable", c.get(ctx, alice, "/a/1"))

	if expiry > 0 {
		time.Sleep(expiry)
		r.add("expired token", c.get(ctx, alice, "/a/1"))
	}

	// A restart keeps users, roles, permissions and the switch.
	require.NoError(t, m.Stop())
	m.Restart(t)
	c = dialRaw(t, m)
	r.add("no token after restart", c.get(ctx, "", "/a/1"))
	alice, err = c.login(ctx, "alice", "alicepw")
	r.add("login after restart", err)
	r.add("alice get after restart", c.get(ctx, alice, "/a/1"))
	r.add("alice put outside after restart", c.put(ctx, alice, "/b/1"))
	st, err := c.auth.AuthStatus(ctx, &pb.AuthStatusRequest{})
	r.add(fmt.Sprintf("status after restart %v", st.GetEnabled()), err)
	return r
}

func TestAuthSimpleTokensAgainstEtcd(t *testing.T) {
	etcd, ms := authServers(t, "--auth-token-ttl", "2")
	want := tokenScenario(t, etcd, 4*time.Second)
	got := tokenScenario(t, ms, 4*time.Second)
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
	require.Contains(t, got, `expired token: Unauthenticated "etcdserver: invalid auth token"`)
	require.Contains(t, got, `alice get after revoke: PermissionDenied "etcdserver: permission denied"`)
}

// writeJWTKeys writes an ECDSA key pair and returns the --auth-token value.
func writeJWTKeys(t *testing.T, ttl string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	dir := t.TempDir()
	der, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	priv := filepath.Join(dir, "jwt.key")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600))
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	pub := filepath.Join(dir, "jwt.pub")
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o600))
	return fmt.Sprintf("jwt,pub-key=%s,priv-key=%s,sign-method=ES256,ttl=%s", pub, priv, ttl)
}

func TestAuthJWTAgainstEtcd(t *testing.T) {
	spec := writeJWTKeys(t, "5s")
	etcd, ms := authServers(t, "--auth-token", spec)
	scenario := func(m *hosttest.Process) rec {
		r := tokenScenario(t, m, 0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := dialRaw(t, m)
		alice, err := c.login(ctx, "alice", "alicepw")
		r.add("login", err)
		parts := strings.Split(alice, ".")
		require.Len(t, parts, 3)
		sig := []byte(parts[2])
		sig[len(sig)/2] ^= 1
		r.add("tampered signature", c.get(ctx, parts[0]+"."+parts[1]+"."+string(sig), "/a/1"))
		r.add("other user's payload", c.get(ctx, parts[0]+"."+strings.ToUpper(parts[1])+"."+parts[2], "/a/1"))
		r.add("unsigned", c.get(ctx, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+parts[1]+".", "/a/1"))
		time.Sleep(6 * time.Second)
		r.add("expired", c.get(ctx, alice, "/a/1"))
		return r
	}
	want := scenario(etcd)
	got := scenario(ms)
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
	require.Contains(t, got, `alice get after revoke: InvalidArgument "etcdserver: revision of auth store is old"`)
	require.Contains(t, got, `tampered signature: Unauthenticated "etcdserver: invalid auth token"`)
}

// A watch is checked when it is created, as in etcd: revoking the
// permission later does not cancel it.
func TestAuthWatchCheckedAtCreation(t *testing.T) {
	etcd, ms := authServers(t)
	scenario := func(m *hosttest.Process) rec {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := dialRaw(t, m)
		setupAlice(ctx, t, c)
		alice, _ := c.login(ctx, "alice", "alicepw")
		root, _ := c.login(ctx, "root", "rootpw")
		var r rec
		watch := func(token, key string) (pb.Watch_WatchClient, *pb.WatchResponse) {
			w, err := c.watch.Watch(withToken(ctx, token))
			require.NoError(t, err)
			require.NoError(t, w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{
				CreateRequest: &pb.WatchCreateRequest{Key: []byte(key), RangeEnd: []byte("/a0")}}}))
			resp, err := w.Recv()
			require.NoError(t, err)
			return w, resp
		}
		_, resp := watch("", "/a/")
		r.add(fmt.Sprintf("no token: canceled=%v reason=%q", resp.Canceled, resp.CancelReason), nil)
		_, resp = watch("bogus", "/a/")
		r.add(fmt.Sprintf("bad token: canceled=%v reason=%q", resp.Canceled, resp.CancelReason), nil)
		_, resp = watch(alice, "/")
		r.add(fmt.Sprintf("outside: canceled=%v reason=%q", resp.Canceled, resp.CancelReason), nil)
		w, resp := watch(alice, "/a/")
		r.add(fmt.Sprintf("inside: created=%v canceled=%v", resp.Created, resp.Canceled), nil)
		_, err := c.auth.RoleRevokePermission(withToken(ctx, root), &pb.AuthRoleRevokePermissionRequest{Role: "tenant", Key: []byte("/a/"), RangeEnd: []byte("/a0")})
		r.add("revoke", err)
		r.add("root put", c.put(ctx, root, "/a/1"))
		ev, err := w.Recv()
		r.add(fmt.Sprintf("event after revoke: %d", len(ev.GetEvents())), err)
		return r
	}
	want := scenario(etcd)
	got := scenario(ms)
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
}
