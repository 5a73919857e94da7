package etcdapi

import (
	"bytes"
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/codec"
	"github.com/metastore/metastore/etcdapi/txn"
	"github.com/metastore/metastore/mvcc"
)

// KVServer serves the etcd KV service.
type KVServer struct {
	pb.UnimplementedKVServer
	s *Server
}

// KV returns the KV service of s.
func (s *Server) KV() *KVServer { return &KVServer{s: s} }

// Range reads keys; linearizable unless r.Serializable.
func (k *KVServer) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	if err := checkRangeRequest(r); err != nil {
		return nil, err
	}
	if !r.Serializable {
		if err := k.s.linearizableBarrier(ctx); err != nil {
			return nil, toGRPCError(err)
		}
	}
	recheck, err := k.s.authorizeRange(ctx, r.Key, r.RangeEnd)
	if err != nil {
		return nil, toGRPCError(err)
	}
	// A large answer's KVs are pooled, and go back to the pool once the
	// server's codec has marshalled the reply.
	resp, release, err := txn.RangePooled(ctx, k.s.store, r)
	if err = firstErr(k.s.noteEngineError(err), recheck()); err != nil {
		if release != nil {
			release()
		}
		return nil, toGRPCError(err)
	}
	k.s.fillHeader(resp.Header)
	if release != nil {
		codec.ReleaseAfterMarshal(resp, release)
	}
	return resp, nil
}

// Put stores a key.
func (k *KVServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if err := checkPutRequest(r); err != nil {
		return nil, err
	}
	res, err := k.s.propose(ctx, &pb.InternalRaftRequest{Put: r})
	if err = firstErr(err, res.Err); err != nil {
		return nil, toGRPCError(err)
	}
	resp := res.Resp.(*pb.PutResponse)
	k.s.fillHeader(resp.Header)
	return resp, nil
}

// DeleteRange deletes keys.
func (k *KVServer) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	if err := checkDeleteRequest(r); err != nil {
		return nil, err
	}
	res, err := k.s.propose(ctx, &pb.InternalRaftRequest{DeleteRange: r})
	if err = firstErr(err, res.Err); err != nil {
		return nil, toGRPCError(err)
	}
	resp := res.Resp.(*pb.DeleteRangeResponse)
	k.s.fillHeader(resp.Header)
	return resp, nil
}

// Txn runs a transaction. One made of ranges only is served without raft.
func (k *KVServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if err := checkTxnRequest(r, k.s.cfg.MaxTxnOps); err != nil {
		return nil, err
	}
	if err := checkTxnConflicts(r); err != nil {
		return nil, err
	}
	if txn.IsReadOnly(r) {
		return k.readOnlyTxn(ctx, r)
	}
	res, err := k.s.propose(ctx, &pb.InternalRaftRequest{Txn: r})
	if err = firstErr(err, res.Err); err != nil {
		return nil, toGRPCError(err)
	}
	resp := res.Resp.(*pb.TxnResponse)
	k.s.fillHeader(resp.Header)
	return resp, nil
}

func (k *KVServer) readOnlyTxn(ctx context.Context, r *pb.TxnRequest) (resp *pb.TxnResponse, retErr error) {
	if !txn.IsSerializable(r) {
		if err := k.s.linearizableBarrier(ctx); err != nil {
			return nil, toGRPCError(err)
		}
	}
	recheck, err := k.s.authorizeReadTxn(ctx, r)
	if err != nil {
		return nil, toGRPCError(err)
	}
	defer func() {
		if err := recheck(); err != nil && retErr == nil {
			resp, retErr = nil, toGRPCError(err)
		}
	}()
	resp, err = txn.ReadOnly(ctx, k.s.store, r)
	if err != nil {
		return nil, toGRPCError(err)
	}
	k.s.fillHeader(resp.Header)
	return resp, nil
}

// Compact discards revisions below r.Revision; with r.Physical it returns
// once they are gone from the engine. A physical compaction of a revision
// compacted already is refused once the compactions before it have
// finished, as etcd refuses it: a HashKV after it then finds their hashes.
func (k *KVServer) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	res, err := k.s.propose(ctx, &pb.InternalRaftRequest{Compaction: r})
	if err == nil && r.Physical && res.Physc != nil {
		select {
		case <-res.Physc:
		case <-ctx.Done():
			return nil, toGRPCError(ctx.Err())
		}
	}
	if err = firstErr(err, res.Err); err != nil {
		return nil, toGRPCError(err)
	}
	resp := res.Resp.(*pb.CompactionResponse)
	k.s.fillHeader(resp.Header)
	return resp, nil
}

