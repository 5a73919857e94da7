package rocksdb

import (
	"bytes"
	"fmt"

	"github.com/linxGnu/grocksdb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// iterate calls fn for each stored key in [lower, upper), in order or
// reverse, from one consistent view (snap, or the iterator's own when nil),
// until fn returns false or an error. The slices are valid only during fn.
// The iterator and its options are released before iterate returns.
func iterate(db *grocksdb.DB, lower, upper []byte, reverse bool, snap *grocksdb.Snapshot,
	fn func(key, value []byte) (bool, error)) error {
	ro := grocksdb.NewDefaultReadOptions()
	defer ro.Destroy()
	ro.SetIterateLowerBound(lower)
	ro.SetIterateUpperBound(upper)
	if snap != nil {
		ro.SetSnapshot(snap)
	}
	it := db.NewIterator(ro)
	defer it.Close()
	if reverse {
		it.SeekForPrev(upper)
		if it.Valid() && bytes.Equal(it.Key().Data(), upper) {
			it.Prev()
		}
	} else {
		it.Seek(lower)
	}
	for ; it.Valid(); step(it, reverse) {
		more, err := fn(it.Key().Data(), it.Value().Data())
		if err != nil || !more {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("%w: rocksdb: iterate: %v", storage.ErrCorrupt, err)
	}
	return nil
}

func step(it *grocksdb.Iterator, reverse bool) {
	if reverse {
		it.Prev()
	} else {
		it.Next()
	}
}
