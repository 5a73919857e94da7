package corruption

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"

	"github.com/metastore/metastore/mvcc"
)

// ErrClusterIDMismatch is a peer's answer to a hash request from a member
// of another cluster. Its text travels between members and is recognised
// by it, so it stays what members of every version send.
var ErrClusterIDMismatch = errors.New("etcdapi: cluster ID mismatch")

// PeerHash is one peer's answer to a hash request at a revision: Resp, or
// Err (mvcc.ErrCompacted, mvcc.ErrFutureRev, ErrClusterIDMismatch or any
// failure to reach it).
type PeerHash struct {
	MemberID uint64
	Resp     *pb.HashKVResponse
	Err      error
}

// PeerHasher asks every other member for its HashKV at rev.
type PeerHasher func(ctx context.Context, rev int64) []PeerHash

// Checker runs etcd's corruption checks for one member: the initial check
// before it joins raft, the leader's periodic comparison of the followers'
// hashes, and the leader's check of the hashes compactions took.
// Mismatches raise CORRUPT through raft.
type Checker struct {
	lg      *zap.Logger
	store   *mvcc.Store
	peers   PeerHasher
	barrier func(ctx context.Context) error
	raiseFn func(ctx context.Context, member uint64) error

	mu                    sync.Mutex
	latestRevisionChecked int64
}

// New returns the checker of the member whose store is store: peers
// reaches the other members, barrier waits until the member has applied
// everything committed when it was called, and raise proposes the CORRUPT
// alarm of a member (0: one the check could not single out).
func New(lg *zap.Logger, store *mvcc.Store, peers PeerHasher, barrier func(ctx context.Context) error,
	raise func(ctx context.Context, member uint64) error) *Checker {
	return &Checker{lg: lg, store: store, peers: peers, barrier: barrier, raiseFn: raise}
}

// InitialCheck compares the local hash at the local revision with the
// peers' at the same revision, and fails if a peer at the same compaction
// revision has another hash. Peers behind, compacted past it, or of
// another cluster are skipped, as etcd does.
func (c *Checker) InitialCheck(ctx context.Context, self uint64) error {
	c.lg.Info("starting initial corruption check", zap.Stringer("local-member-id", types.ID(self)))
	h, cr, rev, err := c.store.HashKV(0)
	if err != nil {
		return fmt.Errorf("%s failed to fetch hash (%w)", types.ID(self), err)
	}
	mismatch := 0
	for _, p := range c.peers(ctx, rev) {
		fields := []zap.Field{zap.Stringer("local-member-id", types.ID(self)), zap.Int64("local-member-revision", rev),
			zap.Int64("local-member-compact-revision", cr), zap.Uint32("local-member-hash", h),
			zap.Stringer("remote-peer-id", types.ID(p.MemberID))}
		switch {
		case p.Resp == nil:
			c.lg.Warn("cannot compare the hash of a remote peer", append(fields, zap.Error(p.Err))...)
		case p.Resp.Hash == h:
		case p.Resp.CompactRevision == cr:
			c.lg.Warn("found different hash values from remote peer", append(fields, zap.Uint32("remote-peer-hash", p.Resp.Hash))...)
			mismatch++
		default:
			c.lg.Warn("found different compact revision values from remote peer",
				append(fields, zap.Int64("remote-peer-compact-revision", p.Resp.CompactRevision))...)
		}
	}
	if mismatch > 0 {
		return fmt.Errorf("%s found data inconsistency with peers", types.ID(self))
	}
	c.lg.Info("initial corruption checking passed; no corruption", zap.Stringer("local-member-id", types.ID(self)))
	return nil
}

