package hosttest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errNoSocket is returned when /proc lists no socket for a connection.
var errNoSocket = errors.New("hosttest: no socket for the connection in /proc/net/tcp")

// ownerPID returns which of pids holds the local end of the loopback TCP
// connection from remote to local (as the accepting side names them), or
// 0 when none of them does. It finds the socket's inode in /proc/net/tcp,
// then looks for socket:[inode] among each process's open files.
func ownerPID(remote, local net.Addr, pids []int) (int, error) {
	ra, ok1 := remote.(*net.TCPAddr)
	la, ok2 := local.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("hosttest: not a TCP connection: %v -> %v", remote, local)
	}
	inode, err := socketInode(ra.Port, la.Port)
	if err != nil {
		return 0, err
	}
	want := "socket:[" + inode + "]"
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // the process has exited
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == want {
				return pid, nil
			}
		}
	}
	return 0, nil
}

// socketInode returns the inode of the IPv4 socket whose local port is
// from and remote port is to.
func socketInode(from, to int) (string, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if hexPort(fields[1]) == from && hexPort(fields[2]) == to && fields[9] != "0" {
			return fields[9], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errNoSocket
}

// hexPort reads the port of an address as /proc/net/tcp writes it
// (0100007F:1F90), or -1.
func hexPort(addr string) int {
	_, port, ok := strings.Cut(addr, ":")
	if !ok {
		return -1
	}
	n, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}
