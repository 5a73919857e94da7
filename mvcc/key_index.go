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
// compacted down to their latest revision), so a keyIndex has two forms:
// the compact form (no hist) is that one live revision, held in the
// struct's own fields; the full form keeps the generations in a
// keyHistory that hist names in the tree's histories. A put over a compact
// key or a delete turns it into the full form; a compaction that leaves
// one live revision turns it back.
//
// A keyIndex holds no pointer (its key's bytes are in the tree's arena),
// so the leaves of the keyTree, arrays of them, are memory the garbage
// collector never scans. Every method that may reach the full form takes
// the histories it lives in.
type keyIndex struct {
	kref keyRef  // where the key's bytes are in the tree's arena
	hist histRef // the full form, or none
	// mod is the latest revision of the key. In the compact form it is the
	// only one, created at created (main revision) with version ver and
	// lease; an empty keyIndex has a zero mod and no hist.
	mod     revision
	created int64
	ver     int64
	lease   int64
}

// keyHistory is the full form of a keyIndex.
type keyHistory struct {
	generations []generation
}

// histRef names a keyHistory in a histories table; 0 names none.
type histRef uint32

// histories holds the full forms of a tree's keys, named by histRef, and
// reuses the names of the ones dropped.
type histories struct {
	all  []*keyHistory // all[r-1] is the history r names
	free []histRef
}

// of returns ki's full form, or nil in the compact form.
func (hs *histories) of(ki *keyIndex) *keyHistory {
	if ki.hist == 0 {
		return nil
	}
	return hs.all[ki.hist-1]
}

// attach gives ki the full form h.
func (hs *histories) attach(ki *keyIndex, h *keyHistory) {
	if n := len(hs.free); n > 0 {
		ki.hist = hs.free[n-1]
		hs.free = hs.free[:n-1]
		hs.all[ki.hist-1] = h
		return
	}
	hs.all = append(hs.all, h)
	ki.hist = histRef(len(hs.all))
}

