package mvcc

import (
	"errors"
	"fmt"
)

// errRevisionNotFound is returned by keyIndex.tombstone for a key that is
// not live.
var errRevisionNotFound = errors.New("mvcc: revision not found")

// keyIndex holds every revision of one key that compaction has not removed,
// split into generations. A generation runs from a creation to the
// tombstone that deletes the key; the last generation is the current one
// and is empty when the key does not exist now.
//
// For example, put(1), put(2), tombstone(3), put(4), tombstone(5) gives
// {1,2,3(t)} {4,5(t)} {}.
//
// Most keys of a large store are live with one revision (created once, or
// compacted down to their latest revision), so a keyIndex has two forms,
// and the index holds one keyIndex per key: the compact form (hist nil)
// is that one live revision, held in the struct's own fields (64 bytes in
// all); the full form keeps the generations in hist. A put over a compact
// key or a delete turns it into the full form; a compaction that leaves one
// live revision turns it back.
type keyIndex struct {
	key string // shared, read-only, by every keyMeta of the key
	// mod is the latest revision of the key. In the compact form it is the
	// only one, created at created (main revision) with version ver and
	// lease; an empty keyIndex has a zero mod and no hist.
	mod     revision
	created int64
	ver     int64
	lease   int64
	hist    *keyHistory
}

// keyHistory is the full form of a keyIndex.
type keyHistory struct {
	generations []generation
}

// generation is one life of a key.
type generation struct {
	// ver counts every revision the generation ever had, including ones
	// compaction removed, so the version of revs[i] is
	// ver - (len(revs) - 1 - i).
	ver     int64
	created int64 // the main revision that created the key
	revs    []revision
	leases  []int64 // leases[i] is the lease attached by revs[i]; nil when all are 0
}

// leaseAt returns the lease attached by revs[i].
func (g *generation) leaseAt(i int) int64 {
	if g.leases == nil {
		return 0
	}
	return g.leases[i]
}

// keyMeta describes a key as seen at one revision, everything of its
// mvccpb.KeyValue but the value. key is shared with the index: read only.
type keyMeta struct {
	key     []byte
	mod     revision
	created int64
	version int64
	lease   int64
}

// expand turns ki into the full form (an empty ki gets no generation).
func (ki *keyIndex) expand() *keyHistory {
	if ki.hist != nil {
		return ki.hist
	}
	ki.hist = &keyHistory{}
	if ki.mod != (revision{}) {
		g := generation{ver: ki.ver, created: ki.created, revs: []revision{ki.mod}}
		if ki.lease != 0 {
			g.leases = []int64{ki.lease}
		}
		ki.hist.generations = []generation{g}
	}
	ki.created, ki.ver, ki.lease = 0, 0, 0
	return ki.hist
}

// shrink turns ki back into the compact form when its history is one live
// revision.
func (ki *keyIndex) shrink() {
	if ki.hist == nil || len(ki.hist.generations) != 1 || len(ki.hist.generations[0].revs) != 1 {
		return
	}
	g := &ki.hist.generations[0]
	ki.mod, ki.created, ki.ver, ki.lease = g.revs[0], g.created, g.ver, g.leaseAt(0)
	ki.hist = nil
}

// put appends rev, which must come after every revision the key has.
func (ki *keyIndex) put(rev revision, lease int64) {
	if !rev.greaterThan(ki.mod) {
		panic(fmt.Sprintf("mvcc: put of key %q at revision %v not after %v", ki.key, rev, ki.mod))
	}
	if ki.hist == nil && ki.mod == (revision{}) {
		ki.mod, ki.created, ki.ver, ki.lease = rev, rev.main, 1, lease
		return
	}
	h := ki.expand()
	if len(h.generations) == 0 {
		h.generations = append(h.generations, generation{})
	}
	g := &h.generations[len(h.generations)-1]
	if len(g.revs) == 0 {
		g.created = rev.main
	}
	if lease != 0 && g.leases == nil {
		g.leases = make([]int64, len(g.revs), len(g.revs)+1)
	}
	g.revs = append(g.revs, rev)
	if g.leases != nil {
		g.leases = append(g.leases, lease)
	}
	g.ver++
	ki.mod = rev
}

// restore starts an empty keyIndex from the oldest revision an engine holds
// for the key: a put created at created (main revision), of version ver.
func (ki *keyIndex) restore(created int64, modified revision, ver, lease int64) {
	ki.mod, ki.created, ki.ver, ki.lease, ki.hist = modified, created, ver, lease, nil
}

// restoreTombstone starts an empty keyIndex from a tombstone, the oldest
// revision an engine holds for the key.
func (ki *keyIndex) restoreTombstone(rev revision) {
	ki.mod, ki.created, ki.ver, ki.lease = rev, 0, 0, 0
	ki.hist = &keyHistory{generations: []generation{{ver: 1, revs: []revision{rev}}, {}}}
}

