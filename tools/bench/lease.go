package main

import (
	"context"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// leaseTTL is the TTL (seconds) of the leases kept alive; longer than any
// run, so no lease expires while measured.
const leaseTTL = 300

// runLeaseKeepAlive grants one lease per client, gives each client its own
// LeaseKeepAlive stream (clients share connections), and measures one
// keepalive request and its response as one operation, as etcd's benchmark
// tool does.
func runLeaseKeepAlive(ctx context.Context, env *runEnv) (latencies, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ids := make([]int64, env.clients)
	streams := make([]pb.Lease_LeaseKeepAliveClient, env.clients)
	for c := range env.clients {
		resp, err := env.conn(c).Grant(ctx, leaseTTL)
		if err != nil {
			return latencies{}, fmt.Errorf("grant: %w", unsupportedOr(err))
		}
		ids[c] = int64(resp.ID)
		streams[c], err = pb.NewLeaseClient(env.conn(c).ActiveConnection()).LeaseKeepAlive(sctx)
		if err != nil {
			return latencies{}, fmt.Errorf("keepalive stream: %w", unsupportedOr(err))
		}
	}
	return closedLoop(ctx, env, func(ctx context.Context, c, i int) error {
		if err := streams[c].Send(&pb.LeaseKeepAliveRequest{ID: ids[c]}); err != nil {
			return err
		}
		resp, err := streams[c].Recv()
		if err == nil && resp.TTL <= 0 {
			err = fmt.Errorf("lease %x: keepalive answered TTL %d", ids[c], resp.TTL)
		}
		return err
	})
}
