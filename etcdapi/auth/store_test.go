package auth

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"
)

// memMeta records meta writes like an mvcc write would.
type memMeta map[string][]byte

func (m memMeta) PutMeta(_ string, k, v []byte) { m[string(k)] = v }
func (m memMeta) DeleteMeta(_ string, k []byte) { delete(m, string(k)) }

func hashed(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(h)
}

func TestAuthStoreRulesAndRevisions(t *testing.T) {
	as := NewStore(zaptest.NewLogger(t))
	w := memMeta{}
	require.ErrorIs(t, as.authEnable(w), ErrRootUserNotExist)
	require.NoError(t, as.userAdd(w, &pb.AuthUserAddRequest{Name: "root", HashedPassword: hashed(t, "pw")}))
	require.Equal(t, uint64(2), as.Revision())
	require.ErrorIs(t, as.authEnable(w), ErrRootRoleNotExist)
	require.ErrorIs(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "root", Role: "nosuch"}), ErrRoleNotFound)
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "root", Role: rootRole}))
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "root", Role: rootRole}))
	require.Equal(t, uint64(3), as.Revision(), "a repeated grant is no change")
	require.NoError(t, as.authEnable(w))
	require.Equal(t, uint64(3), as.Revision(), "enabling keeps the revision, as etcd")
	require.ErrorIs(t, as.userDelete(w, &pb.AuthUserDeleteRequest{Name: "root"}), ErrInvalidAuthMgmt)
	require.ErrorIs(t, as.userRevokeRole(w, &pb.AuthUserRevokeRoleRequest{Name: "root", Role: rootRole}), ErrInvalidAuthMgmt)

	rev, err := as.checkPassword(context.Background(), "root", "pw")
	require.NoError(t, err)
	require.Equal(t, uint64(3), rev)
	_, err = as.checkPassword(context.Background(), "root", "wrong")
	require.ErrorIs(t, err, ErrAuthFailed)

	require.NoError(t, as.roleAdd(w, &pb.AuthRoleAddRequest{Name: "r"}))
	require.NoError(t, as.roleGrantPermission(w, &pb.AuthRoleGrantPermissionRequest{Name: "r",
		Perm: &authpb.Permission{PermType: authpb.Permission_READ, Key: []byte("a"), RangeEnd: []byte("c")}}))
	require.NoError(t, as.userAdd(w, &pb.AuthUserAddRequest{Name: "u", Options: &authpb.UserAddOptions{NoPassword: true}}))
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "u", Role: "r"}))
	u := Info{User: "u", Revision: as.Revision()}
	require.NoError(t, as.RangePermitted(u, []byte("b"), nil))
	require.ErrorIs(t, as.RangePermitted(u, []byte("d"), nil), ErrPermissionDenied)
	require.ErrorIs(t, as.RangePermitted(Info{User: "u", Revision: 1}, []byte("b"), nil), ErrAuthOldRevision)
	require.ErrorIs(t, as.RangePermitted(Info{}, []byte("b"), nil), ErrUserEmpty)
	_, err = as.checkPassword(context.Background(), "u", "")
	require.ErrorIs(t, err, ErrNoPasswordUser)

	// Deleting the role revokes it from its users.
	require.NoError(t, as.roleDelete(w, &pb.AuthRoleDeleteRequest{Role: "r"}))
	got, err := as.userGet("u")
	require.NoError(t, err)
	require.Empty(t, got.Roles)

	// The writes rebuild the same state.
	restored := NewStore(zaptest.NewLogger(t))
	for k, v := range w {
		require.NoError(t, restored.restore(k, v))
	}
	require.Equal(t, as.enabled, restored.enabled)
	require.Equal(t, as.revision, restored.revision)
	require.Equal(t, as.userList(), restored.userList())
	require.Equal(t, as.roleList(), restored.roleList())
}

func TestSimpleTokensExpireAndInvalidate(t *testing.T) {
	now := timeAt(0)
	tk := newSimpleTokens(10*second, func() timeT { return now }, func(context.Context, uint64) error { return nil })
	tk.enable()
	a := tk.register("alice", "abcdefghijklmnop", 7)
	require.Equal(t, "abcdefghijklmnop.7", a)
	ai, ok := tk.info(context.Background(), a, 5)
	require.True(t, ok)
	require.Equal(t, Info{User: "alice", Revision: 5}, ai)
	now = timeAt(9) // use renews
	_, ok = tk.info(context.Background(), a, 5)
	require.True(t, ok)
	now = timeAt(18)
	_, ok = tk.info(context.Background(), a, 5)
	require.True(t, ok)
	now = timeAt(30)
	_, ok = tk.info(context.Background(), a, 5)
	require.False(t, ok, "expired")
	b := tk.register("bob", "bbbbbbbbbbbbbbbb", 8)
	tk.invalidateUser("bob")
	_, ok = tk.info(context.Background(), b, 5)
	require.False(t, ok)
	_, ok = tk.info(context.Background(), "garbage", 5)
	require.False(t, ok)
}
