package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// urlMember is a member started with client and peer URLs of the test's
// choosing (https, unix sockets), which hosttest's own plain http URLs
// are overridden by.
type urlMember struct {
	*hosttest.Process
	name, client, peer string
	args               []string
}

// newURLMembers describes n members named p1..pn with client URLs of
// clientScheme (http or https) and peer URLs of peerScheme on free
// loopback ports, each started with args.
func newURLMembers(t *testing.T, n int, clientScheme, peerScheme string, args ...string) []*urlMember {
	t.Helper()
	ms := make([]*urlMember, n)
	for i := range ms {
		ms[i] = &urlMember{
			name:   fmt.Sprintf("p%d", i+1),
			client: fmt.Sprintf("%s://127.0.0.1:%d", clientScheme, freePort(t)),
			peer:   fmt.Sprintf("%s://127.0.0.1:%d", peerScheme, freePort(t)),
			args:   args,
		}
	}
	return ms
}

func initialCluster(ms []*urlMember) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.name + "=" + m.peer
	}
	return strings.Join(parts, ",")
}

// start starts m as a member of the cluster the members of cluster form
// (state "new" or "existing"), without waiting for it to serve.
func (m *urlMember) start(t *testing.T, cluster []*urlMember, state string, extra ...string) {
	t.Helper()
	args := append([]string{
		"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster", initialCluster(cluster), "--initial-cluster-state", state,
	}, m.args...)
	m.Process = hosttest.PrepareMember(t, m.name, hosttest.WithArgs(append(args, extra...)...))
	m.Start()
}

// startURLCluster starts ms as a new cluster and waits until each serves.
func startURLCluster(t *testing.T, ms []*urlMember) {
	t.Helper()
	for _, m := range ms {
		m.start(t, ms, "new")
	}
	for _, m := range ms {
		m.WaitReady()
	}
}

