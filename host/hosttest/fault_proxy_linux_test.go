package hosttest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers each line with the same line until the test ends.
func echoServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return l.Addr().String()
}

// roundTrip reports whether a line sent over a new or given connection
// comes back.
func roundTrip(c net.Conn) bool {
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ping\n"
}

func dialProxy(t *testing.T, p *peerProxy) net.Conn {
	c, err := net.Dial("tcp", p.l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// thisProcess is a member whose process is the test itself, so that its
// connections count as the member's.
func thisProcess() *Process {
	return &Process{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
}

func TestPeerProxyIsolatesAndHeals(t *testing.T) {
	p := newPeerProxy(t, "127.0.0.1:0", echoServer(t))
	open := dialProxy(t, p)
	require.True(t, roundTrip(open))

	// Isolated: the open connection is cut and new ones are refused.
	p.set(true, map[*Process]bool{})
	require.False(t, roundTrip(open))
	require.False(t, roundTrip(dialProxy(t, p)))

	// Refusing only another member's connections lets ours through.
	other := &Process{cmd: &exec.Cmd{Process: &os.Process{Pid: 1}}}
	p.set(false, map[*Process]bool{other: true})
	require.True(t, roundTrip(dialProxy(t, p)))

	// Refusing ours: cut and refused, and counted.
	in, out := p.refused()
	require.Positive(t, in)
	p.set(false, map[*Process]bool{thisProcess(): true})
	require.False(t, roundTrip(dialProxy(t, p)))
	in2, out2 := p.refused()
	require.Equal(t, in, in2)
	require.Greater(t, out2, out)

	p.set(false, map[*Process]bool{})
	require.True(t, roundTrip(dialProxy(t, p)))
}
