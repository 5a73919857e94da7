package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// The auth workloads, selected with -workloads auth (they are not part of
// "all"): Authenticate throughput with simple and with JWT tokens, and
// the put and range workloads again with auth on, whose ratio to the same
// workload with auth off is the per-request cost of auth. Each runs
// against a server started with --bcrypt-cost 4 (so a login measures the
// auth path, not bcrypt at its default cost) and, for JWT, an RS256 key
// pair; before the load, root and the user "bench" (read-write on every
// key under "/", not root, so its permissions are checked) are added and
// auth is enabled. Connections log in as bench.

// Token kinds a workload runs with.
const (
	authSimple = "simple"
	authJWT    = "jwt"
)

const (
	benchUser     = "bench"
	benchPassword = "benchpw"
)

func authWorkloads() []workload {
	with := func(w workload, name, auth string) workload {
		w.Name, w.Auth, w.Desc = name, auth, w.Desc+", auth on ("+auth+" tokens)"
		return w
	}
	base := map[string]workload{}
	for _, w := range workloads() {
		base[w.Name] = w
	}
	return []workload{
		{Name: "auth-login-simple", Desc: "Authenticate (simple tokens, bcrypt cost 4), 20 clients over 5 connections",
			Clients: 20, Conns: 5, Ops: 5000, Deadline: 6 * time.Second, Unit: "logins", Auth: authSimple, run: runAuthenticate},
		{Name: "auth-login-jwt", Desc: "Authenticate (JWT RS256 tokens, bcrypt cost 4), 20 clients over 5 connections",
			Clients: 20, Conns: 5, Ops: 5000, Deadline: 6 * time.Second, Unit: "logins", Auth: authJWT, run: runAuthenticate},
		with(base["put-1c"], "put-1c-auth", authSimple),
		with(base["put-500c"], "put-500c-auth", authSimple),
		with(base["range-lin"], "range-lin-auth", authSimple),
		with(base["range-ser"], "range-ser-auth", authSimple),
		with(base["range-ser"], "range-ser-jwt", authJWT),
	}
}

// authServerArgs are the flags a server runs w with; keys for JWT are
// made under dir.
func authServerArgs(w workload, dir string) ([]string, error) {
	switch w.Auth {
	case "":
		return nil, nil
	case authSimple:
		return []string{"--bcrypt-cost", "4"}, nil
	case authJWT:
		priv, pub, err := jwtKeys(dir)
		if err != nil {
			return nil, err
		}
		return []string{"--bcrypt-cost", "4", "--auth-token",
			fmt.Sprintf("jwt,pub-key=%s,priv-key=%s,sign-method=RS256,ttl=10m", pub, priv)}, nil
	}
	return nil, fmt.Errorf("unknown auth %q", w.Auth)
}

// jwtKeys writes an RSA key pair under dir, once, and returns the paths.
func jwtKeys(dir string) (priv, pub string, err error) {
	priv, pub = filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.pub")
	if _, err := os.Stat(priv); err == nil {
		return priv, pub, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600); err != nil {
		return "", "", err
	}
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return priv, pub, os.WriteFile(priv, privPEM, 0o600)
}

// enableAuth adds root and bench and turns auth on, through endpoint.
func enableAuth(ctx context.Context, endpoint string) error {
	cli, err := newClient(endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	steps := []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "bench"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "bench", "/", "0", clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := cli.UserAdd(ctx, benchUser, benchPassword); return err },
		func() error { _, err := cli.UserGrantRole(ctx, benchUser, "bench"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("enabling auth: %w", err)
		}
	}
	return nil
}

// newAuthClient connects to endpoint as bench.
func newAuthClient(endpoint string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:          []string{endpoint},
		DialTimeout:        5 * time.Second,
		Logger:             zap.NewNop(),
		MaxCallRecvMsgSize: 64 << 20,
		Username:           benchUser,
		Password:           benchPassword,
	})
}

// runAuthenticate logs in as bench, one Authenticate call per operation.
func runAuthenticate(ctx context.Context, env *runEnv) (latencies, error) {
	req := &pb.AuthenticateRequest{Name: benchUser, Password: benchPassword}
	return closedLoop(ctx, env, func(ctx context.Context, c, _ int) error {
		resp, err := pb.NewAuthClient(env.conn(c).ActiveConnection()).Authenticate(ctx, req)
		if err == nil && resp.Token == "" {
			err = fmt.Errorf("authenticate: no token")
		}
		return err
	})
}
