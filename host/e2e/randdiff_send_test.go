package e2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/metastore/metastore/host/hosttest"
)

// diffServer is one side of a differential run: etcd or MetaStore, one
// member or several, reached over raw gRPC.
type diffServer struct {
	name    string
	members []diffMember
}

type diffMember struct {
	kv    pb.KVClient
	lease pb.LeaseClient
	watch pb.WatchClient
	maint pb.MaintenanceClient
}

func dialDiffServer(t *testing.T, name string, procs []*hosttest.Process) *diffServer {
	t.Helper()
	s := &diffServer{name: name}
	for _, p := range procs {
		conn, err := grpc.NewClient(strings.TrimPrefix(p.Endpoint(), "http://"),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatalf("dial %s: %v", p.Endpoint(), err)
		}
		t.Cleanup(func() { conn.Close() })
		s.members = append(s.members, diffMember{
			kv: pb.NewKVClient(conn), lease: pb.NewLeaseClient(conn),
			watch: pb.NewWatchClient(conn), maint: pb.NewMaintenanceClient(conn),
		})
	}
	return s
}

// diffTimeout bounds one request, a watch's catch-up included.
const diffTimeout = 10 * time.Second

// send sends op to its member and returns the answer as sent, the parts of
// a stream merged into one message.
func (s *diffServer) send(op diffOp) (proto.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), diffTimeout)
	defer cancel()
	m := s.members[op.member%len(s.members)]
	if len(s.members) > 1 {
		// A member answers serializable reads, HashKV and watches from
		// what it has applied: a linearizable read first makes that
		// everything acknowledged so far, on both servers alike.
		if _, err := m.kv.Range(ctx, &pb.RangeRequest{Key: []byte{0}, CountOnly: true}); err != nil {
			return nil, fmt.Errorf("catching member %d up: %w", op.member, err)
		}
	}
	switch r := op.req.(type) {
	case *pb.PutRequest:
		return m.kv.Put(ctx, r)
	case *pb.RangeRequest:
		if op.stream {
			return rangeStream(ctx, m.kv, r)
		}
		return m.kv.Range(ctx, r)
	case *pb.DeleteRangeRequest:
		return m.kv.DeleteRange(ctx, r)
	case *pb.TxnRequest:
		return m.kv.Txn(ctx, r)
	case *pb.CompactionRequest:
		return m.kv.Compact(ctx, r)
	case *pb.LeaseGrantRequest:
		return m.lease.LeaseGrant(ctx, r)
	case *pb.LeaseRevokeRequest:
		return m.lease.LeaseRevoke(ctx, r)
	case *pb.LeaseKeepAliveRequest:
		return keepAliveOnce(ctx, m.lease, r)
	case *pb.LeaseTimeToLiveRequest:
		return m.lease.LeaseTimeToLive(ctx, r)
	case *pb.LeaseLeasesRequest:
		return m.lease.LeaseLeases(ctx, r)
	case *pb.WatchCreateRequest:
		return watchOnce(ctx, m.watch, r)
	case *pb.HashKVRequest:
		return m.maint.HashKV(ctx, r)
	case *pb.StatusRequest:
		return m.maint.Status(ctx, r)
	case *pb.AlarmRequest:
		return m.maint.Alarm(ctx, r)
	case *pb.DefragmentRequest:
		return m.maint.Defragment(ctx, r)
	case *pb.MoveLeaderRequest:
		return m.maint.MoveLeader(ctx, r)
	case *pb.DowngradeRequest:
		return m.maint.Downgrade(ctx, r)
	}
	return nil, fmt.Errorf("no way to send %T", op.req)
}

