package peer

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
)

// receiver is member id's transport serving l as stated, with the sender
// member 1 as its peer.
func receiver(t *testing.T, id uint64, cfg Config, serve func(tr *Transport, l net.Listener)) (*stepRecorder, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	tr := New(cfg)
	r := &stepRecorder{id: id, steps: make(chan *raftpb.Message, 1024)}
	tr.SetRaft(r)
	t.Cleanup(tr.Stop)
	go serve(tr, l)
	return r, "http://" + l.Addr().String()
}

func requireDelivered(t *testing.T, from *Transport, to *stepRecorder, data string) {
	t.Helper()
	require.Eventually(t, func() bool {
		from.Send([]*raftpb.Message{app(1, to.id, data)})
		select {
		case m := <-to.steps:
			return string(m.GetEntries()[0].GetData()) == data
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, 10*time.Second, 10*time.Millisecond)
}

// Raft messages go over a message connection: a member whose gRPC
// server has no peer service still gets them.
func TestMessagesTravelOnTheirOwnConnection(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	rb, url := receiver(t, 2, Config{}, func(tr *Transport, l net.Listener) {
		srv := grpc.NewServer(ServerOptions()...) // without tr.Register
		t.Cleanup(srv.Stop)
		_ = tr.Serve(l, srv)
	})
	a.SetPeer(2, []string{url})
	requireDelivered(t, a, rb, "over its own connection")
	require.True(t, statsOf(a, 2).Active)
}

// A member that serves the peer service on gRPC alone, as older ones do,
// gets its messages over the gRPC stream; once it is gone, messages to it
// fail.
func TestOlderPeerGetsMessagesOverTheGRPCStream(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	srv := grpc.NewServer(ServerOptions()...)
	rb, url := receiver(t, 2, Config{}, func(tr *Transport, l net.Listener) {
		tr.Register(srv)
		_ = srv.Serve(l)
	})
	t.Cleanup(srv.Stop)
	a.SetPeer(2, []string{url})
	requireDelivered(t, a, rb, "over the gRPC stream")
	require.True(t, statsOf(a, 2).Active)

	srv.Stop()
	require.Eventually(t, func() bool {
		a.Send([]*raftpb.Message{app(1, 2, "lost")})
		return !statsOf(a, 2).Active && statsOf(a, 2).SentFailures > 3
	}, 10*time.Second, 20*time.Millisecond)
}

// A member removed from the cluster learns it from the answer to its
// message connection's header, as from a refused gRPC stream.
func TestRemovedMemberIsToldOnItsMessageConnection(t *testing.T) {
	removed := make(chan struct{})
	a := New(Config{RetryInterval: 10 * time.Millisecond, OnRemoved: func() { close(removed) }})
	a.SetRaft(&stepRecorder{id: 1, steps: make(chan *raftpb.Message, 1024)})
	t.Cleanup(a.Stop)
	rb, url := receiver(t, 2, Config{IsRemoved: func(id uint64) bool { return id == 1 }}, func(tr *Transport, l net.Listener) {
		srv := grpc.NewServer(ServerOptions()...)
		t.Cleanup(srv.Stop)
		_ = tr.Serve(l, srv)
	})
	a.SetPeer(2, []string{url})
	a.Send([]*raftpb.Message{app(1, 2, "refused")})
	select {
	case <-removed:
	case <-time.After(10 * time.Second):
		t.Fatal("the removed member was not told")
	}
	require.Empty(t, rb.steps)
	require.False(t, statsOf(a, 2).Active)
}

// A peer whose connections are cut as soon as they open (a partition in
// front of it) is retried, and reached over a message connection once it
// serves again.
func TestPeerThatCutsConnectionsIsReachedOnceItServes(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	serving := make(chan struct{})
	cut := newCutListener(l, serving)
	tr := New(Config{})
	rb := &stepRecorder{id: 2, steps: make(chan *raftpb.Message, 1024)}
	tr.SetRaft(rb)
	t.Cleanup(tr.Stop)
	go func() {
		srv := grpc.NewServer(ServerOptions()...) // no peer service: messages must come on their own connection
		t.Cleanup(srv.Stop)
		_ = tr.Serve(cut, srv)
	}()
	a.SetPeer(2, []string{"http://" + l.Addr().String()})
	for range 10 {
		a.Send([]*raftpb.Message{app(1, 2, "cut")})
		time.Sleep(20 * time.Millisecond)
	}
	require.False(t, statsOf(a, 2).Active)
	close(serving)
	requireDelivered(t, a, rb, "served again")
}

// cutListener closes every connection it accepts until serving is closed.
type cutListener struct {
	net.Listener
	serving chan struct{}
}

func newCutListener(l net.Listener, serving chan struct{}) *cutListener {
	return &cutListener{Listener: l, serving: serving}
}

func (l *cutListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case <-l.serving:
			return c, nil
		default:
			_ = c.Close()
		}
	}
}

