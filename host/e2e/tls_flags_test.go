package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// writeCRL writes a revocation list of p's CA revoking the certificates
// in certFiles, in DER (what etcd reads) or PEM, and returns its path.
func (p *testPKI) writeCRL(t *testing.T, name string, der bool, certFiles ...string) string {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, f := range certFiles {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: certOf(t, f).SerialNumber, RevocationTime: time.Now()})
	}
	issuer := *p.ca
	issuer.KeyUsage |= x509.KeyUsageCRLSign
	b, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                time.Now().Add(-time.Minute),
		NextUpdate:                time.Now().Add(time.Hour),
		RevokedCertificateEntries: entries,
	}, &issuer, p.caKey)
	require.NoError(t, err)
	if !der {
		b = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: b})
	}
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func certOf(t *testing.T, certFile string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(certFile)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

// clientTLS is a client configuration trusting p's CA that presents the
// certificate in certFile, if any.
func clientTLS(t *testing.T, p *testPKI, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	cfg.RootCAs.AddCert(p.ca)
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// putOutcome is "ok" when a put through clientv3 with cfg succeeds.
func putOutcome(t *testing.T, endpoint string, cfg *tls.Config) string {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, TLS: cfg, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "k", "v"); err != nil {
		return "refused"
	}
	return "ok"
}

// getOutcome is "ok" when an HTTPS GET of u with cfg answers 200 with a
// body containing want.
func getOutcome(u string, cfg *tls.Config, want string) string {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(u)
	if err != nil {
		return "refused"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Sprintf("status %d", resp.StatusCode)
	}
	return "ok"
}

// gatewayOutcome is "ok" when a JSON gateway range on the client URL
// answers 200: the gateway dials the member's own TLS listener.
func gatewayOutcome(client string, cfg *tls.Config) string {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(client+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"aw=="}`))
	if err != nil {
		return "refused"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"value":"dg=="`) {
		return fmt.Sprintf("status %d: %s", resp.StatusCode, body)
	}
	return "ok"
}

// handshakeOutcome is the version and cipher suite a TLS handshake with
// the server at rawURL's host negotiates, or "refused".
func handshakeOutcome(rawURL string, cfg *tls.Config) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err.Error()
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.Host, cfg)
	if err != nil {
		return "refused"
	}
	defer c.Close()
	st := c.ConnectionState()
	return tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)
}

// startTLSMember starts bin ("": MetaStore) as a one-member cluster with
// https client, peer and metrics URLs served with the certificate
// cert/key, plus args, and returns the three URLs.
func startTLSMember(t *testing.T, bin, cert, key string, args ...string) (client, peer, metrics string) {
	t.Helper()
	client = fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	peer = fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	metrics = fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	opts := []hosttest.Option{hosttest.WithArgs(append([]string{
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer,
		"--listen-metrics-urls", metrics,
		"--cert-file", cert, "--key-file", key, "--peer-cert-file", cert, "--peer-key-file", key,
	}, args...)...)}
	if bin != "" {
		opts = append(opts, hosttest.WithBinary(bin))
	}
	hosttest.StartMember(t, opts...)
	return client, peer, metrics
}

// With --client-crl-file, a client whose certificate the list revokes is
// refused on the client URL (gRPC and HTTP) and on an https metrics URL,
// and one whose certificate it does not revoke is served, as by etcd.
func TestClientCRLAsEtcd(t *testing.T) {
	p := newTestPKI(t)
	goodCert, goodKey := p.issue(t, "good")
	revokedCert, revokedKey := p.issue(t, "revoked")
	crl := p.writeCRL(t, "client.crl", true, revokedCert)
	scenario := func(bin string) []string {
		cert, key := p.issue(t, "server")
		client, _, metrics := startTLSMember(t, bin, cert, key, "--trusted-ca-file", p.caFile, "--client-crl-file", crl)
		var r []string
		for _, c := range []struct{ name, cert, key string }{{"good", goodCert, goodKey}, {"revoked", revokedCert, revokedKey}} {
			cfg := clientTLS(t, p, c.cert, c.key)
			r = append(r,
				c.name+" put: "+putOutcome(t, client, cfg),
				c.name+" client URL /health: "+getOutcome(client+"/health", cfg, `"health":"true"`),
				c.name+" metrics URL /metrics: "+getOutcome(metrics+"/metrics", cfg, "# TYPE"))
		}
		return r
	}
	want := scenario(hosttest.EtcdBin(t))
	got := scenario("")
	require.Equal(t, want, got)
	require.Equal(t, []string{
		"good put: ok", "good client URL /health: ok", "good metrics URL /metrics: ok",
		"revoked put: refused", "revoked client URL /health: refused", "revoked metrics URL /metrics: refused",
	}, got)
}

