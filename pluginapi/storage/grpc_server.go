package storage

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
)

// Sizes of the streamed messages. Small enough to pipeline, large enough
// that per-message costs vanish.
const (
	scanBatchEntries = 1024
	scanBatchBytes   = 1 << 20
	snapshotChunk    = 1 << 20
)

// grpcServer is the server shim: it serves an Engine over gRPC, turning
// proto messages into the plain structs and errors into statuses.
type grpcServer struct {
	storagev1.UnimplementedStorageServer
	impl Engine
}

// NewGRPCServer returns the gRPC service for impl. Plugins get it through
// Serve; it is exported for hosts and tests that wire gRPC themselves.
func NewGRPCServer(impl Engine) storagev1.StorageServer {
	return &grpcServer{impl: impl}
}

func (s *grpcServer) Info(ctx context.Context, _ *storagev1.InfoRequest) (*storagev1.InfoResponse, error) {
	resp, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.InfoResponse{Name: resp.Name, Version: resp.Version, Capabilities: resp.Capabilities}, nil
}

func (s *grpcServer) Open(ctx context.Context, req *storagev1.OpenRequest) (*storagev1.OpenResponse, error) {
	resp, err := s.impl.Open(ctx, OpenRequest{Dir: req.GetDir(), Options: req.GetOptions()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.OpenResponse{ConsistentIndex: resp.ConsistentIndex}, nil
}

func (s *grpcServer) ApplyBatch(ctx context.Context, req *storagev1.ApplyBatchRequest) (*storagev1.ApplyBatchResponse, error) {
	ops := make([]Op, len(req.GetOps()))
	for i, op := range req.GetOps() {
		kind := OpKind(op.GetKind())
		if op.GetKind() > 0xff {
			kind = 0 // out of OpKind's range: unknown, the engine rejects it
		}
		ops[i] = Op{Kind: kind, Namespace: op.GetNamespace(), Key: op.GetKey(), Value: op.GetValue()}
	}
	_, err := s.impl.ApplyBatch(ctx, ApplyBatchRequest{Ops: ops, ConsistentIndex: req.GetConsistentIndex(), Sync: req.GetSync()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.ApplyBatchResponse{}, nil
}

func (s *grpcServer) GetMany(ctx context.Context, req *storagev1.GetManyRequest) (*storagev1.GetManyResponse, error) {
	resp, err := s.impl.GetMany(ctx, GetManyRequest{Namespace: req.GetNamespace(), Keys: req.GetKeys()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.GetManyResponse{Values: resp.Values, Found: resp.Found}, nil
}

// Scan sends the range in batches. The engine's slices are valid only in
// the callback, so each entry is copied into the batch.
func (s *grpcServer) Scan(req *storagev1.ScanRequest, stream storagev1.Storage_ScanServer) error {
	sreq := ScanRequest{
		Namespace: req.GetNamespace(),
		Start:     req.GetStart(),
		Limit:     req.GetLimit(),
		Reverse:   req.GetReverse(),
		KeysOnly:  req.GetKeysOnly(),
	}
	if req.GetHasEnd() {
		sreq.End = req.GetEnd()
		if sreq.End == nil {
			sreq.End = []byte{}
		}
	}
	var (
		batch   []*storagev1.KeyValue
		size    int
		sendErr error
	)
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		sendErr = stream.Send(&storagev1.ScanResponse{Entries: batch})
		batch, size = nil, 0
		return sendErr == nil
	}
	err := s.impl.Scan(stream.Context(), sreq, func(kv KeyValue) bool {
		entry := &storagev1.KeyValue{Key: append([]byte(nil), kv.Key...)}
		if !sreq.KeysOnly {
			entry.Value = append([]byte(nil), kv.Value...)
		}
		batch = append(batch, entry)
		size += len(entry.Key) + len(entry.Value)
		if len(batch) >= scanBatchEntries || size >= scanBatchBytes {
			return send()
		}
		return true
	})
	if err == nil && sendErr == nil {
		send()
	}
	if err != nil {
		return toStatus(err)
	}
	return sendErr
}

func (s *grpcServer) Snapshot(_ *storagev1.SnapshotRequest, stream storagev1.Storage_SnapshotServer) error {
	w := &chunkSender{send: func(chunk []byte) error {
		return stream.Send(&storagev1.SnapshotResponse{Chunk: chunk})
	}}
	resp, err := s.impl.Snapshot(stream.Context(), SnapshotRequest{Writer: w})
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return toStatus(err)
	}
	return stream.Send(&storagev1.SnapshotResponse{Done: &storagev1.SnapshotDone{
		ConsistentIndex: resp.ConsistentIndex,
		Bytes:           resp.Bytes,
	}})
}

// chunkSender is an io.Writer that sends what it is given in chunks of
// snapshotChunk bytes. Each chunk is a new slice: gRPC may hold a sent
// message after Send returns.
type chunkSender struct {
	send func([]byte) error
	buf  []byte
}

func (w *chunkSender) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, snapshotChunk)
		}
		room := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:room]...)
		p = p[room:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *chunkSender) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	chunk := w.buf
	w.buf = nil
	return w.send(chunk)
}

// Restore pipes the received chunks into the engine's Restore. If the
// engine stops reading early (a corrupt stream), the rest is drained so the
// client's sends complete.
func (s *grpcServer) Restore(stream storagev1.Storage_RestoreServer) error {
	pr, pw := io.Pipe()
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			msg, err := stream.Recv()
			if err == io.EOF {
				pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(msg.GetChunk()); err != nil {
				return // the engine stopped reading
			}
		}
	}()
	resp, err := s.impl.Restore(stream.Context(), RestoreRequest{Reader: pr})
	pr.CloseWithError(errRestoreEnded)
	if err != nil {
		return toStatus(err)
	}
	<-recvDone
	return stream.SendAndClose(&storagev1.RestoreResponse{ConsistentIndex: resp.ConsistentIndex})
}

var errRestoreEnded = errors.New("storage: restore ended")

func (s *grpcServer) Stats(ctx context.Context, req *storagev1.StatsRequest) (*storagev1.StatsResponse, error) {
	resp, err := s.impl.Stats(ctx, StatsRequest{CountKeys: req.GetCountKeys()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.StatsResponse{SizeBytes: resp.SizeBytes, SizeInUseBytes: resp.SizeInUseBytes, Keys: resp.Keys}, nil
}

func (s *grpcServer) Defrag(ctx context.Context, _ *storagev1.DefragRequest) (*storagev1.DefragResponse, error) {
	d, ok := s.impl.(Defragmenter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "storage: engine does not defragment")
	}
	resp, err := d.Defrag(ctx, DefragRequest{})
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.DefragResponse{SizeBefore: resp.SizeBefore, SizeAfter: resp.SizeAfter}, nil
}

func (s *grpcServer) Close(ctx context.Context, _ *storagev1.CloseRequest) (*storagev1.CloseResponse, error) {
	if err := s.impl.Close(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &storagev1.CloseResponse{}, nil
}
