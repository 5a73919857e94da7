package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// configFileArgs writes yaml to a config file of the test and returns the
// arguments that load it.
func configFileArgs(t *testing.T, yaml string) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "etcd.conf.yml")
	writeConfig(t, file, yaml)
	return []string{"--config-file", file}
}

// TestEtcdSampleConfigFile starts etcd and a MetaStore member from etcd's
// own sample config file, its ports and data dir filled in and nothing
// else changed, and requires that each serves etcdctl with the settings
// of the file: pprof on, strict reconfiguration checks off, and in
// MetaStore's log, hourly auto-compaction.
func TestEtcdSampleConfigFile(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "config", "testdata", "etcd.conf.yml.sample"))
	require.NoError(t, err)
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			m := hosttest.StartMember(t, hosttest.WithBinary(bin), hosttest.WithSettings(func(s hosttest.Settings) ([]string, []string) {
				yaml := strings.NewReplacer("http://localhost:2380", s.PeerURL, "http://localhost:2379", s.ClientURL,
					"\ndata-dir:\n", "\ndata-dir: "+s.DataDir+"\n", "\ninitial-cluster:\n", "\ninitial-cluster: "+s.InitialCluster+"\n").Replace(string(sample))
				require.Contains(t, yaml, s.DataDir)
				return configFileArgs(t, yaml), nil
			}))
			_, err := m.Etcdctl(t, "put", "sample", "v")
			require.NoError(t, err)
			out, err := m.Etcdctl(t, "get", "sample", "--print-value-only")
			require.NoError(t, err)
			require.Equal(t, "v\n", out)
			require.Equal(t, "default", listMembers(t, m.Endpoint()).Members[0].Name)
			_, err = os.Stat(filepath.Join(m.DataDir(), "member", "wal"))
			require.NoError(t, err, "data-dir")

			resp, err := http.Get(m.Endpoint() + "/debug/pprof/")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "enable-pprof: true")
			// strict-reconfig-check: false lets a member be added that
			// the one-member cluster cannot reach, which would lose quorum.
			_, err = m.Etcdctl(t, "member", "add", "unreachable", "--peer-urls=http://127.0.0.1:1")
			require.NoError(t, err, "strict-reconfig-check: false")
			if bin == hosttest.MetastoreBin(t) {
				require.Regexp(t, `"msg":"loaded config file".*"format":"etcd"`, m.Output())
				require.Regexp(t, `"msg":"auto-compaction enabled","mode":"periodic","period":"1h0m0s"`, m.Output(), "auto-compaction-retention: \"1\"")
			}
		})
	}
}

// tlsBlocksConfig is an etcd config file of member s of a cluster on https
// client and peer URLs, its TLS set in etcd's nested blocks: certificate
// auth of clients and of peers, whose certificates must name cn.
func tlsBlocksConfig(s hosttest.Settings, cert, key, ca, cn string) string {
	https := strings.NewReplacer("http://", "https://")
	return fmt.Sprintf(`name: %s
data-dir: %s
listen-client-urls: %s
advertise-client-urls: %[3]s
listen-peer-urls: %s
initial-advertise-peer-urls: %s
initial-cluster: %s
initial-cluster-token: tls-blocks
client-transport-security:
  cert-file: %s
  key-file: %s
  client-cert-auth: true
  trusted-ca-file: %s
  auto-tls: false
peer-transport-security:
  cert-file: %[7]s
  key-file: %[8]s
  client-cert-auth: true
  trusted-ca-file: %[9]s
  auto-tls: false
  allowed-cn: [%s]
  allowed-hostname:
`, s.Name, s.DataDir, https.Replace(s.ClientURL), https.Replace(s.ListenPeerURL), https.Replace(s.PeerURL),
		https.Replace(s.InitialCluster), cert, key, ca, cn)
}

