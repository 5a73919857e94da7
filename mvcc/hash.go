package mvcc

import (
	"context"
	"fmt"
	"hash"
	"hash/crc32"
	"slices"
	"sync"

	"github.com/metastore/metastore/pluginapi/storage"
)

// KeyValueHash is a hash of the key space: Hash covers the revisions up to
// Revision from the compaction at CompactRevision on.
type KeyValueHash struct {
	Hash            uint32
	CompactRevision int64
	Revision        int64
}

// compactionHashesKept is how many compaction hashes a store keeps, as
// etcd.
const compactionHashesKept = 10

// compactionHashes holds the hashes compactions took of what they
// compacted, newest last. It lives in memory only, as in etcd.
type compactionHashes struct {
	mu     sync.RWMutex
	hashes []KeyValueHash
}

func (c *compactionHashes) add(h KeyValueHash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hashes = append(c.hashes, h)
	slices.SortFunc(c.hashes, func(a, b KeyValueHash) int { return int(a.Revision - b.Revision) })
	if len(c.hashes) > compactionHashesKept {
		c.hashes = c.hashes[len(c.hashes)-compactionHashesKept:]
	}
}

func (c *compactionHashes) at(rev int64) (KeyValueHash, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, h := range c.hashes {
		if h.Revision == rev {
			return h, true
		}
	}
	return KeyValueHash{}, false
}

// CompactionHashes returns the hashes the last compactions took, each
// over the revisions from the compaction before it up to its own, oldest
// first. A compaction that followed an interrupted one leaves none.
func (s *Store) CompactionHashes() []KeyValueHash {
	s.compactHashes.mu.RLock()
	defer s.compactHashes.mu.RUnlock()
	return slices.Clone(s.compactHashes.hashes)
}

// HashKV returns a CRC-32 (Castagnoli) of the key space up to rev (0: the
// current revision; below 0, as in etcd, no revision: the hash of the
// namespace name alone), the compaction revision it starts from (-1 before
// the first compaction, as etcd) and the revision it covers. It is computed as etcd's HashKV, so that members with
// the same history agree whatever their compaction progress: over the
// namespace name "key", then, in revision order, the engine key and stored
// value of every revision in (compactRev, rev], and of those at or before
// compactRev that compaction keeps and that are still their key's latest at
// rev, skipping a tombstone at exactly compactRev. As in etcd, when no key
// is live at rev (nothing to keep) the rule is not applied and every
// revision up to compactRev that compaction has not deleted yet is hashed:
// then the hash depends on compaction progress, and members agree once
// their compactions are done.
//
// A rev at which one of the last compactions ran is answered, as etcd
// does, with the hash that compaction took: its CompactRevision is the
// compaction before (-1 for the first), whether or not rev is still above
// CompactRev. That hash follows the rule above too, so it equals what a
// member that has not run the compaction yet computes at rev. etcd looks
// rev up before it reads 0 as the current revision, so after a compaction
// at revision 0 (see Compact) a HashKV at 0 keeps answering that
// compaction's hash, of the empty store; this copies that quirk.
//
// It flushes the write buffer first and holds off compaction meanwhile.
// It returns ErrCompacted if rev < CompactRev and ErrFutureRev if rev > Rev.
func (s *Store) HashKV(rev int64) (hash uint32, compactRev int64, hashRev int64, err error) {
	s.restoreMu.RLock()
	defer s.restoreMu.RUnlock()
	if h, ok := s.compactHashes.at(rev); ok {
		return h.Hash, h.CompactRevision, h.Revision, nil
	}
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	compactRev, cur := s.compactRev.Load(), s.currentRev.Load()
	if rev > 0 && rev < compactRev {
		return 0, compactRev, 0, ErrCompacted
	}
	if rev > cur {
		return 0, compactRev, 0, ErrFutureRev
	}
	if rev < 0 {
		// etcd hashes the revisions up to rev: none.
		return newKVHasher(compactRev, rev, nil).hash.Sum32(), compactRev, rev, nil
	}
	if rev == 0 {
		rev = cur
	}
	h := newKVHasher(compactRev, rev, s.index.keep(rev))
	ctx := context.Background()
	if err := s.flush(ctx); err != nil {
		return 0, compactRev, 0, err
	}
	req := storage.ScanRequest{Namespace: nsKey, End: revBytes(revision{main: rev + 1}, false)}
	err = s.eng.Scan(ctx, req, func(e storage.KeyValue) bool { return h.write(e.Key, e.Value) })
	if err == nil {
		err = h.err
	}
	if err != nil {
		return 0, compactRev, 0, fmt.Errorf("mvcc: hashing the key space: %w", err)
	}
	return h.hash.Sum32(), compactRev, rev, nil
}

// kvHasher hashes engine records of the "key" namespace given in revision
// order.
type kvHasher struct {
	hash       hash.Hash32
	compactRev int64
	rev        int64
	keep       map[revision]struct{} // from treeIndex.keep(rev)
	err        error
}

func newKVHasher(compactRev, rev int64, keep map[revision]struct{}) *kvHasher {
	h := &kvHasher{hash: crc32.New(crc32.MakeTable(crc32.Castagnoli)), compactRev: compactRev, rev: rev, keep: keep}
	h.hash.Write([]byte(nsKey))
	return h
}

// write hashes one record if it belongs to the hash; it returns false, and
// sets err, on a record it cannot decode.
func (h *kvHasher) write(key, value []byte) bool {
	r, tombstone, err := parseRevBytes(key)
	if err != nil {
		h.err = fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
		return false
	}
	if r.main > h.rev {
		return true
	}
	if r.main <= h.compactRev && len(h.keep) > 0 {
		// Compaction deletes it, or has already.
		if _, ok := h.keep[r]; !ok {
			return true
		}
	}
	if r.main == h.compactRev && tombstone {
		return true // etcd before 3.5.16 deleted it; hash the same
	}
	h.hash.Write(key)
	h.hash.Write(value)
	return true
}
