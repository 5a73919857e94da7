package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/soheilhy/cmux"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Raft messages travel on a connection of their own, beside the peer gRPC
// service on the same port. A gRPC stream hands each message through
// HTTP/2's framing and two more goroutines on each side (the stream's
// writer and the connection's reader), which cost a replicated write more
// than a loopback round trip does. On a connection of its own a batch is
// written by the peer's sender, or by Send itself when the peer is idle,
// and read by one goroutine that steps it into raft.
//
// The connection starts with msgConnPreface, by which the listener tells
// it from gRPC's, and the sender's cluster id, its member id and the id
// of the member it means to reach, each a uvarint. The receiver answers
// with msgConnAnswer and one byte, 0 when it accepts the sender, or else
// a gRPC status code followed by a uvarint length and the reason, and
// closes the connection.
// Then the sender writes frames, each a uvarint length and a batch
// (encodeBatch), and the receiver writes a zero byte every
// msgConnKeepalive: a sender that reads none for msgConnIdleTimeout
// closes the connection, as gRPC's keepalive would, so that a member whose
// process stopped (its kernel still acknowledging what is sent) is soon
// seen unreachable.
//
// A member that does not know these connections (an older one) answers in
// HTTP/2 and closes them; its peers then send it messages over the gRPC
// stream for a while (legacyStreamFor) before trying again.
const (
	msgConnPreface = "metastore-raft-messages/1\n"
	msgConnAnswer  = "MSRM"
	// msgConnHandshakeTimeout bounds dialling, the TLS handshake and the
	// answer to the header.
	msgConnHandshakeTimeout = 5 * time.Second
	// msgConnWriteTimeout bounds the write of one frame: a peer that
	// stops reading (its machine gone without a reset) fails the
	// connection instead of holding the sender.
	msgConnWriteTimeout = 5 * time.Second
	// msgConnKeepalive is how often a receiver shows it is alive, and
	// msgConnIdleTimeout how long a sender waits for that.
	msgConnKeepalive   = time.Second
	msgConnIdleTimeout = 5 * time.Second
	// maxFrameBytes bounds a frame a receiver accepts.
	maxFrameBytes = 256 << 20
	// legacyStreamFor is how long a peer that does not serve message
	// connections gets the gRPC stream instead.
	legacyStreamFor = time.Minute
)

// errNoMsgConns is the error of a peer that answered a message
// connection's header in another protocol.
var errNoMsgConns = errors.New("peer: the peer does not serve message connections")

// Serve serves l until it is closed: connections of raft messages here,
// all others by s, the peer gRPC server (see Register).
func (t *Transport) Serve(l net.Listener, s *grpc.Server) error {
	m := cmux.New(l)
	m.SetReadTimeout(10 * time.Second)
	msgs := m.Match(cmux.PrefixMatcher(msgConnPreface))
	rest := m.Match(cmux.Any())
	go func() { _ = s.Serve(rest) }()
	go t.serveMsgConns(msgs)
	return m.Serve()
}

// serveMsgConns serves the message connections l accepts until it is
// closed, and then closes those still open.
func (t *Transport) serveMsgConns(l net.Listener) {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.serveMsgConn(c); err != nil {
				t.lg.Debug("peer message connection ended", zap.String("remote-addr", c.RemoteAddr().String()), zap.Error(err))
			}
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			_ = c.Close()
		}()
	}
}