// A peer that accepted a message connection and then went silent (its
// process stopped, its kernel still taking what is sent) is seen
// unreachable once its keepalives stop, as gRPC's keepalive saw it.
func TestSilentPeerIsSeenUnreachable(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		// One connection: take its header whole, accept it, and say
		// nothing more. Later ones are refused.
		c, err := l.Accept()
		_ = l.Close()
		if err != nil {
			return
		}
		t.Cleanup(func() { _ = c.Close() })
		hdr := make([]byte, len(msgConnPreface)+3)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		_, _ = c.Write(append([]byte(msgConnAnswer), 0))
	}()
	a.SetPeer(2, []string{"http://" + l.Addr().String()})
	require.Eventually(t, func() bool {
		a.Send([]*raftpb.Message{app(1, 2, "taken")})
		return statsOf(a, 2).Active
	}, 5*time.Second, 10*time.Millisecond)
	start := time.Now()
	require.Eventually(t, func() bool {
		a.Send([]*raftpb.Message{app(1, 2, "unanswered")})
		return !statsOf(a, 2).Active
	}, 3*msgConnIdleTimeout, 50*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), msgConnIdleTimeout/2)
	require.Equal(t, uint64(1), statsOf(a, 2).Disconnects)
}

// Messages handed to an idle peer are written at once from the caller's
// goroutine, and a frame the socket takes only in part is finished before
// anything queued after it: with the receiver stalled until the sockets
// are full, every message still arrives, once, in order.
func TestMessagesWrittenAtOnceKeepTheirOrderWhenTheSocketFills(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := New(Config{RetryInterval: 10 * time.Millisecond})
	rb := &stepRecorder{id: 2, steps: make(chan *raftpb.Message, 1)} // stalls the reader
	b.SetRaft(rb)
	srv := grpc.NewServer(ServerOptions()...)
	b.Register(srv)
	go func() { _ = b.Serve(l, srv) }()
	t.Cleanup(func() { srv.Stop(); _ = l.Close() })
	t.Cleanup(b.Stop)
	a.SetPeer(2, []string{"http://" + l.Addr().String()})
	requireDelivered(t, a, rb, "warm-up")

	const n, size = 400, 64 << 10 // 25 MiB, more than loopback sockets hold
	payload := make([]byte, size)
	for i := range n {
		m := app(1, 2, "")
		m.Index = new(uint64(i))
		m.Entries[0].Data = payload
		a.Send([]*raftpb.Message{m})
	}
	for i := range n {
		select {
		case m := <-rb.steps:
			require.Equal(t, uint64(i), m.GetIndex(), "message %d", i)
			require.Len(t, m.GetEntries()[0].GetData(), size)
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never arrived (%d sent failures)", i, statsOf(a, 2).SentFailures)
		}
	}
	require.Zero(t, statsOf(a, 2).SentFailures)
}