// rangeStream merges a RangeStream's parts into one RangeResponse: how a
// server cuts its answer into parts is its own.
func rangeStream(ctx context.Context, kv pb.KVClient, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	st, err := kv.RangeStream(ctx, r)
	if err != nil {
		return nil, err
	}
	var out *pb.RangeResponse
	for {
		part, err := st.Recv()
		if errors.Is(err, io.EOF) {
			if out == nil {
				return nil, errors.New("RangeStream ended without an answer")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		rr := part.GetRangeResponse()
		if out == nil {
			out = rr
			continue
		}
		out.Kvs = append(out.Kvs, rr.GetKvs()...)
		out.More = out.More || rr.GetMore()
		out.Count = max(out.Count, rr.GetCount())
		if rr.GetHeader() != nil {
			out.Header = rr.Header
		}
	}
}

func keepAliveOnce(ctx context.Context, lc pb.LeaseClient, r *pb.LeaseKeepAliveRequest) (*pb.LeaseKeepAliveResponse, error) {
	st, err := lc.LeaseKeepAlive(ctx)
	if err != nil {
		return nil, err
	}
	defer st.CloseSend()
	if err := st.Send(r); err != nil {
		return nil, err
	}
	return st.Recv()
}

// watchOnce creates a watch and returns what it saw up to the current
// revision, merged into one WatchResponse: the created answer's fields, a
// cancellation's (for a compacted start, or the answer to cancelling the
// watch once it caught up), and every event in order. A watch starting at
// or before the current revision is read until a progress notification
// (asked for until the watcher has caught up, since one asked for earlier
// is dropped) says it has seen everything; one starting later has nothing
// to see yet, so its created answer is all.
func watchOnce(ctx context.Context, wc pb.WatchClient, r *pb.WatchCreateRequest) (*pb.WatchResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := wc.Watch(ctx)
	if err != nil {
		return nil, err
	}
	create := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: r}}
	if err := st.Send(create); err != nil {
		return nil, err
	}
	out, err := st.Recv()
	if err != nil {
		return nil, err
	}
	if !out.Created || out.Canceled || r.StartRevision <= 0 || r.StartRevision > out.Header.GetRevision() {
		return out, nil
	}
	resps := make(chan *pb.WatchResponse)
	errc := make(chan error, 1)
	go func() {
		for {
			resp, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case resps <- resp:
			case <-ctx.Done():
				return
			}
		}
	}()
	progress := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := st.Send(progress); err != nil {
				return nil, err
			}
		case resp := <-resps:
			switch {
			case resp.WatchId == -1 && len(resp.Events) == 0:
				out.Header = resp.Header
				return out, cancelWatch(ctx, st, out, resps, errc)
			case resp.WatchId != out.WatchId:
				return nil, fmt.Errorf("an answer for watch %d on a stream with only watch %d", resp.WatchId, out.WatchId)
			}
			out.Events = append(out.Events, resp.Events...)
			if resp.Canceled || resp.CompactRevision != 0 {
				out.Canceled, out.CompactRevision, out.CancelReason = resp.Canceled, resp.CompactRevision, resp.CancelReason
				out.Header = resp.Header
				return out, nil
			}
		case err := <-errc:
			return nil, err
		case <-ctx.Done():
			return nil, fmt.Errorf("watch caught up with %d events: %w", len(out.Events), ctx.Err())
		}
	}
}

// cancelWatch cancels the caught-up watch out and records the answer:
// etcd answers a cancel with the watch's ID and canceled set.
func cancelWatch(ctx context.Context, st pb.Watch_WatchClient, out *pb.WatchResponse, resps <-chan *pb.WatchResponse, errc <-chan error) error {
	cancelReq := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{
		CancelRequest: &pb.WatchCancelRequest{WatchId: out.WatchId}}}
	if err := st.Send(cancelReq); err != nil {
		return err
	}
	for {
		select {
		case resp := <-resps:
			if resp.WatchId == -1 {
				continue // a progress notification asked for before
			}
			if len(resp.Events) > 0 || !resp.Canceled {
				return fmt.Errorf("watch %d answered its cancel with %v", out.WatchId, resp)
			}
			out.Canceled, out.CancelReason = resp.Canceled, resp.CancelReason
			return nil
		case err := <-errc:
			return err
		case <-ctx.Done():
			return fmt.Errorf("watch %d: no answer to its cancel: %w", out.WatchId, ctx.Err())
		}
	}
}

// headerOf returns a response's header, if it has one.
func headerOf(m proto.Message) *pb.ResponseHeader {
	if m == nil {
		return nil
	}
	if h, ok := m.(interface{ GetHeader() *pb.ResponseHeader }); ok {
		return h.GetHeader()
	}
	return nil
}

// diffAnswer is an answer made comparable: what legitimately differs
// between two servers is cleared.
type diffAnswer struct {
	resp proto.Message
	err  string
}

