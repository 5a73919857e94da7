package mvcc

import (
	"bytes"
	"slices"
)

// keyTree is the index's ordered map from key to keyIndex: a B+tree whose
// leaves hold the keyIndex records themselves, in arrays, with their keys in
// a keyArena. A million keys are then some twenty thousand leaves the
// garbage collector does not scan, where a tree of pointers to records
// and strings is two million objects it visits on every cycle.
//
// Removing a key only takes its record out of its leaf: leaves are never
// merged, so one may be left empty, and the separators above it stay
// valid bounds. When more records were removed than remain, repack
// rebuilds the tree dense, with its keys in a new arena.
//
// The leaves' records hold no pointer: the few keys with more than one
// revision keep their history in hists, by number.
//
// A keyTree is not safe for concurrent use; treeIndex guards it. A
// *keyIndex it returns points into a leaf and is valid until the tree next
// changes.
type keyTree struct {
	arena *keyArena
	hists histories // the full forms of the records
	root  *treeNode
	first *treeNode // the leftmost leaf
	len   int       // records in the tree
	dead  int       // records removed since the arena was last rebuilt
}

const (
	// leafCap is how many records a leaf holds; it holds one more while it
	// splits. 73 records of 56 bytes fill the 4096-byte allocation size
	// class.
	leafCap = 72
	// innerCap is how many children an inner node holds.
	innerCap = 64
	// maxDepth bounds the tree's height: 64^10 records is beyond memory.
	maxDepth = 10
)

// treeNode is a leaf (items, next) or an inner node (kids, seps).
type treeNode struct {
	items []keyIndex // a leaf's records, in key order
	next  *treeNode  // the next leaf in key order
	kids  []*treeNode
	// seps[i] is no greater than any key under kids[i+1] and greater than
	// every key under kids[i].
	seps []keyRef
}

func (n *treeNode) isLeaf() bool { return n.kids == nil }

// treePos is a position between records: before l.items[i], or, when i is
// len(l.items), before the first record of the leaves after l.
type treePos struct {
	l *treeNode
	i int
}

func newKeyTree() *keyTree {
	l := &treeNode{}
	return &keyTree{arena: newKeyArena(), root: l, first: l}
}

// key returns the key of a record of the tree. It must not be modified.
func (t *keyTree) key(ki *keyIndex) []byte { return t.arena.key(ki.kref) }

// child returns the index of the child of inner node n that holds key if
// the tree does.
func (t *keyTree) child(n *treeNode, key []byte) int {
	lo, hi := 0, len(n.seps)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.arena.key(n.seps[m]), key) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// search returns the index in leaf l of the first record whose key is not
