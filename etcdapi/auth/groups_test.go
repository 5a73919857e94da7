package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	authplugin "github.com/metastore/metastore/pluginapi/auth"
)

// groupsStore has auth on, root, the role dev-rw (read and write under
// /dev/) granted to the group dev, and bob, an etcd user who may read
// [a, b) while the group may read [b, c) too.
func groupsStore(t testing.TB) (*Store, memMeta) {
	as := NewStore(zaptest.NewLogger(t))
	w := memMeta{}
	noPW := &authpb.UserAddOptions{NoPassword: true}
	grant := func(role string, typ authpb.Permission_Type, key, end string) {
		require.NoError(t, as.roleGrantPermission(w, &pb.AuthRoleGrantPermissionRequest{Name: role,
			Perm: &authpb.Permission{PermType: typ, Key: []byte(key), RangeEnd: []byte(end)}}))
	}
	require.NoError(t, as.userAdd(w, &pb.AuthUserAddRequest{Name: "root", Options: noPW}))
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "root", Role: rootRole}))
	for _, r := range []string{"dev-rw", "a-b", "b-c"} {
		require.NoError(t, as.roleAdd(w, &pb.AuthRoleAddRequest{Name: r}))
	}
	grant("dev-rw", authpb.Permission_READWRITE, "/dev/", "/dev0")
	grant("a-b", authpb.Permission_READ, "a", "b")
	grant("b-c", authpb.Permission_READ, "b", "c")
	require.NoError(t, as.userAdd(w, &pb.AuthUserAddRequest{Name: "group/dev", Options: noPW}))
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "group/dev", Role: "dev-rw"}))
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "group/dev", Role: "b-c"}))
	require.NoError(t, as.userAdd(w, &pb.AuthUserAddRequest{Name: "bob", Options: noPW}))
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "bob", Role: "a-b"}))
	require.NoError(t, as.authEnable(w))
	return as, w
}

func TestGroupGrants(t *testing.T) {
	as, w := groupsStore(t)
	rev := as.Revision()
	put := func(ai Info, key string) error {
		return as.Authorize(ai, &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte(key)}}, nil)
	}
	alice := Info{User: "alice", Groups: []string{"dev"}, Revision: rev}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"a group member who is no etcd user writes under the group's prefix", put(alice, "/dev/x"), nil},
		{"and nowhere else", put(alice, "/ops/x"), ErrPermissionDenied},
		{"without the group, nothing", put(Info{User: "alice", Revision: rev}, "/dev/x"), ErrPermissionDenied},
		{"an unknown group grants nothing", put(Info{User: "alice", Groups: []string{"ops"}, Revision: rev}, "/dev/x"), ErrPermissionDenied},
		{"own and group roles form one union",
			as.RangePermitted(Info{User: "bob", Groups: []string{"dev"}, Revision: rev}, []byte("a"), []byte("c")), nil},
		{"own roles alone do not cover it",
			as.RangePermitted(Info{User: "bob", Revision: rev}, []byte("a"), []byte("c")), ErrPermissionDenied},
		{"a group member is no admin", as.AdminPermitted(alice), ErrPermissionDenied},
		{"an identity naming nobody known is not found", as.AdminPermitted(Info{User: "x", Groups: []string{"y"}, Revision: rev}), ErrUserNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				require.NoError(t, tt.err)
			} else {
				require.ErrorIs(t, tt.err, tt.want)
			}
		})
	}

	// Revoking the grant bumps the revision and takes the permission away.
	require.NoError(t, as.userRevokeRole(w, &pb.AuthUserRevokeRoleRequest{Name: "group/dev", Role: "dev-rw"}))
	require.ErrorIs(t, put(alice, "/dev/x"), ErrAuthOldRevision)
	alice.Revision = as.Revision()
	require.ErrorIs(t, put(alice, "/dev/x"), ErrPermissionDenied)

	// The root role granted to a group makes its members admins.
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "group/dev", Role: rootRole}))
	alice.Revision = as.Revision()
	require.NoError(t, as.AdminPermitted(alice))
	require.NoError(t, put(alice, "/ops/x"))
}

func TestHeaderGroupsSurviveTheRaftEntry(t *testing.T) {
	h := &pb.RequestHeader{ID: 7, Username: "alice", AuthRevision: 3}
	SetHeaderGroups(h, []string{"dev", "ops"})
	data, err := proto.Marshal(&pb.InternalRaftRequest{Header: h, Put: &pb.PutRequest{Key: []byte("k")}})
	require.NoError(t, err)
	var r pb.InternalRaftRequest
	require.NoError(t, proto.Unmarshal(data, &r))
	require.Equal(t, []string{"dev", "ops"}, HeaderGroups(r.Header))
	require.Equal(t, "alice", r.Header.Username)
	require.Nil(t, HeaderGroups(&pb.RequestHeader{Username: "bob"}))
	require.Nil(t, HeaderGroups(nil))
}

// groupIdP verifies "ext-<user>" tokens as a member of group dev.
type groupIdP struct{ fakeIdP }

func (g *groupIdP) VerifyToken(ctx context.Context, r authplugin.VerifyTokenRequest) (authplugin.VerifyTokenResponse, error) {
	resp, err := g.fakeIdP.VerifyToken(ctx, r)
	resp.Identity.Groups = []string{"dev", "dev"}
	return resp, err
}

func TestExternalIdentityGroups(t *testing.T) {
	as, _ := groupsStore(t)
	as.external = newExternalTokens(&groupIdP{})
	ai, err := as.VerifyToken(context.Background(), "ext-alice", as.Revision())
	require.NoError(t, err)
	require.Equal(t, []string{"dev"}, ai.Groups)
	require.NoError(t, as.RangePermitted(ai, []byte("/dev/x"), nil))
	_, err = as.VerifyToken(context.Background(), "ext-group/dev", as.Revision())
	require.ErrorIs(t, err, ErrInvalidAuthToken, "no token stands for a group")
}

// BenchmarkAuthRangeCheckExternalGroups is the per-request cost auth adds
// to a Range for an external token whose permissions come from a group:
// the cached identity and the cached group grants.
func BenchmarkAuthRangeCheckExternalGroups(b *testing.B) {
	as, _ := groupsStore(b)
	as.external = newExternalTokens(&groupIdP{})
	key := []byte("/dev/x")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := authorizeRange(as, "ext-alice", key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