// serveMsgConn checks a message connection's header and steps the
// messages of every frame it carries.
func (t *Transport) serveMsgConn(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(msgConnHandshakeTimeout))
	br := bufio.NewReaderSize(c, 64<<10)
	preface := make([]byte, len(msgConnPreface))
	if _, err := io.ReadFull(br, preface); err != nil {
		return fmt.Errorf("reading the preface: %w", err)
	}
	if string(preface) != msgConnPreface {
		return errors.New("bad preface")
	}
	var ids [3]uint64
	for i := range ids {
		v, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("bad header: %w", err)
		}
		ids[i] = v
	}
	r, from, err := t.acceptIDs(ids[0], ids[1], ids[2])
	answer := append([]byte(msgConnAnswer), 0)
	if err != nil {
		st, _ := status.FromError(err)
		answer = append([]byte(msgConnAnswer), byte(st.Code()))
		answer = binary.AppendUvarint(answer, uint64(len(st.Message())))
		answer = append(answer, st.Message()...)
	}
	_ = c.SetWriteDeadline(time.Now().Add(msgConnHandshakeTimeout))
	if _, werr := c.Write(answer); werr != nil || err != nil {
		return errors.Join(err, werr)
	}
	_ = c.SetDeadline(time.Time{})

	// Keepalives go out until the connection ends; Step gives up when
	// the transport stops.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		tick := time.NewTicker(msgConnKeepalive)
		defer tick.Stop()
		for {
			select {
			case <-t.stopc:
				cancel()
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = c.SetWriteDeadline(time.Now().Add(msgConnKeepalive))
				if _, err := c.Write([]byte{0}); err != nil {
					return
				}
			}
		}
	}()
	stats := t.stats.of(from)
	var buf []byte
	for {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if n > maxFrameBytes {
			stats.receivedFailures.Add(1)
			return fmt.Errorf("frame of %d bytes, over the limit of %d", n, maxFrameBytes)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		stats.receivedBytes.Add(n)
		// The messages copy what they keep: buf is read into again.
		msgs, err := decodeBatch(buf)
		if err != nil {
			stats.receivedFailures.Add(1)
			return err
		}
		for i, m := range msgs {
			if m.GetFrom() != from {
				continue
			}
			if err := r.Step(ctx, m); err != nil {
				stats.receivedFailures.Add(uint64(len(msgs) - i))
				return err
			}
		}
	}
}

// msgSender sends frames of batches to a peer: over a message connection
// (msgConn) or, to a member that does not serve those, a gRPC stream
// (msgStream).
type msgSender interface {
	send(b []byte) error
	close()
}

// msgConn is the sending side of a message connection.
type msgConn struct {
	p *peer
	c net.Conn
	// raw is the socket of a plain TCP connection, for trySend; nil over
	// TLS.
	raw syscall.RawConn
	hdr []byte
}

// dialMsgConn opens a message connection to the first of urls that
// parses and has it accept this member.
func (p *peer) dialMsgConn() (*msgConn, error) {
	r := p.t.node()
	if r == nil {
		return nil, errors.New("peer: the local node is not started")
	}
	c, err := dialFirstConn(p.getURLs(), p.t.cfg.TLS)
	if err != nil {
		return nil, err
	}
	hdr := []byte(msgConnPreface)
	for _, id := range []uint64{r.ClusterID(), r.MemberID(), p.id} {
		hdr = binary.AppendUvarint(hdr, id)
	}
	_ = c.SetDeadline(time.Now().Add(msgConnHandshakeTimeout))
	if err := readAnswer(c, hdr); err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	m := &msgConn{p: p, c: c}
	if tc, ok := c.(*net.TCPConn); ok {
		if raw, err := tc.SyscallConn(); err == nil {
			m.raw = raw
		}
	}
	return m, nil
}