// waitExit waits until m's process has exited.
func waitExit(t *testing.T, m *urlMember, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for m.Running() {
		if time.Now().After(deadline) {
			t.Fatalf("member %s still running after %v", m.name, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peerTLSArgs are the TLS flags of a member whose client and peer URLs
// both use the certificate cert of p's CA.
func peerTLSArgs(p *testPKI, cert, key string) []string {
	return []string{
		"--cert-file", cert, "--key-file", key, "--trusted-ca-file", p.caFile,
		"--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", p.caFile,
		"--peer-client-cert-auth", "--peer-cert-allowed-cn", "peer",
	}
}

// A three-member cluster with TLS on the peer and the client URLs
// replicates, reports its https peer URLs, and a restarted member
// reconnects to the others over TLS.
func TestPeerTLSThreeMembers(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "peer")
	ms := newURLMembers(t, 3, "https", "https", peerTLSArgs(p, cert, key)...)
	startURLCluster(t, ms)
	ctl := func(m *urlMember, args ...string) string {
		t.Helper()
		out, err := hosttest.Etcdctl(t, m.client, "", append([]string{"--cacert", p.caFile, "--cert", cert, "--key", key}, args...)...)
		require.NoError(t, err, out)
		return out
	}
	require.Equal(t, "OK\n", ctl(ms[0], "put", "k", "v1"))
	require.Equal(t, "k\nv1\n", ctl(ms[2], "get", "k"))
	list := ctl(ms[1], "member", "list")
	for _, m := range ms {
		require.Contains(t, list, fmt.Sprintf("started, %s, %s, %s, false", m.name, m.peer, m.client))
	}

	require.NoError(t, ms[0].Stop())
	require.Equal(t, "OK\n", ctl(ms[1], "put", "k", "v2"))
	ms[0].Restart(t)
	require.Equal(t, "k\nv2\n", ctl(ms[0], "get", "k"), "a linearizable read on the restarted member needs the leader, over TLS")

	c := tlsClient(t, p, ms[2].client, "root")
	resp, err := c.Get(t.Context(), "k")
	require.NoError(t, err)
	require.Equal(t, "v2", string(resp.Kvs[0].Value))

	_, err = hosttest.Etcdctl(t, ms[0].client, "", "--cacert", p.caFile, "--dial-timeout", "2s", "--command-timeout", "3s", "get", "k")
	require.Error(t, err, "--trusted-ca-file requires a client certificate, as etcd")
}

// A member joins a cluster over https peer URLs with a certificate the
// cluster's CA signed; one whose certificate another CA signed, or whose
// common name is not --peer-cert-allowed-cn, is refused at the TLS
// handshake and exits, and the cluster carries on.
func TestPeerTLSJoinAndRefusal(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "peer")
	ms := newURLMembers(t, 2, "https", "https", peerTLSArgs(p, cert, key)...)
	startURLCluster(t, ms)
	ctl := func(args ...string) (string, error) {
		return hosttest.Etcdctl(t, ms[0].client, "", append([]string{"--cacert", p.caFile, "--cert", cert, "--key", key}, args...)...)
	}

	good := newURLMembers(t, 1, "https", "https", peerTLSArgs(p, cert, key)...)[0]
	good.name = "p3"
	out, err := hosttest.UntilHealthy(t, func() (string, error) { return ctl("member", "add", good.name, "--peer-urls", good.peer) })
	require.NoError(t, err, out)
	good.start(t, append(ms, good), "existing")
	good.WaitReady()
	out, err = hosttest.Etcdctl(t, good.client, "", "--cacert", p.caFile, "--cert", cert, "--key", key, "put", "joined", "yes")
	require.NoError(t, err, out)
	out, err = ctl("get", "joined", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "yes\n", out)
	ms = append(ms, good)
	// The member adds below need p3 counted as started, which it is once
	// the name it publishes after it serves is applied (etcd's rule for
	// --strict-reconfig-check: "not enough started members" until then).
	require.Eventually(t, func() bool {
		out, err := ctl("member", "list")
		return err == nil && strings.Contains(out, ", started, p3, ")
	}, 20*time.Second, 100*time.Millisecond, "p3 published its name")

	other := newTestPKI(t)
	otherCert, otherKey := other.issue(t, "peer")
	intruderCert, intruderKey := p.issue(t, "intruder")
	for i, tc := range []struct{ name, cert, key, reason string }{
		{"another CA", otherCert, otherKey, "certificate signed by unknown authority"},
		{"another CN", intruderCert, intruderKey, "client certificate authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := newURLMembers(t, 1, "https", "https",
				"--cert-file", tc.cert, "--key-file", tc.key, "--trusted-ca-file", p.caFile,
				"--peer-cert-file", tc.cert, "--peer-key-file", tc.key, "--peer-trusted-ca-file", p.caFile)[0]
			bad.name = fmt.Sprintf("bad%d", i)
			out, err := hosttest.UntilHealthy(t, func() (string, error) { return ctl("member", "add", bad.name, "--peer-urls", bad.peer) })
			require.NoError(t, err, out)
			bad.start(t, append(ms, bad), "existing")
			waitExit(t, bad, 30*time.Second)
			require.Error(t, bad.ExitErr())
			require.Contains(t, bad.Output(), "could not get the cluster's members")
			require.Contains(t, ms[0].Output()+ms[1].Output()+ms[2].Output(), tc.reason)

			out, err = ctl("member", "list")
			require.NoError(t, err)
			require.Contains(t, out, "unstarted, , "+bad.peer)
			out, err = hosttest.UntilHealthy(t, func() (string, error) { return ctl("member", "remove", memberID(t, out, bad.peer)) })
			require.NoError(t, err, out)
			out, err = ctl("put", "after-"+bad.name, "ok")
			require.NoError(t, err, out)
		})
	}
}

// memberID is the id `member list` shows for the member with peerURL.
func memberID(t *testing.T, list, peerURL string) string {
	t.Helper()
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, peerURL) {
			id, _, _ := strings.Cut(line, ",")
			return id
		}
	}
	t.Fatalf("no member with peer URL %s in:\n%s", peerURL, list)
	return ""
}