// PeriodicCheck is the leader's check: it hashes at its revision, asks the
// followers for theirs at the same revision, and raises CORRUPT for the
// first follower that is ahead of it, compacted past it, or at the same
// compaction with another hash; for itself if its own hash changed at the
// same revision.
func (c *Checker) PeriodicCheck(ctx context.Context, self uint64) error {
	h, cr, rev, err := c.store.HashKV(0)
	if err != nil {
		return err
	}
	peers := c.peers(ctx, rev)
	if err := c.barrier(ctx); err != nil {
		return err
	}
	h2, cr2, rev2, err := c.store.HashKV(0)
	if err != nil {
		return err
	}
	alarmed := false
	mismatch := func(id uint64, msg string, fields ...zap.Field) {
		c.lg.Warn(msg, append(fields, zap.Stringer("member-id", types.ID(id)))...)
		if !alarmed {
			alarmed = true
			c.raise(ctx, id)
		}
	}
	if h2 != h && rev2 == rev && cr2 == cr {
		mismatch(self, "found hash mismatch", zap.Int64("revision", rev), zap.Uint32("hash-1", h), zap.Uint32("hash-2", h2))
	}
	checked := 0
	for _, p := range peers {
		if p.Resp == nil {
			continue
		}
		checked++
		if p.Resp.Header.GetRevision() > rev2 {
			mismatch(p.MemberID, "revision from follower must be less than or equal to leader's",
				zap.Int64("leader-revision", rev2), zap.Int64("follower-revision", p.Resp.Header.GetRevision()))
		}
		if p.Resp.CompactRevision > cr2 {
			mismatch(p.MemberID, "compact revision from follower must be less than or equal to leader's",
				zap.Int64("leader-compact-revision", cr2), zap.Int64("follower-compact-revision", p.Resp.CompactRevision))
		}
		if p.Resp.CompactRevision == cr && p.Resp.Hash != h {
			mismatch(p.MemberID, "same compact revision then hashes must match",
				zap.Uint32("leader-hash", h), zap.Uint32("follower-hash", p.Resp.Hash))
		}
	}
	c.lg.Info("finished peer corruption check", zap.Int("number-of-peers-checked", checked))
	return nil
}

// CompactHashCheck is the leader's check of the hashes its last
// compactions took: from the newest not yet checked on, it asks the peers
// for theirs at the same revision. Where hashes differ, the members
// outside the hash a quorum shares get CORRUPT; without such a quorum,
// member 0 does. It stops at the first revision every peer answered.
func (c *Checker) CompactHashCheck(ctx context.Context, self uint64) {
	c.mu.Lock()
	last := c.latestRevisionChecked
	c.mu.Unlock()
	hashes := c.store.CompactionHashes()
	slices.Reverse(hashes)
	for i, h := range hashes {
		if h.Revision <= last {
			break
		}
		peers := c.peers(ctx, h.Revision)
		if len(peers) == 0 {
			continue
		}
		if c.checkPeerHashes(ctx, self, h, peers) {
			c.lg.Info("finished compaction hash check", zap.Int("number-of-hashes-checked", i+1))
			return
		}
	}
}

// checkPeerHashes compares one compaction hash with the peers' and
// reports whether the revision is done with.
func (c *Checker) checkPeerHashes(ctx context.Context, self uint64, h mvcc.KeyValueHash, peers []PeerHash) bool {
	byHash := map[uint32][]uint64{h.Hash: {self}}
	checked := 0
	for _, p := range peers {
		if p.Resp == nil || p.Resp.CompactRevision != h.CompactRevision {
			c.lg.Warn("skipped peer's hash", zap.Stringer("peer-id", types.ID(p.MemberID)), zap.Int64("revision", h.Revision))
			continue
		}
		checked++
		byHash[p.Resp.Hash] = append(byHash[p.Resp.Hash], p.MemberID)
	}
	if len(byHash) == 1 {
		if checked < len(peers) {
			return false
		}
		c.mu.Lock()
		c.latestRevisionChecked = max(c.latestRevisionChecked, h.Revision)
		c.mu.Unlock()
		c.lg.Info("successfully checked hash on whole cluster", zap.Int64("revision", h.Revision))
		return true
	}
	quorum := (len(peers)+1)/2 + 1
	quorumHash, found := uint32(0), false
	for hash, ids := range byHash {
		if len(ids) >= quorum {
			quorumHash, found = hash, true
		}
	}
	if !found {
		c.lg.Error("detected compaction hash mismatch but cannot identify the corrupted members", zap.Int64("revision", h.Revision))
		c.raise(ctx, 0)
		return true
	}
	for hash, ids := range byHash {
		if hash == quorumHash {
			continue
		}
		for _, id := range ids {
			c.lg.Error("detected compaction hash mismatch", zap.Int64("revision", h.Revision),
				zap.Uint32("hash", hash), zap.Uint32("quorum-hash", quorumHash), zap.Stringer("member-id", types.ID(id)))
			c.raise(ctx, id)
		}
	}
	return true
}

func (c *Checker) raise(ctx context.Context, id uint64) {
	if err := c.raiseFn(ctx, id); err != nil {
		c.lg.Warn("raising CORRUPT failed", zap.Stringer("member-id", types.ID(id)), zap.Error(err))
	}
}
