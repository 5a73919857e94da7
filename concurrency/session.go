package concurrency

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultTTL is the lease TTL, in seconds, of a Session made without WithTTL.
const DefaultTTL = 60

var (
	// ErrSessionExpired is returned when a Session's lease is no longer kept
	// alive (it expired, was revoked, or the Session was closed) while an
	// operation depended on it.
	ErrSessionExpired = errors.New("concurrency: session expired")
	// ErrSessionClosed is what Session.Err returns after Close or Orphan.
	ErrSessionClosed = errors.New("concurrency: session closed")
)

// Session is a lease kept alive in the background for as long as the Session
// lives. The primitives in this package attach every key they write to a
// Session's lease, so a process that dies or loses the server for a whole TTL
// loses its locks and its candidacies, and the others can go on.
//
// A Session is safe for concurrent use.
type Session struct {
	client *clientv3.Client
	id     clientv3.LeaseID
	ttl    int
	ctx    context.Context // the WithContext context, for Close
	kaCtx  context.Context // cancelled by Orphan or when keepalive ends
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	closed bool
}

// SessionOption configures NewSession.
type SessionOption func(*sessionConfig)

type sessionConfig struct {
	ttl   int
	lease clientv3.LeaseID
	ctx   context.Context
}

// WithTTL sets the lease TTL in seconds (DefaultTTL when not given, or when
// ttl <= 0). The server may round it up to its minimum TTL. The TTL bounds how
// long the others wait for a crashed holder, and how long a holder may be cut
// off from the server before it loses what it holds.
func WithTTL(ttl int) SessionOption {
	return func(c *sessionConfig) {
		if ttl > 0 {
			c.ttl = ttl
		}
	}
}

// WithLease makes the Session keep alive an existing lease instead of
// granting a new one: a restarted process can take back what its previous
// incarnation held, as long as the lease has not expired.
func WithLease(id clientv3.LeaseID) SessionOption {
	return func(c *sessionConfig) { c.lease = id }
}

// WithContext bounds the Session by ctx instead of the client's context:
// NewSession and Close give up when ctx is done, and the keepalive stops
// (as if Orphan had been called) when ctx is cancelled.
func WithContext(ctx context.Context) SessionOption {
	return func(c *sessionConfig) { c.ctx = ctx }
}

// NewSession grants a lease (unless WithLease is given) and keeps it alive
// until Close or Orphan is called, the context is cancelled, or the lease
// expires.
func NewSession(client *clientv3.Client, opts ...SessionOption) (*Session, error) {
	cfg := sessionConfig{ttl: DefaultTTL, ctx: client.Ctx()}
	for _, o := range opts {
		o(&cfg)
	}
	id := cfg.lease
	if id == clientv3.NoLease {
		resp, err := client.Grant(cfg.ctx, int64(cfg.ttl))
		if err != nil {
			return nil, err
		}
		id = resp.ID
	}
	kaCtx, cancel := context.WithCancel(cfg.ctx)
	ka, err := client.KeepAlive(kaCtx, id)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &Session{
		client: client, id: id, ttl: cfg.ttl, ctx: cfg.ctx,
		kaCtx: kaCtx, cancel: cancel, done: make(chan struct{}),
	}
	go s.keepAlive(ka)
	return s, nil
}

// keepAlive drains the keepalive responses. The client closes the channel
// when the lease is gone, when no response came for a whole TTL, or when
// kaCtx is cancelled; the Session ends then.
func (s *Session) keepAlive(ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(s.done)
	defer s.cancel()
	for range ka {
	}
}

// Client is the client the Session was made with.
func (s *Session) Client() *clientv3.Client { return s.client }

// Lease is the lease every key of this Session is attached to.
func (s *Session) Lease() clientv3.LeaseID { return s.id }

// TTL is the TTL, in seconds, the Session asked for.
func (s *Session) TTL() int { return s.ttl }

// Done is closed when the Session stops keeping its lease alive: the lease
// expired or was revoked, the Session was closed or orphaned, or its context
// was cancelled. Whatever the Session held must then be taken as lost.
func (s *Session) Done() <-chan struct{} { return s.done }

// Ctx is a context cancelled when Done is closed. Work that must stop when
// the Session's locks are lost can run under it.
func (s *Session) Ctx() context.Context { return s.kaCtx }

// Err is nil while the Session is alive, ErrSessionClosed after Close or
// Orphan, and ErrSessionExpired when it ended on its own.
func (s *Session) Err() error {
	select {
	case <-s.done:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSessionClosed
	}
	return ErrSessionExpired
}

// Orphan stops keeping the lease alive without revoking it: the keys stay
// until the lease expires. Use it when the server cannot be reached, or to
// hand the lease to another process (see WithLease).
func (s *Session) Orphan() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		s.closed = true
	}
	s.mu.Unlock()
	s.cancel()
	<-s.done
}

// Close orphans the Session and revokes its lease, which deletes every key
// the Session holds at once. It gives up after one TTL (by then the lease
// has expired anyway) or when the WithContext context is done.
func (s *Session) Close() error {
	s.Orphan()
	ctx, cancel := context.WithTimeout(s.ctx, time.Duration(s.ttl)*time.Second)
	defer cancel()
	_, err := s.client.Revoke(ctx, s.id)
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return nil // expired already: its keys are gone as Close promises
	}
	return err
}

// cleanupCtx is the context for undoing a half-done operation after the
// caller's context was cancelled: the client's context, bounded by the TTL,
// after which the session's keys would be gone anyway if it stopped.
func (s *Session) cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.client.Ctx(), time.Duration(s.ttl)*time.Second)
}
