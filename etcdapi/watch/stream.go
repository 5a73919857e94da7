package watch

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/mvcc"
)

const (
	// DefaultProgressNotifyInterval is etcd's
	// --watch-progress-notify-interval.
	DefaultProgressNotifyInterval = 10 * time.Minute
	// minProgressNotifyInterval is the shortest interval etcd allows.
	minProgressNotifyInterval = 100 * time.Millisecond
	// fragmentOverhead is the room above --max-request-bytes a
	// response may take before a fragmenting watcher's response is split,
	// as etcd's allowance for gRPC overhead.
	fragmentOverhead = 512 * 1024
)

// Stream is one gRPC Watch stream, as the server sees it.
type Stream interface {
	Context() context.Context
	Recv() (*pb.WatchRequest, error)
	Send(*pb.WatchResponse) error
}

// Member is what the protocol asks of the member it serves for.
type Member interface {
	// Header returns the header of a response at revision rev (0 in a
	// compaction notice, as etcd sends it).
	Header(rev int64) *pb.ResponseHeader
	// WatchDenied returns why the caller of ctx may not watch the range
	// (etcd's error message), or "" when it may.
	WatchDenied(ctx context.Context, key, rangeEnd []byte) string
}

// Deps are what a Server is built from.
type Deps struct {
	Log    *zap.Logger
	Store  *mvcc.Store
	Member Member
	// MaxRequestBytes is --max-request-bytes: a fragmenting watcher's
	// responses are split above it plus gRPC's allowance.
	MaxRequestBytes int
	// ProgressNotifyInterval is how often a watcher that asked for
	// progress notifications and saw no event gets one
	// (--watch-progress-notify-interval; DefaultProgressNotifyInterval
	// when 0, raised to etcd's minimum of 100 ms).
	ProgressNotifyInterval time.Duration
}

// Server runs the watch streams of one member.
type Server struct{ d Deps }

// New returns a Server over d.
func New(d Deps) *Server { return &Server{d: d} }

// progressInterval returns the progress notification interval plus up to
// a tenth of jitter, so that watchers created together do not all report
// at once.
func (s *Server) progressInterval() time.Duration {
	d := s.d.ProgressNotifyInterval
	if d <= 0 {
		d = DefaultProgressNotifyInterval
	}
	d = max(d, minProgressNotifyInterval)
	return d + rand.N(d/10)
}

// Serve serves one watch stream until the client ends it or it fails:
// any number of watchers created, canceled and asked for progress over
// it, their responses sent in the order the store made them.
func (s *Server) Serve(stream Stream) error {
	sws := &watchStream{
		s: s, lg: s.d.Log, grpc: stream, mws: s.d.Store.NewWatchStream(),
		fragmentBytes: s.d.MaxRequestBytes + fragmentOverhead,
		announced:     make(map[mvcc.WatchID][]*watchOptions),
		options:       make(map[mvcc.WatchID]*watchOptions),
		closec:        make(chan struct{}),
	}
	sws.wg.Add(1)
	go func() {
		defer sws.wg.Done()
		sws.sendLoop()
	}()
	errc := make(chan error, 1)
	// The receive loop is not waited for: Recv may block past the
	// stream's end until gRPC tears the stream down.
	go func() {
		if err := sws.recvLoop(); err != nil {
			errc <- err
		}
	}()
	var err error
	select {
	case err = <-errc:
	case <-stream.Context().Done():
		err = stream.Context().Err()
	}
	sws.close()
	if errors.Is(err, context.Canceled) {
		err = rpctypes.ErrGRPCWatchCanceled
	}
	return err
}

// watchOptions are a watcher's choices that the API layer applies.
type watchOptions struct {
	prevKV, fragment, progressNotify bool
	// idle is set by each progress tick and cleared by events: a
	// watcher idle for a whole interval gets a progress notification.
	idle bool
}