// --auto-tls and --peer-auto-tls serve https URLs with certificates
// generated in the data dir, kept across restarts; clients must skip
// verification, as with etcd.
func TestAutoTLSOneMember(t *testing.T) {
	ms := newURLMembers(t, 1, "https", "https", "--auto-tls", "--peer-auto-tls")
	startURLCluster(t, ms)
	m := ms[0]
	out, err := hosttest.Etcdctl(t, m.client, "", "--insecure-skip-tls-verify", "put", "k", "v")
	require.NoError(t, err, out)
	_, err = hosttest.Etcdctl(t, m.client, "", "--dial-timeout", "2s", "--command-timeout", "3s", "get", "k")
	require.ErrorContains(t, err, "certificate signed by unknown authority")

	certs := map[string][]byte{}
	for _, kind := range []string{"client", "peer"} {
		b, err := os.ReadFile(filepath.Join(m.DataDir(), "fixtures", kind, "cert.pem"))
		require.NoError(t, err)
		certs[kind] = b
		_, err = os.Stat(filepath.Join(m.DataDir(), "fixtures", kind, "key.pem"))
		require.NoError(t, err)
	}
	require.NotEqual(t, certs["client"], certs["peer"])
	m.Restart(t)
	for kind, before := range certs {
		after, err := os.ReadFile(filepath.Join(m.DataDir(), "fixtures", kind, "cert.pem"))
		require.NoError(t, err)
		require.Equal(t, before, after, "the %s certificate is generated once", kind)
	}
	out, err = hosttest.Etcdctl(t, m.client, "", "--insecure-skip-tls-verify", "get", "k", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "v\n", out)
}

// Members with --peer-auto-tls, each with its own self-signed
// certificate, form a cluster over https peer URLs.
func TestPeerAutoTLSThreeMembers(t *testing.T) {
	ms := newURLMembers(t, 3, "http", "https", "--peer-auto-tls")
	startURLCluster(t, ms)
	out, err := hosttest.Etcdctl(t, ms[0].client, "", "put", "k", "v")
	require.NoError(t, err, out)
	out, err = hosttest.Etcdctl(t, ms[2].client, "", "get", "k", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "v\n", out)
	out, err = hosttest.Etcdctl(t, ms[1].client, "", "endpoint", "health", "--cluster")
	require.NoError(t, err, out)
	require.Equal(t, 3, strings.Count(out, "is healthy"), out)
}

// unix:// and unixs:// client URLs serve on a unix socket (unixs over
// TLS), as etcd's, reached by etcdctl and clientv3 at the same URL; the
// socket is removed when the member stops.
func TestUnixSocketClientURLs(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "localhost")
	dir, err := os.MkdirTemp("", "ms-sock")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// etcd's clients take the last path element as the TLS server name.
	plain := filepath.Join(dir, fmt.Sprintf("localhost:%d", freePort(t)))
	secure := filepath.Join(dir, fmt.Sprintf("localhost:%d", freePort(t)))
	m := newURLMembers(t, 1, "http", "http", "--cert-file", cert, "--key-file", key, "--trusted-ca-file", p.caFile)[0]
	m.client = "unix://" + plain + ",unixs://" + secure
	startURLCluster(t, []*urlMember{m})

	out, err := hosttest.Etcdctl(t, "unix://"+plain, "", "put", "k", "v")
	require.NoError(t, err, out)
	out, err = hosttest.Etcdctl(t, "unixs://"+secure, "", "--cacert", p.caFile, "--cert", cert, "--key", key, "get", "k", "--print-value-only")
	require.NoError(t, err, out)
	require.Equal(t, "v\n", out)
	_, err = hosttest.Etcdctl(t, "unixs://"+secure, "", "--cacert", p.caFile, "--dial-timeout", "2s", "--command-timeout", "3s", "get", "k")
	require.Error(t, err, "unixs with --trusted-ca-file requires a client certificate")
	out, err = hosttest.Etcdctl(t, "unix://"+plain, "", "member", "list")
	require.NoError(t, err)
	require.Contains(t, out, "unix://"+plain+",unixs://"+secure)

	c := hosttest.NewClient(t, "unix://"+plain)
	resp, err := c.Get(t.Context(), "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(resp.Kvs[0].Value))

	// HTTP shares the socket: the health endpoint and the JSON gateway.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", plain)
		},
	}}
	hr, err := hc.Get("http://localhost/health")
	require.NoError(t, err)
	body, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	require.Equal(t, http.StatusOK, hr.StatusCode, string(body))
	hr, err = hc.Post("http://localhost/v3/kv/range", "application/json", strings.NewReader(`{"key":"aw=="}`))
	require.NoError(t, err)
	body, _ = io.ReadAll(hr.Body)
	hr.Body.Close()
	require.Equal(t, http.StatusOK, hr.StatusCode, string(body))
	require.Contains(t, string(body), `"value":"dg=="`)

	require.NoError(t, m.Stop())
	for _, sock := range []string{plain, secure} {
		_, err := os.Stat(sock)
		require.ErrorIs(t, err, os.ErrNotExist, "socket %s left behind", sock)
	}
}