// detach drops ki's full form, if any.
func (hs *histories) detach(ki *keyIndex) {
	if ki.hist == 0 {
		return
	}
	hs.all[ki.hist-1] = nil
	hs.free = append(hs.free, ki.hist)
	ki.hist = 0
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
// mvccpb.KeyValue but the value. key is shared with the index's arena:
// read only.
type keyMeta struct {
	key     []byte
	mod     revision
	created int64
	version int64
	lease   int64
}

// expand turns ki into the full form (an empty ki gets no generation).
func (ki *keyIndex) expand(hs *histories) *keyHistory {
	if h := hs.of(ki); h != nil {
		return h
	}
	h := &keyHistory{}
	if ki.mod != (revision{}) {
		g := generation{ver: ki.ver, created: ki.created, revs: []revision{ki.mod}}
		if ki.lease != 0 {
			g.leases = []int64{ki.lease}
		}
		h.generations = []generation{g}
	}
	ki.created, ki.ver, ki.lease = 0, 0, 0
	hs.attach(ki, h)
	return h
}

// shrink turns ki back into the compact form when its history is one live
// revision.
func (ki *keyIndex) shrink(hs *histories) {
	h := hs.of(ki)
	if h == nil || len(h.generations) != 1 || len(h.generations[0].revs) != 1 {
		return
	}
	g := &h.generations[0]
	ki.mod, ki.created, ki.ver, ki.lease = g.revs[0], g.created, g.ver, g.leaseAt(0)
	hs.detach(ki)
}

// put appends rev, which must come after every revision the key has.
func (ki *keyIndex) put(hs *histories, rev revision, lease int64) {
	if !rev.greaterThan(ki.mod) {
		panic(fmt.Sprintf("mvcc: put at revision %v not after %v", rev, ki.mod))
	}
	if ki.hist == 0 && ki.mod == (revision{}) {
		ki.mod, ki.created, ki.ver, ki.lease = rev, rev.main, 1, lease
		return
	}
	h := ki.expand(hs)
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
func (ki *keyIndex) restore(hs *histories, created int64, modified revision, ver, lease int64) {
	hs.detach(ki)
	ki.mod, ki.created, ki.ver, ki.lease = modified, created, ver, lease
}

// restoreTombstone starts an empty keyIndex from a tombstone, the oldest
// revision an engine holds for the key.
func (ki *keyIndex) restoreTombstone(hs *histories, rev revision) {
	hs.detach(ki)
	ki.mod, ki.created, ki.ver, ki.lease = rev, 0, 0, 0
	hs.attach(ki, &keyHistory{generations: []generation{{ver: 1, revs: []revision{rev}}, {}}})
}

// tombstone ends the current generation at rev. It returns
// errRevisionNotFound when the key is not live.
func (ki *keyIndex) tombstone(hs *histories, rev revision) error {
	if ki.hist == 0 && ki.mod == (revision{}) {
		return errRevisionNotFound
	}
	h := ki.expand(hs)
	if len(h.generations) == 0 || len(h.generations[len(h.generations)-1].revs) == 0 {
		return errRevisionNotFound
	}
	ki.put(hs, rev, 0)
	h.generations = append(h.generations, generation{})
	return nil
}

// get describes the key at atRev, all but the key's bytes, which the tree
// holds; ok is false when it was not live then.
func (ki *keyIndex) get(hs *histories, atRev int64) (m keyMeta, ok bool) {
	if ki.hist == 0 {
		if ki.mod == (revision{}) || ki.mod.main > atRev {
			return keyMeta{}, false
		}
		return keyMeta{mod: ki.mod, created: ki.created, version: ki.ver, lease: ki.lease}, true
	}
	g := hs.of(ki).findGeneration(atRev)
	if g == nil {
		return keyMeta{}, false
	}
	for n := len(g.revs) - 1; n >= 0; n-- {
		if g.revs[n].main <= atRev {
			return keyMeta{
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
func (ki *keyIndex) liveAt(hs *histories, atRev int64) bool {
	if ki.hist == 0 {
		return ki.mod != (revision{}) && ki.mod.main <= atRev
	}
	return hs.of(ki).findGeneration(atRev) != nil
}

// findGeneration returns the generation live at rev, or nil when the key
// did not exist at rev.
func (h *keyHistory) findGeneration(rev int64) *generation {
	gens := h.generations
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
// starting at atRev see the delete) until a later compaction. A key left
// with no revision becomes an empty compact keyIndex.
func (ki *keyIndex) compact(hs *histories, atRev int64, available map[revision]struct{}) {
	h := hs.of(ki)
	if h == nil {
		if ki.mod != (revision{}) && ki.mod.main <= atRev {
			available[ki.mod] = struct{}{}
		}
		return
	}
	genIdx, revIdx := h.compactionPoint(atRev)
	if revIdx != -1 {
		g := &h.generations[genIdx]
		available[g.revs[revIdx]] = struct{}{}
		g.revs = g.revs[revIdx:]
		if g.leases != nil {
			g.leases = g.leases[revIdx:]
		}
	}
	h.generations = h.generations[genIdx:]
	if h.isEmpty() {
		hs.detach(ki)
		*ki = keyIndex{kref: ki.kref}
		return
	}
	ki.shrink(hs)
}

// keep adds to available the latest revision of the key at or before atRev
// unless it is a tombstone: the revision a compaction at atRev keeps.
func (ki *keyIndex) keep(hs *histories, atRev int64, available map[revision]struct{}) {
	h := hs.of(ki)
	if h == nil {
		if ki.mod != (revision{}) && ki.mod.main <= atRev {
			available[ki.mod] = struct{}{}
		}
		return
	}
	if h.isEmpty() {
		return
	}
	genIdx, revIdx := h.compactionPoint(atRev)
	gens := h.generations
	g := &gens[genIdx]
	if revIdx == -1 || (revIdx == len(g.revs)-1 && genIdx != len(gens)-1) {
		return
	}
	available[g.revs[revIdx]] = struct{}{}
}

// compactionPoint finds the first generation a compaction at atRev keeps
// (the first one not deleted before atRev, nor followed by another created
// at or before atRev) and the index in it of the latest revision at or
// before atRev, -1 if there is none.
func (h *keyHistory) compactionPoint(atRev int64) (genIdx, revIdx int) {
	gens := h.generations
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
func (ki *keyIndex) isEmpty(hs *histories) bool {
	if h := hs.of(ki); h != nil {
		return h.isEmpty()
	}
	return ki.mod == (revision{})
}

// isEmpty reports whether the history has no revision left.
func (h *keyHistory) isEmpty() bool {
	gens := h.generations
	return len(gens) == 0 || (len(gens) == 1 && len(gens[0].revs) == 0)
}
