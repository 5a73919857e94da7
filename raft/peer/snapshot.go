package peer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	snapshotChunkBytes = 1 << 20
	// snapshotTimeout bounds the transfer of one snapshot.
	snapshotTimeout = 30 * time.Minute
	// snapshotConnectTimeout bounds the wait for the gRPC connection a
	// snapshot travels on.
	snapshotConnectTimeout = 10 * time.Second
)

// runSnapshots sends the MsgSnap messages raft gives this peer, one at a
// time, each on its own stream.
func (p *peer) runSnapshots() {
	defer p.t.wg.Done()
	for {
		select {
		case m := <-p.snapc:
			p.sendSnapshot(m)
		case <-p.stopc:
			return
		}
	}
}

// sendSnapshot streams m, then the state behind it, and reports the
// outcome to raft.
func (p *peer) sendSnapshot(m *raftpb.Message) {
	r := p.t.node()
	if r == nil {
		return
	}
	start := time.Now()
	index := m.GetSnapshot().GetMetadata().GetIndex()
	p.lg.Info("sending snapshot", zap.Uint64("index", index))
	p.stats.snapsSending.Add(1)
	bytes, err := p.streamSnapshot(m)
	p.stats.snapsSending.Add(-1)
	if err != nil {
		p.stats.sentFailures.Add(1)
		p.stats.snapSendFailures.Add(1)
		p.lg.Warn("sending snapshot failed", zap.Uint64("index", index), zap.Error(err))
		r.ReportUnreachable(p.id)
		r.ReportSnapshot(p.id, etcdraft.SnapshotFailure)
		return
	}
	took := time.Since(start)
	p.stats.snapsSent.Add(1)
	p.t.snapshotDone(p.id, true, took)
	p.lg.Info("sent snapshot", zap.Uint64("index", index), zap.Int64("bytes", bytes),
		zap.Duration("took", took))
	r.ReportSnapshot(p.id, etcdraft.SnapshotFinish)
}

func (p *peer) streamSnapshot(m *raftpb.Message) (int64, error) {
	if p.t.cfg.Snapshotter == nil {
		return 0, errors.New("peer: no snapshotter configured")
	}
	ctx, cancel := p.untilStopped(snapshotTimeout)
	defer cancel()
	// Raft messages travel on connections of their own, so the gRPC
	// connection may still be redialling a peer that came back: wait for
	// it rather than fail the snapshot.
	if err := p.awaitConnection(snapshotConnectTimeout); err != nil {
		return 0, err
	}
	s, err := p.openStream(ctx, &snapshotDesc, methodSnapshot)
	if err != nil {
		return 0, err
	}
	head, err := proto.Marshal(m)
	if err != nil {
		return 0, err
	}
	if err := s.SendMsg(&frame{b: head}); err != nil {
		return 0, streamErr(s, err)
	}
	p.stats.sentBytes.Add(uint64(len(head)))
	cw := &chunkWriter{s: s, sent: &p.stats.sentBytes}
	bw := bufio.NewWriterSize(cw, snapshotChunkBytes)
	if err := p.t.cfg.Snapshotter.WriteSnapshot(ctx, m, bw); err != nil {
		return cw.n, streamErr(s, err)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, streamErr(s, err)
	}
	if err := s.CloseSend(); err != nil {
		return cw.n, err
	}
	return cw.n, s.RecvMsg(&frame{})
}

// streamErr prefers the server's reason when the stream ended on its side.
func streamErr(s grpc.ClientStream, err error) error {
	if errors.Is(err, io.EOF) {
		if rerr := s.RecvMsg(&frame{}); rerr != nil {
			return rerr
		}
	}
	return err
}

// chunkWriter sends each write as one frame, and adds the bytes sent to
// sent.
type chunkWriter struct {
	s    grpc.ClientStream
	n    int64
	sent *atomic.Uint64
}

func (w *chunkWriter) Write(b []byte) (int, error) {
	if err := w.s.SendMsg(&frame{b: append([]byte(nil), b...)}); err != nil {
		return 0, err
	}
	w.n += int64(len(b))
	w.sent.Add(uint64(len(b)))
	return len(b), nil
}

// serveSnapshot receives a MsgSnap and its state, hands the state to the
// Snapshotter and, once that has kept it, steps the message into raft.
func (t *Transport) serveSnapshot(ss grpc.ServerStream) (err error) {
	r, from, err := t.accept(ss.Context())
	if err != nil {
		return err
	}
	stats := t.stats.of(from)
	start := time.Now()
	stats.snapsReceiving.Add(1)
	defer func() {
		stats.snapsReceiving.Add(-1)
		if err != nil {
			stats.snapRecvFailures.Add(1)
			return
		}
		stats.snapsReceived.Add(1)
		t.snapshotDone(from, false, time.Since(start))
	}()
	head := &frame{}
	if err := ss.RecvMsg(head); err != nil {
		return err
	}
	stats.receivedBytes.Add(uint64(len(head.b)))
	m := &raftpb.Message{}
	if err := proto.Unmarshal(head.b, m); err != nil || m.GetType() != raftpb.MsgSnap || m.GetFrom() != from {
		stats.receivedFailures.Add(1)
		return status.Error(codes.InvalidArgument, "peer: a snapshot stream must start with a MsgSnap from its sender")
	}
	if t.cfg.Snapshotter == nil {
		return status.Error(codes.Unimplemented, "peer: this member cannot receive snapshots")
	}
	index := m.GetSnapshot().GetMetadata().GetIndex()
	t.lg.Info("receiving snapshot", zap.Stringer("from", types.ID(from)), zap.Uint64("index", index))
	fr := &frameReader{ss: ss, received: &stats.receivedBytes}
	if err := t.cfg.Snapshotter.ReceiveSnapshot(ss.Context(), m, fr); err != nil {
		t.lg.Warn("receiving snapshot failed", zap.Uint64("index", index), zap.Error(err))
		return status.Errorf(codes.Internal, "peer: receive snapshot: %v", err)
	}
	// Whatever the Snapshotter left unread.
	if _, err := io.Copy(io.Discard, fr); err != nil {
		return err
	}
	t.lg.Info("received snapshot", zap.Uint64("index", index), zap.Int64("bytes", fr.n))
	if err := r.Step(ss.Context(), m); err != nil {
		stats.receivedFailures.Add(1)
		return status.Errorf(codes.Unavailable, "peer: %v", err)
	}
	return ss.SendMsg(&frame{})
}

// frameReader reads the chunk frames of a snapshot stream as one stream of
// bytes, up to the client's CloseSend.
type frameReader struct {
	ss       grpc.ServerStream
	buf      []byte
	n        int64
	eof      bool
	received *atomic.Uint64
}

func (r *frameReader) Read(b []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		f := &frame{}
		if err := r.ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				r.eof = true
				return 0, io.EOF
			}
			return 0, fmt.Errorf("peer: snapshot stream: %w", err)
		}
		r.buf = f.b
		r.received.Add(uint64(len(f.b)))
	}
	n := copy(b, r.buf)
	r.buf = r.buf[n:]
	r.n += int64(n)
	return n, nil
}
