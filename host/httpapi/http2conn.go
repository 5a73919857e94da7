package httpapi

import "net"

// The client port's mux answers an HTTP/2 connection's preface with a
// SETTINGS frame of its own before it can tell gRPC from the JSON gateway
// (gRPC clients wait for the server's SETTINGS before their first
// request). gRPC's server ignores the client's acknowledgement of those
// extra settings; net/http's HTTP/2 server takes an acknowledgement of
// settings it never sent as a protocol error. So the connections the mux
// hands to the HTTP server drop the client's first SETTINGS ACK.

// http2Preface is the client connection preface (RFC 9113, 3.4).
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	frameHeaderLen = 9
	frameSettings  = 0x4
	frameFlagAck   = 0x1
	readChunk      = 32 << 10
)

// muxSettingsAckListener wraps the listener of HTTP/2 connections the mux
// routes to the HTTP server.
type muxSettingsAckListener struct{ net.Listener }

func (l muxSettingsAckListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &settingsAckDropConn{Conn: c, preface: len(http2Preface)}, nil
}

// settingsAckDropConn passes the client's bytes through frame by frame
// until it has dropped one empty SETTINGS frame with the ACK flag, then
// gets out of the way.
type settingsAckDropConn struct {
	net.Conn
	in, out []byte
	preface int // preface bytes still to pass
	payload int // bytes of the current frame's payload still to pass
	dropped bool
	err     error
}

func (c *settingsAckDropConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.dropped && len(c.in) == 0 {
			if c.err != nil {
				return 0, c.err
			}
			return c.Conn.Read(p)
		}
		c.filter()
		if len(c.out) > 0 {
			break
		}
		if c.err != nil {
			return 0, c.err
		}
		buf := make([]byte, readChunk)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		c.err = err
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// filter moves what it can from in to out, dropping the first SETTINGS ACK.
func (c *settingsAckDropConn) filter() {
	pass := func(n int) {
		n = min(n, len(c.in))
		c.out = append(c.out, c.in[:n]...)
		c.in = c.in[n:]
	}
	for len(c.in) > 0 {
		switch {
		case c.dropped:
			pass(len(c.in))
		case c.preface > 0:
			k := min(c.preface, len(c.in))
			pass(k)
			c.preface -= k
		case c.payload > 0:
			k := min(c.payload, len(c.in))
			pass(k)
			c.payload -= k
		case len(c.in) < frameHeaderLen:
			return
		default:
			length := int(c.in[0])<<16 | int(c.in[1])<<8 | int(c.in[2])
			if c.in[3] == frameSettings && c.in[4]&frameFlagAck != 0 && length == 0 {
				c.in = c.in[frameHeaderLen:]
				c.dropped = true
				continue
			}
			pass(frameHeaderLen)
			c.payload = length
		}
	}
}