// normalize clears member and cluster IDs and raft terms in every header,
// and sorts what etcd lists in map order (leases, a lease's keys).
func normalize(resp proto.Message, err error) diffAnswer {
	if err != nil {
		if st, ok := status.FromError(err); ok {
			return diffAnswer{err: fmt.Sprintf("%s: %s", st.Code(), st.Message())}
		}
		return diffAnswer{err: err.Error()}
	}
	resp = proto.Clone(resp)
	clearHeaders(resp.ProtoReflect())
	switch r := resp.(type) {
	case *pb.LeaseLeasesResponse:
		slices.SortFunc(r.Leases, func(a, b *pb.LeaseStatus) int { return cmp.Compare(a.ID, b.ID) })
	case *pb.LeaseTimeToLiveResponse:
		slices.SortFunc(r.Keys, func(a, b []byte) int { return strings.Compare(string(a), string(b)) })
	case *pb.StatusResponse:
		// Sizes and raft positions are each server's own, and etcd
		// moves its storage version from 3.5.0 to 3.7.0 some time after
		// a cluster forms (TestStorageVersionIsEtcds compares it on one
		// member); the rest (version, quota, learner, errors) is
		// compared.
		r.Leader, r.DbSize, r.DbSizeInUse, r.RaftIndex, r.RaftTerm, r.RaftAppliedIndex = 0, 0, 0, 0, 0, 0
		r.StorageVersion = ""
	}
	return diffAnswer{resp: resp}
}

var headerName = (&pb.ResponseHeader{}).ProtoReflect().Descriptor().FullName()

func clearHeaders(m protoreflect.Message) {
	if m.Descriptor().FullName() == headerName {
		h := m.Interface().(*pb.ResponseHeader)
		h.ClusterId, h.MemberId, h.RaftTerm = 0, 0, 0
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := range v.List().Len() {
				clearHeaders(v.List().Get(i).Message())
			}
		case !fd.IsMap():
			clearHeaders(v.Message())
		}
		return true
	})
}

// sameAnswer compares two answers; a lease's remaining TTL may differ by a
// second, since the two servers are asked one after the other.
func sameAnswer(a, b diffAnswer) bool {
	if a.err != "" || b.err != "" {
		return a.err == b.err
	}
	ta, oka := a.resp.(*pb.LeaseTimeToLiveResponse)
	tb, okb := b.resp.(*pb.LeaseTimeToLiveResponse)
	if oka && okb && ta.TTL != tb.TTL && ta.TTL > 0 && tb.TTL > 0 && max(ta.TTL-tb.TTL, tb.TTL-ta.TTL) <= 1 {
		tb = proto.Clone(tb).(*pb.LeaseTimeToLiveResponse)
		tb.TTL = ta.TTL
		return proto.Equal(ta, tb)
	}
	return proto.Equal(a.resp, b.resp)
}

func (a diffAnswer) String() string {
	if a.err != "" {
		return "error " + a.err
	}
	return fmt.Sprintf("%T %s", a.resp, protojson.MarshalOptions{UseProtoNames: true}.Format(a.resp))
}

// describeOp prints op's request for a report.
func describeOp(op diffOp) string {
	kind := fmt.Sprintf("%T", op.req)
	if op.stream {
		kind = "RangeStream " + kind
	}
	return fmt.Sprintf("member %d, %s %s", op.member, kind, protojson.MarshalOptions{UseProtoNames: true}.Format(op.req))
}

