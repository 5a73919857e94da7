package mvcc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/metastore/metastore/pluginapi/storage"
)

// storedMeta is what rebuilding the key index needs of a stored
// mvccpb.KeyValue: everything but the value. key aliases the engine's
// buffer.
type storedMeta struct {
	key              []byte
	created, version int64
	lease            int64
}

// mvccpb.KeyValue's field numbers.
const (
	kvFieldKey     = 1
	kvFieldCreated = 2
	kvFieldVersion = 4
	kvFieldValue   = 5
	kvFieldLease   = 6
)

var errStoredKeyValue = errors.New("mvcc: malformed stored KeyValue")

// decodeStoredMeta reads the fields of an encoded mvccpb.KeyValue that the
// key index needs, without unmarshaling (and copying) the value: at a
// restart every stored revision goes through it. Unknown fields are
// skipped, as proto.Unmarshal would.
func decodeStoredMeta(b []byte) (storedMeta, error) {
	var m storedMeta
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, fmt.Errorf("%w: %w", errStoredKeyValue, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == kvFieldKey && typ == protowire.BytesType:
			m.key, n = protowire.ConsumeBytes(b)
		case (num == kvFieldCreated || num == kvFieldVersion || num == kvFieldLease) && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			switch num {
			case kvFieldCreated:
				m.created = int64(v)
			case kvFieldVersion:
				m.version = int64(v)
			default:
				m.lease = int64(v)
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return m, fmt.Errorf("%w: field %d: %w", errStoredKeyValue, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return m, nil
}

// decodeStoredValue returns the value field of an encoded mvccpb.KeyValue,
// as a slice of b (nil for none), without unmarshaling the rest.
func decodeStoredValue(b []byte) ([]byte, error) {
	var value []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", errStoredKeyValue, protowire.ParseError(n))
		}
		b = b[n:]
		if num == kvFieldValue && typ == protowire.BytesType {
			value, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: field %d: %w", errStoredKeyValue, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return value, nil
}

// restoredRev is one stored revision, decoded for the key index.
type restoredRev struct {
	rev       revision
	tombstone bool
	meta      storedMeta // key points into its batch's arena
}

// restoreBatch is a run of decoded revisions, in revision order, with the
// bytes of their keys.
type restoreBatch struct {
	revs  []restoredRev
	arena []byte
}

// restoreBatchRevs is how many revisions the scan hands the index builder
// at a time.
const restoreBatchRevs = 4096

// rebuildIndex scans every stored revision of eng in revision order and
// adds it to index; it returns the last main revision seen. Decoding runs
// in the scan's goroutine and the index insertions in another, so that a
// restart uses two cores.
func rebuildIndex(ctx context.Context, eng storage.Engine, index *treeIndex) (last int64, err error) {
	batches := make(chan *restoreBatch, 4)
	built := make(chan struct{})
	go func() {
		defer close(built)
		for b := range batches {
			for i := range b.revs {
				r := &b.revs[i]
				index.restore(r.meta.key, r.rev, r.tombstone, r.meta.created, r.meta.version, r.meta.lease)
			}
		}
	}()
	b := &restoreBatch{}
	var decodeErr error
	err = eng.Scan(ctx, storage.ScanRequest{Namespace: nsKey}, func(e storage.KeyValue) bool {
		rev, tombstone, err := parseRevBytes(e.Key)
		if err != nil {
			decodeErr = fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
			return false
		}
		m, err := decodeStoredMeta(e.Value)
		if err != nil {
			decodeErr = fmt.Errorf("%w: value of revision %v: %w", storage.ErrCorrupt, rev, err)
			return false
		}
		// The engine may reuse its buffers after the callback: the key
		// moves into the batch's arena.
		start := len(b.arena)
		b.arena = append(b.arena, m.key...)
		m.key = b.arena[start:len(b.arena):len(b.arena)]
		b.revs = append(b.revs, restoredRev{rev: rev, tombstone: tombstone, meta: m})
		last = rev.main
		if len(b.revs) == restoreBatchRevs {
			batches <- b
			b = &restoreBatch{revs: make([]restoredRev, 0, restoreBatchRevs), arena: make([]byte, 0, cap(b.arena))}
		}
		return true
	})
	if len(b.revs) > 0 {
		batches <- b
	}
	close(batches)
	<-built
	if err == nil {
		err = decodeErr
	}
	return last, err
}
