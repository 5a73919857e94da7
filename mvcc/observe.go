package mvcc

import "time"

// ObserveCommit makes f receive the duration of every later successful
// flush of the write buffer to the engine (one synced batch, etcd's
// backend commit); nil removes it. f runs on the flushing goroutine, so it
// must be quick. It is safe to call at any time.
func (s *Store) ObserveCommit(f func(time.Duration)) {
	if f == nil {
		s.onCommit.Store(nil)
		return
	}
	s.onCommit.Store(&f)
}

// KeyCount returns the number of live keys at the current revision (what
// etcd's etcd_debugging_mvcc_keys_total counts). It walks the key index,
// so it suits a metrics scrape, not a hot path.
func (s *Store) KeyCount() int { return s.index.count([]byte{0}, []byte{0}, s.Rev()) }
