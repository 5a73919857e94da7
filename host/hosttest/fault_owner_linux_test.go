package hosttest

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOwnerPIDFindsTheProcessThatOpenedAConnection: the accepting side
// learns which process dialled, and a process that did not is not named.
func TestOwnerPIDFindsTheProcessThatOpenedAConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s, err := l.Accept()
	require.NoError(t, err)
	defer s.Close()

	other := exec.Command("sleep", "30")
	require.NoError(t, other.Start())
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()

	pid, err := ownerPID(s.RemoteAddr(), s.LocalAddr(), []int{other.Process.Pid, os.Getpid()})
	require.NoError(t, err)
	require.Equal(t, os.Getpid(), pid)
	pid, err = ownerPID(s.RemoteAddr(), s.LocalAddr(), []int{other.Process.Pid})
	require.NoError(t, err)
	require.Zero(t, pid)
}
