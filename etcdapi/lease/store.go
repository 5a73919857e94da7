package lease

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
)

// Namespace is the storage engine namespace of leases: the 8-byte
// big-endian lease ID maps to the 8-byte big-endian granted TTL followed by
// the 8-byte big-endian checkpointed remaining TTL (0: none), in seconds.
// It is written through mvcc's meta writes, in the batch of the raft entry
// that changed it.
const Namespace = "lease"

func leaseKey(id int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(id))
}

func encodeLease(l *Lease) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(l.ttl))
	return binary.BigEndian.AppendUint64(b, uint64(l.remaining))
}

func decodeLease(key, value []byte) (id, ttl, remaining int64, err error) {
	if len(key) != 8 || len(value) != 16 {
		return 0, 0, 0, fmt.Errorf("%w: lease record of %d+%d bytes", storage.ErrCorrupt, len(key), len(value))
	}
	return int64(binary.BigEndian.Uint64(key)),
		int64(binary.BigEndian.Uint64(value[:8])),
		int64(binary.BigEndian.Uint64(value[8:])), nil
}

// Persist writes l's replicated state in tw's batch.
func Persist(tw *mvcc.TxnWrite, l *Lease) {
	tw.PutMeta(Namespace, leaseKey(l.id), encodeLease(l))
}

// DeletePersisted deletes lease id's replicated state in tw's batch.
func DeletePersisted(tw *mvcc.TxnWrite, id int64) {
	tw.DeleteMeta(Namespace, leaseKey(id))
}

// Load replaces the leases with those of the engine, and their keys with
// those of the key index: at start, before the first entry is applied, and
// after a raft snapshot replaced the engine's content. A lease the engine
// no longer holds is gone (its waiters see it revoked); one it still holds
// keeps its waiters. A primary lessor, which a member installing a
// snapshot is only until it notices it follows, counts every lease afresh
// from its durable TTL, as on promotion.
func (le *Lessor) Load(ctx context.Context, store *mvcc.Store) error {
	leases := make(map[int64]*Lease)
	var decodeErr error
	err := store.ScanMeta(ctx, Namespace, func(k, v []byte) bool {
		id, ttl, remaining, err := decodeLease(k, v)
		if err != nil {
			decodeErr = err
			return false
		}
		leases[id] = &Lease{id: id, ttl: ttl, remaining: remaining, keys: map[string]struct{}{},
			revoked: make(chan struct{}), heapIdx: -1}
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return fmt.Errorf("lease: loading leases: %w", err)
	}
	keyLease := make(map[string]int64)
	orphans := 0
	store.LeasedKeys(func(key []byte, id int64) {
		l := leases[id]
		if l == nil {
			orphans++ // as etcd, a key whose lease is gone stays
			return
		}
		l.keys[string(key)] = struct{}{}
		keyLease[string(key)] = id
	})
	le.mu.Lock()
	for id, old := range le.leases {
		if l := leases[id]; l != nil {
			l.revoked = old.revoked
		} else {
			close(old.revoked)
		}
	}
	le.expiries.clear()
	le.leases, le.keyLease = leases, keyLease
	if le.primary {
		for _, l := range leases {
			l.cpLogged = l.remaining > 0
			le.refresh(l, l.durableTTL(), le.cfg.PromoteExtension)
		}
	}
	n := len(le.leases)
	le.mu.Unlock()
	le.lg.Sugar().Infof("restored %d leases (%d keys refer to missing leases)", n, orphans)
	return nil
}
