package host

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

func TestSelfSignedCertIsGeneratedOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixtures", "peer")
	lg := zaptest.NewLogger(t)
	f, err := tlsFiles{prefix: "peer-"}.withSelfSignedCert(lg, dir, []string{"localhost:2380", "127.0.0.1:2380"}, 2)
	require.NoError(t, err)
	require.True(t, f.autoTLS)
	require.Equal(t, filepath.Join(dir, "cert.pem"), f.certFile)

	b, err := os.ReadFile(f.certFile)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	require.Equal(t, []string{"localhost"}, cert.DNSNames)
	require.True(t, cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	require.WithinDuration(t, time.Now().Add(2*365*24*time.Hour), cert.NotAfter, time.Hour)
	st, err := os.Stat(f.keyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again, err := tlsFiles{prefix: "peer-"}.withSelfSignedCert(lg, dir, []string{"other:1"}, 1)
	require.NoError(t, err)
	b2, err := os.ReadFile(again.certFile)
	require.NoError(t, err)
	require.Equal(t, b, b2, "an existing certificate is kept")

	client, err := again.clientConfig()
	require.NoError(t, err)
	require.True(t, client.InsecureSkipVerify, "auto TLS does not verify peers, as etcd")
	server, err := again.serverConfig("h2")
	require.NoError(t, err)
	require.Equal(t, tls.NoClientCert, server.ClientAuth)
}

func TestTLSFilesServerConfig(t *testing.T) {
	dir := t.TempDir()
	f, err := tlsFiles{}.withSelfSignedCert(zaptest.NewLogger(t), dir, []string{"localhost:1"}, 1)
	require.NoError(t, err)
	ca := tlsFiles{certFile: f.certFile, keyFile: f.keyFile, caFile: f.certFile}
	tests := []struct {
		name  string
		files tlsFiles
		want  tls.ClientAuthType
	}{
		{"no CA", tlsFiles{certFile: f.certFile, keyFile: f.keyFile}, tls.NoClientCert},
		{"a CA requires client certificates, as etcd", ca, tls.RequireAndVerifyClientCert},
		{"client cert auth", func() tlsFiles { c := ca; c.clientCertAuth = true; return c }(), tls.RequireAndVerifyClientCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.files.serverConfig("h2")
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.ClientAuth)
			require.Equal(t, []string{"h2"}, cfg.NextProtos)
			require.Nil(t, cfg.VerifyPeerCertificate)
		})
	}

	withCN := ca
	withCN.allowedCN = "peer"
	cfg, err := withCN.serverConfig("h2")
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	require.NoError(t, err)
	require.ErrorContains(t, cfg.VerifyPeerCertificate(nil, [][]*x509.Certificate{{leaf}}), "client certificate authentication failed")
	leaf.Subject.CommonName = "peer"
	require.NoError(t, cfg.VerifyPeerCertificate(nil, [][]*x509.Certificate{{leaf}}))

	_, err = tlsFiles{prefix: "peer-", certFile: filepath.Join(dir, "missing.pem"), keyFile: f.keyFile}.serverConfig()
	require.ErrorContains(t, err, "--peer-cert-file/--peer-key-file")
}
