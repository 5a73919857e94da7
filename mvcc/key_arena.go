package mvcc

// keyArena holds the bytes of the index's keys in large append-only chunks,
// so that a million keys are a few hundred allocations the garbage
// collector never scans, instead of a million small strings it must visit
// on every cycle. A keyRef locates a key in it without a pointer, so the
// index records that hold one are not scanned either.
//
// Bytes once written are never modified nor reused: the index hands them
// out as the keys of responses and events, which may outlive the key's
// removal from the index. Space freed by removed keys is won back only by
// copying the live keys into a new arena (keyTree.repack); slices handed
// out before keep the old chunks alive until they are dropped.
type keyArena struct {
	chunks [][]byte
	cur    int // the chunk small keys are appended to, -1 before the first
	bytes  int // bytes written in all
}

// keyRef locates a key's bytes in a keyArena.
type keyRef struct {
	chunk, off, n uint32
}

const (
	// firstChunk is the size of an arena's first chunk; each next one
	// doubles, up to maxChunk, so that a small store stays small.
	firstChunk = 1 << 10
	maxChunk   = 64 << 10
	// ownChunk is the size from which a key gets a chunk of its own
	// instead of wasting the end of a shared one.
	ownChunk = maxChunk / 8
)

func newKeyArena() *keyArena { return &keyArena{cur: -1} }

// add copies key into the arena and returns where it is.
func (a *keyArena) add(key []byte) keyRef {
	a.bytes += len(key)
	if len(key) >= ownChunk {
		a.chunks = append(a.chunks, append([]byte(nil), key...))
		return keyRef{chunk: uint32(len(a.chunks) - 1), n: uint32(len(key))}
	}
	if a.cur < 0 || cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < len(key) {
		size := firstChunk
		if a.cur >= 0 {
			size = min(2*cap(a.chunks[a.cur]), maxChunk)
		}
		a.chunks = append(a.chunks, make([]byte, 0, size))
		a.cur = len(a.chunks) - 1
	}
	c := a.chunks[a.cur]
	off := len(c)
	a.chunks[a.cur] = append(c, key...)
	return keyRef{chunk: uint32(a.cur), off: uint32(off), n: uint32(len(key))}
}

// key returns the bytes r locates, capped so that an append to them copies.
// They must not be modified.
func (a *keyArena) key(r keyRef) []byte {
	c := a.chunks[r.chunk]
	return c[r.off : r.off+r.n : r.off+r.n]
}
