package etcdapi

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi/snapfile"
	"github.com/metastore/metastore/pluginapi/storage"
)

// snapshotChunk is the blob size of each Snapshot message, as etcd's.
const snapshotChunk = 32 << 10

// Snapshot streams a consistent snapshot of the member: the write buffer is
// flushed, then the engine writes its engine-neutral snapshot from one
// view, framed as a snapshot file (see snapfile) so that
// `etcdctl snapshot save` accepts and keeps it.
func (m *MaintenanceServer) Snapshot(_ *pb.SnapshotRequest, srv pb.Maintenance_SnapshotServer) error {
	ctx := srv.Context()
	if err := m.s.store.Flush(ctx); err != nil {
		return toGRPCError(err)
	}
	_, estimate := m.s.dbSize()
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		fw := snapfile.NewWriter(pw)
		resp, err := m.s.maint.engine.Snapshot(ctx, storage.SnapshotRequest{Writer: fw})
		err = m.s.noteEngineError(err)
		if err == nil {
			err = fw.Close()
		}
		if err == nil {
			m.s.lg.Info("sent database snapshot", zap.Uint64("consistent-index", resp.ConsistentIndex),
				zap.Int64("bytes", fw.Size()))
		}
		pw.CloseWithError(err)
	}()
	return m.sendSnapshot(pr, srv, estimate)
}

// sendSnapshot sends r in chunks, keeping one chunk back so that the last
// one, and only it, says no bytes remain.
func (m *MaintenanceServer) sendSnapshot(r io.Reader, srv pb.Maintenance_SnapshotServer, estimate int64) error {
	var prev []byte
	sent := int64(0)
	for {
		buf := make([]byte, snapshotChunk)
		n, err := io.ReadFull(r, buf)
		last := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !last {
			m.s.lg.Warn("snapshot failed", zap.Error(err))
			return toGRPCError(err)
		}
		if prev != nil {
			sent += int64(len(prev))
			remaining := uint64(1)
			if n == 0 && last {
				remaining = 0
			} else if estimate > sent {
				remaining = uint64(estimate - sent)
			}
			if err := srv.Send(&pb.SnapshotResponse{RemainingBytes: remaining, Blob: prev, Version: StorageVersion}); err != nil {
				return toGRPCError(err)
			}
		}
		if last {
			if n == 0 {
				return nil
			}
			return srv.Send(&pb.SnapshotResponse{Blob: buf[:n], Version: StorageVersion})
		}
		prev = buf[:n]
	}
}

// hashEngine returns a CRC-32 (Castagnoli) over every namespace, key and
// value of one engine snapshot, but the store's own compaction bookkeeping,
// which members reach at their own pace; and the revision when it began.
func (s *Server) hashEngine(ctx context.Context) (uint32, int64, error) {
	if err := s.store.Flush(ctx); err != nil {
		return 0, 0, err
	}
	rev := s.store.Rev()
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		_, err := s.maint.engine.Snapshot(ctx, storage.SnapshotRequest{Writer: pw})
		pw.CloseWithError(err)
	}()
	sr, err := storage.NewSnapshotReader(pr)
	if err != nil {
		return 0, 0, err
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	for {
		ns, k, v, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return h.Sum32(), rev, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("etcdapi: hashing the engine: %w", err)
		}
		if ns == "meta" {
			continue
		}
		h.Write([]byte(ns))
		h.Write(k)
		h.Write(v)
	}
}
