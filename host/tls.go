package host

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/soheilhy/cmux"
	"google.golang.org/grpc/credentials"

	"github.com/metastore/metastore/host/tlsconf"
)

// finishTLS checks the TLS settings, as etcd does: https and unixs client
// URLs to listen on need --cert-file and --key-file or --auto-tls, https
// peer URLs --peer-cert-file and --peer-key-file or --peer-auto-tls; and
// client certificate auth needs the CA that verifies the certificates;
// https metrics URLs are served with the client URLs' settings.
func (c *Config) finishTLS() error {
	errs := []error{c.finishAuthProvider(), c.finishTLSProtocol(), c.clientTLSFiles().Check(), c.peerTLSFiles().Check(),
		tlsconf.CheckCRLFile("client-crl-file", c.ClientCRLFile), tlsconf.CheckCRLFile("peer-crl-file", c.PeerCRLFile)}
	if c.SelfSignedCertValidity <= 0 {
		errs = append(errs, errors.New("--self-signed-cert-validity must be at least 1 (year)"))
	}
	// As etcd, only the URLs served need certificates: an advertised
	// https URL may be a TLS proxy's.
	if tlsconf.HasTLSURL(c.ListenClientURLs) && c.clientTLSFiles().Empty() && !c.AutoTLS {
		errs = append(errs, errors.New("--listen-client-urls: https and unixs URLs need --cert-file and --key-file, or --auto-tls"))
	}
	if tlsconf.HasTLSURL(c.ListenPeerURLs) && c.peerTLSFiles().Empty() && !c.PeerAutoTLS {
		errs = append(errs, errors.New("--listen-peer-urls: https URLs need --peer-cert-file and --peer-key-file, or --peer-auto-tls"))
	}
	if tlsconf.HasTLSURL(c.ListenMetricsURLs) && c.clientTLSFiles().Empty() && !c.AutoTLS {
		errs = append(errs, errors.New("--listen-metrics-urls: client TLS key/cert (--cert-file, --key-file) must be provided for metrics secure url"))
	}
	return errors.Join(errs...)
}

// finishTLSProtocol parses the protocol versions and cipher suites; with
// https or unixs client URLs, which serve HTTP/2, the suites need one
// HTTP/2 requires.
func (c *Config) finishTLSProtocol() error {
	var err error
	c.tlsProtocol, err = tlsconf.ParseProtocol(c.TLSMinVersion, c.TLSMaxVersion, c.CipherSuites, tlsconf.HasTLSURL(c.ListenClientURLs))
	return err
}

// clientTLSFiles are the TLS settings of https and unixs client URLs.
func (c *Config) clientTLSFiles() tlsconf.Config {
	return tlsconf.Config{
		FlagPrefix: "", CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile,
		ClientCertAuth: c.ClientCertAuth, CRLFile: c.ClientCRLFile, Protocol: c.tlsProtocol,
	}
}

// peerTLSFiles are the TLS settings of https peer URLs, for serving and
// for dialling peers.
func (c *Config) peerTLSFiles() tlsconf.Config {
	return tlsconf.Config{
		FlagPrefix: "peer-", CertFile: c.PeerCertFile, KeyFile: c.PeerKeyFile, TrustedCAFile: c.PeerTrustedCAFile,
		ClientCertAuth: c.PeerClientCertAuth, AllowedCN: c.PeerCertAllowedCN, AllowedHostname: c.PeerCertAllowedHostname,
		CRLFile: c.PeerCRLFile, Protocol: c.tlsProtocol,
	}
}

// clientTLS is the TLS of the client URLs, with auto TLS's certificate
// when --auto-tls and no certificate is given.
func (c *Config) clientTLS(lg *zap.Logger) (tlsconf.Config, error) {
	return c.withAutoTLS(lg, c.clientTLSFiles(), c.AutoTLS, "--auto-tls", "client", c.ListenClientURLs, parseClientURLs)
}

