package concurrency

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var (
	// ErrElectionNotLeader is returned by Proclaim and Check when this
	// Election does not lead (it never won, resigned, or lost its key).
	ErrElectionNotLeader = errors.New("concurrency: election: not leader")
	// ErrElectionNoLeader is returned by Leader when nobody campaigns.
	ErrElectionNoLeader = errors.New("concurrency: election: no leader")
)

// Election is a leader election on a name: candidates campaign with a value,
// the oldest candidate leads, and its value is the election's current value.
// It uses etcd's key layout and protocol, so it runs one election with etcd's
// concurrency.Election and `etcdctl elect` on the same name.
//
// An Election is one candidate and is not safe for concurrent use, except
// for Leader and Observe. As with Mutex, a Session is one candidate per name.
type Election struct {
	pfx string
	t   ticket
	hdr *pb.ResponseHeader
}

// NewElection returns a candidate for s in the election on name.
func NewElection(s *Session, name string) *Election {
	pfx := name + "/"
	return &Election{pfx: pfx, t: newTicket(s, pfx)}
}

// ResumeElection returns an Election that leads with the key and revision of
// an earlier Election of the same Session (Key and Rev), for example in a
// process that kept its lease through a restart with WithLease.
func ResumeElection(s *Session, name, key string, rev int64) *Election {
	e := NewElection(s, name)
	e.t.key, e.t.rev = key, rev
	return e
}

// Campaign enters the election with val and blocks until this candidate
// leads, ctx is done, or the Session ends (ErrSessionExpired). A candidate
// that campaigns again keeps its place and updates its value. When Campaign
// returns an error the candidate has withdrawn: no key is left behind.
func (e *Election) Campaign(ctx context.Context, val string) error {
	resp, created, err := e.t.take(ctx, val)
	if err != nil {
		return err
	}
	if !created && string(resp.Responses[0].GetResponseRange().Kvs[0].Value) != val {
		if err := e.Proclaim(ctx, val); err != nil {
			e.t.abandon()
			return err
		}
	}
	hdr, err := waitTurn(ctx, e.t.s, e.pfx, e.t.rev, e.t.key)
	if err != nil {
		e.t.abandon()
		return err
	}
	e.hdr = hdr
	return nil
}

// Proclaim sets the leader's value without a new election. It returns
// ErrElectionNotLeader unless this candidate still holds its key.
func (e *Election) Proclaim(ctx context.Context, val string) error {
	if e.t.rev == 0 {
		return ErrElectionNotLeader
	}
	resp, err := e.t.s.client.Txn(ctx).If(e.t.isHeld()).
		Then(clientv3.OpPut(e.t.key, val, clientv3.WithLease(e.t.s.Lease()))).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		e.t.rev = 0
		return ErrElectionNotLeader
	}
	e.hdr = resp.Header
	return nil
}

// Resign gives up leadership (or candidacy), so that the next candidate
// leads. Resigning when not a candidate does nothing.
func (e *Election) Resign(ctx context.Context) error {
	if e.t.rev == 0 {
		return nil
	}
	_, err := e.t.release(ctx)
	return err
}

// Check asks the server whether this candidate still holds its key: nil if
// so, ErrElectionNotLeader otherwise. After a successful Campaign, holding the
// key means leading.
func (e *Election) Check(ctx context.Context) error {
	if e.t.rev == 0 {
		return ErrElectionNotLeader
	}
	held, err := e.t.check(ctx)
	if err != nil {
		return err
	}
	if !held {
		return ErrElectionNotLeader
	}
	return nil
}

// IsLeader is a comparison, for a transaction's If, that holds only while
// this candidate holds its key.
func (e *Election) IsLeader() clientv3.Cmp { return e.t.isHeld() }

// Leader returns the current leader's key and value (Kvs[0]), or
// ErrElectionNoLeader.
func (e *Election) Leader(ctx context.Context) (*clientv3.GetResponse, error) {
	resp, err := e.t.s.client.Get(ctx, e.pfx, clientv3.WithFirstCreate()...)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrElectionNoLeader
	}
	return resp, nil
}

// Key is this candidate's key while it campaigns or leads, "" otherwise.
func (e *Election) Key() string {
	if e.t.rev == 0 {
		return ""
	}
	return e.t.key
}

// Rev is the create revision of this candidate's key, 0 when it does not
// campaign. For a leader it is a fencing token, as Mutex.Token.
func (e *Election) Rev() int64 { return e.t.rev }

// Header is the response header of the last successful Campaign or
// Proclaim.
func (e *Election) Header() *pb.ResponseHeader { return e.hdr }

// Observe reports the leader: its key and value now, then every new value
// and every new leader, in order, on the returned channel. Values that
// change faster than the receiver reads are not all reported, but the
// latest always is. The channel is closed when ctx is done or the watch
// fails for good.
func (e *Election) Observe(ctx context.Context) <-chan *clientv3.GetResponse {
	ch := make(chan *clientv3.GetResponse)
	go e.observe(ctx, ch)
	return ch
}

func (e *Election) observe(ctx context.Context, ch chan<- *clientv3.GetResponse) {
	defer close(ch)
	client := e.t.s.client
	var last *mvccpb.KeyValue // the last one sent
	for {
		resp, err := client.Get(ctx, e.pfx, clientv3.WithFirstCreate()...)
		if err != nil {
			return
		}
		if len(resp.Kvs) == 0 {
			// Wait for a candidate, then read again: the first one to
			// appear is not necessarily the oldest by the time we look.
			err := waitEvent(ctx, client, nil, e.pfx, resp.Header.Revision+1, isPut, clientv3.WithPrefix())
			if err != nil {
				return
			}
			continue
		}
		kv := resp.Kvs[0]
		if last == nil || string(last.Key) != string(kv.Key) || last.ModRevision != kv.ModRevision {
			select {
			case ch <- resp:
			case <-ctx.Done():
				return
			}
			last = kv
		}
		if !e.follow(ctx, kv, resp.Header.Revision, ch, &last) {
			return
		}
	}
}

// follow reports the values the leader key takes after revision rev, until
// it is deleted (true: look for the next leader) or ctx is done or the watch
// fails (false). It records in *last what it sent.
func (e *Election) follow(ctx context.Context, leader *mvccpb.KeyValue, rev int64, ch chan<- *clientv3.GetResponse, last **mvccpb.KeyValue) bool {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range e.t.s.client.Watch(wctx, string(leader.Key), clientv3.WithRev(rev+1)) {
		if wr.CompactRevision != 0 {
			return true // history is gone: read the leader again
		}
		if wr.Err() != nil {
			return false
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.DELETE {
				return true
			}
			hdr := &pb.ResponseHeader{
				ClusterId: wr.Header.ClusterId,
				MemberId:  wr.Header.MemberId,
				Revision:  ev.Kv.ModRevision,
				RaftTerm:  wr.Header.RaftTerm,
			}
			select {
			case ch <- &clientv3.GetResponse{Header: hdr, Kvs: []*mvccpb.KeyValue{ev.Kv}, Count: 1}:
			case <-ctx.Done():
				return false
			}
			*last = ev.Kv
		}
	}
	return false
}
