package mvcc

import (
	"context"
	"fmt"
	"hash"
	"hash/crc32"

	"github.com/metastore/metastore/pluginapi/storage"
)

// HashKV returns a CRC-32 (Castagnoli) of the key space up to rev (0: the
// current revision), the compaction revision it starts from and the
// revision it covers. It is computed as etcd's HashKV, so that members with
// the same history agree whatever their compaction progress: over the
// namespace name "key", then, in revision order, the engine key and stored
// value of every revision in (compactRev, rev], and of those at or before
// compactRev that compaction keeps and that are still their key's latest at
// rev, skipping a tombstone at exactly compactRev. Unlike etcd, it applies
// that rule also when no key is live at rev, where etcd would hash every
// revision not yet physically compacted.
//
// It flushes the write buffer first and holds off compaction meanwhile.
// It returns ErrCompacted if rev < CompactRev and ErrFutureRev if rev > Rev.
func (s *Store) HashKV(rev int64) (hash uint32, compactRev int64, hashRev int64, err error) {
	s.restoreMu.RLock()
	defer s.restoreMu.RUnlock()
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	compactRev, cur := s.compactRev.Load(), s.currentRev.Load()
	if rev > 0 && rev < compactRev {
		return 0, compactRev, 0, ErrCompacted
	}
	if rev > cur {
		return 0, compactRev, 0, ErrFutureRev
	}
	if rev <= 0 {
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
	if r.main <= h.compactRev {
		// Compaction deletes it, or has already. etcd skips this check
		// when keep is empty (every key deleted at rev), so its hash
		// then depends on compaction progress; this one does not.
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
