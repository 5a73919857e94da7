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
	"google.golang.org/grpc/credentials"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/tlsconf"
)

// clientTLS is the TLS of cfg's client URLs, with auto TLS's certificate
// when --auto-tls and no certificate is given.
func clientTLS(lg *zap.Logger, cfg *config.Config) (tlsconf.Config, error) {
	return withAutoTLS(lg, cfg, cfg.ClientTLSFiles(), cfg.AutoTLS, "--auto-tls", "client", cfg.ListenClientURLs, config.ParseClientURLs)
}

// peerTLS is the TLS of cfg's peer URLs, with auto TLS's certificate when
// --peer-auto-tls and no certificate is given.
func peerTLS(lg *zap.Logger, cfg *config.Config) (tlsconf.Config, error) {
	return withAutoTLS(lg, cfg, cfg.PeerTLSFiles(), cfg.PeerAutoTLS, "--peer-auto-tls", "peer", cfg.ListenPeerURLs, config.ParseURLs)
}

// withAutoTLS returns f or, when auto is set and f names no certificate,
// f with a self-signed certificate for the hosts of the listen URLs,
// generated on first use in <data-dir>/fixtures/<kind>, as etcd does.
func withAutoTLS(lg *zap.Logger, cfg *config.Config, f tlsconf.Config, auto bool, flag, kind, listen string,
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
	return f.WithSelfSignedCert(lg, filepath.Join(cfg.DataDir, "fixtures", kind), hosts, cfg.SelfSignedCertValidity)
}

// clientTLSConfig is the server configuration of https and unixs client
// URLs (Certificates holds the member's certificate as it was at start).
func clientTLSConfig(cfg *config.Config) (*tls.Config, error) {
	f, err := clientTLS(zap.NewNop(), cfg)
	if err != nil {
		return nil, err
	}
	return f.Server("h2", "http/1.1")
}

// gatewayTLS is the server configuration of the first client URL, which
// the JSON gateway dials, or nil when that URL is http or unix.
func gatewayTLS(cfg *config.Config) (*tls.Config, error) {
	urls, err := config.ParseClientURLs(cfg.ListenClientURLs)
	if err != nil || len(urls) == 0 || (urls[0].Scheme != "https" && urls[0].Scheme != "unixs") {
		return nil, nil
	}
	return clientTLSConfig(cfg)
}

// peerClientTLS is the TLS configuration for dialling peers' https URLs,
// or nil when cfg has no peer TLS settings.
func peerClientTLS(lg *zap.Logger, cfg *config.Config) (*tls.Config, error) {
	f, err := peerTLS(lg, cfg)
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
func listenClientURL(lg *zap.Logger, cfg *config.Config, u url.URL) (net.Listener, error) {
	l, err := listenURL(&cfg.ServerConfig, u)
	if err != nil || (u.Scheme != "https" && u.Scheme != "unixs") {
		return l, err
	}
	f, err := clientTLS(lg, cfg)
	var tcfg *tls.Config
	if err == nil {
		tcfg, err = f.Server("h2", "http/1.1")
	}
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return tls.NewListener(l, tcfg), nil
}

// listenURL listens on u's TCP address, with the socket options c asks
// for, or on its unix socket, which it first removes if a previous run
// left it behind.
func listenURL(c *config.ServerConfig, u url.URL) (net.Listener, error) {
	if u.Scheme != "unix" && u.Scheme != "unixs" {
		return listenTCP(c, u.Host)
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
	tc := tlsconf.ConnOf(c)
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
