package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/host/hosttest"
)

// The hostile-input tests send a live member what a broken or malicious
// client could: every gRPC method of etcd's API with random and mutated
// protobuf bytes and oversized metadata, random JSON to the JSON gateway,
// and truncated or garbage HTTP/2 frames to the client port. The same
// requests go to a real etcd 3.7.3, whose answers are the reference. The
// member must stay up, answer with etcd's codes, keep its data (HashKV)
// through every request it rejects, and end the run with as many
// goroutines and about as much memory as it began with.
//
// In the normal suite the run is short; `make fuzz-live` runs it for
// HOSTILE_DURATION (HOSTILE_SEED picks the first seed).

// hostileDuration is the time the random phase of a run gets.
func hostileDuration(t *testing.T, def time.Duration) time.Duration {
	t.Helper()
	if v := os.Getenv("HOSTILE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("HOSTILE_DURATION=%q: want a positive duration", v)
		}
		return d
	}
	return def
}

// rawCodec passes request and response bytes through untouched, so that
// requests no protobuf library would write can be sent. It calls itself
// "proto", the content subtype both servers expect.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// hostileTarget is one server under the run: etcd or MetaStore.
type hostileTarget struct {
	name string
	proc *hosttest.Process
	conn *grpc.ClientConn
	kv   pb.KVClient
	mt   pb.MaintenanceClient
}

func dialHostile(t *testing.T, name string, p *hosttest.Process) *hostileTarget {
	t.Helper()
	conn, err := grpc.NewClient(strings.TrimPrefix(p.Endpoint(), "http://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatalf("dial %s: %v", p.Endpoint(), err)
	}
	t.Cleanup(func() { conn.Close() })
	return &hostileTarget{name: name, proc: p, conn: conn, kv: pb.NewKVClient(conn), mt: pb.NewMaintenanceClient(conn)}
}

// hostileAnswer is what a server made of one request: its gRPC code and
// message.
type hostileAnswer struct {
	code codes.Code
	msg  string
}

func (a hostileAnswer) String() string {
	if a.code == codes.OK {
		return "OK"
	}
	msg := a.msg
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return fmt.Sprintf("%s %q", a.code, msg)
}

func answerOf(err error) hostileAnswer {
	if err == nil || errors.Is(err, io.EOF) {
		return hostileAnswer{code: codes.OK}
	}
	st := status.Convert(err)
	// The protobuf library writes a no-break space in its errors now and
	// then, so that nobody matches them.
	return hostileAnswer{code: st.Code(), msg: strings.ReplaceAll(st.Message(), "\u00a0", " ")}
}

// call sends body to m's method and returns the answer. A stream gets the
// body, then its answers are read until the server ends it or, for the
// streams a server keeps open (Watch, LeaseKeepAlive), a second passes.
func (s *hostileTarget) call(m hostileMethod, body []byte, md metadata.MD) hostileAnswer {
	timeout := 10 * time.Second
	if m.clientStream {
		timeout = 300 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if md != nil {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	codec := grpc.ForceCodec(rawCodec{})
	if !m.clientStream && !m.serverStream {
		var out []byte
		return answerOf(s.conn.Invoke(ctx, m.name, &body, &out, codec))
	}
	st, err := s.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: m.serverStream, ClientStreams: m.clientStream}, m.name, codec)
	if err != nil {
		return answerOf(err)
	}
	if err := st.SendMsg(&body); err != nil && !errors.Is(err, io.EOF) {
		return answerOf(err)
	}
	if !m.clientStream {
		_ = st.CloseSend()
	}
	for range 10000 {
		var out []byte
		err := st.RecvMsg(&out)
		if err == nil {
			continue
		}
		a := answerOf(err)
		if m.clientStream && a.code == codes.DeadlineExceeded {
			return hostileAnswer{code: codes.OK} // still open: nothing refused
		}
		return a
	}
	return hostileAnswer{code: codes.OK}
}

// hashKV is the member's HashKV at its current revision.
func (s *hostileTarget) hashKV(t *testing.T) *pb.HashKVResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := s.mt.HashKV(ctx, &pb.HashKVRequest{})
	if err != nil {
		t.Fatalf("%s: HashKV: %v", s.name, err)
	}
	return h
}

// settledHashKV is HashKV once two answers 50 ms apart agree: a
// compaction the last request started may still be under way, and
// changes the hash when it ends.
func (s *hostileTarget) settledHashKV(t *testing.T) *pb.HashKVResponse {
	t.Helper()
	h := s.hashKV(t)
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		next := s.hashKV(t)
		if next.Hash == h.Hash && next.CompactRevision == h.CompactRevision && next.Header.Revision == h.Header.Revision {
			return next
		}
		h = next
	}
	t.Fatalf("%s: HashKV did not settle in 5 s", s.name)
	return nil
}

// hostileDiffs collects the requests whose answers differ from etcd's, by
// method and pair of answers.
type hostileDiffs map[string]*hostileDiff

type hostileDiff struct {
	count   int
	example string
}

func (d hostileDiffs) add(method string, want, got fmt.Stringer, example string) {
	key := fmt.Sprintf("%s: etcd %s, metastore %s", method, want, got)
	if d[key] == nil {
		d[key] = &hostileDiff{example: example}
	}
	d[key].count++
}

func (d hostileDiffs) report(t *testing.T) {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%5d× %s (e.g. %s)", d[k].count, k, d[k].example)
	}
}

// sameAnswerAsEtcd tells whether got is etcd's answer, or as good: a
// request both refuse for an invalid argument may be refused with another
// reason first, and the message of a malformed message's refusal is the
// protobuf library's.
func sameAnswerAsEtcd(want, got hostileAnswer) bool {
	if want == got {
		return true
	}
	if want.code != got.code {
		return false
	}
	return strings.HasPrefix(want.msg, "grpc: error unmarshalling request") ||
		strings.HasPrefix(want.msg, "grpc: received message larger than max")
}

// metadata draws a request's metadata: mostly none, sometimes a 1 MiB
// token, 2,000 headers, a token nobody issued or a hasleader flag.
func (g *hostileGen) metadata() metadata.MD {
	switch g.rnd.IntN(40) {
	case 0:
		return metadata.Pairs("token", strings.Repeat("t", 1+g.rnd.IntN(1<<20)))
	case 1:
		md := metadata.MD{}
		for i := range 1 + g.rnd.IntN(2000) {
			md.Append(fmt.Sprintf("x-hostile-%d", i), strings.Repeat("h", g.rnd.IntN(200)))
		}
		return md
	case 2:
		return metadata.Pairs("token", "u1.garbage", "authorization", "Bearer x.y.z")
	case 3:
		return metadata.Pairs("hasleader", "true")
	}
	return nil
}
