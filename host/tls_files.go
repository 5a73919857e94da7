package host

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// tlsFiles are the TLS settings of one kind of URL (client or peer), as
// etcd's flags give them: the certificate this member presents, the CA
// bundle that verifies the other side's, and the checks on it.
type tlsFiles struct {
	prefix                     string // flag prefix: "" (client) or "peer-"
	certFile, keyFile, caFile  string
	clientCertAuth             bool
	allowedCN, allowedHostname string
	// crlFile revokes the certificates of those who connect.
	crlFile  string
	protocol tlsProtocol
	// autoTLS marks auto TLS's self-signed certificate: as etcd, a
	// member then does not verify the certificates of those it dials.
	autoTLS bool
}

func (f tlsFiles) empty() bool { return f.certFile == "" && f.keyFile == "" }

// check refuses inconsistent settings before anything starts.
func (f tlsFiles) check() error {
	var errs []error
	if (f.certFile == "") != (f.keyFile == "") {
		errs = append(errs, fmt.Errorf("--%scert-file and --%skey-file go together", f.prefix, f.prefix))
	}
	if f.clientCertAuth && f.caFile == "" {
		errs = append(errs, fmt.Errorf("--%sclient-cert-auth needs --%strusted-ca-file", f.prefix, f.prefix))
	}
	if f.allowedCN != "" && f.allowedHostname != "" {
		errs = append(errs, fmt.Errorf("--%scert-allowed-cn and --%scert-allowed-hostname are mutually exclusive", f.prefix, f.prefix))
	}
	return errors.Join(errs...)
}

// certificate loads the member's certificate and key.
func (f tlsFiles) certificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("--%scert-file/--%skey-file: %w", f.prefix, f.prefix, err)
	}
	return &cert, nil
}

// base is what the server and the client configurations share: the
// protocol versions and cipher suites (TLS 1.2 at least), the certificate
// read again at each handshake (so renewed files take effect without a
// restart), the CA bundle, and the allowed common name or host name of
// the other side's certificate.
func (f tlsFiles) base() (*tls.Config, *x509.CertPool, error) {
	if _, err := f.certificate(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{}
	f.protocol.apply(cfg)
	var pool *x509.CertPool
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--%strusted-ca-file: %w", f.prefix, err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--%strusted-ca-file: no certificate in %s", f.prefix, f.caFile)
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
func (f tlsFiles) allowed() func(*x509.Certificate) bool {
	switch {
	case f.allowedCN != "":
		return func(c *x509.Certificate) bool { return c.Subject.CommonName == f.allowedCN }
	case f.allowedHostname != "":
		return func(c *x509.Certificate) bool { return c.VerifyHostname(f.allowedHostname) == nil }
	}
	return nil
}

// serverConfig is the configuration of listeners. As etcd, a CA bundle
// (or client certificate auth) makes a certificate it verifies required
// of every client, and the revocation list applies to listeners only.
func (f tlsFiles) serverConfig(nextProtos ...string) (*tls.Config, error) {
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
	if pool != nil || f.clientCertAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	refuseRevoked(cfg, f.crlFile)
	return cfg, nil
}

// clientConfig is the configuration for dialling: the member's
// certificate as the client certificate, the CA bundle (nil: the system
// roots) for the server's, and no verification for auto TLS.
func (f tlsFiles) clientConfig() (*tls.Config, error) {
	cfg, pool, err := f.base()
	if err != nil {
		return nil, err
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return f.certificate() }
	cfg.RootCAs = pool
	if f.autoTLS {
		// The allowed name checks need verified chains, which skipping
		// verification leaves empty: auto TLS drops them, as etcd.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = nil
	}
	return cfg, nil
}

// withSelfSignedCert returns f with the certificate and key in dir, which it
// generates first if either is missing, as etcd's auto TLS: a
// self-signed ECDSA P-521 certificate for hosts (the host part of each
// host:port), valid for validityYears.
func (f tlsFiles) withSelfSignedCert(lg *zap.Logger, dir string, hosts []string, validityYears int) (tlsFiles, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return f, err
	}
	f.certFile, f.keyFile, f.autoTLS = filepath.Join(abs, "cert.pem"), filepath.Join(abs, "key.pem"), true
	_, errCert := os.Stat(f.certFile)
	_, errKey := os.Stat(f.keyFile)
	if errCert == nil && errKey == nil {
		return f, nil
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return f, fmt.Errorf("auto TLS: %w", err)
	}
	certPEM, keyPEM, err := newSelfSignedCert(hosts, time.Duration(validityYears)*365*24*time.Hour)
	if err != nil {
		return f, fmt.Errorf("auto TLS: %w", err)
	}
	if err := os.WriteFile(f.keyFile, keyPEM, 0o600); err != nil {
		return f, fmt.Errorf("auto TLS: %w", err)
	}
	if err := os.WriteFile(f.certFile, certPEM, 0o644); err != nil {
		return f, fmt.Errorf("auto TLS: %w", err)
	}
	lg.Warn("automatically generated a self-signed certificate", zap.String("cert-file", f.certFile),
		zap.Strings("hosts", hosts), zap.Int("validity-years", validityYears))
	return f, nil
}

func newSelfSignedCert(hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"metastore"}},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, hp := range hosts {
		h, _, err := net.SplitHostPort(hp)
		if err != nil {
			h = hp
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && !strings.Contains(h, "/") {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}
