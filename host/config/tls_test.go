package config

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/tlsconf"
)

func TestLoadTLSProtocol(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("cipher-suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n  - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305\n"), 0o600))
	tests := []struct {
		name    string
		args    []string
		env     []string
		want    tlsconf.Protocol
		wantErr string
	}{
		{name: "defaults", want: tlsconf.Protocol{MinVersion: tls.VersionTLS12}},
		{name: "versions", args: []string{"--tls-min-version", "TLS1.3", "--tls-max-version", "TLS1.3"},
			want: tlsconf.Protocol{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13}},
		{name: "suites from a flag", args: []string{"--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_AES_128_CBC_SHA"},
			want: tlsconf.Protocol{MinVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_CBC_SHA}}},
		{name: "suites from the environment", env: []string{"METASTORE_CIPHER_SUITES=TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"},
			want: tlsconf.Protocol{MinVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}},
		{name: "suites from a file list", args: []string{"--config-file", file},
			want: tlsconf.Protocol{MinVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}}},
		{name: "unknown min", args: []string{"--tls-min-version", "TLS1.1"}, wantErr: `unexpected TLS version "TLS1.1" (must be one of: TLS1.2, TLS1.3)`},
		{name: "unknown max", args: []string{"--tls-max-version", "tls1.3"}, wantErr: `unexpected TLS version "tls1.3" (must be one of: TLS1.2, TLS1.3)`},
		{name: "min above max", args: []string{"--tls-min-version", "TLS1.3", "--tls-max-version", "TLS1.2"}, wantErr: "min version (TLS1.3) is greater than max version (TLS1.2)"},
		{name: "suites with TLS 1.3 only", args: []string{"--tls-min-version", "TLS1.3", "--cipher-suites", "TLS_AES_128_GCM_SHA256"},
			wantErr: "cipher suites cannot be configured when only TLS1.3 is enabled"},
		{name: "unknown suite", args: []string{"--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,FOO,BAR"}, wantErr: `unexpected TLS cipher suite "FOO"`},
		{name: "https client URLs need an HTTP/2 suite", args: []string{"--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			"--listen-client-urls", "https://127.0.0.1:2379", "--cert-file", "c", "--key-file", "k"},
			wantErr: "http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher"},
		{name: "http client URLs need none", args: []string{"--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
			want: tlsconf.Protocol{MinVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}},
		{name: "missing CRL", args: []string{"--client-crl-file", "/nonexistent.crl"}, wantErr: "--client-crl-file: open /nonexistent.crl"},
	}
	for _, tt := range tests {
		loadCase(t, tt.name, tt.args, tt.env, tt.wantErr, func(t *testing.T, c Config) { require.Equal(t, tt.want, c.tlsProtocol) })
	}
}
