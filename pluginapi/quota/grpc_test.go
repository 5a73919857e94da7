package quota_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/metastore/metastore/pluginapi/quota"
	quotav1 "github.com/metastore/metastore/pluginapi/quota/proto/v1"
)

// recordingPolicy answers Check with resp or err and keeps the request.
type recordingPolicy struct {
	resp quota.CheckResponse
	err  error
	last quota.CheckRequest
}

func (p *recordingPolicy) Info(context.Context) (quota.InfoResponse, error) {
	return quota.InfoResponse{Name: "recording", Version: "1", Capabilities: []string{"x"}}, nil
}

func (p *recordingPolicy) Check(_ context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
	p.last = req
	return p.resp, p.err
}

// configurablePolicy also takes a configuration.
type configurablePolicy struct {
	recordingPolicy
	config []byte
}

func (p *configurablePolicy) Configure(_ context.Context, req quota.ConfigureRequest) (quota.ConfigureResponse, error) {
	if string(req.Config) == "bad" {
		return quota.ConfigureResponse{}, fmt.Errorf("%w: bad", quota.ErrInvalidConfig)
	}
	p.config = req.Config
	return quota.ConfigureResponse{Prefixes: [][]byte{[]byte("/a/")}}, nil
}

// serve returns a client shim talking to the server shim of impl.
func serve(t *testing.T, impl quota.Policy) quota.Policy {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	quotav1.RegisterQuotaPolicyServer(srv, quota.NewGRPCServer(impl))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return quota.NewGRPCClient(cc)
}

func TestCheckRoundTrip(t *testing.T) {
	impl := &recordingPolicy{resp: quota.CheckResponse{Alarm: quota.AlarmNoSpace, Reason: "full"}}
	c := serve(t, impl)
	ctx := context.Background()
	req := quota.CheckRequest{
		Kind: quota.WriteTxn, Cost: 300,
		Puts:     []quota.Put{{Key: []byte("/a/1"), ValueSize: 10}, {Key: []byte("/b/1"), ValueSize: 0}},
		Usage:    quota.Usage{BackendBytes: 4096, BackendBytesInUse: 1024},
		Prefixes: []quota.PrefixUsage{{Prefix: []byte("/a/"), Keys: 3, Bytes: 40, AddKeys: 1, AddBytes: -2}},
	}
	resp, err := c.Check(ctx, req)
	require.NoError(t, err)
	require.Equal(t, impl.resp, resp)
	require.Equal(t, req, impl.last)

	info, err := c.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, quota.InfoResponse{Name: "recording", Version: "1", Capabilities: []string{"x"}}, info)
}

func TestErrorsKeepIdentity(t *testing.T) {
	for _, sentinel := range []error{quota.ErrInvalidRequest, quota.ErrUnavailable, quota.ErrInvalidConfig, quota.ErrNotSupported} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			c := serve(t, &recordingPolicy{err: fmt.Errorf("policy says: %w", sentinel)})
			_, err := c.Check(context.Background(), quota.CheckRequest{Kind: quota.WritePut})
			require.ErrorIs(t, err, sentinel)
			require.EqualError(t, err, "policy says: "+sentinel.Error())
		})
	}
}

func TestConfigure(t *testing.T) {
	ctx := context.Background()
	plain := serve(t, &recordingPolicy{}).(quota.Configurer)
	_, err := plain.Configure(ctx, quota.ConfigureRequest{Config: []byte("{}")})
	require.ErrorIs(t, err, quota.ErrNotSupported, "a policy without settings")

	impl := &configurablePolicy{}
	c := serve(t, impl).(quota.Configurer)
	resp, err := c.Configure(ctx, quota.ConfigureRequest{Config: []byte(`{"a":1}`)})
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("/a/")}, resp.Prefixes)
	require.Equal(t, `{"a":1}`, string(impl.config))
	_, err = c.Configure(ctx, quota.ConfigureRequest{Config: []byte("bad")})
	require.ErrorIs(t, err, quota.ErrInvalidConfig)
}
