package mvcc

import (
	"encoding/binary"
	"fmt"
)

const (
	// revBytesLen is the length of an encoded revision: 8-byte main, '_',
	// 8-byte sub.
	revBytesLen = 8 + 1 + 8
	// markedRevBytesLen is the length of an encoded tombstone revision.
	markedRevBytesLen = revBytesLen + 1
	// markTombstone is the trailing byte marking a tombstone.
	markTombstone byte = 't'
)

// revision identifies one change: main is the revision of the write
// transaction, sub the position of the change inside it.
type revision struct {
	main int64
	sub  int64
}

// greaterThan reports whether a comes after b.
func (a revision) greaterThan(b revision) bool {
	if a.main != b.main {
		return a.main > b.main
	}
	return a.sub > b.sub
}

// String formats the revision as main_sub.
func (a revision) String() string { return fmt.Sprintf("%d_%d", a.main, a.sub) }

// appendRevBytes appends the engine key of rev to dst, with the tombstone
// mark when tombstone is set.
func appendRevBytes(dst []byte, rev revision, tombstone bool) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(rev.main))
	dst = append(dst, '_')
	dst = binary.BigEndian.AppendUint64(dst, uint64(rev.sub))
	if tombstone {
		dst = append(dst, markTombstone)
	}
	return dst
}

// revBytes returns the engine key of rev.
func revBytes(rev revision, tombstone bool) []byte {
	return appendRevBytes(make([]byte, 0, markedRevBytesLen), rev, tombstone)
}

// parseRevBytes decodes an engine key of the "key" namespace.
func parseRevBytes(b []byte) (rev revision, tombstone bool, err error) {
	switch {
	case len(b) != revBytesLen && len(b) != markedRevBytesLen:
		return revision{}, false, fmt.Errorf("mvcc: revision key of length %d", len(b))
	case b[8] != '_':
		return revision{}, false, fmt.Errorf("mvcc: revision key with separator %q", b[8])
	case len(b) == markedRevBytesLen && b[revBytesLen] != markTombstone:
		return revision{}, false, fmt.Errorf("mvcc: revision key with mark %q", b[revBytesLen])
	}
	rev.main = int64(binary.BigEndian.Uint64(b[:8]))
	rev.sub = int64(binary.BigEndian.Uint64(b[9:revBytesLen]))
	if rev.main < 0 || rev.sub < 0 {
		return revision{}, false, fmt.Errorf("mvcc: negative revision %v", rev)
	}
	return rev, len(b) == markedRevBytesLen, nil
}