// watchStream is the server side of one gRPC Watch stream. The receive
// loop turns requests into calls on the store's WatchStream; the send loop
// takes the store's responses, in order, and sends them.
type watchStream struct {
	s             *Server
	lg            *zap.Logger
	grpc          Stream
	mws           *mvcc.WatchStream
	fragmentBytes int

	// mu is held by the receive loop from creating a watcher until its
	// options are announced, so the send loop, which takes them when it
	// sends the Created response, never sees that response first.
	mu        sync.Mutex
	announced map[mvcc.WatchID][]*watchOptions
	// options belong to the send loop: those of live watchers, by ID.
	options map[mvcc.WatchID]*watchOptions

	closec chan struct{}
	wg     sync.WaitGroup
}

func (sws *watchStream) close() {
	sws.mws.Close()
	close(sws.closec)
	sws.wg.Wait()
}

// recvLoop handles requests until the client ends the stream (nil) or it
// fails.
func (sws *watchStream) recvLoop() error {
	for {
		req, err := sws.grpc.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch r := req.RequestUnion.(type) {
		case *pb.WatchRequest_CreateRequest:
			if r.CreateRequest != nil {
				sws.create(r.CreateRequest)
			}
		case *pb.WatchRequest_CancelRequest:
			if r.CancelRequest != nil {
				// An unknown ID gets no answer, as in etcd.
				_ = sws.mws.Cancel(mvcc.WatchID(r.CancelRequest.WatchId))
			}
		case *pb.WatchRequest_ProgressRequest:
			if r.ProgressRequest != nil {
				sws.mws.RequestProgressAll()
			}
		default:
			sws.lg.Info("ignoring a watch request of unknown type")
		}
	}
}

// create starts a watcher; the store queues its Created response, or the
// failure is queued here.
func (sws *watchStream) create(creq *pb.WatchCreateRequest) {
	if creq.StartRevision < 0 {
		sws.fail(rpctypes.ErrCompacted.Error())
		return
	}
	req := mvcc.WatchRequest{
		ID:       mvcc.WatchID(creq.WatchId),
		Key:      creq.Key,
		End:      creq.RangeEnd,
		StartRev: creq.StartRevision,
	}
	if len(req.Key) == 0 {
		req.Key = []byte{0} // the smallest key
	}
	if reason := sws.s.d.Member.WatchDenied(sws.grpc.Context(), req.Key, creq.RangeEnd); reason != "" {
		sws.fail(reason)
		return
	}
	switch {
	case len(req.End) == 0:
		req.End = nil
	case len(req.End) == 1 && req.End[0] == 0:
		req.End = []byte{} // every key from Key on
	}
	for _, f := range creq.Filters {
		switch f {
		case pb.WatchCreateRequest_NOPUT:
			req.NoPut = true
		case pb.WatchCreateRequest_NODELETE:
			req.NoDelete = true
		}
	}
	sws.mu.Lock()
	id, err := sws.mws.Watch(req)
	if err == nil {
		opts := &watchOptions{prevKV: creq.PrevKv, fragment: creq.Fragment, progressNotify: creq.ProgressNotify, idle: true}
		sws.announced[id] = append(sws.announced[id], opts)
	}
	sws.mu.Unlock()
	if err != nil {
		sws.fail(err.Error())
	}
}

// fail answers a create request that made no watcher.
func (sws *watchStream) fail(reason string) {
	sws.mws.Post(mvcc.WatchResponse{
		WatchID: mvcc.InvalidWatchID, Created: true, Canceled: true,
		CancelReason: reason, Revision: sws.mws.Rev(),
	})
}

// sendLoop sends the store's responses and the progress notifications of
// idle watchers until the stream closes or a send fails.
func (sws *watchStream) sendLoop() {
	ticker := time.NewTicker(sws.s.progressInterval())
	defer ticker.Stop()
	c := newCoalescer()
	for {
		select {
		case <-sws.mws.Ready():
			if err := sws.sendQueued(c); err != nil {
				sws.lg.Debug("failed to send a watch response", zap.Error(err))
				return
			}
		case <-ticker.C:
			for id, o := range sws.options {
				if o.progressNotify && o.idle {
					sws.mws.RequestProgress(id)
				}
				o.idle = true
			}
		case <-sws.closec:
			return
		}
	}
}

