package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// Certificate revocation lists (--client-crl-file, --peer-crl-file), as
// etcd checks them: a listener refuses a connection when a certificate the
// other side presented has a serial number the list revokes. The file is
// read again at each handshake, so a new list applies without a restart;
// as etcd, the list's signature and issuer are not checked.

// CheckCRLFile reads the list at path, so that a missing or unreadable
// file stops the member at start rather than refusing every client.
func CheckCRLFile(flag, path string) error {
	if path == "" {
		return nil
	}
	if _, err := readCRL(path); err != nil {
		return fmt.Errorf("--%s: %w", flag, err)
	}
	return nil
}

// readCRL parses the list at path, in DER (what etcd reads) or PEM.
func readCRL(path string) (*x509.RevocationList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(b); block != nil && block.Type == "X509 CRL" {
		b = block.Bytes
	}
	return x509.ParseRevocationList(b)
}

// refuseRevoked makes cfg's handshakes fail when a certificate the other
// side presented is revoked by the list at path.
func refuseRevoked(cfg *tls.Config, path string) {
	if path == "" {
		return
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil
		}
		crl, err := readCRL(path)
		if err != nil {
			return fmt.Errorf("certificate revocation list %s: %w", path, err)
		}
		revoked := make(map[string]bool, len(crl.RevokedCertificateEntries))
		for _, e := range crl.RevokedCertificateEntries {
			revoked[string(e.SerialNumber.Bytes())] = true
		}
		for _, c := range cs.PeerCertificates {
			if revoked[string(c.SerialNumber.Bytes())] {
				return fmt.Errorf("certificate serial %x revoked", c.SerialNumber.Bytes())
			}
		}
		return nil
	}
}
