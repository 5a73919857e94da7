package config

import (
	"errors"

	"github.com/metastore/metastore/host/tlsconf"
)

// finishTLS checks the TLS settings, as etcd does: https and unixs client
// URLs to listen on need --cert-file and --key-file or --auto-tls, https
// peer URLs --peer-cert-file and --peer-key-file or --peer-auto-tls; and
// client certificate auth needs the CA that verifies the certificates;
// https metrics URLs are served with the client URLs' settings.
func (c *Config) finishTLS() error {
	errs := []error{c.finishAuthProvider(), c.finishTLSProtocol(), c.ClientTLSFiles().Check(), c.PeerTLSFiles().Check(),
		tlsconf.CheckCRLFile("client-crl-file", c.ClientCRLFile), tlsconf.CheckCRLFile("peer-crl-file", c.PeerCRLFile)}
	if c.SelfSignedCertValidity <= 0 {
		errs = append(errs, errors.New("--self-signed-cert-validity must be at least 1 (year)"))
	}
	// As etcd, only the URLs served need certificates: an advertised
	// https URL may be a TLS proxy's.
	if hasTLSURL(c.ListenClientURLs) && c.ClientTLSFiles().Empty() && !c.AutoTLS {
		errs = append(errs, errors.New("--listen-client-urls: https and unixs URLs need --cert-file and --key-file, or --auto-tls"))
	}
	if hasTLSURL(c.ListenPeerURLs) && c.PeerTLSFiles().Empty() && !c.PeerAutoTLS {
		errs = append(errs, errors.New("--listen-peer-urls: https URLs need --peer-cert-file and --peer-key-file, or --peer-auto-tls"))
	}
	if hasTLSURL(c.ListenMetricsURLs) && c.ClientTLSFiles().Empty() && !c.AutoTLS {
		errs = append(errs, errors.New("--listen-metrics-urls: client TLS key/cert (--cert-file, --key-file) must be provided for metrics secure url"))
	}
	return errors.Join(errs...)
}

// finishTLSProtocol parses the protocol versions and cipher suites; with
// https or unixs client URLs, which serve HTTP/2, the suites need one
// HTTP/2 requires.
func (c *Config) finishTLSProtocol() error {
	var err error
	c.tlsProtocol, err = tlsconf.ParseProtocol(c.TLSMinVersion, c.TLSMaxVersion, c.CipherSuites, hasTLSURL(c.ListenClientURLs))
	return err
}

// ClientTLSFiles are the TLS settings of https and unixs client URLs.
func (c *Config) ClientTLSFiles() tlsconf.Config {
	return tlsconf.Config{
		FlagPrefix: "", CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile,
		ClientCertAuth: c.ClientCertAuth, CRLFile: c.ClientCRLFile, Protocol: c.tlsProtocol,
	}
}

// PeerTLSFiles are the TLS settings of https peer URLs, for serving and
// for dialling peers.
func (c *Config) PeerTLSFiles() tlsconf.Config {
	return tlsconf.Config{
		FlagPrefix: "peer-", CertFile: c.PeerCertFile, KeyFile: c.PeerKeyFile, TrustedCAFile: c.PeerTrustedCAFile,
		ClientCertAuth: c.PeerClientCertAuth, AllowedCN: c.PeerCertAllowedCN, AllowedHostname: c.PeerCertAllowedHostname,
		CRLFile: c.PeerCRLFile, Protocol: c.tlsProtocol,
	}
}
