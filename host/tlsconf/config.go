package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Config is the TLS settings of one kind of URL (client or peer), as
// etcd's flags give them: the certificate this member presents, the CA
// bundle that verifies the other side's, and the checks on it.
type Config struct {
	// FlagPrefix is the prefix of the flags the settings come from, which
	// error messages name: "" (client) or "peer-".
	FlagPrefix string
	// CertFile and KeyFile are the member's certificate and key;
	// TrustedCAFile is the CA bundle that verifies the other side's.
	CertFile, KeyFile, TrustedCAFile string
	// ClientCertAuth requires a certificate of every client.
	ClientCertAuth bool
	// AllowedCN or AllowedHostname further restrict whose certificates
	// pass: the common name, or a host name the certificate is valid for.
	AllowedCN, AllowedHostname string
	// CRLFile revokes the certificates of those who connect.
	CRLFile string
	// Protocol is the protocol versions and cipher suites.
	Protocol Protocol
	// AutoTLS marks auto TLS's self-signed certificate: as etcd, a
	// member then does not verify the certificates of those it dials.
	AutoTLS bool
}

// Empty reports whether the settings name no certificate.
func (f Config) Empty() bool { return f.CertFile == "" && f.KeyFile == "" }

// Check refuses inconsistent settings before anything starts.
func (f Config) Check() error {
	var errs []error
	if (f.CertFile == "") != (f.KeyFile == "") {
		errs = append(errs, fmt.Errorf("--%scert-file and --%skey-file go together", f.FlagPrefix, f.FlagPrefix))
	}
	if f.ClientCertAuth && f.TrustedCAFile == "" {
		errs = append(errs, fmt.Errorf("--%sclient-cert-auth needs --%strusted-ca-file", f.FlagPrefix, f.FlagPrefix))
	}
	if f.AllowedCN != "" && f.AllowedHostname != "" {
		errs = append(errs, fmt.Errorf("--%scert-allowed-cn and --%scert-allowed-hostname are mutually exclusive", f.FlagPrefix, f.FlagPrefix))
	}
	return errors.Join(errs...)
}

// certificate loads the member's certificate and key.
func (f Config) certificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("--%scert-file/--%skey-file: %w", f.FlagPrefix, f.FlagPrefix, err)
	}
	return &cert, nil
}

// base is what the server and the client configurations share: the
// protocol versions and cipher suites (TLS 1.2 at least), the certificate
// read again at each handshake (so renewed files take effect without a
// restart), the CA bundle, and the allowed common name or host name of
// the other side's certificate.
func (f Config) base() (*tls.Config, *x509.CertPool, error) {
	if _, err := f.certificate(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{}
	f.Protocol.apply(cfg)
	var pool *x509.CertPool
	if f.TrustedCAFile != "" {
		pem, err := os.ReadFile(f.TrustedCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--%strusted-ca-file: %w", f.FlagPrefix, err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--%strusted-ca-file: no certificate in %s", f.FlagPrefix, f.TrustedCAFile)
		}
	}
	if allowed := f.allowed(); allowed != nil {
		cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, chain := range chains {
				if len(chain) > 0 && allowed(chain[0]) {
					return nil
				}
			}
			return errors.New("client certificate authentication failed")
		}
	}
	return cfg, pool, nil
}

// allowed is the check --peer-cert-allowed-cn or
// --peer-cert-allowed-hostname asks for, or nil.
func (f Config) allowed() func(*x509.Certificate) bool {
	switch {
	case f.AllowedCN != "":
		return func(c *x509.Certificate) bool { return c.Subject.CommonName == f.AllowedCN }
	case f.AllowedHostname != "":
		return func(c *x509.Certificate) bool { return c.VerifyHostname(f.AllowedHostname) == nil }
	}
	return nil
}

// Server is the configuration of listeners. As etcd, a CA bundle
// (or client certificate auth) makes a certificate it verifies required
// of every client, and the revocation list applies to listeners only.
func (f Config) Server(nextProtos ...string) (*tls.Config, error) {
	cfg, pool, err := f.base()
	if err != nil {
		return nil, err
	}
	cert, err := f.certificate()
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{*cert}
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return f.certificate() }
	cfg.NextProtos = nextProtos
	cfg.ClientCAs = pool
	if pool != nil || f.ClientCertAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	refuseRevoked(cfg, f.CRLFile)
	return cfg, nil
}

// Client is the configuration for dialling: the member's
// certificate as the client certificate, the CA bundle (nil: the system
// roots) for the server's, and no verification for auto TLS.
func (f Config) Client() (*tls.Config, error) {
	cfg, pool, err := f.base()
	if err != nil {
		return nil, err
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return f.certificate() }
	cfg.RootCAs = pool
	if f.AutoTLS {
		// The allowed name checks need verified chains, which skipping
		// verification leaves empty: auto TLS drops them, as etcd.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = nil
	}
	return cfg, nil
}
