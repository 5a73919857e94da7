package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"google.golang.org/grpc"

	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
)

// GRPCClient is the client shim: an Engine whose calls go to an engine
// served over gRPC (in a plugin process). Errors come back as the
// sentinels the engine returned; a call that fails because the connection
// or the process is gone returns an error wrapping ErrUnavailable.
type GRPCClient struct {
	rpc storagev1.StorageClient
}

var _ Engine = (*GRPCClient)(nil)

// grpcDefragClient is the client shim of an engine that defragments.
type grpcDefragClient struct {
	*GRPCClient
}

var _ Defragmenter = grpcDefragClient{}

// NewGRPCClient returns the client shim for the engine served on cc. It
// asks the engine for its Info, and the Engine it returns implements
// Defragmenter exactly when the engine declares CapabilityDefrag.
func NewGRPCClient(ctx context.Context, cc grpc.ClientConnInterface) (Engine, error) {
	c := &GRPCClient{rpc: storagev1.NewStorageClient(cc)}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: plugin Info: %w", err)
	}
	if slices.Contains(info.Capabilities, CapabilityDefrag) {
		return grpcDefragClient{c}, nil
	}
	return c, nil
}

// Info implements Engine.
func (c *GRPCClient) Info(ctx context.Context) (InfoResponse, error) {
	resp, err := c.rpc.Info(ctx, &storagev1.InfoRequest{})
	if err != nil {
		return InfoResponse{}, fromStatus(ctx, err)
	}
	return InfoResponse{Name: resp.GetName(), Version: resp.GetVersion(), Capabilities: resp.GetCapabilities()}, nil
}

// Open implements Engine.
func (c *GRPCClient) Open(ctx context.Context, req OpenRequest) (OpenResponse, error) {
	resp, err := c.rpc.Open(ctx, &storagev1.OpenRequest{Dir: req.Dir, Options: req.Options})
	if err != nil {
		return OpenResponse{}, fromStatus(ctx, err)
	}
	return OpenResponse{ConsistentIndex: resp.GetConsistentIndex()}, nil
}

// ApplyBatch implements Engine: the whole batch is one message.
func (c *GRPCClient) ApplyBatch(ctx context.Context, req ApplyBatchRequest) (ApplyBatchResponse, error) {
	ops := make([]*storagev1.Op, len(req.Ops))
	for i, op := range req.Ops {
		ops[i] = &storagev1.Op{Kind: uint32(op.Kind), Namespace: op.Namespace, Key: op.Key, Value: op.Value}
	}
	_, err := c.rpc.ApplyBatch(ctx, &storagev1.ApplyBatchRequest{Ops: ops, ConsistentIndex: req.ConsistentIndex, Sync: req.Sync})
	if err != nil {
		return ApplyBatchResponse{}, fromStatus(ctx, err)
	}
	return ApplyBatchResponse{}, nil
}

// GetMany implements Engine. A value the engine found empty comes back
// empty and non-nil; a missing one nil.
func (c *GRPCClient) GetMany(ctx context.Context, req GetManyRequest) (GetManyResponse, error) {
	resp, err := c.rpc.GetMany(ctx, &storagev1.GetManyRequest{Namespace: req.Namespace, Keys: req.Keys})
	if err != nil {
		return GetManyResponse{}, fromStatus(ctx, err)
	}
	values, found := resp.GetValues(), resp.GetFound()
	if len(values) != len(req.Keys) || len(found) != len(req.Keys) {
		return GetManyResponse{}, fmt.Errorf("%w: GetMany of %d keys answered %d values, %d found flags",
			ErrCorrupt, len(req.Keys), len(values), len(found))
	}
	for i := range values {
		switch {
		case !found[i]:
			values[i] = nil
		case values[i] == nil:
			values[i] = []byte{}
		}
	}
	return GetManyResponse{Values: values, Found: found}, nil
}

