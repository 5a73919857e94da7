package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/storage"
	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
	"github.com/metastore/metastore/pluginapi/storage/storagetest"
)

// fakeEngine answers every call with err, and Scan with n generated keys.
type fakeEngine struct {
	storage.Engine // nil: calls not overridden panic
	err            error
	scanKeys       int
	scanStopped    chan struct{}
	lastBatch      storage.ApplyBatchRequest
}

func (f *fakeEngine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{Name: "fake", Version: "0"}, nil
}

func (f *fakeEngine) ApplyBatch(_ context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	f.lastBatch = req
	return storage.ApplyBatchResponse{}, f.err
}

func (f *fakeEngine) Scan(ctx context.Context, _ storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	defer close(f.scanStopped)
	for i := range f.scanKeys {
		if !fn(storage.KeyValue{Key: fmt.Appendf(nil, "k%06d", i), Value: []byte("v")}) {
			return nil
		}
	}
	return ctx.Err()
}

func TestErrorsKeepIdentity(t *testing.T) {
	tests := map[string]struct {
		err      error
		sentinel error
	}{
		"not open":        {fmt.Errorf("wrapped: %w", storage.ErrNotOpen), storage.ErrNotOpen},
		"closed":          {storage.ErrClosed, storage.ErrClosed},
		"corrupt":         {fmt.Errorf("%w: page 7", storage.ErrCorrupt), storage.ErrCorrupt},
		"invalid request": {fmt.Errorf("%w: empty key", storage.ErrInvalidRequest), storage.ErrInvalidRequest},
		"unavailable":     {fmt.Errorf("disk gone: %w", storage.ErrUnavailable), storage.ErrUnavailable},
		"other":           {errors.New("engine: something else"), nil},
	}
	sentinels := []error{storage.ErrNotOpen, storage.ErrClosed, storage.ErrCorrupt, storage.ErrInvalidRequest, storage.ErrUnavailable}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := storagetest.OverGRPC(t, &fakeEngine{err: tc.err})
			_, err := e.ApplyBatch(context.Background(), storage.ApplyBatchRequest{})
			require.Error(t, err)
			require.Equal(t, tc.err.Error(), err.Error(), "the engine's message")
			for _, s := range sentinels {
				require.Equal(t, s == tc.sentinel, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
		})
	}
}

// TestLargeBatch sends a batch far over gRPC's default 4 MiB limit.
func TestLargeBatch(t *testing.T) {
	f := &fakeEngine{}
	e := storagetest.OverGRPC(t, f)
	big := bytes.Repeat([]byte("x"), 16<<20)
	_, err := e.ApplyBatch(context.Background(), storage.ApplyBatchRequest{
		Ops: []storage.Op{{Kind: storage.OpPut, Namespace: "ns", Key: []byte("k"), Value: big}},
	})
	require.NoError(t, err)
	require.Equal(t, big, f.lastBatch.Ops[0].Value)
}

// TestScanEarlyStopEndsServerScan stops a long scan after a few batches;
// the engine's scan must end too rather than run to the end.
func TestScanEarlyStopEndsServerScan(t *testing.T) {
	f := &fakeEngine{scanKeys: 1 << 30, scanStopped: make(chan struct{})}
	e := storagetest.OverGRPC(t, f)
	seen := 0
	err := e.Scan(context.Background(), storage.ScanRequest{Namespace: "ns"}, func(storage.KeyValue) bool {
		seen++
		return seen < 3000
	})
	require.NoError(t, err)
	require.Equal(t, 3000, seen)
	select {
	case <-f.scanStopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the engine's Scan went on after the client stopped")
	}
}

// TestDeadServerIsUnavailable: once the serving side is gone, calls fail
// with ErrUnavailable, which the host treats as a dead engine.
func TestDeadServerIsUnavailable(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	srv := pluginrpc.NewGRPCServer(nil)
	storagev1.RegisterStorageServer(srv, storage.NewGRPCServer(&fakeEngine{}))
	go func() { _ = srv.Serve(lis) }()
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	e, err := storage.NewGRPCClient(context.Background(), cc)
	require.NoError(t, err)
	srv.Stop()
	_ = lis.Close()
	_, err = e.ApplyBatch(context.Background(), storage.ApplyBatchRequest{})
	require.ErrorIs(t, err, storage.ErrUnavailable)
}