// readAnswer writes the header and reads the receiver's answer.
func readAnswer(c net.Conn, hdr []byte) error {
	if _, err := c.Write(hdr); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	head := make([]byte, len(msgConnAnswer)+1)
	_, err := io.ReadFull(br, head)
	switch {
	case err != nil:
		return fmt.Errorf("peer: no answer to the message connection's header: %w", err)
	case string(head[:len(msgConnAnswer)]) != msgConnAnswer:
		// Another protocol's bytes: the HTTP/2 settings an older
		// member's gRPC server sends before it reads anything.
		return errNoMsgConns
	}
	code := head[len(msgConnAnswer)]
	if code == 0 {
		return nil
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 4096 {
		return fmt.Errorf("peer: bad answer to the message connection's header (%v)", err)
	}
	reason := make([]byte, n)
	if _, err := io.ReadFull(br, reason); err != nil {
		return fmt.Errorf("peer: bad answer to the message connection's header (%w)", err)
	}
	return status.Error(codes.Code(code), string(reason))
}

func (m *msgConn) send(b []byte) error {
	return m.write(m.header(b), b)
}

// header returns the frame header of b, in m.hdr.
func (m *msgConn) header(b []byte) []byte {
	m.hdr = binary.AppendUvarint(m.hdr[:0], uint64(len(b)))
	return m.hdr
}

// write writes bufs, failing after msgConnWriteTimeout. It leaves no
// deadline behind: trySend's write would fail on an expired one.
func (m *msgConn) write(bufs ...[]byte) error {
	_ = m.c.SetWriteDeadline(time.Now().Add(msgConnWriteTimeout))
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(m.c)
	_ = m.c.SetWriteDeadline(time.Time{})
	return err
}

// trySend writes the frame of b with one writev that does not wait for
// room in the socket's buffer. It returns false if nothing was written,
// and else what of the frame is left to write (nil when all of it went),
// which write finishes; until then nobody else may write to m.
func (m *msgConn) trySend(b []byte) (rest [][]byte, ok bool) {
	bufs := [][]byte{m.header(b), b}
	var n int
	var werr error
	err := m.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), bufs)
			if werr != unix.EINTR {
				return true
			}
		}
	})
	if err != nil || werr != nil || n <= 0 {
		return nil, false
	}
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) == 0 {
		return nil, true
	}
	bufs[0] = bufs[0][n:]
	return bufs, true
}

func (m *msgConn) close() {
	_ = m.c.Close()
	m.p.noteMsgConn(m, false)
}

// watch reads the receiver's keepalives and closes the connection once
// the receiver has closed it or has been silent for msgConnIdleTimeout:
// the peer is then inactive at once, and not only at the next send.
func (m *msgConn) watch() {
	var b [64]byte
	for {
		_ = m.c.SetReadDeadline(time.Now().Add(msgConnIdleTimeout))
		if _, err := m.c.Read(b[:]); err != nil {
			m.close()
			return
		}
	}
}

// dialFirstConn dials the first of urls that parses: over TLS with tlsCfg
// for an https URL (offering no application protocol: the listener's is
// HTTP/2's), in plain text for an http one.
func dialFirstConn(urls []string, tlsCfg *tls.Config) (net.Conn, error) {
	u, err := firstURL(urls, tlsCfg)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: msgConnHandshakeTimeout, KeepAlive: 10 * time.Second}
	c, err := d.Dial("tcp", u.Host)
	if err != nil || u.Scheme != "https" {
		return c, err
	}
	cfg := tlsCfg.Clone()
	cfg.NextProtos = nil
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	tc := tls.Client(c, cfg)
	_ = tc.SetDeadline(time.Now().Add(msgConnHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return tc, nil
}

// openSender opens a message connection, or a gRPC stream to a peer that
// lately turned out not to serve those.
func (p *peer) openSender() (msgSender, error) {
	p.mu.Lock()
	legacy := time.Now().Before(p.legacyUntil)
	p.mu.Unlock()
	if !legacy {
		c, err := p.dialMsgConn()
		if err == nil {
			p.noteMsgConn(c, true)
			go c.watch()
			return c, nil
		}
		if !errors.Is(err, errNoMsgConns) {
			return nil, err
		}
		p.mu.Lock()
		p.legacyUntil = time.Now().Add(legacyStreamFor)
		p.mu.Unlock()
		p.lg.Info("peer does not serve message connections; sending over a gRPC stream", zap.Stringer("peer-id", types.ID(p.id)))
	}
	s, err := p.openMsgStream()
	if err != nil {
		return nil, err // not a msgSender holding a nil *msgStream
	}
	return s, nil
}
