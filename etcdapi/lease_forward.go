package etcdapi

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Only the leader keeps lease time, so a follower forwards keep-alives and
// TTL queries to it, as etcd does: until the request timeout passes, it
// finds the leader, sends the call to the leader's client URLs, and tries
// again after a short pause if the leader did not answer (it may have
// just lost its leadership). Auth is checked here before forwarding; the
// caller's token travels with the call, as tokens are replicated.
//
// Calls go over plain http client URLs only: a member holds no client
// certificate for its peers' TLS client URLs. A follower whose leader
// serves no http client URL answers "not leader", as before forwarding.

// forwardRetryPause is the pause between forwarding attempts.
const forwardRetryPause = 50 * time.Millisecond

// leaderConns keeps one client connection per leader client URL.
type leaderConns struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (lc *leaderConns) get(host string) (*grpc.ClientConn, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if c := lc.conns[host]; c != nil {
		return c, nil
	}
	c, err := grpc.NewClient("passthrough:///"+host, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	if lc.conns == nil {
		lc.conns = map[string]*grpc.ClientConn{}
	}
	lc.conns[host] = c
	return c, nil
}

func (lc *leaderConns) closeAll() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for h, c := range lc.conns {
		_ = c.Close()
		delete(lc.conns, h)
	}
}

// toLeader calls f with a connection to the leader until f succeeds, f
// fails with an error the leader meant (stop), this member becomes the
// leader (ErrNotPrimary is then returned for the caller to serve the call
// itself), or the request timeout passes: ErrNoLeader if no leader was
// known, else ErrTimeout.
func (ls *LeaseServer) toLeader(ctx context.Context, f func(context.Context, *grpc.ClientConn) (stop bool, err error)) error {
	cctx, cancel := context.WithTimeout(forwardedContext(ctx), ls.s.cfg.RequestTimeout)
	defer cancel()
	sawLeader := false
	for {
		lead := ls.s.raft.Status().Leader
		switch m := ls.s.members.get(lead); {
		case lead == ls.s.raft.MemberID():
			return ErrNotPrimary
		case m != nil:
			sawLeader = true
			hosts := plainHTTPHosts(m.ClientURLs)
			if len(hosts) == 0 && len(m.ClientURLs) > 0 {
				return errNoForwardPath
			}
			for _, host := range hosts {
				conn, err := ls.fwd.get(host)
				if err != nil {
					continue
				}
				if stop, err := f(cctx, conn); stop || err == nil {
					return err
				}
			}
		}
		select {
		case <-cctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !sawLeader {
				return ErrNoLeader
			}
			return ErrTimeout
		case <-ls.s.stopped:
			return ErrStopped
		case <-time.After(forwardRetryPause):
		}
	}
}

// errNoForwardPath: the leader serves no client URL this member can call.
var errNoForwardPath = errors.New("etcdapi: the leader has no plain http client URL")

// plainHTTPHosts returns the host:port of each http URL in urls.
func plainHTTPHosts(urls []string) []string {
	var hosts []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.Scheme == "http" && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// forwardedContext carries the caller's token to the leader.
func forwardedContext(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.MD{}
	for _, k := range []string{rpctypes.TokenFieldNameGRPC, rpctypes.TokenFieldNameSwagger} {
		if v := md.Get(k); len(v) > 0 {
			out.Set(k, v...)
		}
	}
	return metadata.NewOutgoingContext(ctx, out)
}

// leaderMeant reports whether a forwarded call's error is the leader's
// answer rather than a failure to reach a leader.
func leaderMeant(err error) bool {
	switch {
	case errors.Is(err, rpctypes.ErrGRPCNotLeader), errors.Is(err, rpctypes.ErrGRPCNoLeader),
		errors.Is(err, rpctypes.ErrGRPCTimeout), errors.Is(err, rpctypes.ErrGRPCStopped):
		return false
	}
	// An error etcd defines, not a transport one.
	_, ok := rpctypes.Error(err).(rpctypes.EtcdError)
	return ok
}

// forwardRenew renews lease id on the leader and returns its TTL, 0 when
// the leader does not know the lease.
func (ls *LeaseServer) forwardRenew(ctx context.Context, id int64) (int64, error) {
	var ttl int64
	err := ls.toLeader(ctx, func(ctx context.Context, conn *grpc.ClientConn) (bool, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := pb.NewLeaseClient(conn).LeaseKeepAlive(ctx)
		if err != nil {
			return false, err
		}
		if err := stream.Send(&pb.LeaseKeepAliveRequest{ID: id}); err != nil {
			return false, err
		}
		resp, err := stream.Recv()
		if err != nil {
			return leaderMeant(err), err
		}
		ttl = resp.TTL
		return true, nil
	})
	return ttl, err
}

// forwardTimeToLive asks the leader for a lease's TTL.
func (ls *LeaseServer) forwardTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	var resp *pb.LeaseTimeToLiveResponse
	err := ls.toLeader(ctx, func(ctx context.Context, conn *grpc.ClientConn) (bool, error) {
		var err error
		resp, err = pb.NewLeaseClient(conn).LeaseTimeToLive(ctx, r)
		if err != nil {
			return leaderMeant(err), err
		}
		return true, nil
	})
	return resp, err
}
