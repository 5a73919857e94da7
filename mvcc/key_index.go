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
type keyIndex struct {
	key         []byte
	modified    revision // the latest revision of the key
	generations []generation
}

// generation is one life of a key.
type generation struct {
	// ver counts every revision the generation ever had, including ones
	// compaction removed, so the version of revs[i] is
	// ver - (len(revs) - 1 - i).
	ver     int64
	created revision // the revision that created the key
	revs    []revision
	leases  []int64 // leases[i] is the lease attached by revs[i]
}

// keyMeta describes a key as seen at one revision, everything of its
// mvccpb.KeyValue but the value.
type keyMeta struct {
	key     []byte
	mod     revision
	created int64
	version int64
	lease   int64
}

// put appends rev, which must come after every revision the key has.
func (ki *keyIndex) put(rev revision, lease int64) {
	if !rev.greaterThan(ki.modified) {
		panic(fmt.Sprintf("mvcc: put of key %q at revision %v not after %v", ki.key, rev, ki.modified))
	}
	if len(ki.generations) == 0 {
		ki.generations = append(ki.generations, generation{})
	}
	g := &ki.generations[len(ki.generations)-1]
	if len(g.revs) == 0 {
		g.created = rev
	}
	g.revs = append(g.revs, rev)
	g.leases = append(g.leases, lease)
	g.ver++
	ki.modified = rev
}

// restore starts an empty keyIndex from the oldest revision an engine holds
// for the key: a put created at created, of version ver.
func (ki *keyIndex) restore(created, modified revision, ver, lease int64) {
	ki.modified = modified
	ki.generations = append(ki.generations[:0], generation{
		ver: ver, created: created, revs: []revision{modified}, leases: []int64{lease},
	})
}

// restoreTombstone starts an empty keyIndex from a tombstone, the oldest
// revision an engine holds for the key.
func (ki *keyIndex) restoreTombstone(rev revision) {
	ki.restore(revision{}, rev, 1, 0)
	ki.generations = append(ki.generations, generation{})
}

// tombstone ends the current generation at rev. It returns
// errRevisionNotFound when the key is not live.
func (ki *keyIndex) tombstone(rev revision) error {
	if len(ki.generations) == 0 || len(ki.generations[len(ki.generations)-1].revs) == 0 {
		return errRevisionNotFound
	}
	ki.put(rev, 0)
	ki.generations = append(ki.generations, generation{})
	return nil
}

// get describes the key at atRev; ok is false when it was not live then.
func (ki *keyIndex) get(atRev int64) (m keyMeta, ok bool) {
	g := ki.findGeneration(atRev)
	if g == nil {
		return keyMeta{}, false
	}
	for n := len(g.revs) - 1; n >= 0; n-- {
		if g.revs[n].main <= atRev {
			return keyMeta{
				key:     ki.key,
				mod:     g.revs[n],
				created: g.created.main,
				version: g.ver - int64(len(g.revs)-1-n),
				lease:   g.leases[n],
			}, true
		}
	}
	return keyMeta{}, false
}

// findGeneration returns the generation live at rev, or nil when the key
// did not exist at rev.
func (ki *keyIndex) findGeneration(rev int64) *generation {
	last := len(ki.generations) - 1
	for i := last; i >= 0; i-- {
		g := &ki.generations[i]
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
	genIdx, revIdx := ki.compactionPoint(atRev)
	if revIdx != -1 {
		g := &ki.generations[genIdx]
		available[g.revs[revIdx]] = struct{}{}
		g.revs = g.revs[revIdx:]
		g.leases = g.leases[revIdx:]
	}
	ki.generations = ki.generations[genIdx:]
}

// keep adds to available the latest revision of the key at or before atRev
// unless it is a tombstone: the revision a compaction at atRev keeps.
func (ki *keyIndex) keep(atRev int64, available map[revision]struct{}) {
	if ki.isEmpty() {
		return
	}
	genIdx, revIdx := ki.compactionPoint(atRev)
	g := &ki.generations[genIdx]
	if revIdx == -1 || (revIdx == len(g.revs)-1 && genIdx != len(ki.generations)-1) {
		return
	}
	available[g.revs[revIdx]] = struct{}{}
}

// compactionPoint finds the first generation a compaction at atRev keeps
// (the first one not deleted before atRev, nor followed by another created
// at or before atRev) and the index in it of the latest revision at or
// before atRev, -1 if there is none.
func (ki *keyIndex) compactionPoint(atRev int64) (genIdx, revIdx int) {
	for genIdx < len(ki.generations)-1 {
		tomb := ki.generations[genIdx].revs[len(ki.generations[genIdx].revs)-1]
		next := ki.generations[genIdx+1].revs
		// One transaction may delete and re-create a key: then the
		// tombstone shares its main revision with the next generation.
		if tomb.main >= atRev && (len(next) == 0 || next[0].main > atRev) {
			break
		}
		genIdx++
	}
	g := &ki.generations[genIdx]
	for revIdx = len(g.revs) - 1; revIdx >= 0; revIdx-- {
		if g.revs[revIdx].main <= atRev {
			break
		}
	}
	return genIdx, revIdx
}

// isEmpty reports whether the key has no revision left.
func (ki *keyIndex) isEmpty() bool {
	return len(ki.generations) == 0 ||
		(len(ki.generations) == 1 && len(ki.generations[0].revs) == 0)
}
