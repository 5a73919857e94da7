package hosttest

import (
	"strings"
	"testing"
)

// PrepareMember reserves ports and a data directory for a member that will
// join a running cluster: add it with `etcdctl member add NAME
// --peer-urls=PeerURL()` first, then start it with Join.
func PrepareMember(t testing.TB, name string, opts ...Option) *Process {
	t.Helper()
	cfg := newConfig(opts, name)
	ports := FreePorts(t, 2)
	return newMember(t, cfg, name, ports[0], ports[1])
}

// Join starts m with --initial-cluster-state existing and an
// --initial-cluster of the given members and m, and waits until it serves
// client requests.
func (m *Process) Join(t testing.TB, members ...*Process) {
	t.Helper()
	peers := make([]string, 0, len(members)+1)
	for _, o := range members {
		peers = append(peers, o.name+"="+o.peer)
	}
	peers = append(peers, m.name+"="+m.peer)
	m.cluster = strings.Join(peers, ",")
	m.state = "existing"
	m.start()
	m.waitReady()
}

// Start starts a stopped member again without waiting for it to serve.
func (m *Process) Start() { m.start() }

// WaitReady waits until the member, started with Start, serves clients.
func (m *Process) WaitReady() { m.waitReady() }

// SetInitialCluster sets the --initial-cluster the next start passes.
func (m *Process) SetInitialCluster(s string) { m.cluster = s }