// Scan implements Engine over one server stream; returning false from fn
// cancels the stream.
func (c *GRPCClient) Scan(ctx context.Context, req ScanRequest, fn func(KeyValue) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Scan(ctx, &storagev1.ScanRequest{
		Namespace: req.Namespace,
		Start:     req.Start,
		End:       req.End,
		HasEnd:    req.End != nil,
		Limit:     req.Limit,
		Reverse:   req.Reverse,
		KeysOnly:  req.KeysOnly,
	})
	if err != nil {
		return fromStatus(ctx, err)
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fromStatus(ctx, err)
		}
		for _, e := range msg.GetEntries() {
			kv := KeyValue{Key: e.GetKey(), Value: e.GetValue()}
			if kv.Value == nil && !req.KeysOnly {
				kv.Value = []byte{}
			}
			if !fn(kv) {
				return nil
			}
		}
	}
}

// Snapshot implements Engine: it copies the streamed chunks to req.Writer.
func (c *GRPCClient) Snapshot(ctx context.Context, req SnapshotRequest) (SnapshotResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Snapshot(ctx, &storagev1.SnapshotRequest{})
	if err != nil {
		return SnapshotResponse{}, fromStatus(ctx, err)
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return SnapshotResponse{}, fmt.Errorf("%w: snapshot stream ended without its summary", ErrUnavailable)
		}
		if err != nil {
			return SnapshotResponse{}, fromStatus(ctx, err)
		}
		if len(msg.GetChunk()) > 0 {
			if _, err := req.Writer.Write(msg.GetChunk()); err != nil {
				return SnapshotResponse{}, fmt.Errorf("storage: write snapshot: %w", err)
			}
		}
		if done := msg.GetDone(); done != nil {
			return SnapshotResponse{ConsistentIndex: done.GetConsistentIndex(), Bytes: done.GetBytes()}, nil
		}
	}
}

// Restore implements Engine: it streams req.Reader in chunks.
func (c *GRPCClient) Restore(ctx context.Context, req RestoreRequest) (RestoreResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Restore(ctx)
	if err != nil {
		return RestoreResponse{}, fromStatus(ctx, err)
	}
	if err := sendChunks(stream, req.Reader); err != nil {
		return RestoreResponse{}, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return RestoreResponse{}, fromStatus(ctx, err)
	}
	return RestoreResponse{ConsistentIndex: resp.GetConsistentIndex()}, nil
}

// sendChunks sends r to the stream until r ends or the server ends the
// call (Send then returns io.EOF and CloseAndRecv has the server's answer).
// It returns r's read error, if any.
func sendChunks(stream storagev1.Storage_RestoreClient, r io.Reader) error {
	for {
		buf := make([]byte, snapshotChunk)
		n, readErr := io.ReadFull(r, buf)
		if n > 0 {
			if err := stream.Send(&storagev1.RestoreRequest{Chunk: buf[:n]}); err != nil {
				return nil // io.EOF: the server ended the call
			}
		}
		switch {
		case readErr == nil:
		case errors.Is(readErr, io.EOF), errors.Is(readErr, io.ErrUnexpectedEOF):
			return nil
		default:
			return fmt.Errorf("storage: read snapshot: %w", readErr)
		}
	}
}

// Stats implements Engine.
func (c *GRPCClient) Stats(ctx context.Context, req StatsRequest) (StatsResponse, error) {
	resp, err := c.rpc.Stats(ctx, &storagev1.StatsRequest{CountKeys: req.CountKeys})
	if err != nil {
		return StatsResponse{}, fromStatus(ctx, err)
	}
	keys := resp.GetKeys()
	if keys == nil {
		keys = map[string]int64{}
	}
	return StatsResponse{SizeBytes: resp.GetSizeBytes(), SizeInUseBytes: resp.GetSizeInUseBytes(), Keys: keys}, nil
}

// Close implements Engine.
func (c *GRPCClient) Close(ctx context.Context) error {
	_, err := c.rpc.Close(ctx, &storagev1.CloseRequest{})
	return fromStatus(ctx, err)
}

// Defrag implements Defragmenter.
func (c grpcDefragClient) Defrag(ctx context.Context, _ DefragRequest) (DefragResponse, error) {
	resp, err := c.rpc.Defrag(ctx, &storagev1.DefragRequest{})
	if err != nil {
		return DefragResponse{}, fromStatus(ctx, err)
	}
	return DefragResponse{SizeBefore: resp.GetSizeBefore(), SizeAfter: resp.GetSizeAfter()}, nil
}