// A PEM revocation list works as well as a DER one.
func TestClientCRLInPEM(t *testing.T) {
	p := newTestPKI(t)
	goodCert, goodKey := p.issue(t, "good")
	revokedCert, revokedKey := p.issue(t, "revoked")
	cert, key := p.issue(t, "server")
	url := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	hosttest.StartMember(t, hosttest.WithArgs("--listen-client-urls", url, "--advertise-client-urls", url,
		"--cert-file", cert, "--key-file", key, "--trusted-ca-file", p.caFile,
		"--client-crl-file", p.writeCRL(t, "client.pem", false, revokedCert)))
	require.Equal(t, "ok", putOutcome(t, url, clientTLS(t, p, goodCert, goodKey)))
	require.Equal(t, "refused", putOutcome(t, url, clientTLS(t, p, revokedCert, revokedKey)))
}

// With --peer-crl-file, members whose certificates the list does not
// revoke replicate over https peer URLs; a member presenting a revoked
// certificate is refused at the handshake, cannot join and exits, and the
// cluster carries on.
func TestPeerCRLRefusesRevokedMember(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "peer")
	revokedCert, revokedKey := p.issue(t, "peer")
	crl := p.writeCRL(t, "peer.crl", true, revokedCert)
	ms := newURLMembers(t, 2, "https", "https", append(peerTLSArgs(p, cert, key), "--peer-crl-file", crl)...)
	startURLCluster(t, ms)
	ctl := func(m *urlMember, args ...string) (string, error) {
		return hosttest.Etcdctl(t, m.client, "", append([]string{"--cacert", p.caFile, "--cert", cert, "--key", key}, args...)...)
	}
	out, err := ctl(ms[0], "put", "k", "v")
	require.NoError(t, err, out)
	out, err = ctl(ms[1], "get", "k", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "v\n", out)

	bad := newURLMembers(t, 1, "https", "https", append(peerTLSArgs(p, revokedCert, revokedKey), "--peer-crl-file", crl)...)[0]
	bad.name = "p3"
	out, err = hosttest.UntilHealthy(t, func() (string, error) { return ctl(ms[0], "member", "add", bad.name, "--peer-urls", bad.peer) })
	require.NoError(t, err, out)
	bad.start(t, append(ms, bad), "existing")
	waitExit(t, bad, 30*time.Second)
	require.Error(t, bad.ExitErr())
	require.Contains(t, bad.Output(), "could not get the cluster's members")
	require.Contains(t, ms[0].Output()+ms[1].Output(), fmt.Sprintf("certificate serial %x revoked", certOf(t, revokedCert).SerialNumber.Bytes()))

	out, err = ctl(ms[1], "member", "list")
	require.NoError(t, err)
	require.Contains(t, out, "unstarted, , "+bad.peer)
	out, err = hosttest.UntilHealthy(t, func() (string, error) { return ctl(ms[1], "member", "remove", memberID(t, out, bad.peer)) })
	require.NoError(t, err, out)
	out, err = ctl(ms[1], "put", "after", "ok")
	require.NoError(t, err, out)
}

