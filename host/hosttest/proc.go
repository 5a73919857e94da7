package hosttest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ChildPids lists the live processes whose parent is ppid and whose command
// name starts with comm (the kernel cuts a command name at 15 bytes).
func ChildPids(ppid int, comm string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := procStat(pid)
		if err != nil || stat.state == "Z" || stat.ppid != ppid || !strings.HasPrefix(stat.comm, comm) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// Alive reports whether pid runs (a zombie has exited).
func Alive(pid int) bool {
	stat, err := procStat(pid)
	return err == nil && stat.state != "Z"
}

// ChildPid waits until the member has exactly one live child process whose
// command name starts with comm (a plugin's, e.g. "metastore-quota") and
// returns its pid.
func (m *Process) ChildPid(t testing.TB, comm string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pids := ChildPids(m.Pid(), comm); len(pids) == 1 {
			return pids[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosttest: member %s has no single live %s* child process", m.Name(), comm)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type procInfo struct {
	comm, state string
	ppid        int
}

// procStat reads /proc/<pid>/stat: "pid (comm) state ppid ...".
func procStat(pid int) (procInfo, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, err
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procInfo{}, fmt.Errorf("bad stat %q", s)
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 2 {
		return procInfo{}, fmt.Errorf("bad stat %q", s)
	}
	ppid, _ := strconv.Atoi(fields[1])
	return procInfo{comm: s[open+1 : closing], state: fields[0], ppid: ppid}, nil
}