// tombstone ends the current generation at rev. It returns
// errRevisionNotFound when the key is not live.
func (ki *keyIndex) tombstone(rev revision) error {
	if ki.hist == nil && ki.mod == (revision{}) {
		return errRevisionNotFound
	}
	h := ki.expand()
	if len(h.generations) == 0 || len(h.generations[len(h.generations)-1].revs) == 0 {
		return errRevisionNotFound
	}
	ki.put(rev, 0)
	h.generations = append(h.generations, generation{})
	return nil
}

// get describes the key at atRev; ok is false when it was not live then.
func (ki *keyIndex) get(atRev int64) (m keyMeta, ok bool) {
	if ki.hist == nil {
		if ki.mod == (revision{}) || ki.mod.main > atRev {
			return keyMeta{}, false
		}
		return keyMeta{key: bytesOf(ki.key), mod: ki.mod, created: ki.created, version: ki.ver, lease: ki.lease}, true
	}
	g := ki.findGeneration(atRev)
	if g == nil {
		return keyMeta{}, false
	}
	for n := len(g.revs) - 1; n >= 0; n-- {
		if g.revs[n].main <= atRev {
			return keyMeta{
				key:     bytesOf(ki.key),
				mod:     g.revs[n],
				created: g.created,
				version: g.ver - int64(len(g.revs)-1-n),
				lease:   g.leaseAt(n),
			}, true
		}
	}
	return keyMeta{}, false
}

// liveAt reports whether the key existed at atRev, as get does, without
// describing it.
func (ki *keyIndex) liveAt(atRev int64) bool {
	if ki.hist == nil {
		return ki.mod != (revision{}) && ki.mod.main <= atRev
	}
	return ki.findGeneration(atRev) != nil
}

// findGeneration returns the generation of the full form live at rev, or
// nil when the key did not exist at rev.
func (ki *keyIndex) findGeneration(rev int64) *generation {
	gens := ki.hist.generations
	last := len(gens) - 1
	for i := last; i >= 0; i-- {
		g := &gens[i]
		if len(g.revs) == 0 {
			continue
		}
		if i != last && g.revs[len(g.revs)-1].main <= rev {
			return nil // deleted at or before rev
		}
		if g.revs[0].main <= rev {
			return g
		}
	}
	return nil
}

// compact drops every revision not needed to read at atRev or later and
// adds the revisions at or before atRev that stay to available. A
// tombstone at exactly atRev stays (as in etcd 3.6+, so that watchers
// starting at atRev see the delete) until a later compaction.
func (ki *keyIndex) compact(atRev int64, available map[revision]struct{}) {
	if ki.hist == nil {
		if ki.mod != (revision{}) && ki.mod.main <= atRev {
			available[ki.mod] = struct{}{}
		}
		return
	}
	genIdx, revIdx := ki.compactionPoint(atRev)
	h := ki.hist
	if revIdx != -1 {
		g := &h.generations[genIdx]
		available[g.revs[revIdx]] = struct{}{}
		g.revs = g.revs[revIdx:]
		if g.leases != nil {
			g.leases = g.leases[revIdx:]
		}
	}
	h.generations = h.generations[genIdx:]
	ki.shrink()
}

// keep adds to available the latest revision of the key at or before atRev
// unless it is a tombstone: the revision a compaction at atRev keeps.
func (ki *keyIndex) keep(atRev int64, available map[revision]struct{}) {
	if ki.isEmpty() {
		return
	}
	if ki.hist == nil {
		if ki.mod.main <= atRev {
			available[ki.mod] = struct{}{}
		}
		return
	}
	genIdx, revIdx := ki.compactionPoint(atRev)
	gens := ki.hist.generations
	g := &gens[genIdx]
	if revIdx == -1 || (revIdx == len(g.revs)-1 && genIdx != len(gens)-1) {
		return
	}
	available[g.revs[revIdx]] = struct{}{}
}

// compactionPoint finds, in the full form, the first generation a
// compaction at atRev keeps (the first one not deleted before atRev, nor
// followed by another created at or before atRev) and the index in it of
// the latest revision at or before atRev, -1 if there is none.
func (ki *keyIndex) compactionPoint(atRev int64) (genIdx, revIdx int) {
	gens := ki.hist.generations
	for genIdx < len(gens)-1 {
		tomb := gens[genIdx].revs[len(gens[genIdx].revs)-1]
		next := gens[genIdx+1].revs
		// One transaction may delete and re-create a key: then the
		// tombstone shares its main revision with the next generation.
		if tomb.main >= atRev && (len(next) == 0 || next[0].main > atRev) {
			break
		}
		genIdx++
	}
	g := &gens[genIdx]
	for revIdx = len(g.revs) - 1; revIdx >= 0; revIdx-- {
		if g.revs[revIdx].main <= atRev {
			break
		}
	}
	return genIdx, revIdx
}

// isEmpty reports whether the key has no revision left.
func (ki *keyIndex) isEmpty() bool {
	if ki.hist == nil {
		return ki.mod == (revision{})
	}
	gens := ki.hist.generations
	return len(gens) == 0 || (len(gens) == 1 && len(gens[0].revs) == 0)
}
