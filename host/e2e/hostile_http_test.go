package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/metastore/metastore/host/hosttest"
)

// gatewayRoutes are the JSON gateway's paths and the request each takes.
var gatewayRoutes = []struct {
	path string
	msg  protoreflect.MessageDescriptor
}{
	{"/v3/kv/range", (&pb.RangeRequest{}).ProtoReflect().Descriptor()},
	{"/v3/kv/put", (&pb.PutRequest{}).ProtoReflect().Descriptor()},
	{"/v3/kv/deleterange", (&pb.DeleteRangeRequest{}).ProtoReflect().Descriptor()},
	{"/v3/kv/txn", (&pb.TxnRequest{}).ProtoReflect().Descriptor()},
	{"/v3/kv/compaction", (&pb.CompactionRequest{}).ProtoReflect().Descriptor()},
	{"/v3/watch", (&pb.WatchRequest{}).ProtoReflect().Descriptor()},
	{"/v3/lease/grant", (&pb.LeaseGrantRequest{}).ProtoReflect().Descriptor()},
	{"/v3/lease/revoke", (&pb.LeaseRevokeRequest{}).ProtoReflect().Descriptor()},
	{"/v3/lease/keepalive", (&pb.LeaseKeepAliveRequest{}).ProtoReflect().Descriptor()},
	{"/v3/lease/timetolive", (&pb.LeaseTimeToLiveRequest{}).ProtoReflect().Descriptor()},
	{"/v3/lease/leases", (&pb.LeaseLeasesRequest{}).ProtoReflect().Descriptor()},
	{"/v3/cluster/member/list", (&pb.MemberListRequest{}).ProtoReflect().Descriptor()},
	{"/v3/maintenance/status", (&pb.StatusRequest{}).ProtoReflect().Descriptor()},
	{"/v3/maintenance/hash", (&pb.HashKVRequest{}).ProtoReflect().Descriptor()},
	{"/v3/auth/authenticate", (&pb.AuthenticateRequest{}).ProtoReflect().Descriptor()},
	{"/v3/auth/status", (&pb.AuthStatusRequest{}).ProtoReflect().Descriptor()},
}

// jsonValue draws a JSON text for a message of type md: its fields (by
// their proto names) with values of the right or the wrong type.
func (g *hostileGen) jsonValue(md protoreflect.MessageDescriptor, depth int) string {
	var b strings.Builder
	b.WriteByte('{')
	fds := md.Fields()
	n := 0
	for i := range fds.Len() {
		fd := fds.Get(i)
		if g.rnd.IntN(2) == 0 {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		fmt.Fprintf(&b, "%q:", fd.Name())
		switch {
		case fd.IsList() && g.rnd.IntN(5) > 0:
			b.WriteByte('[')
			for j := range g.rnd.IntN(4) {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(g.jsonScalar(fd, depth))
			}
			b.WriteByte(']')
		default:
			b.WriteString(g.jsonScalar(fd, depth))
		}
	}
	if g.rnd.IntN(6) == 0 {
		fmt.Fprintf(&b, "%s\"unknown_%d\":[1,{\"a\":null}]", map[bool]string{true: ",", false: ""}[n > 0], g.rnd.IntN(100))
	}
	b.WriteByte('}')
	return b.String()
}

// jsonScalar draws one value for fd, sometimes of another type.
func (g *hostileGen) jsonScalar(fd protoreflect.FieldDescriptor, depth int) string {
	odd := []string{"null", "true", "[]", "{}", `"\ud800"`, "1e400", "-0", `"9223372036854775808"`,
		"-9223372036854775809", `"not base64!"`, `"` + strings.Repeat("A", 4096) + `"`, "0.5"}
	if g.rnd.IntN(5) == 0 {
		return odd[g.rnd.IntN(len(odd))]
	}
	switch fd.Kind() {
	case protoreflect.MessageKind:
		if depth > 4 {
			return "{}"
		}
		return g.jsonValue(fd.Message(), depth+1)
	case protoreflect.BytesKind:
		return `"` + []string{"azA=", "azE=", "", "AA==", "//79"}[g.rnd.IntN(5)] + `"`
	case protoreflect.StringKind:
		return strconv.Quote(string(g.text()))
	case protoreflect.BoolKind:
		return []string{"true", "false"}[g.rnd.IntN(2)]
	case protoreflect.EnumKind:
		if g.rnd.IntN(2) == 0 {
			return strconv.Quote(string(fd.Enum().Values().Get(g.rnd.IntN(fd.Enum().Values().Len())).Name()))
		}
		return strconv.FormatInt(g.int()%8, 10)
	}
	v := strconv.FormatInt(g.int(), 10)
	if g.rnd.IntN(2) == 0 {
		v = strconv.Quote(v) // 64-bit integers are strings in proto3 JSON
	}
	return v
}

// jsonBody draws a request body: JSON for the route's message, cut short,
// or not JSON at all.
func (g *hostileGen) jsonBody(md protoreflect.MessageDescriptor) []byte {
	body := []byte(g.jsonValue(md, 0))
	switch g.rnd.IntN(10) {
	case 0:
		return body[:g.rnd.IntN(len(body))]
	case 1:
		return g.noise(g.rnd.IntN(200))
	case 2:
		return []byte(strings.Repeat("[", 100000))
	}
	return body
}

// hostileGateway posts n random bodies to the JSON gateway of etcd and of
// the member and compares the HTTP statuses.
func hostileGateway(t *testing.T, g *hostileGen, etcd, ms *hostileTarget, n int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	streams := &http.Client{Timeout: 300 * time.Millisecond} // watch and keep-alive stay open
	diffs := hostileDiffs{}
	for i := range n {
		route := gatewayRoutes[g.rnd.IntN(len(gatewayRoutes))]
		body := g.jsonBody(route.msg)
		c := client
		if route.path == "/v3/watch" || route.path == "/v3/lease/keepalive" {
			c = streams
		}
		want, got := postStatus(c, etcd.proc, route.path, body), postStatus(c, ms.proc, route.path, body)
		if !ms.proc.Running() {
			t.Fatalf("gateway request %d: the member exited on %s %q:\n%s", i, route.path, body, ms.proc.Output())
		}
		if want != got {
			diffs.add(route.path, httpAnswer(want), httpAnswer(got), fmt.Sprintf("request %d %.200q", i, body))
		}
		if strings.HasPrefix(got, "500") && want != got {
			t.Errorf("gateway request %d: %s %q: metastore %s, etcd %s", i, route.path, body, got, want)
		}
	}
	t.Logf("%d JSON gateway requests", n)
	if len(diffs) > 0 {
		t.Logf("gateway answers that differ from etcd's:")
		diffs.report(t)
	}
}

// httpAnswer is a gateway's status and error, quoted.
type httpAnswer string

func (a httpAnswer) String() string { return strconv.Quote(string(a)) }

// postStatus posts body and returns the status and the gRPC code the
// gateway names in its error, if any.
func postStatus(client *http.Client, p *hosttest.Process, path string, body []byte) string {
	resp, err := client.Post(p.Endpoint()+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return "error"
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	status := strconv.Itoa(resp.StatusCode)
	if resp.StatusCode == http.StatusOK {
		return status
	}
	// The error as the gateway's JSON, spaces aside: its encoder puts
	// them where it likes.
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		return fmt.Sprintf("%s code %d %s", status, e.Code, strings.ReplaceAll(e.Message, "\u00a0", " "))
	}
	return fmt.Sprintf("%s %.160s", status, data)
}

// hostileFrames opens n connections to the member's client port and
// writes garbage: noise, a cut preface, HTTP/2 frames with random
// payloads, lengths that lie, an HTTP/1 request line of junk. Some are
// closed at once, others left open until the end.
func hostileFrames(t *testing.T, g *hostileGen, ms *hostileTarget, n int) {
	t.Helper()
	addr := strings.TrimPrefix(ms.proc.Endpoint(), "http://")
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		_, _ = c.Write(g.garbage())
		if g.rnd.IntN(4) == 0 {
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<16)) // until the server gives up or the deadline
		}
		if g.rnd.IntN(4) == 0 && len(open) < 100 {
			open = append(open, c)
			continue
		}
		c.Close()
	}
	if !ms.proc.Running() {
		t.Fatalf("the member exited on garbage on its client port:\n%s", ms.proc.Output())
	}
	t.Logf("%d connections of garbage to the client port, %d of them left open until the end", n, len(open))
}

