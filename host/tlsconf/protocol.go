package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// Protocol is what --cipher-suites, --tls-min-version and
// --tls-max-version ask of every TLS connection, client and peer, served
// or dialled, as etcd applies them.
type Protocol struct {
	CipherSuites []uint16 // nil: Go's defaults
	MinVersion   uint16   // 0: TLS 1.2
	MaxVersion   uint16   // 0: Go's highest
}

// apply sets the protocol limits on cfg.
func (p Protocol) apply(cfg *tls.Config) {
	cfg.MinVersion = tls.VersionTLS12
	if p.MinVersion != 0 {
		cfg.MinVersion = p.MinVersion
	}
	cfg.MaxVersion = p.MaxVersion
	cfg.CipherSuites = p.CipherSuites
}

// ParseProtocol parses the protocol settings (--tls-min-version,
// --tls-max-version, the entries of --cipher-suites) and refuses those
// etcd refuses, with etcd's messages: an unknown version or cipher suite
// name, a minimum version above the maximum, cipher suites when TLS 1.3,
// whose suites Go does not let anyone choose, is the minimum, and, when
// http2 (https or unixs client URLs), suites without one HTTP/2
// requires. The protocol is returned also with an error.
func ParseProtocol(minVersionName, maxVersionName string, cipherSuites []string, http2 bool) (Protocol, error) {
	var errs []error
	minVersion, err := parseTLSVersion(minVersionName)
	errs = append(errs, err)
	maxVersion, err := parseTLSVersion(maxVersionName)
	errs = append(errs, err)
	if errors.Join(errs...) == nil && maxVersion != 0 && minVersion > maxVersion {
		errs = append(errs, fmt.Errorf("min version (%s) is greater than max version (%s)", minVersionName, maxVersionName))
	}
	names := cipherSuiteNames(cipherSuites)
	if minVersion == tls.VersionTLS13 && len(names) > 0 {
		errs = append(errs, errors.New("cipher suites cannot be configured when only TLS1.3 is enabled"))
	}
	suites, err := parseCipherSuites(names)
	errs = append(errs, err)
	if len(suites) > 0 && minVersion < tls.VersionTLS13 && http2 && !hasHTTP2Suite(suites) {
		errs = append(errs, errors.New("http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)"))
	}
	return Protocol{CipherSuites: suites, MinVersion: minVersion, MaxVersion: maxVersion}, errors.Join(errs...)
}

// hasHTTP2Suite reports whether suites has one of the two TLS 1.2 suites
// HTTP/2 requires (RFC 7540 section 9.2.2, and its ECDSA sibling): gRPC
// and the JSON gateway run over HTTP/2, and etcd refuses to start without.
func hasHTTP2Suite(suites []uint16) bool {
	for _, s := range suites {
		if s == tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || s == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			return true
		}
	}
	return false
}

// parseTLSVersion reads a version as etcd names it: "TLS1.2", "TLS1.3",
// or "" for the default.
func parseTLSVersion(s string) (uint16, error) {
	switch s {
	case "":
		return 0, nil
	case "TLS1.2":
		return tls.VersionTLS12, nil
	case "TLS1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unexpected TLS version %q (must be one of: TLS1.2, TLS1.3)", s)
}

// cipherSuiteNames splits the comma-separated entries of --cipher-suites
// (one entry from a flag or the environment, a list from the config file).
func cipherSuiteNames(entries []string) []string {
	var names []string
	for _, e := range entries {
		for _, n := range strings.Split(e, ",") {
			if n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

// parseCipherSuites looks up suites by their Go names (insecure ones
// included, and the two ChaCha20 names without _SHA256 that etcd also
// takes). Names of TLS 1.3 suites are accepted and change nothing: Go
// picks those itself.
func parseCipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	byName := map[string]uint16{
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[s.Name] = s.ID
	}
	ids := make([]uint16, len(names))
	for i, n := range names {
		id, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("unexpected TLS cipher suite %q", n)
		}
		ids[i] = id
	}
	return ids, nil
}
