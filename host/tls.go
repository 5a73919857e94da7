package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/soheilhy/cmux"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/metastore/metastore/etcdapi"
)

// authConfig is the member's authentication settings; provider is the
// auth provider plugin, or nil.
func (c *Config) authConfig(provider *authPlugin) etcdapi.AuthConfig {
	return etcdapi.AuthConfig{
		Token: etcdapi.TokenOptions{
			Spec:      c.AuthToken,
			SimpleTTL: time.Duration(c.AuthTokenTTL) * time.Second,
		},
		BcryptCost:     c.BcryptCost,
		ClientCertAuth: c.ClientCertAuth,
		Provider:       provider.providerOrNil(),
	}
}

// authServerOptions are the gRPC server options authentication adds: the
// TLS state of each connection, and the checks etcd makes at its gRPC
// layer, after the metrics interceptors so refused calls are counted.
func authServerOptions(api *etcdapi.Server) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(handshakenTLS{}),
		grpc.ChainUnaryInterceptor(api.AuthUnaryInterceptor()),
		grpc.ChainStreamInterceptor(api.AuthStreamInterceptor()),
	}
}

// finishTLS checks the TLS settings: https client URLs need a certificate
// and key, and client certificate auth needs the CA that verifies them.
// Peer and metrics URLs are plain http: peer TLS is not implemented.
func (c *Config) finishTLS() error {
	errs := []error{c.finishAuthProvider()}
	if hasHTTPS(c.ListenClientURLs) && (c.CertFile == "" || c.KeyFile == "") {
		errs = append(errs, errors.New("--listen-client-urls: https URLs need --cert-file and --key-file"))
	}
	if c.ClientCertAuth && c.TrustedCAFile == "" {
		errs = append(errs, errors.New("--client-cert-auth needs --trusted-ca-file"))
	}
	for _, f := range []struct{ flag, urls string }{
		{"listen-peer-urls", c.ListenPeerURLs},
		{"initial-advertise-peer-urls", c.InitialAdvertisePeerURLs},
		{"listen-metrics-urls", c.ListenMetricsURLs},
	} {
		if hasHTTPS(f.urls) {
			errs = append(errs, fmt.Errorf("--%s: https is not supported yet (use http)", f.flag))
		}
	}
	return errors.Join(errs...)
}

func hasHTTPS(urls string) bool {
	for _, u := range strings.Split(urls, ",") {
		if strings.HasPrefix(strings.TrimSpace(u), "https://") {
			return true
		}
	}
	return false
}

// clientTLSConfig is the server TLS configuration of https client URLs:
// the member's certificate and, with --trusted-ca-file, the CAs client
// certificates must chain to (required with --client-cert-auth).
func (c *Config) clientTLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("--cert-file/--key-file: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if c.TrustedCAFile != "" {
		pem, err := os.ReadFile(c.TrustedCAFile)
		if err != nil {
			return nil, fmt.Errorf("--trusted-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--trusted-ca-file: no certificate in %s", c.TrustedCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if c.ClientCertAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// listenClientURL listens on u, behind TLS for an https URL. gRPC and
// HTTP are told apart after the handshake, on the decrypted stream.
func listenClientURL(c Config, u url.URL) (net.Listener, error) {
	l, err := net.Listen("tcp", u.Host)
	if err != nil || u.Scheme != "https" {
		return l, err
	}
	cfg, err := c.clientTLSConfig()
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return tls.NewListener(l, cfg), nil
}

// handshakenTLS are the gRPC server's transport credentials: connections
// arrive already decrypted (the listener did the TLS handshake, so that
// gRPC and HTTP can share a port), and these report the TLS state of each
// to the handlers, whose client certificate names the user with
// --client-cert-auth. Plain connections pass with no auth info.
type handshakenTLS struct{}

var _ credentials.TransportCredentials = handshakenTLS{}

func (handshakenTLS) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	tc := tlsConnOf(c)
	if tc == nil {
		return c, nil, nil
	}
	if err := tc.Handshake(); err != nil {
		return nil, nil, err
	}
	return c, credentials.TLSInfo{
		State:          tc.ConnectionState(),
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
	}, nil
}

func (handshakenTLS) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("host: handshakenTLS is for servers only")
}

func (handshakenTLS) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (h handshakenTLS) Clone() credentials.TransportCredentials { return h }

func (handshakenTLS) OverrideServerName(string) error { return nil }

// tlsConnOf finds the TLS connection under the connection multiplexer's
// wrapper.
func tlsConnOf(c net.Conn) *tls.Conn {
	switch v := c.(type) {
	case *tls.Conn:
		return v
	case *cmux.MuxConn:
		return tlsConnOf(v.Conn)
	}
	return nil
}