// peerTLS is the TLS of the peer URLs, with auto TLS's certificate when
// --peer-auto-tls and no certificate is given.
func (c *Config) peerTLS(lg *zap.Logger) (tlsconf.Config, error) {
	return c.withAutoTLS(lg, c.peerTLSFiles(), c.PeerAutoTLS, "--peer-auto-tls", "peer", c.ListenPeerURLs, parseURLs)
}

// withAutoTLS returns f or, when auto is set and f names no certificate,
// f with a self-signed certificate for the hosts of the listen URLs,
// generated on first use in <data-dir>/fixtures/<kind>, as etcd does.
func (c *Config) withAutoTLS(lg *zap.Logger, f tlsconf.Config, auto bool, flag, kind, listen string,
	parse func(string) ([]url.URL, error)) (tlsconf.Config, error) {
	if !auto {
		return f, nil
	}
	if !f.Empty() {
		lg.Warn("ignoring " + flag + " since --" + f.FlagPrefix + "cert-file and --" + f.FlagPrefix + "key-file are given")
		return f, nil
	}
	urls, err := parse(listen)
	if err != nil {
		return f, err
	}
	hosts := make([]string, len(urls))
	for i, u := range urls {
		hosts[i] = u.Host
	}
	return f.WithSelfSignedCert(lg, filepath.Join(c.DataDir, "fixtures", kind), hosts, c.SelfSignedCertValidity)
}

// clientTLSConfig is the server configuration of https and unixs client
// URLs (Certificates holds the member's certificate as it was at start).
func (c *Config) clientTLSConfig() (*tls.Config, error) {
	f, err := c.clientTLS(zap.NewNop())
	if err != nil {
		return nil, err
	}
	return f.Server("h2", "http/1.1")
}

// peerClientTLS is the TLS configuration for dialling peers' https URLs,
// or nil when this member has no peer TLS settings.
func (c *Config) peerClientTLS(lg *zap.Logger) (*tls.Config, error) {
	f, err := c.peerTLS(lg)
	if err != nil || f.Empty() {
		return nil, err
	}
	return f.Client()
}

// listenClientURL listens on u: a TCP port for http and https, a unix
// socket (u's host and path) for unix and unixs, behind TLS for https
// and unixs. gRPC and HTTP are told apart after the handshake, on the
// decrypted stream. Metrics URLs are listened on the same way: https
// ones with the client URLs' TLS, as etcd.
func listenClientURL(lg *zap.Logger, c Config, u url.URL) (net.Listener, error) {
	l, err := c.listenURL(u)
	if err != nil || (u.Scheme != "https" && u.Scheme != "unixs") {
		return l, err
	}
	f, err := c.clientTLS(lg)
	var cfg *tls.Config
	if err == nil {
		cfg, err = f.Server("h2", "http/1.1")
	}
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return tls.NewListener(l, cfg), nil
}

// listenURL listens on u's TCP address, with the socket options asked
// for, or on its unix socket, which it first removes if a previous run
// left it behind.
func (c *ServerConfig) listenURL(u url.URL) (net.Listener, error) {
	if u.Scheme != "unix" && u.Scheme != "unixs" {
		return c.listenTCP(u.Host)
	}
	path := u.Host + u.Path
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return net.Listen("unix", path)
}

// handshakenTLS are the gRPC server's transport credentials: connections
// arrive already decrypted (the listener did the TLS handshake, so that
// gRPC and HTTP can share a port), and these report the TLS state of each
// to the handlers, whose client certificate names the user with
// --client-cert-auth. Plain connections pass with no auth info. A failed
// handshake is logged to lg, when set, as a rejected connection.
type handshakenTLS struct{ lg *zap.Logger }

var _ credentials.TransportCredentials = handshakenTLS{}

func (h handshakenTLS) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	tc := tlsConnOf(c)
	if tc == nil {
		return c, nil, nil
	}
	if err := tc.Handshake(); err != nil {
		if h.lg != nil {
			h.lg.Warn("rejected connection", zap.String("remote-addr", c.RemoteAddr().String()), zap.Error(err))
		}
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