// sendQueued sends what the store has queued, merged by c, until the
// queue is empty.
func (sws *watchStream) sendQueued(c *coalescer) error {
	for {
		for range coalesceMaxResponses {
			r, ok := sws.mws.Next()
			if !ok {
				break
			}
			c.add(r)
		}
		if len(c.out) == 0 {
			return nil
		}
		for _, r := range c.out {
			if err := sws.send(r); err != nil {
				return err
			}
		}
		c.reset()
	}
}

// send sends one response of the store, keeping the options of the
// watchers it creates or ends.
func (sws *watchStream) send(r mvcc.WatchResponse) error {
	id := r.WatchID
	if r.Created && !r.Canceled {
		sws.options[id] = sws.takeAnnounced(id)
	}
	opts := sws.options[id]
	if opts == nil {
		opts = &watchOptions{}
	}
	wr := &pb.WatchResponse{
		Header:          sws.s.d.Member.Header(r.Revision),
		WatchId:         int64(id),
		Created:         r.Created,
		Canceled:        r.Canceled || r.CompactRevision != 0,
		CompactRevision: r.CompactRevision,
		CancelReason:    r.CancelReason,
	}
	if len(r.Events) > 0 {
		wr.Events = sws.events(r.Events, opts.prevKV)
		opts.idle = false
	}
	if wr.Canceled && id != mvcc.InvalidWatchID {
		delete(sws.options, id)
	}
	if opts.fragment {
		return sendFragments(wr, sws.fragmentBytes, sws.grpc.Send)
	}
	return sws.grpc.Send(wr)
}

// takeAnnounced returns the options the receive loop announced for the
// watcher whose Created response is being sent.
func (sws *watchStream) takeAnnounced(id mvcc.WatchID) *watchOptions {
	sws.mu.Lock()
	defer sws.mu.Unlock()
	q := sws.announced[id]
	if len(q) == 0 {
		return &watchOptions{}
	}
	if len(q) == 1 {
		delete(sws.announced, id)
	} else {
		sws.announced[id] = q[1:]
	}
	return q[0]
}

// events returns the response's events, each with its key's previous
// value when prevKV is set (except a creation's, as etcd: the key had
// none). The store's events are shared, so those get copies.
func (sws *watchStream) events(evs []*mvccpb.Event, prevKV bool) []*mvccpb.Event {
	if !prevKV {
		return evs
	}
	out := make([]*mvccpb.Event, len(evs))
	for i, ev := range evs {
		out[i] = ev
		if ev.Type == mvccpb.Event_PUT && ev.Kv.CreateRevision == ev.Kv.ModRevision {
			continue
		}
		res, err := sws.s.d.Store.Range(sws.grpc.Context(), ev.Kv.Key, nil, mvcc.RangeOptions{Rev: ev.Kv.ModRevision - 1})
		if err == nil && len(res.KVs) > 0 {
			out[i] = &mvccpb.Event{Type: ev.Type, Kv: ev.Kv, PrevKv: res.KVs[0]}
		}
	}
	return out
}

// sendFragments sends wr whole when it is smaller than limit bytes or has
// one event, and otherwise in parts of as many events as fit (at least
// one each), all but the last marked Fragment.
func sendFragments(wr *pb.WatchResponse, limit int, send func(*pb.WatchResponse) error) error {
	if len(wr.Events) < 2 || proto.Size(wr) < limit {
		return send(wr)
	}
	rest := wr.Events
	for len(rest) > 0 {
		part := &pb.WatchResponse{
			Header: wr.Header, WatchId: wr.WatchId, Created: wr.Created, Canceled: wr.Canceled,
			CompactRevision: wr.CompactRevision, CancelReason: wr.CancelReason,
		}
		n := 1
		for ; n < len(rest); n++ {
			part.Events = rest[:n+1]
			if proto.Size(part) >= limit {
				break
			}
		}
		part.Events, rest = rest[:n], rest[n:]
		part.Fragment = len(rest) > 0
		if err := send(part); err != nil {
			return err
		}
	}
	return nil
}
