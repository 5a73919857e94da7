package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Limits of one batch frame.
const (
	maxBatchMsgs  = 512
	maxBatchBytes = 4 << 20
)

// peer is the sending side towards one member: a message queue drained
// into a stream, and a snapshot slot drained into snapshot streams.
type peer struct {
	t           *Transport
	lg          *zap.Logger
	id          uint64
	msgc        chan *raftpb.Message
	snapc       chan *raftpb.Message
	unreachable chan struct{}
	stopc       chan struct{}
	stopOnce    sync.Once

	stats *peerCounters

	// queued counts the messages queued for the sender and not yet
	// written, and a frame sendNow began and a goroutine of its own
	// finishes (see sendNow).
	queued atomic.Int64
	// writing is held while a frame is written to the message
	// connection: by the sender, or by sendNow and what it starts.
	writing sync.Mutex

	mu    sync.Mutex
	urls  []string
	conn  *grpc.ClientConn
	fails int // consecutive stream failures, for log levels
	// activeConn is the connection that is ready now, if any.
	activeConn *grpc.ClientConn
	// msgConn is the message connection open now, if any.
	msgConn *msgConn
	// legacyUntil is when to try a message connection again after the
	// peer answered one in another protocol (see msgConnPreface).
	legacyUntil time.Time
}

func newPeer(t *Transport, id uint64, urls []string) *peer {
	return &peer{
		t: t, lg: t.lg.With(zap.Stringer("peer-id", types.ID(id))), id: id, urls: urls,
		msgc:        make(chan *raftpb.Message, t.cfg.QueueSize),
		snapc:       make(chan *raftpb.Message, 1),
		unreachable: make(chan struct{}, 1),
		stopc:       make(chan struct{}),
		stats:       t.stats.of(id),
	}
}

// enqueue queues m without blocking; it runs on the raft loop, so raft is
// told about drops from the peer's goroutines, never from here.
func (p *peer) enqueue(m *raftpb.Message) {
	if m.GetType() == raftpb.MsgSnap {
		select {
		case p.snapc <- m:
		default:
			p.stats.sentFailures.Add(1)
			if r := p.t.node(); r != nil {
				go r.ReportSnapshot(p.id, etcdraft.SnapshotFailure)
			}
		}
		return
	}
	p.queued.Add(1)
	select {
	case p.msgc <- m:
	default:
		p.queued.Add(-1)
		p.stats.sentFailures.Add(1)
		select {
		case p.unreachable <- struct{}{}:
		default:
		}
	}
}

func (p *peer) getURLs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.urls
}

// setURLs changes the peer's URLs; the next stream dials the new ones.
func (p *peer) setURLs(urls []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.urls = urls
	if p.conn != nil {
		_ = p.conn.Close()
		p.conn = nil
	}
}

func (p *peer) stop() {
	p.stopOnce.Do(func() { close(p.stopc) })
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		_ = p.conn.Close()
		p.conn = nil
	}
}

// connection returns the client connection, dialling the peer's first URL
// that parses. gRPC connects lazily and reconnects by itself.
func (p *peer) connection() (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		return p.conn, nil
	}
	conn, err := dialFirst(p.urls, p.t.cfg.TLS)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	go p.watchConnectivity(conn)
	return conn, nil
}

