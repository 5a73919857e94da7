package hosttest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// Faults cuts members of a cluster off from each other. Members started
// with WithFaults(f) advertise a proxy's peer URL and listen on another
// port behind it; f decides what the proxies pass.
type Faults struct {
	mu       sync.Mutex
	proxies  map[*Process]*peerProxy
	isolated map[*Process]bool
}

// NewFaults returns a Faults with no member cut off.
func NewFaults() *Faults {
	return &Faults{proxies: map[*Process]*peerProxy{}, isolated: map[*Process]bool{}}
}

// WithFaults puts a peer proxy controlled by f in front of each member
// started with this option (StartCluster, PrepareMember).
func WithFaults(f *Faults) Option { return func(c *config) { c.faults = f } }

// interpose moves m's peer listener to a free port and listens on the
// advertised one with a proxy that forwards to it.
func (f *Faults) interpose(t testing.TB, m *Process) {
	t.Helper()
	u, err := url.Parse(m.peer)
	if err != nil {
		t.Fatalf("hosttest: peer URL %q: %v", m.peer, err)
	}
	m.listenPeer = fmt.Sprintf("http://127.0.0.1:%d", FreePorts(t, 1)[0])
	p := newPeerProxy(t, u.Host, m.listenPeer[len("http://"):])
	f.mu.Lock()
	f.proxies[m] = p
	f.mu.Unlock()
}

// Isolate partitions m from every other member in both directions: its
// proxy refuses all connections, and the other proxies refuse those m's
// process opens. Open connections are cut. Client URLs stay reachable.
func (f *Faults) Isolate(m *Process) {
	f.mu.Lock()
	f.isolated[m] = true
	f.mu.Unlock()
	f.apply()
}

// Heal ends every partition.
func (f *Faults) Heal() {
	f.mu.Lock()
	f.isolated = map[*Process]bool{}
	f.mu.Unlock()
	f.apply()
}

// Refused is how many peer connections the proxies have refused: towards
// isolated members (inbound) and opened by them (outbound), witnesses
// that a partition was in force in both directions.
func (f *Faults) Refused() (inbound, outbound int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.proxies {
		in, out := p.refused()
		inbound, outbound = inbound+in, outbound+out
	}
	return inbound, outbound
}

func (f *Faults) apply() {
	f.mu.Lock()
	type setting struct {
		p        *peerProxy
		isolated bool
		from     map[*Process]bool
	}
	var settings []setting
	for m, p := range f.proxies {
		from := map[*Process]bool{}
		for o := range f.isolated {
			if o != m {
				from[o] = true
			}
		}
		settings = append(settings, setting{p, f.isolated[m], from})
	}
	f.mu.Unlock()
	for _, s := range settings {
		s.p.set(s.isolated, s.from)
	}
}

// Rejoin replaces m by an empty member at the same URLs: it kills m,
// removes it from the cluster through via, wipes its data directory, adds
// it back (under a new id) and starts it with --initial-cluster-state
// existing and an --initial-cluster of others and m.
func (m *Process) Rejoin(t testing.TB, via *Process, others ...*Process) {
	t.Helper()
	m.Kill()
	cli := via.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatalf("hosttest: member list on %s: %v", via.name, err)
	}
	var id uint64
	for _, pm := range list.Members {
		if pm.Name == m.name {
			id = pm.ID
		}
	}
	if id == 0 {
		t.Fatalf("hosttest: %s is not in the member list of %s", m.name, via.name)
	}
	if _, err := UntilHealthy(t, func() (any, error) { return cli.MemberRemove(ctx, id) }); err != nil {
		t.Fatalf("hosttest: removing %s (%x): %v", m.name, id, err)
	}
	if err := os.RemoveAll(m.dataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := UntilHealthy(t, func() (any, error) { return cli.MemberAdd(ctx, []string{m.peer}) }); err != nil {
		t.Fatalf("hosttest: adding %s back: %v", m.name, err)
	}
	m.Join(t, others...)
}
