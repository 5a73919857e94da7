package hosttest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// peerProxy forwards the TCP connections that reach a member's advertised
// peer address to the address the member listens on, and refuses or cuts
// them while a partition is in force.
//
// The peer transport opens its streams from the sender to the receiver's
// advertised URL, so a member's proxy sees every connection towards it,
// and the proxies of the other members see every connection it opens.
// Refusing all of a member's proxy's connections cuts what it receives;
// refusing, at the other proxies, the connections its process opened cuts
// what it sends. Which process opened a connection is read from /proc
// (ownerPID), which needs no privileges, unlike network namespaces or
// firewall rules, and so runs the same on a developer's machine and in CI.
type peerProxy struct {
	t      testing.TB
	l      net.Listener
	target string // host:port the member listens on

	mu       sync.Mutex
	isolated bool                // refuse every connection
	from     map[*Process]bool   // refuse connections these members opened
	conns    map[net.Conn]func() // open connections, each with its closer
	closed   bool
	wg       sync.WaitGroup
	// Connections refused because the member is isolated (inbound) and
	// because an isolated member opened them (outbound).
	refusedIn, refusedOut int
}

// newPeerProxy listens on addr and forwards to target until the test ends.
func newPeerProxy(t testing.TB, addr, target string) *peerProxy {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("hosttest: peer proxy on %s: %v", addr, err)
	}
	p := &peerProxy{t: t, l: l, target: target, from: map[*Process]bool{}, conns: map[net.Conn]func(){}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *peerProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.admit(c) {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// admit reports whether c may pass: not while the member is isolated, and
// not when an isolated member's process opened it. A connection whose
// opener cannot be found while some member is cut off is refused too; its
// sender retries.
func (p *peerProxy) admit(c net.Conn) bool {
	p.mu.Lock()
	isolated := p.isolated
	var pids []int
	for m := range p.from {
		if pid := m.Pid(); pid != 0 {
			pids = append(pids, pid)
		}
	}
	p.mu.Unlock()
	if isolated {
		p.mu.Lock()
		p.refusedIn++
		p.mu.Unlock()
		return false
	}
	if len(pids) == 0 {
		return true
	}
	if pid, err := ownerPID(c.RemoteAddr(), c.LocalAddr(), pids); err == nil && pid == 0 {
		return true
	}
	p.mu.Lock()
	p.refusedOut++
	p.mu.Unlock()
	return false
}

// forward copies between c and a new connection to the member until
// either side closes or the proxy cuts them.
func (p *peerProxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { _ = c.Close(); _ = up.Close() }) }
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		closeBoth()
		return
	}
	p.conns[c] = closeBoth
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		closeBoth()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// set changes what the proxy refuses and cuts every open connection, so
// that no stream opened before the change outlives it. Streams that are
// still allowed are reopened by their senders.
func (p *peerProxy) set(isolated bool, from map[*Process]bool) {
	p.mu.Lock()
	p.isolated = isolated
	p.from = from
	closers := make([]func(), 0, len(p.conns))
	for _, f := range p.conns {
		closers = append(closers, f)
	}
	p.mu.Unlock()
	for _, f := range closers {
		f()
	}
}

// refused is how many connections the proxy has refused so far, because
// its member was isolated and because an isolated member opened them.
func (p *peerProxy) refused() (in, out int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refusedIn, p.refusedOut
}

func (p *peerProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.l.Close()
	p.set(false, map[*Process]bool{})
	p.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		p.t.Logf("hosttest: closing peer proxy: %v", err)
	}
}