// etcdctlCommand renders op as the etcdctl command that sends it, when
// there is one: etcdctl cannot choose a lease's ID, nest transactions or
// filter a watch.
func etcdctlCommand(op diffOp) (string, bool) {
	var args []string
	add := func(cond bool, flag string) {
		if cond {
			args = append(args, flag)
		}
	}
	keyRange := func(key, end []byte) {
		switch {
		case len(end) == 1 && end[0] == 0:
			args = append(args, shellQuote(key), "--from-key")
		case end != nil:
			args = append(args, shellQuote(key), shellQuote(end))
		default:
			args = append(args, shellQuote(key))
		}
	}
	switch r := op.req.(type) {
	case *pb.PutRequest:
		args = append(args, "put", shellQuote(r.Key))
		if !r.IgnoreValue || len(r.Value) > 0 {
			args = append(args, shellQuote(r.Value))
		}
		add(r.Lease != 0, fmt.Sprintf("--lease=%x", r.Lease))
		add(r.PrevKv, "--prev-kv")
		add(r.IgnoreValue, "--ignore-value")
		add(r.IgnoreLease, "--ignore-lease")
	case *pb.RangeRequest:
		args = append(args, "get")
		keyRange(r.Key, r.RangeEnd)
		add(r.Revision != 0, fmt.Sprintf("--rev=%d", r.Revision))
		add(r.Limit != 0, fmt.Sprintf("--limit=%d", r.Limit))
		add(r.SortOrder != pb.RangeRequest_NONE, "--order="+r.SortOrder.String())
		sortBy := map[pb.RangeRequest_SortTarget]string{pb.RangeRequest_MOD: "MODIFY"}[r.SortTarget]
		add(r.SortOrder != pb.RangeRequest_NONE || r.SortTarget != pb.RangeRequest_KEY, "--sort-by="+cmp.Or(sortBy, r.SortTarget.String()))
		add(r.Serializable, "--consistency=s")
		add(r.KeysOnly, "--keys-only")
		add(r.CountOnly, "--count-only")
		add(op.stream, "--stream")
		add(r.MinModRevision != 0, fmt.Sprintf("--min-mod-rev=%d", r.MinModRevision))
		add(r.MaxModRevision != 0, fmt.Sprintf("--max-mod-rev=%d", r.MaxModRevision))
		add(r.MinCreateRevision != 0, fmt.Sprintf("--min-create-rev=%d", r.MinCreateRevision))
		add(r.MaxCreateRevision != 0, fmt.Sprintf("--max-create-rev=%d", r.MaxCreateRevision))
		args = append(args, "-w", "json")
	case *pb.DeleteRangeRequest:
		args = append(args, "del")
		keyRange(r.Key, r.RangeEnd)
		add(r.PrevKv, "--prev-kv")
	case *pb.CompactionRequest:
		args = append(args, "compaction", fmt.Sprint(r.Revision))
		add(r.Physical, "--physical")
	case *pb.LeaseRevokeRequest:
		args = append(args, "lease", "revoke", fmt.Sprintf("%x", r.ID))
	case *pb.LeaseKeepAliveRequest:
		args = append(args, "lease", "keep-alive", "--once", fmt.Sprintf("%x", r.ID))
	case *pb.LeaseTimeToLiveRequest:
		args = append(args, "lease", "timetolive", fmt.Sprintf("%x", r.ID))
		add(r.Keys, "--keys")
	case *pb.LeaseLeasesRequest:
		args = append(args, "lease", "list")
	case *pb.HashKVRequest:
		args = append(args, "endpoint", "hashkv", fmt.Sprintf("--rev=%d", r.Revision), "-w", "json")
	case *pb.StatusRequest:
		args = append(args, "endpoint", "status", "-w", "json")
	case *pb.AlarmRequest:
		args = append(args, "alarm", "list")
	case *pb.DefragmentRequest:
		args = append(args, "defrag")
	case *pb.MoveLeaderRequest:
		args = append(args, "move-leader", fmt.Sprintf("%x", r.TargetID))
	case *pb.DowngradeRequest:
		args = append(args, "downgrade", strings.ToLower(r.Action.String()))
		add(r.Action != pb.DowngradeRequest_CANCEL, r.Version)
	case *pb.WatchCreateRequest:
		if len(r.Filters) > 0 || r.WatchId != 0 {
			return "", false
		}
		args = append(args, "watch")
		keyRange(r.Key, r.RangeEnd)
		add(r.StartRevision != 0, fmt.Sprintf("--rev=%d", r.StartRevision))
		add(r.PrevKv, "--prev-kv")
		args = append(args, "# until interrupted")
	default:
		return "", false
	}
	return "etcdctl " + strings.Join(args, " "), true
}

// shellQuote quotes b for a POSIX shell, in bash's $'…' form when it holds
// bytes outside printable ASCII.
func shellQuote(b []byte) string {
	plain := len(b) > 0
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			var sb strings.Builder
			sb.WriteString("$'")
			for _, c := range b {
				if c < 0x20 || c > 0x7e || c == '\'' || c == '\\' {
					fmt.Fprintf(&sb, `\x%02x`, c)
				} else {
					sb.WriteByte(c)
				}
			}
			return sb.String() + "'"
		}
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:", rune(c)) {
			plain = false
		}
	}
	if plain && b[0] != '-' {
		return string(b)
	}
	return "'" + strings.ReplaceAll(string(b), "'", `'\''`) + "'"
}