// --tls-min-version, --tls-max-version and --cipher-suites limit the
// handshakes of the client, peer and https metrics URLs as etcd's do.
func TestTLSVersionsAndCipherSuitesAsEtcd(t *testing.T) {
	p := newTestPKI(t)
	servers := []struct {
		name string
		args []string
	}{
		{"min TLS1.3", []string{"--tls-min-version", "TLS1.3"}},
		{"max TLS1.2", []string{"--tls-max-version", "TLS1.2"}},
		{"max TLS1.2, two suites", []string{"--tls-max-version", "TLS1.2", "--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
	}
	clients := []struct {
		name string
		cfg  func() *tls.Config
	}{
		{"any", func() *tls.Config { return clientTLS(t, p, "", "") }},
		{"TLS1.2 only", func() *tls.Config { c := clientTLS(t, p, "", ""); c.MaxVersion = tls.VersionTLS12; return c }},
		{"TLS1.3 only", func() *tls.Config { c := clientTLS(t, p, "", ""); c.MinVersion = tls.VersionTLS13; return c }},
		{"TLS1.2 ChaCha20 only", func() *tls.Config {
			c := clientTLS(t, p, "", "")
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
			return c
		}},
		{"TLS1.2 AES256 only", func() *tls.Config {
			c := clientTLS(t, p, "", "")
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
			return c
		}},
	}
	scenario := func(bin string) []string {
		var r []string
		for _, s := range servers {
			cert, key := p.issue(t, "server")
			client, peer, metrics := startTLSMember(t, bin, cert, key, s.args...)
			r = append(r, s.name+": put: "+putOutcome(t, client, clientTLS(t, p, "", "")),
				s.name+": gateway range: "+gatewayOutcome(client, clientTLS(t, p, "", "")))
			for _, c := range clients {
				for _, port := range []struct{ name, url string }{{"client", client}, {"peer", peer}, {"metrics", metrics}} {
					r = append(r, fmt.Sprintf("%s: %s on the %s URL: %s", s.name, c.name, port.name, handshakeOutcome(port.url, c.cfg())))
				}
			}
			r = append(r, s.name+": metrics: "+getOutcome(metrics+"/metrics", clientTLS(t, p, "", ""), "# TYPE"))
		}
		return r
	}
	want := scenario(hosttest.EtcdBin(t))
	got := scenario("")
	require.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
	for _, line := range []string{
		"min TLS1.3: put: ok",
		"min TLS1.3: gateway range: ok",
		"min TLS1.3: TLS1.2 only on the client URL: refused",
		"min TLS1.3: TLS1.2 only on the peer URL: refused",
		"min TLS1.3: TLS1.2 only on the metrics URL: refused",
		"min TLS1.3: any on the client URL: TLS 1.3 ",
		"max TLS1.2: any on the peer URL: TLS 1.2 ",
		"max TLS1.2: TLS1.3 only on the client URL: refused",
		"max TLS1.2: TLS1.2 ChaCha20 only on the client URL: TLS 1.2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
		"max TLS1.2, two suites: put: ok",
		"max TLS1.2, two suites: gateway range: ok",
		"max TLS1.2, two suites: TLS1.2 ChaCha20 only on the client URL: refused",
		"max TLS1.2, two suites: TLS1.2 ChaCha20 only on the peer URL: refused",
		"max TLS1.2, two suites: TLS1.2 ChaCha20 only on the metrics URL: refused",
		"max TLS1.2, two suites: TLS1.2 AES256 only on the peer URL: TLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
		"max TLS1.2, two suites: any on the client URL: TLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_",
		"max TLS1.2, two suites: metrics: ok",
	} {
		require.True(t, hasLinePrefix(got, line), "no line %q in\n%s", line, strings.Join(got, "\n"))
	}
}

func hasLinePrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// startupError runs bin as a one-member cluster on free loopback ports
// with args, expects it to exit with an error within 30 s, and returns
// the error it gives: the "error" field of etcd's JSON log, or MetaStore's
// message.
func startupError(t *testing.T, bin string, args ...string) string {
	t.Helper()
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer}, args...)...)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s started with %v:\n%s", bin, args, out)
	require.NoError(t, ctx.Err(), "%s did not exit:\n%s", bin, out)
	for _, line := range strings.Split(string(out), "\n") {
		var entry struct{ Error string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Error != "" {
			return entry.Error
		}
		if rest, ok := strings.CutPrefix(line, "metastore: "); ok {
			return rest
		}
	}
	t.Fatalf("%s gave no error:\n%s", bin, out)
	return ""
}

// Values of the TLS flags etcd refuses, MetaStore refuses with etcd's
// message.
func TestTLSFlagValuesRefusedAsEtcd(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "server")
	https := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown min version", []string{"--tls-min-version", "TLS1.1"}},
		{"unknown max version", []string{"--tls-max-version", "TLS1.0"}},
		{"min above max", []string{"--tls-min-version", "TLS1.3", "--tls-max-version", "TLS1.2"}},
		{"cipher suites with TLS 1.3 only", []string{"--tls-min-version", "TLS1.3", "--cipher-suites", "TLS_AES_128_GCM_SHA256"}},
		{"unknown cipher suite", []string{"--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,FOO,BAR"}},
		{"https client URLs without an HTTP/2 suite", []string{"--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			"--listen-client-urls", https, "--advertise-client-urls", https, "--cert-file", cert, "--key-file", key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := startupError(t, hosttest.EtcdBin(t), tc.args...)
			got := startupError(t, hosttest.MetastoreBin(t), tc.args...)
			t.Logf("etcd: %s", want)
			require.Contains(t, got, want)
		})
	}
}

// A member dials its peers with --tls-min-version too: one that asks for
// TLS 1.3 cannot reach members that serve TLS 1.2 at most, so it cannot
// join, and the cluster carries on.
func TestPeerDialHonoursTLSMinVersion(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "peer")
	ms := newURLMembers(t, 2, "https", "https", append(peerTLSArgs(p, cert, key), "--tls-max-version", "TLS1.2")...)
	startURLCluster(t, ms)
	ctl := func(args ...string) (string, error) {
		return hosttest.Etcdctl(t, ms[0].client, "", append([]string{"--cacert", p.caFile, "--cert", cert, "--key", key}, args...)...)
	}
	bad := newURLMembers(t, 1, "https", "https", append(peerTLSArgs(p, cert, key), "--tls-min-version", "TLS1.3")...)[0]
	bad.name = "p3"
	out, err := hosttest.UntilHealthy(t, func() (string, error) { return ctl("member", "add", bad.name, "--peer-urls", bad.peer) })
	require.NoError(t, err, out)
	bad.start(t, append(ms, bad), "existing")
	waitExit(t, bad, 30*time.Second)
	require.Error(t, bad.ExitErr())
	require.Contains(t, bad.Output(), "could not get the cluster's members")
	require.Contains(t, bad.Output(), "protocol version not supported")

	out, err = ctl("member", "list")
	require.NoError(t, err)
	out, err = hosttest.UntilHealthy(t, func() (string, error) { return ctl("member", "remove", memberID(t, out, bad.peer)) })
	require.NoError(t, err, out)
	out, err = ctl("put", "after", "ok")
	require.NoError(t, err, out)
}
