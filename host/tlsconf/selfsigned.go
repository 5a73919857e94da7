package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// WithSelfSignedCert returns f with the certificate and key in dir, which it
// generates first if either is missing, as etcd's auto TLS: a
// self-signed ECDSA P-521 certificate for hosts (the host part of each
// host:port), valid for validityYears.
func (f Config) WithSelfSignedCert(lg *zap.Logger, dir string, hosts []string, validityYears int) (Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return f, err
	}
	f.CertFile, f.KeyFile, f.AutoTLS = filepath.Join(abs, "cert.pem"), filepath.Join(abs, "key.pem"), true
	_, errCert := os.Stat(f.CertFile)
	_, errKey := os.Stat(f.KeyFile)
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
	if err := os.WriteFile(f.KeyFile, keyPEM, 0o600); err != nil {
		return f, fmt.Errorf("auto TLS: %w", err)
	}
	if err := os.WriteFile(f.CertFile, certPEM, 0o644); err != nil {
		return f, fmt.Errorf("auto TLS: %w", err)
	}
	lg.Warn("automatically generated a self-signed certificate", zap.String("cert-file", f.CertFile),
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