// less than key, and whether that record's key is key.
func (t *keyTree) search(l *treeNode, key []byte) (int, bool) {
	lo, hi := 0, len(l.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.arena.key(l.items[m].kref), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(l.items) && bytes.Equal(t.arena.key(l.items[lo].kref), key)
}

// leafFor returns the leaf that holds key if the tree does.
func (t *keyTree) leafFor(key []byte) *treeNode {
	n := t.root
	for !n.isLeaf() {
		n = n.kids[t.child(n, key)]
	}
	return n
}

// get returns key's record, or nil.
func (t *keyTree) get(key []byte) *keyIndex {
	l := t.leafFor(key)
	if i, ok := t.search(l, key); ok {
		return &l.items[i]
	}
	return nil
}

// put returns key's record, adding an empty one that owns a copy of key
// when the tree has none; added tells which.
func (t *keyTree) put(key []byte) (ki *keyIndex, added bool) {
	var path [maxDepth]treePos
	depth := 0
	n := t.root
	for !n.isLeaf() {
		i := t.child(n, key)
		path[depth] = treePos{n, i}
		depth++
		n = n.kids[i]
	}
	i, ok := t.search(n, key)
	if ok {
		return &n.items[i], false
	}
	n.items = slices.Insert(n.items, i, keyIndex{kref: t.arena.add(key)})
	t.len++
	if len(n.items) <= leafCap {
		return &n.items[i], true
	}
	if depth > 0 {
		if ki := t.shift(path[depth-1], i); ki != nil {
			return ki, true
		}
	}
	// Split the leaf in two halves, or, when the record went to its end
	// (keys added in order), keep it full and start the next one.
	mid := len(n.items) / 2
	if i == len(n.items)-1 {
		mid = leafCap
	}
	right := &treeNode{items: make([]keyIndex, len(n.items)-mid, leafCap+1), next: n.next}
	copy(right.items, n.items[mid:])
	clear(n.items[mid:])
	n.items, n.next = n.items[:mid], right
	if i < mid {
		ki = &n.items[i]
	} else {
		ki = &right.items[i-mid]
	}
	t.grow(path[:depth], right, right.items[0].kref)
	return ki, true
}

// shift makes room in the overfull leaf p.l.kids[p.i], whose record i was
// just added, by moving records to a sibling under the same parent with
// room for them, first the left one; it returns where record i is then,
// or nil when neither sibling has room. Leaves split in halves are filled
// so, rather than left half empty: keys added in an order that is
// increasing but not strictly (many clients writing sequential keys) would
// otherwise leave every leaf behind the last half full, and random keys
// leave leaves a third empty on average.
func (t *keyTree) shift(p treePos, i int) *keyIndex {
	parent, at := p.l, p.i
	n := parent.kids[at]
	if at > 0 {
		left := parent.kids[at-1]
		if room := leafCap - len(left.items); room > 0 {
			m := (room + 1) / 2
			left.items = append(left.items, n.items[:m]...)
			n.items = slices.Delete(n.items, 0, m)
			parent.seps[at-1] = n.items[0].kref
			if i < m {
				return &left.items[len(left.items)-m+i]
			}
			return &n.items[i-m]
		}
	}
	if at+1 < len(parent.kids) {
		right := parent.kids[at+1]
		if room := leafCap - len(right.items); room > 0 {
			m := (room + 1) / 2
			keep := len(n.items) - m
			right.items = slices.Insert(right.items, 0, n.items[keep:]...)
			clear(n.items[keep:])
			n.items = n.items[:keep]
			parent.seps[at] = right.items[0].kref
			if i >= keep {
				return &right.items[i-keep]
			}
			return &n.items[i]
		}
	}
	return nil
}

// grow adds right, split from path's last node, beside it in its parent
// with sep as its bound, splitting parents that overflow in turn.
func (t *keyTree) grow(path []treePos, right *treeNode, sep keyRef) {
	for d := len(path) - 1; d >= 0; d-- {
		p, i := path[d].l, path[d].i
		p.kids = slices.Insert(p.kids, i+1, right)
		p.seps = slices.Insert(p.seps, i, sep)
		if len(p.kids) <= innerCap {
			return
		}
		mid := len(p.kids) / 2
		if i+1 == len(p.kids)-1 {
			mid = innerCap
		}
		right = &treeNode{
			kids: append(make([]*treeNode, 0, innerCap+1), p.kids[mid:]...),
			seps: append(make([]keyRef, 0, innerCap), p.seps[mid:]...),
		}
		sep = p.seps[mid-1]
		clear(p.kids[mid:])
		p.kids, p.seps = p.kids[:mid], p.seps[:mid-1]
	}
	t.root = &treeNode{kids: []*treeNode{t.root, right}, seps: []keyRef{sep}}
}

// delete removes key's record and reports whether there was one.
func (t *keyTree) delete(key []byte) bool {
	l := t.leafFor(key)
	i, ok := t.search(l, key)
	if !ok {
		return false
	}
	t.hists.detach(&l.items[i])
	l.items = slices.Delete(l.items, i, i+1)
	t.len--
	t.dead++
	return true
}

// seek returns the position before the first record whose key is not less
// than key.
func (t *keyTree) seek(key []byte) treePos {
	l := t.leafFor(key)
	i, _ := t.search(l, key)
	return treePos{l, i}
}

// start returns the position before the first record.
func (t *keyTree) start() treePos { return treePos{t.first, 0} }

// walk calls fn with each record from p on, in key order, until fn
// returns false or the walk reaches stop (a zero stop: the end). stop must
// not come before p. fn must not change the tree.
func (t *keyTree) walk(p, stop treePos, fn func(*keyIndex) bool) {
	for l, i := p.l, p.i; l != nil; l, i = l.next, 0 {
		for ; i < len(l.items); i++ {
			if l == stop.l && i == stop.i {
				return
			}
			if !fn(&l.items[i]) {
				return
			}
		}
		if l == stop.l {
			return
		}
	}
}

// needsRepack reports whether removed records (and the bytes of their
// keys) outnumber the live ones.
func (t *keyTree) needsRepack() bool { return t.dead >= 1024 && t.dead > t.len }

// repack rebuilds the tree with full leaves and its keys in a new arena.
// Keys handed out before stay valid: they keep the old arena's chunks.
func (t *keyTree) repack() {
	arena := newKeyArena()
	leaf := &treeNode{items: make([]keyIndex, 0, leafCap+1)}
	leaves := []*treeNode{leaf}
	t.walk(t.start(), treePos{}, func(ki *keyIndex) bool {
		if len(leaf.items) == leafCap {
			leaf.next = &treeNode{items: make([]keyIndex, 0, leafCap+1)}
			leaf = leaf.next
			leaves = append(leaves, leaf)
		}
		rec := *ki
		rec.kref = arena.add(t.key(ki))
		leaf.items = append(leaf.items, rec)
		return true
	})
	level := leaves
	mins := make([]keyRef, len(leaves))
	for i, l := range leaves {
		if len(l.items) > 0 {
			mins[i] = l.items[0].kref
		}
	}
	for len(level) > 1 {
		var up []*treeNode
		var upMins []keyRef
		for s := 0; s < len(level); s += innerCap {
			e := min(s+innerCap, len(level))
			up = append(up, &treeNode{
				kids: append(make([]*treeNode, 0, innerCap+1), level[s:e]...),
				seps: append(make([]keyRef, 0, innerCap), mins[s+1:e]...),
			})
			upMins = append(upMins, mins[s])
		}
		level, mins = up, upMins
	}
	t.arena, t.root, t.first, t.dead = arena, level[0], leaves[0], 0
}
