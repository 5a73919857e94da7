package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// testPKI is a CA and the certificates it signed, as PEM files.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
	issued int // certificates issued so far; names their files
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "metastore test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key}
	p.caFile = p.write(t, "ca.crt", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// issue makes a certificate for cn, for servers on 127.0.0.1 and for
// clients, and returns its certificate and key files. Each call writes new
// files: servers (etcd among them) read theirs again on every handshake, so
// a second server's certificate must not replace the first one's.
func (p *testPKI) issue(t *testing.T, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	p.issued++
	base := fmt.Sprintf("%s-%d", cn, p.issued)
	return p.write(t, base+".crt", "CERTIFICATE", der), p.write(t, base+".key", "EC PRIVATE KEY", kder)
}

func freePort(t *testing.T) int {
	t.Helper()
	return hosttest.FreePorts(t, 1)[0]
}

// startTLS starts m with an https client URL and returns that URL.
func startTLS(t *testing.T, p *testPKI, bin string) string {
	t.Helper()
	cert, key := p.issue(t, "server")
	url := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	opts := []hosttest.Option{hosttest.WithArgs(append(append([]string(nil), authArgs...),
		"--listen-client-urls", url, "--advertise-client-urls", url,
		"--cert-file", cert, "--key-file", key, "--trusted-ca-file", p.caFile, "--client-cert-auth")...)}
	if bin != "" {
		opts = append(opts, hosttest.WithBinary(bin))
	}
	hosttest.StartMember(t, opts...)
	return url
}

// tlsClient connects to url with the certificate of cn.
func tlsClient(t *testing.T, p *testPKI, url, cn string) *clientv3.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	cfg.RootCAs.AddCert(p.ca)
	certFile, keyFile := p.issue(t, cn)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	cfg.Certificates = []tls.Certificate{cert}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, TLS: cfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// tlsScenario sets up users over mTLS, enables auth and records what
// certificate users may do, through clientv3 and etcdctl.
func tlsScenario(t *testing.T, p *testPKI, url string) rec {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root := tlsClient(t, p, url, "root")
	var r rec
	_, err := root.Put(ctx, "/a/0", "v")
	r.add("put before auth", err)
	for _, step := range []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := root.RoleAdd(ctx, "root"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error {
			_, err := root.UserAddWithOptions(ctx, "alice", "", &clientv3.UserAddOptions{NoPassword: true})
			return err
		},
		func() error { _, err := root.RoleAdd(ctx, "tenant"); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx, "tenant", "/a/", "/a0", clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := root.UserGrantRole(ctx, "alice", "tenant"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	} {
		require.NoError(t, step())
	}
	alice := tlsClient(t, p, url, "alice")
	_, err = alice.Put(ctx, "/a/1", "v")
	r.add("alice put inside", err)
	_, err = alice.Put(ctx, "/b/1", "v")
	r.add("alice put outside", err)
	_, err = alice.UserList(ctx)
	r.add("alice user list", err)
	_, err = root.UserList(ctx)
	r.add("root user list", err)
	bob := tlsClient(t, p, url, "bob")
	_, err = bob.Get(ctx, "/a/1")
	r.add("unknown user get", err)

	ctlCert, ctlKey := p.issue(t, "alice")
	ctl := func(args ...string) {
		out, err := hosttest.Etcdctl(t, url, "", append([]string{"--cacert", p.caFile, "--cert", ctlCert, "--key", ctlKey}, args...)...)
		var stderr string
		if ce, ok := err.(*hosttest.CmdError); ok {
			stderr = mask(ce.Stderr)
		}
		r = append(r, fmt.Sprintf("etcdctl %s: %q %q", strings.Join(args, " "), out, stderr))
	}
	ctl("put", "/a/2", "v")
	ctl("get", "/a/", "--prefix", "--keys-only")
	ctl("get", "/b/1")
	ctl("--user", "root:rootpw", "get", "/b/1")
	ctl("--user", "root:wrong", "get", "/b/1")
	return r
}

func TestTLSClientCertAuthAgainstEtcd(t *testing.T) {
	p := newTestPKI(t)
	want := tlsScenario(t, p, startTLS(t, p, hosttest.EtcdBin(t)))
	got := tlsScenario(t, p, startTLS(t, p, ""))
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
	require.Contains(t, got, `alice put outside: Unknown "etcdserver: permission denied"`) // clientv3 errors carry no status
}

// A client without a certificate is refused at the handshake.
func TestTLSRequiresClientCertificate(t *testing.T) {
	p := newTestPKI(t)
	url := startTLS(t, p, "")
	cfg := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	cfg.RootCAs.AddCert(p.ca)
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, TLS: cfg, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = c.Get(ctx, "a")
	require.Error(t, err)
	_, err = hosttest.Etcdctl(t, strings.Replace(url, "https", "http", 1), "", "--dial-timeout", "2s", "--command-timeout", "3s", "get", "a")
	require.Error(t, err, "plain http to an https port")
}
