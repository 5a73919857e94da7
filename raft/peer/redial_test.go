package peer

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
)

// A peer that was down for a while is reached again soon after it comes
// back: redials stay at most about a second apart, where gRPC's default
// backoff would have grown to several seconds after 20 s of failures.
func TestPeerBackAfterALongOutageIsReachedWithinSeconds(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	a.SetPeer(2, []string{"http://" + addr})

	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		a.Send([]*raftpb.Message{app(1, 2, "lost")})
		time.Sleep(200 * time.Millisecond)
	}
	require.False(t, statsOf(a, 2).Active)

	l, err = net.Listen("tcp", addr)
	require.NoError(t, err, "the peer's port was taken meanwhile")
	_, rb, _, _ := serveTransport(t, 2, l)

	back := time.Now()
	require.Eventually(t, func() bool {
		a.Send([]*raftpb.Message{app(1, 2, "back")})
		for {
			select {
			case m := <-rb.steps:
				if string(m.GetEntries()[0].GetData()) == "back" {
					return true
				}
			default:
				return false
			}
		}
	}, 3*time.Second, 50*time.Millisecond, "the peer is reached within 3 s of coming back")
	t.Logf("reached %v after the peer came back", time.Since(back).Round(time.Millisecond))
}
