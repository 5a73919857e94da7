package peer

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCallReachesTheHandlerOfItsName(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(ServerOptions()...)
	calls := NewCalls()
	calls.Handle("echo", func(_ context.Context, req []byte) ([]byte, error) {
		return append([]byte("echo:"), req...), nil
	})
	calls.Handle("fail", func(context.Context, []byte) ([]byte, error) {
		return nil, status.Error(codes.OutOfRange, "no such revision")
	})
	calls.Register(srv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)

	tr := New(Config{})
	t.Cleanup(tr.Stop)
	tr.SetPeer(2, []string{"http://" + l.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	out, err := tr.Call(ctx, 2, "echo", []byte("hi"))
	require.NoError(t, err)
	require.Equal(t, "echo:hi", string(out))

	_, err = tr.Call(ctx, 2, "fail", nil)
	require.Equal(t, codes.OutOfRange, status.Code(err))
	_, err = tr.Call(ctx, 2, "missing", nil)
	require.Equal(t, codes.Unimplemented, status.Code(err))
	_, err = tr.Call(ctx, 3, "echo", nil)
	require.ErrorContains(t, err, "no peer 3")
}

// Drain waits for the call being answered, which still gets its answer,
// and refuses calls made after it.
func TestCallsDrainAnswersCallsInFlightAndRefusesNewOnes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(ServerOptions()...)
	calls := NewCalls()
	entered, release := make(chan struct{}), make(chan struct{})
	calls.Handle("slow", func(context.Context, []byte) ([]byte, error) {
		close(entered)
		<-release
		return []byte("done"), nil
	})
	calls.Register(srv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	tr := New(Config{})
	t.Cleanup(tr.Stop)
	tr.SetPeer(2, []string{"http://" + l.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		out []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		out, err := tr.Call(ctx, 2, "slow", nil)
		res <- result{out, err}
	}()
	<-entered
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	calls.Drain(short)
	cancelShort()
	_, err = tr.Call(ctx, 2, "slow", nil)
	require.Equal(t, codes.Unavailable, status.Code(err), "a call after Drain is refused")
	require.Empty(t, res, "the call in flight is still being answered")
	drained := make(chan struct{})
	go func() {
		calls.Drain(ctx)
		close(drained)
	}()
	close(release)
	<-drained
	r := <-res
	require.NoError(t, r.err)
	require.Equal(t, "done", string(r.out))
}
