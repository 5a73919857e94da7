package etcdapi

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

// failingEngine is an engine whose reads fail with err once it is set.
type failingEngine struct {
	storage.Engine
	err atomic.Pointer[error]
}

func (e *failingEngine) fail(err error) { e.err.Store(&err) }

func (e *failingEngine) readErr() error {
	if p := e.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *failingEngine) GetMany(ctx context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	if err := e.readErr(); err != nil {
		return storage.GetManyResponse{}, err
	}
	return e.Engine.GetMany(ctx, req)
}

func (e *failingEngine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	if err := e.readErr(); err != nil {
		return err
	}
	return e.Engine.Scan(ctx, req, fn)
}

// newFaultServer is a server whose values are always read from eng: no
// value cache, and the write buffer flushed before each read test.
func newFaultServer(t *testing.T) (*Server, *failingEngine, *mvcc.Store) {
	return newFaultServerWith(t, Deps{})
}

func newFaultServerWith(t *testing.T, d Deps) (*Server, *failingEngine, *mvcc.Store) {
	t.Helper()
	lg := zaptest.NewLogger(t)
	eng := &failingEngine{Engine: memory.New()}
	_, err := eng.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	store, err := mvcc.New(lg, eng, 0, mvcc.Config{FlushInterval: time.Hour, CacheBytes: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return testServer(t, store, d), eng, store
}

// A storage engine that cannot serve answers Unavailable, whatever wraps
// its error, so that clients retry rather than give up on Unknown.
func TestEngineUnavailableIsUnavailable(t *testing.T) {
	err := toGRPCError(fmt.Errorf("range: %w", fmt.Errorf("%w: storage plugin died", storage.ErrUnavailable)))
	require.Equal(t, codes.Unavailable, status.Code(err))

	s, eng, store := newFaultServer(t)
	ctx := context.Background()
	_, err = s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, store.Flush(ctx))
	eng.fail(fmt.Errorf("%w: plugin process exited", storage.ErrUnavailable))
	_, err = s.KV().Range(ctx, &pb.RangeRequest{Key: []byte("k")})
	require.Equal(t, codes.Unavailable, status.Code(err), "got %v", err)
}

// A txn whose compare cannot read its keys fails with the read's error; it
// is not taken as a false compare, which would run the failure branch.
func TestTxnCompareReadError(t *testing.T) {
	s, eng, store := newFaultServer(t)
	kv := s.KV()
	ctx := context.Background()
	_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, store.Flush(ctx))

	eng.fail(fmt.Errorf("%w: plugin process exited", storage.ErrUnavailable))
	_, err = kv.Txn(ctx, &pb.TxnRequest{Compare: valueIsV(), Success: putOps("ok"), Failure: putOps("failed")})
	require.Equal(t, codes.Unavailable, status.Code(err), "got %v", err)
	require.ErrorContains(t, err, "etcdserver: storage engine unavailable")
	_, err = kv.Txn(ctx, &pb.TxnRequest{Compare: valueIsV(), Success: getK(), Failure: getK()})
	require.Equal(t, codes.Unavailable, status.Code(err), "a read-only txn fails too; got %v", err)

	eng.err.Store(nil) // the engine is back
	for _, key := range []string{"ok", "failed"} {
		r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte(key)})
		require.NoError(t, err)
		require.Empty(t, r.Kvs, "the failed txn wrote %s", key)
	}
	resp, err := kv.Txn(ctx, &pb.TxnRequest{Compare: valueIsV(), Success: putOps("ok"), Failure: putOps("failed")})
	require.NoError(t, err)
	require.True(t, resp.Succeeded, "with the engine back the compare holds")
}

// Any other engine failure under a compare fails a read-only txn with the
// error, and stops the member when it meets a committed txn: skipping the
// entry would leave this member's state unlike the others'.
func TestTxnCompareEngineFailureAtApply(t *testing.T) {
	s, eng, store := newFaultServer(t)
	kv := s.KV()
	ctx := context.Background()
	_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, store.Flush(ctx))

	eng.fail(errors.New("engine: page checksum mismatch"))
	_, err = kv.Txn(ctx, &pb.TxnRequest{Compare: valueIsV(), Success: getK(), Failure: getK()})
	require.Equal(t, codes.Unknown, status.Code(err), "got %v", err)
	require.ErrorContains(t, err, "engine: page checksum mismatch")
	require.Panics(t, func() {
		_, _ = kv.Txn(ctx, &pb.TxnRequest{Compare: valueIsV(), Success: putOps("ok"), Failure: putOps("failed")})
	})
}

func valueIsV() []*pb.Compare {
	return []*pb.Compare{{Key: []byte("k"), Target: pb.Compare_VALUE, Result: pb.Compare_EQUAL,
		TargetUnion: &pb.Compare_Value{Value: []byte("v")}}}
}

func putOps(key string) []*pb.RequestOp {
	return []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(key), Value: []byte("1")}}}}
}

func getK() []*pb.RequestOp {
	return []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte("k")}}}}
}
