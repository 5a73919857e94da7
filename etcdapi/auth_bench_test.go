package etcdapi

import (
	"context"
	"net"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// benchAuth builds an enabled auth store with a user allowed /a/ among
// other roles' permissions, and a context carrying a token for it.
func benchAuth(b *testing.B, tokens tokenProvider, mint func(rev uint64) string) (*Server, context.Context) {
	s := &Server{lg: zap.NewNop(), auth: newAuthStore(zap.NewNop())}
	s.auth.configure(tokens, 4, false, nil)
	w := memMeta{}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(s.auth.userAdd(w, &pb.AuthUserAddRequest{Name: "root", Options: &authpb.UserAddOptions{NoPassword: true}}))
	must(s.auth.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "root", Role: rootRole}))
	must(s.auth.userAdd(w, &pb.AuthUserAddRequest{Name: "u", Options: &authpb.UserAddOptions{NoPassword: true}}))
	for _, r := range []string{"r1", "r2", "r3"} {
		must(s.auth.roleAdd(w, &pb.AuthRoleAddRequest{Name: r}))
		for _, k := range []string{"/a/", "/b/", "/c/", "/d/"} {
			must(s.auth.roleGrantPermission(w, &pb.AuthRoleGrantPermissionRequest{Name: r,
				Perm: &authpb.Permission{PermType: authpb.Permission_READWRITE, Key: []byte(r + k), RangeEnd: []byte(r + k + "\xff")}}))
		}
		must(s.auth.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "u", Role: r}))
	}
	must(s.auth.authEnable(w))
	token := tokens.register("u", "abcdefghijklmnop", 1)
	if mint != nil {
		token = mint(s.auth.currentRevision())
	}
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("token", token))
	return s, ctx
}

func benchmarkRangeCheck(b *testing.B, s *Server, ctx context.Context) {
	key := []byte("r2/c/x")
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

// BenchmarkAuthRangeCheckSimpleToken is the per-request cost auth adds to
// a Range with a simple token: token lookup, permission check, revision
// recheck.
func BenchmarkAuthRangeCheckSimpleToken(b *testing.B) {
	tokens := newSimpleTokens(time.Minute, time.Now, func(context.Context, uint64) error { return nil })
	s, ctx := benchAuth(b, tokens, nil)
	benchmarkRangeCheck(b, s, ctx)
}

// BenchmarkAuthRangeCheckJWT is the same with an ES256 JWT.
func BenchmarkAuthRangeCheckJWT(b *testing.B) {
	dir := b.TempDir()
	priv, pub := writeECKeysTo(b, dir)
	tp, err := newJWTTokens(zap.NewNop(), map[string]string{"priv-key": priv, "pub-key": pub, "sign-method": "ES256"})
	if err != nil {
		b.Fatal(err)
	}
	s, ctx := benchAuth(b, tp, func(rev uint64) string {
		tok, err := tp.sign("u", rev)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	})
	benchmarkRangeCheck(b, s, ctx)
}

// BenchmarkAuthTxnCheck checks a ten-op txn with compares.
func BenchmarkAuthTxnCheck(b *testing.B) {
	tokens := newSimpleTokens(time.Minute, time.Now, func(context.Context, uint64) error { return nil })
	s, ctx := benchAuth(b, tokens, nil)
	t := &pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("r1/a/k")}}}
	for i := 0; i < 10; i++ {
		t.Success = append(t.Success, &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("r3/d/k")}}})
	}
	r := &pb.InternalRaftRequest{Txn: t}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.authorizeProposal(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func timeNow() time.Time { return time.Now() }

func noWait(context.Context, uint64) error { return nil }