// TestEtcdConfigFileTLSBlocks starts two-member clusters of etcd and of
// MetaStore from etcd config files that set client and peer TLS in the
// nested client-transport-security and peer-transport-security blocks,
// and requires that each forms its cluster over https peer URLs, serves
// etcdctl over https to a client with a certificate only, and refuses
// peer connections with a certificate of a common name allowed-cn does not
// name.
func TestEtcdConfigFileTLSBlocks(t *testing.T) {
	p := newTestPKI(t)
	ctlCert, ctlKey := p.issue(t, "client")
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			ms := hosttest.StartCluster(t, 2, hosttest.WithBinary(bin), hosttest.WithSettings(func(s hosttest.Settings) ([]string, []string) {
				cert, key := p.issue(t, "member")
				return configFileArgs(t, tlsBlocksConfig(s, cert, key, p.caFile, "member")), nil
			}))
			url := strings.Replace(ms[1].Endpoint(), "http://", "https://", 1)
			tlsArgs := []string{"--cacert", p.caFile, "--cert", ctlCert, "--key", ctlKey}
			_, err := hosttest.Etcdctl(t, url, "", append(tlsArgs, "put", "tls", "v")...)
			require.NoError(t, err)
			first := strings.Replace(ms[0].Endpoint(), "http://", "https://", 1)
			out, err := hosttest.Etcdctl(t, first, "", append(tlsArgs, "get", "tls", "--print-value-only")...)
			require.NoError(t, err)
			require.Equal(t, "v\n", out, "replicated over the https peer URLs")
			l := listMembers(t, url, tlsArgs...)
			require.Len(t, l.Members, 2)
			for _, m := range l.Members {
				require.Len(t, m.PeerURLs, 1)
				require.True(t, strings.HasPrefix(m.PeerURLs[0], "https://"), "%v", m.PeerURLs)
			}
			_, err = hosttest.Etcdctl(t, url, "", "--cacert", p.caFile, "--dial-timeout", "2s", "--command-timeout", "3s", "get", "tls")
			require.Error(t, err, "client-cert-auth: a client without a certificate")
			peer := strings.TrimPrefix(ms[0].PeerURL(), "http://")
			require.True(t, peerAccepts(t, p, peer, "member"))
			require.False(t, peerAccepts(t, p, peer, "intruder"), "allowed-cn")
		})
	}
}

// peerAccepts reports whether the peer listener at addr takes a TLS
// connection with a certificate of cn. Under TLS 1.3 the server judges
// the client's certificate after the client's handshake ends, so the
// verdict is what the first read gets: a refusal is an alert, an accepted
// connection sends data or stays silent until the deadline.
func peerAccepts(t *testing.T, p *testPKI, addr, cn string) bool {
	t.Helper()
	certFile, keyFile := p.issue(t, cn)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return false
	}
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	return err == nil || errors.As(err, &ne) && ne.Timeout()
}

// TestEtcdDataDirRefused points a MetaStore member at the data dir of a
// stopped etcd member and requires that it stops, naming the data dir and
// the import command, and leaves etcd's files as they were.
func TestEtcdDataDirRefused(t *testing.T) {
	etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))
	_, err := etcd.Etcdctl(t, "put", "k", "v")
	require.NoError(t, err)
	require.NoError(t, etcd.Stop())
	before, err := os.ReadDir(filepath.Join(etcd.DataDir(), "member"))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, hosttest.MetastoreBin(t), "--data-dir", etcd.DataDir(),
		"--listen-client-urls", etcd.Endpoint(), "--advertise-client-urls", etcd.Endpoint(),
		"--listen-peer-urls", etcd.PeerURL(), "--initial-advertise-peer-urls", etcd.PeerURL(),
		"--initial-cluster", "default="+etcd.PeerURL()).CombinedOutput()
	require.NoError(t, ctx.Err(), "it did not stop: %s", out)
	require.Error(t, err, "%s", out)
	db := filepath.Join(etcd.DataDir(), "member", "snap", "db")
	require.Contains(t, string(out), etcd.DataDir()+" has "+db+" and "+filepath.Join(etcd.DataDir(), "member", "wal"))
	require.Contains(t, string(out), "metastore snapshot restore "+db+" --skip-hash-check --data-dir <new data dir> ...")
	after, err := os.ReadDir(filepath.Join(etcd.DataDir(), "member"))
	require.NoError(t, err)
	require.Equal(t, before, after)
}
