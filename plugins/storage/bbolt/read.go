package bbolt

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/metastore/metastore/pluginapi/storage"
)

// ctxCheckEvery is how many keys a Scan visits between context checks.
const ctxCheckEvery = 1024

// GetMany reads all keys in one read transaction and returns copies.
func (e *Engine) GetMany(_ context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	if req.Namespace == "" {
		return storage.GetManyResponse{}, fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	resp := storage.GetManyResponse{
		Values: make([][]byte, len(req.Keys)),
		Found:  make([]bool, len(req.Keys)),
	}
	err := e.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(nsBucket(req.Namespace))
		if b == nil {
			return nil
		}
		values := newValueReader(tx, e.path())
		c := b.Cursor()
		for i, key := range req.Keys {
			// A cursor tells an empty value from a missing key.
			if k, v := c.Seek(key); k != nil && bytes.Equal(k, key) {
				v, err := values.open(req.Namespace, key, v)
				if err != nil {
					return err
				}
				resp.Values[i] = append([]byte{}, v...)
				resp.Found[i] = true
			}
		}
		return nil
	})
	if err != nil {
		return storage.GetManyResponse{}, err
	}
	return resp, nil
}

// Scan walks the namespace's bucket with a cursor inside one read
// transaction. The slices passed to fn are copies reused between calls.
func (e *Engine) Scan(ctx context.Context, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	if req.Namespace == "" {
		return fmt.Errorf("%w: empty namespace", storage.ErrInvalidRequest)
	}
	return e.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(nsBucket(req.Namespace))
		if b == nil {
			return nil
		}
		return scanCursor(ctx, b.Cursor(), newValueReader(tx, e.path()), req, fn)
	})
}

// scanCursor visits the keys of req with c. A keys-only scan checks no
// value: it reads none.
func scanCursor(ctx context.Context, c *bolt.Cursor, values valueReader, req storage.ScanRequest, fn func(storage.KeyValue) bool) error {
	k, v := first(c, req)
	var key, value []byte
	for n := int64(0); k != nil && inBounds(k, req); n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		key = append(key[:0], k...)
		kv := storage.KeyValue{Key: key}
		if !req.KeysOnly {
			v, err := values.open(req.Namespace, k, v)
			if err != nil {
				return err
			}
			value = append(value[:0], v...)
			kv.Value = value
		}
		if !fn(kv) || (req.Limit > 0 && n+1 >= req.Limit) {
			return nil
		}
		if req.Reverse {
			k, v = c.Prev()
		} else {
			k, v = c.Next()
		}
	}
	return nil
}

// first positions c on the first key the scan visits.
func first(c *bolt.Cursor, req storage.ScanRequest) (k, v []byte) {
	if !req.Reverse {
		return c.Seek(req.Start)
	}
	if req.End == nil {
		return c.Last()
	}
	if k, _ := c.Seek(req.End); k == nil {
		return c.Last()
	}
	return c.Prev() // Seek found the first key >= End, which is excluded
}

// inBounds reports whether k, met while moving in the scan's direction, is
// still in range.
func inBounds(k []byte, req storage.ScanRequest) bool {
	if req.Reverse {
		return bytes.Compare(k, req.Start) >= 0
	}
	return req.End == nil || bytes.Compare(k, req.End) < 0
}

// Stats reports the file size, the part of it not on bbolt's free list,
// and, when asked, each namespace's key count. Counting walks every page of
// every namespace, so it costs a read of the whole file (and makes all of
// it resident in the mapping); sizes alone cost nothing.
func (e *Engine) Stats(_ context.Context, req storage.StatsRequest) (storage.StatsResponse, error) {
	var resp storage.StatsResponse
	err := e.view(func(tx *bolt.Tx) error {
		resp = storage.StatsResponse{SizeBytes: tx.Size()}
		free := tx.DB().Stats()
		pageSize := int64(tx.DB().Info().PageSize)
		resp.SizeInUseBytes = max(0, resp.SizeBytes-int64(free.FreePageN+free.PendingPageN)*pageSize)
		if !req.CountKeys {
			return nil
		}
		resp.Keys = map[string]int64{}
		return forEachNamespace(tx, func(ns string, b *bolt.Bucket) error {
			resp.Keys[ns] = int64(b.Stats().KeyN)
			return nil
		})
	})
	return resp, err
}

// forEachNamespace calls fn for each namespace bucket, in namespace order.
func forEachNamespace(tx *bolt.Tx, fn func(ns string, b *bolt.Bucket) error) error {
	c := tx.Cursor()
	prefix := []byte(nsPrefix)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(string(k[len(prefix):]), tx.Bucket(k)); err != nil {
			return err
		}
	}
	return nil
}
