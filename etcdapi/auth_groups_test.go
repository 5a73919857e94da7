package etcdapi

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/pluginapi/auth"
)

// groupsStore has auth on, root, the role dev-rw (read and write under
// /dev/) granted to the group dev, and bob, an etcd user who may read
// [a, b) while the group may read [b, c) too.
func groupsStore(t testing.TB) (*authStore, memMeta) {
	as := newAuthStore(zaptest.NewLogger(t))
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
	rev := as.currentRevision()
	put := func(ai authInfo, key string) error {
		return as.authorize(ai, &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte(key)}}, nil)
	}
	alice := authInfo{user: "alice", groups: []string{"dev"}, revision: rev}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"a group member who is no etcd user writes under the group's prefix", put(alice, "/dev/x"), nil},
		{"and nowhere else", put(alice, "/ops/x"), ErrPermissionDenied},
		{"without the group, nothing", put(authInfo{user: "alice", revision: rev}, "/dev/x"), ErrPermissionDenied},
		{"an unknown group grants nothing", put(authInfo{user: "alice", groups: []string{"ops"}, revision: rev}, "/dev/x"), ErrPermissionDenied},
		{"own and group roles form one union",
			as.rangePermitted(authInfo{user: "bob", groups: []string{"dev"}, revision: rev}, []byte("a"), []byte("c")), nil},
		{"own roles alone do not cover it",
			as.rangePermitted(authInfo{user: "bob", revision: rev}, []byte("a"), []byte("c")), ErrPermissionDenied},
		{"a group member is no admin", as.adminPermitted(alice), ErrPermissionDenied},
		{"an identity naming nobody known is not found", as.adminPermitted(authInfo{user: "x", groups: []string{"y"}, revision: rev}), ErrUserNotFound},
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
	alice.revision = as.currentRevision()
	require.ErrorIs(t, put(alice, "/dev/x"), ErrPermissionDenied)

	// The root role granted to a group makes its members admins.
	require.NoError(t, as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "group/dev", Role: rootRole}))
	alice.revision = as.currentRevision()
	require.NoError(t, as.adminPermitted(alice))
	require.NoError(t, put(alice, "/ops/x"))
}

func TestHeaderGroupsSurviveTheRaftEntry(t *testing.T) {
	h := &pb.RequestHeader{ID: 7, Username: "alice", AuthRevision: 3}
	setHeaderGroups(h, []string{"dev", "ops"})
	data, err := proto.Marshal(&pb.InternalRaftRequest{Header: h, Put: &pb.PutRequest{Key: []byte("k")}})
	require.NoError(t, err)
	var r pb.InternalRaftRequest
	require.NoError(t, proto.Unmarshal(data, &r))
	require.Equal(t, []string{"dev", "ops"}, headerGroups(r.Header))
	require.Equal(t, "alice", r.Header.Username)
	require.Nil(t, headerGroups(&pb.RequestHeader{Username: "bob"}))
	require.Nil(t, headerGroups(nil))
}

// groupIdP verifies "ext-<user>" tokens as a member of group dev.
type groupIdP struct{ fakeIdP }

func (g *groupIdP) VerifyToken(ctx context.Context, r auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	resp, err := g.fakeIdP.VerifyToken(ctx, r)
	resp.Identity.Groups = []string{"dev", "dev"}
	return resp, err
}

func TestExternalIdentityGroups(t *testing.T) {
	as, _ := groupsStore(t)
	as.external = newExternalTokens(&groupIdP{})
	s := &Server{auth: as}
	ctxFor := func(token string) context.Context {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}})
		return metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
	}
	ai, err := s.callerAuthInfo(ctxFor("ext-alice"))
	require.NoError(t, err)
	require.Equal(t, []string{"dev"}, ai.groups)
	require.NoError(t, as.rangePermitted(ai, []byte("/dev/x"), nil))
	_, err = s.callerAuthInfo(ctxFor("ext-group/dev"))
	require.ErrorIs(t, err, ErrInvalidAuthToken, "no token stands for a group")
}

// BenchmarkAuthRangeCheckExternalGroups is the per-request cost auth adds
// to a Range for an external token whose permissions come from a group:
// the cached identity and the cached group grants.
func BenchmarkAuthRangeCheckExternalGroups(b *testing.B) {
	as, _ := groupsStore(b)
	as.external = newExternalTokens(&groupIdP{})
	s := &Server{auth: as}
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer ext-alice"))
	key := []byte("/dev/x")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			recheck, err := s.authorizeRange(ctx, key, nil)
			if err == nil {
				err = recheck()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