// garbage draws what a broken client could write first.
func (g *hostileGen) garbage() []byte {
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	switch g.rnd.IntN(6) {
	case 0:
		return g.noise(g.rnd.IntN(4096))
	case 1:
		return []byte(preface[:g.rnd.IntN(len(preface))])
	case 2:
		return []byte("GET /" + string(g.noise(g.rnd.IntN(300))) + " HTTP/1.1\r\nHost: x\r\n" + string(g.noise(g.rnd.IntN(100))))
	}
	b := []byte(preface)
	for range 1 + g.rnd.IntN(6) {
		b = g.frame(b)
	}
	if g.rnd.IntN(2) == 0 {
		b = b[:len(preface)+g.rnd.IntN(len(b)-len(preface)+1)] // cut anywhere
	}
	return b
}

// frame appends an HTTP/2 frame: a real type (DATA to CONTINUATION) or
// not, a random payload, a length that is true or not.
func (g *hostileGen) frame(b []byte) []byte {
	payload := g.noise(g.rnd.IntN(300))
	length := uint32(len(payload))
	if g.rnd.IntN(5) == 0 {
		length = g.rnd.Uint32() & 0xffffff
	}
	typ := byte(g.rnd.IntN(12))
	if typ == 4 && g.rnd.IntN(2) == 0 { // a SETTINGS frame, sometimes an empty ACK
		payload, length = nil, 0
	}
	var hdr [9]byte
	hdr[0], hdr[1], hdr[2] = byte(length>>16), byte(length>>8), byte(length)
	hdr[3], hdr[4] = typ, byte(g.rnd.Uint32())
	binary.BigEndian.PutUint32(hdr[5:], uint32(g.rnd.IntN(8)))
	return append(append(b, hdr[:]...), payload...)
}

// requireServing requires a put and a read to work.
func requireServing(t *testing.T, s *hostileTarget) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.kv.Put(ctx, &pb.PutRequest{Key: []byte("after"), Value: []byte("hostile")}); err != nil {
		t.Fatalf("%s: a put after the run: %v", s.name, err)
	}
	r, err := s.kv.Range(ctx, &pb.RangeRequest{Key: []byte("after")})
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "hostile" {
		t.Fatalf("%s: a read after the run: %v %v", s.name, r, err)
	}
}