// untilStopped returns a context that ends after d, or once the peer
// stops.
func (p *peer) untilStopped(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-p.stopc:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// awaitConnection waits until the gRPC connection to the peer is ready,
// for at most timeout or until the peer stops.
func (p *peer) awaitConnection(timeout time.Duration) error {
	conn, err := p.connection()
	if err != nil {
		return err
	}
	ctx, cancel := p.untilStopped(timeout)
	defer cancel()
	conn.Connect()
	for state := conn.GetState(); state != connectivity.Ready; state = conn.GetState() {
		if !conn.WaitForStateChange(ctx, state) {
			return fmt.Errorf("peer: no connection within %v (%v)", timeout, state)
		}
	}
	return nil
}

// dialFirst dials the first of urls that parses: over TLS with tlsCfg
// for an https URL, in plain text for an http one.
func dialFirst(urls []string, tlsCfg *tls.Config) (*grpc.ClientConn, error) {
	u, err := firstURL(urls, tlsCfg)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if u.Scheme == "https" {
		creds = credentials.NewTLS(tlsCfg)
	}
	return dial(u.Host, creds)
}

// firstURL returns the first of urls that parses, refusing an https one
// when there is no TLS configuration.
func firstURL(urls []string, tlsCfg *tls.Config) (*url.URL, error) {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		if u.Scheme == "https" && tlsCfg == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoTLS, raw)
		}
		return u, nil
	}
	return nil, fmt.Errorf("peer: no usable URL in %v", urls)
}

func dial(target string, creds credentials.TransportCredentials) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+target,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodec(frameCodec{}),
			grpc.MaxCallRecvMsgSize(math.MaxInt32),
			grpc.MaxCallSendMsgSize(math.MaxInt32)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: redialBackoff, MinConnectTimeout: 5 * time.Second}),
	)
}

// redialBackoff paces the redials of a peer that cannot be reached. gRPC's
// default backs off to two minutes, so a member that was down for long
// would wait that long to be reached once it is back, and not vote or
// catch up meanwhile; as etcd's transport, which redials a peer every
// 100ms, a member tries its few peers at least once a second.
var redialBackoff = backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}

// streamContext carries the identities every peer stream announces.
func (p *peer) streamContext(ctx context.Context) (context.Context, error) {
	r := p.t.node()
	if r == nil {
		return nil, errors.New("peer: the local node is not started")
	}
	return metadata.AppendToOutgoingContext(ctx,
		mdClusterID, types.ID(r.ClusterID()).String(),
		mdFrom, types.ID(r.MemberID()).String(),
		mdTo, types.ID(p.id).String()), nil
}

// runMessages drains the queue into a message connection (or stream), a
// batch per frame, and reopens it after a failure.
func (p *peer) runMessages() {
	defer p.t.wg.Done()
	var s msgSender
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	for {
		var first *raftpb.Message
		select {
		case first = <-p.msgc:
		case <-p.unreachable:
			p.reportUnreachable()
			continue
		case <-p.stopc:
			return
		}
		batch := p.drain(first)
		err := p.sendBatch(&s, batch)
		p.queued.Add(-int64(len(batch)))
		if err != nil {
			p.stats.sentFailures.Add(uint64(len(batch)))
			if errors.Is(err, errEncode) {
				p.lg.Error("peer: dropping messages", zap.Error(err))
				continue
			}
			if s != nil {
				s.close()
				s = nil
			}
			p.failed(err)
			continue
		}
		p.succeeded()
	}
}

// errEncode marks a batch that could not be encoded.
var errEncode = errors.New("peer: encode")

// sendBatch writes batch as one frame on *s, opening it first if nil.
func (p *peer) sendBatch(s *msgSender, batch []*raftpb.Message) error {
	b, err := encodeBatch(batch)
	if err != nil {
		return fmt.Errorf("%w: %w", errEncode, err)
	}
	if *s == nil {
		if *s, err = p.openSender(); err != nil {
			return err
		}
	}
	p.writing.Lock()
	defer p.writing.Unlock()
	if err := (*s).send(b); err != nil {
		return err
	}
	p.stats.sentBytes.Add(uint64(len(b)))
	return nil
}

// idle reports whether nothing is queued for the peer nor being written.
func (p *peer) idle() bool { return p.queued.Load() == 0 }

