// Package tlsconf turns etcd's TLS flags for one kind of URL (client or
// peer) into the crypto/tls configurations of the member's listeners and
// dialers.
//
// It covers the certificate and key files (read again at each handshake),
// the CA bundle, client certificate auth, the allowed common name or host
// name of peers, certificate revocation lists, auto TLS's self-signed
// certificate, and the protocol versions and cipher suites. Error
// messages name etcd's flags. ConnOf finds the TLS state of a connection
// whose listener ended TLS.
//
// tlsconf is a leaf: it imports nothing of MetaStore.
package tlsconf
