package tlsconf

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
	f, err := Config{FlagPrefix: "peer-"}.WithSelfSignedCert(lg, dir, []string{"localhost:2380", "127.0.0.1:2380"}, 2)
	require.NoError(t, err)
	require.True(t, f.AutoTLS)
	require.Equal(t, filepath.Join(dir, "cert.pem"), f.CertFile)

	b, err := os.ReadFile(f.CertFile)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	require.Equal(t, []string{"localhost"}, cert.DNSNames)
	require.True(t, cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	require.WithinDuration(t, time.Now().Add(2*365*24*time.Hour), cert.NotAfter, time.Hour)
	st, err := os.Stat(f.KeyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again, err := Config{FlagPrefix: "peer-"}.WithSelfSignedCert(lg, dir, []string{"other:1"}, 1)
	require.NoError(t, err)
	b2, err := os.ReadFile(again.CertFile)
	require.NoError(t, err)
	require.Equal(t, b, b2, "an existing certificate is kept")

	client, err := again.Client()
	require.NoError(t, err)
	require.True(t, client.InsecureSkipVerify, "auto TLS does not verify peers, as etcd")
	server, err := again.Server("h2")
	require.NoError(t, err)
	require.Equal(t, tls.NoClientCert, server.ClientAuth)
}

func TestConfigServer(t *testing.T) {
	dir := t.TempDir()
	f, err := Config{}.WithSelfSignedCert(zaptest.NewLogger(t), dir, []string{"localhost:1"}, 1)
	require.NoError(t, err)
	ca := Config{CertFile: f.CertFile, KeyFile: f.KeyFile, TrustedCAFile: f.CertFile}
	tests := []struct {
		name  string
		files Config
		want  tls.ClientAuthType
	}{
		{"no CA", Config{CertFile: f.CertFile, KeyFile: f.KeyFile}, tls.NoClientCert},
		{"a CA requires client certificates, as etcd", ca, tls.RequireAndVerifyClientCert},
		{"client cert auth", func() Config { c := ca; c.ClientCertAuth = true; return c }(), tls.RequireAndVerifyClientCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.files.Server("h2")
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.ClientAuth)
			require.Equal(t, []string{"h2"}, cfg.NextProtos)
			require.Nil(t, cfg.VerifyPeerCertificate)
		})
	}

	withCN := ca
	withCN.AllowedCN = "peer"
	cfg, err := withCN.Server("h2")
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	require.NoError(t, err)
	require.ErrorContains(t, cfg.VerifyPeerCertificate(nil, [][]*x509.Certificate{{leaf}}), "client certificate authentication failed")
	leaf.Subject.CommonName = "peer"
	require.NoError(t, cfg.VerifyPeerCertificate(nil, [][]*x509.Certificate{{leaf}}))

	_, err = Config{FlagPrefix: "peer-", CertFile: filepath.Join(dir, "missing.pem"), KeyFile: f.KeyFile}.Server()
	require.ErrorContains(t, err, "--peer-cert-file/--peer-key-file")
}
