package peer

import (
	"context"
	"fmt"
	"sync"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A call is a unary request one member answers for its peers besides raft,
// such as the hash of its key space that corruption checks compare. The
// transport carries request and response as opaque bytes; the name of the
// call travels in the metadata.
const (
	callServiceName = "metastore.peer.v1.Calls"
	methodCall      = "/" + callServiceName + "/Call"
	mdCallName      = "metastore-call"
)

// CallHandler answers one call. The request and the returned response
// belong to the handler and the transport respectively.
type CallHandler func(ctx context.Context, req []byte) ([]byte, error)

// Calls serves named calls on the peer gRPC server. Handlers may be added
// at any time; a call to a name without one fails with Unimplemented, and
// a call after Drain with Unavailable.
type Calls struct {
	mu       sync.RWMutex
	handlers map[string]CallHandler
	draining bool
	inflight sync.WaitGroup
}

// NewCalls returns a Calls without handlers.
func NewCalls() *Calls { return &Calls{handlers: map[string]CallHandler{}} }

// Handle sets the handler of name.
func (c *Calls) Handle(name string, h CallHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers[name] = h
}

// Register adds the call service to s, which must use ServerOptions.
func (c *Calls) Register(s *grpc.Server) { s.RegisterService(&callServiceDesc, c) }

func (c *Calls) serve(ctx context.Context, req []byte) ([]byte, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	names := md.Get(mdCallName)
	if len(names) != 1 {
		return nil, status.Error(codes.InvalidArgument, "peer: call without a name")
	}
	c.mu.RLock()
	h, draining := c.handlers[names[0]], c.draining
	if h != nil && !draining {
		c.inflight.Add(1)
	}
	c.mu.RUnlock()
	switch {
	case draining:
		return nil, status.Error(codes.Unavailable, "peer: the member is stopping")
	case h == nil:
		return nil, status.Errorf(codes.Unimplemented, "peer: no call %q", names[0])
	}
	defer c.inflight.Done()
	return h(ctx, req)
}

// Drain refuses calls from now on and waits until those being answered
// have returned, or until ctx ends. A member stopping drains before it
// stops the services the handlers use, so that a call that changed
// something (a forwarded membership change) is answered.
func (c *Calls) Drain(ctx context.Context) {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

var callServiceDesc = grpc.ServiceDesc{
	ServiceName: callServiceName,
	HandlerType: (*service)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := &frame{}
			if err := dec(in); err != nil {
				return nil, err
			}
			out, err := srv.(*Calls).serve(ctx, in.b)
			if err != nil {
				return nil, err
			}
			return &frame{b: out}, nil
		},
	}},
}

// Call sends the call name with req to peer id over the connection raft
// uses, and returns its response or the handler's error as a gRPC status.
func (t *Transport) Call(ctx context.Context, id uint64, name string, req []byte) ([]byte, error) {
	t.mu.Lock()
	p := t.peers[id]
	t.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("peer: no peer %s", types.ID(id))
	}
	conn, err := p.connection()
	if err != nil {
		return nil, err
	}
	out := &frame{}
	ctx = metadata.AppendToOutgoingContext(ctx, mdCallName, name)
	if err := conn.Invoke(ctx, methodCall, &frame{b: req}, out); err != nil {
		return nil, err
	}
	return out.b, nil
}
