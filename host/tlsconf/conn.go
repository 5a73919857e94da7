package tlsconf

import (
	"crypto/tls"
	"net"

	"github.com/soheilhy/cmux"
)

// ConnOf returns the TLS connection c is or wraps, or nil for a plain
// connection. The listeners of https and unixs URLs end TLS themselves,
// and on the client URLs the connection multiplexer that shares a port
// between gRPC and HTTP wraps their connections.
func ConnOf(c net.Conn) *tls.Conn {
	switch v := c.(type) {
	case *tls.Conn:
		return v
	case *cmux.MuxConn:
		return ConnOf(v.Conn)
	}
	return nil
}