// RangeStream answers a range in chunks, all read at one revision, so a
// large result never sits whole in memory. Custom sort orders and revision
// filters need the whole result and are refused, as etcd does.
func (k *KVServer) RangeStream(r *pb.RangeRequest, stream pb.KV_RangeStreamServer) error {
	if err := checkRangeRequest(r); err != nil {
		return err
	}
	if !txn.IsDefaultOrdering(r.SortTarget, r.SortOrder) {
		return status.Errorf(codes.Unimplemented, "RangeStream does not support custom sort orders")
	}
	if txn.HasRevisionFilters(r) {
		return status.Errorf(codes.Unimplemented, "RangeStream does not support revision filters")
	}
	ctx := stream.Context()
	if !r.Serializable {
		if err := k.s.linearizableBarrier(ctx); err != nil {
			return toGRPCError(err)
		}
	}
	recheck, err := k.s.authorizeRange(ctx, r.Key, r.RangeEnd)
	if err != nil {
		return toGRPCError(err)
	}
	if err := firstErr(k.rangeStream(ctx, r, stream), recheck()); err != nil {
		return toGRPCError(err)
	}
	return nil
}

// rangeStream sends chunks that grow or shrink toward MaxRequestBytes.
func (k *KVServer) rangeStream(ctx context.Context, r *pb.RangeRequest, stream pb.KV_RangeStreamServer) error {
	// The header carries the store's revision when the stream starts, and
	// every chunk reads at the asked revision or, if none, at that one.
	req := proto.Clone(r).(*pb.RangeRequest)
	headerRev := k.s.store.Rev()
	if req.Revision == 0 {
		req.Revision = headerRev
	}
	total := req.Limit
	if req.CountOnly {
		return k.sendLastChunk(ctx, req, stream, nil, 0, headerRev)
	}
	sent := int64(0)
	limit := int64(10)
	for {
		if total > 0 {
			limit = min(limit, total-sent)
		}
		req.Limit = limit
		resp, err := txn.Range(ctx, k.s.store, req)
		if err != nil {
			return err
		}
		sent += int64(len(resp.Kvs))
		if !resp.More || sent == total {
			return k.sendLastChunk(ctx, req, stream, resp, sent, headerRev)
		}
		if err := stream.Send(&pb.RangeStreamResponse{RangeResponse: &pb.RangeResponse{Kvs: resp.Kvs}}); err != nil {
			return err
		}
		req.Key = append(bytes.Clone(resp.Kvs[len(resp.Kvs)-1].Key), 0)
		limit = nextChunkLimit(limit, resp, k.s.cfg.MaxRequestBytes)
	}
}

// sendLastChunk sends the final chunk with the header, More, and Count:
// the keys sent plus those left in the range.
func (k *KVServer) sendLastChunk(ctx context.Context, req *pb.RangeRequest, stream pb.KV_RangeStreamServer, last *pb.RangeResponse, sent, headerRev int64) error {
	out := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: headerRev}, Count: sent}
	if last != nil {
		out.Kvs, out.More = last.Kvs, last.More
	}
	if last == nil || last.More {
		from := req.Key
		if last != nil {
			from = append(bytes.Clone(last.Kvs[len(last.Kvs)-1].Key), 0)
		}
		rr, err := k.s.store.Range(ctx, from, txn.RangeEnd(req.RangeEnd), mvcc.RangeOptions{Rev: req.Revision, CountOnly: true})
		if err != nil {
			return err
		}
		out.Count += int64(rr.Count)
	}
	k.s.fillHeaderKeepRev(out.Header)
	return stream.Send(&pb.RangeStreamResponse{RangeResponse: out})
}

func nextChunkLimit(limit int64, resp *pb.RangeResponse, target int) int64 {
	size := 0
	for _, kv := range resp.Kvs {
		size += len(kv.Key) + len(kv.Value) + 32
	}
	switch {
	case size < target/2:
		limit *= 2
	case size > target*2:
		limit /= 2
	}
	return max(limit, 1)
}

// fillHeaderKeepRev fills a header whose revision is already the answer.
func (s *Server) fillHeaderKeepRev(h *pb.ResponseHeader) {
	rev := h.Revision
	s.fillHeader(h)
	h.Revision = rev
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
