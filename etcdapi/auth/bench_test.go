package auth

import (
	"context"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
)

// benchAuth builds an enabled auth store with a user allowed /a/ among
// other roles' permissions, and a token for it.
func benchAuth(b testing.TB, tokens tokenProvider, mint func(rev uint64) string) (*Store, string) {
	as := NewStore(zap.NewNop())
	as.configure(tokens, 4, false, nil)
	w := memMeta{}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(as.userAdd(w, &pb.AuthUserAddRequest{Name: "root", Options: &authpb.UserAddOptions{NoPassword: true}}))
	must(as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "root", Role: rootRole}))
	must(as.userAdd(w, &pb.AuthUserAddRequest{Name: "u", Options: &authpb.UserAddOptions{NoPassword: true}}))
	for _, r := range []string{"r1", "r2", "r3"} {
		must(as.roleAdd(w, &pb.AuthRoleAddRequest{Name: r}))
		for _, k := range []string{"/a/", "/b/", "/c/", "/d/"} {
			must(as.roleGrantPermission(w, &pb.AuthRoleGrantPermissionRequest{Name: r,
				Perm: &authpb.Permission{PermType: authpb.Permission_READWRITE, Key: []byte(r + k), RangeEnd: []byte(r + k + "\xff")}}))
		}
		must(as.userGrantRole(w, &pb.AuthUserGrantRoleRequest{User: "u", Role: r}))
	}
	must(as.authEnable(w))
	token := tokens.register("u", "abcdefghijklmnop", 1)
	if mint != nil {
		token = mint(as.Revision())
	}
	return as, token
}

// authorizeRange is what a Range costs auth per request: the token's
// identity, the permission check, and the recheck of the revision after
// the read.
func authorizeRange(as *Store, token string, key []byte) error {
	ctx := context.Background()
	ai, err := as.VerifyToken(ctx, token, as.Revision())
	if err == nil {
		err = as.RangePermitted(ai, key, nil)
	}
	if err == nil && ai.Revision != as.Revision() {
		err = ErrAuthOldRevision
	}
	return err
}

func benchmarkRangeCheck(b *testing.B, as *Store, token string) {
	key := []byte("r2/c/x")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := authorizeRange(as, token, key); err != nil {
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
	as, token := benchAuth(b, tokens, nil)
	benchmarkRangeCheck(b, as, token)
}

// BenchmarkAuthRangeCheckJWT is the same with an ES256 JWT.
func BenchmarkAuthRangeCheckJWT(b *testing.B) {
	dir := b.TempDir()
	priv, pub := writeECKeysTo(b, dir)
	tp, err := newJWTTokens(zap.NewNop(), map[string]string{"priv-key": priv, "pub-key": pub, "sign-method": "ES256"})
	if err != nil {
		b.Fatal(err)
	}
	as, token := benchAuth(b, tp, func(rev uint64) string {
		tok, err := tp.sign("u", rev)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	})
	benchmarkRangeCheck(b, as, token)
}

// BenchmarkAuthTxnCheck checks a ten-op txn with compares.
func BenchmarkAuthTxnCheck(b *testing.B) {
	tokens := newSimpleTokens(time.Minute, time.Now, func(context.Context, uint64) error { return nil })
	as, token := benchAuth(b, tokens, nil)
	t := &pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("r1/a/k")}}}
	for i := 0; i < 10; i++ {
		t.Success = append(t.Success, &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("r3/d/k")}}})
	}
	r := &pb.InternalRaftRequest{Txn: t}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ai, err := as.VerifyToken(context.Background(), token, as.Revision())
		if err == nil {
			err = as.Authorize(ai, r, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func timeNow() time.Time { return time.Now() }

func noWait(context.Context, uint64) error { return nil }