// sendNow writes msgs as one frame on the open message connection, from
// the caller's goroutine (the raft loop), when the peer is idle and the
// socket takes at least part of the frame without waiting; it reports
// whether it did, and else the caller queues msgs. This saves a
// replicated write the wake-up of the sender goroutine at each hop: the
// leader's appends and the followers' acknowledgements go out at once.
// A frame only partly taken is finished by a goroutine of its own, which
// holds writing (so the sender's next frame follows it) and counts in
// queued (so later messages queue behind it). A connection over TLS has
// no such write and always queues.
func (p *peer) sendNow(msgs []*raftpb.Message) bool {
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgSnap {
			return false
		}
	}
	p.mu.Lock()
	c := p.msgConn
	p.mu.Unlock()
	if c == nil || c.raw == nil || !p.writing.TryLock() {
		return false
	}
	b, err := encodeBatch(msgs)
	if err != nil {
		p.writing.Unlock()
		return false
	}
	rest, ok := c.trySend(b)
	if !ok {
		p.writing.Unlock()
		return false
	}
	p.stats.sentBytes.Add(uint64(len(b)))
	if rest == nil {
		p.writing.Unlock()
		return true
	}
	p.queued.Add(1)
	go func() {
		defer p.writing.Unlock()
		defer p.queued.Add(-1)
		if err := c.write(rest...); err != nil {
			c.close()
		}
	}()
	return true
}

// msgStream is an open gRPC message stream and the cancel that closes it.
type msgStream struct {
	s      grpc.ClientStream
	cancel context.CancelFunc
}

func (s *msgStream) send(b []byte) error {
	if err := s.s.SendMsg(&frame{b: b}); err != nil {
		return streamErr(s.s, err)
	}
	return nil
}

func (s *msgStream) close() { s.cancel() }

func (p *peer) openMsgStream() (*msgStream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := p.openStream(ctx, &streamDesc, methodStream)
	if err != nil {
		cancel()
		return nil, err
	}
	return &msgStream{s: s, cancel: cancel}, nil
}

// drain returns first and the messages queued behind it, within the
// batch limits.
func (p *peer) drain(first *raftpb.Message) []*raftpb.Message {
	batch := []*raftpb.Message{first}
	size := entryBytes(first)
	for len(batch) < maxBatchMsgs && size < maxBatchBytes {
		select {
		case m := <-p.msgc:
			batch = append(batch, m)
			size += entryBytes(m)
		default:
			return batch
		}
	}
	return batch
}

func entryBytes(m *raftpb.Message) int {
	n := 0
	for _, e := range m.GetEntries() {
		n += len(e.GetData())
	}
	return n
}

func (p *peer) openStream(ctx context.Context, desc *grpc.StreamDesc, method string) (grpc.ClientStream, error) {
	conn, err := p.connection()
	if err != nil {
		return nil, err
	}
	ctx, err = p.streamContext(ctx)
	if err != nil {
		return nil, err
	}
	return conn.NewStream(ctx, desc, method)
}

// failed reports the peer unreachable, logs why (louder for errors an
// operator must fix), and pauses before the next attempt.
func (p *peer) failed(err error) {
	p.reportUnreachable()
	p.mu.Lock()
	p.fails++
	fails := p.fails
	p.mu.Unlock()
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.PermissionDenied && st.Message() == errRemovedMessage:
		p.t.noteRemoved()
	case st.Code() == codes.FailedPrecondition:
		if fails%100 == 1 {
			p.lg.Error("peer refused this member", zap.String("reason", st.Message()))
		}
	case fails == 1:
		p.lg.Warn("peer unreachable", zap.Strings("urls", p.getURLs()), zap.Error(err))
	default:
		p.lg.Debug("peer still unreachable", zap.Error(err))
	}
	select {
	case <-time.After(p.t.cfg.RetryInterval):
	case <-p.stopc:
	}
}

func (p *peer) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fails > 0 {
		p.lg.Info("peer reachable again")
	}
	p.fails = 0
}

func (p *peer) reportUnreachable() {
	if r := p.t.node(); r != nil {
		r.ReportUnreachable(p.id)
	}
}
