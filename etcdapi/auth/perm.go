package auth

import (
	"bytes"
	"sort"

	"go.etcd.io/etcd/api/v3/authpb"
)

// The permission cache: for every user, the key ranges its roles let it
// read and write, merged once per auth change so that a request's check is
// a scan of a short sorted list, never a walk over users and roles.
//
// Keys compare as in etcd's permission checks: an empty bound means "past
// every key", so a range end of "\x00" (every key from the start on) is
// stored as an empty end.

// keySpan is the half-open key interval [begin, end); an empty end is
// unbounded.
type keySpan struct{ begin, end []byte }

// compareBound orders interval bounds, an empty bound after every key.
func compareBound(a, b []byte) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	return bytes.Compare(a, b)
}

// intersects reports whether s and q share a key, by the same rule etcd's
// interval tree applies (so inverted query spans behave alike).
func (s keySpan) intersects(q keySpan) bool {
	left := compareBound(q.begin, s.begin) < 0 && compareBound(q.end, s.begin) <= 0
	right := compareBound(q.begin, s.end) >= 0
	return !left && !right
}

// pointSpan is the span of the single key k.
func pointSpan(k []byte) keySpan {
	return keySpan{begin: k, end: append(bytes.Clone(k), 0)}
}

// spanSet is a set of key spans sorted by begin.
type spanSet []keySpan

// covers reports whether the spans cover all of q without a gap.
func (ss spanSet) covers(q keySpan) bool {
	var minBegin, maxEnd []byte
	started := false
	for _, s := range ss {
		if !s.intersects(q) {
			continue
		}
		if !started {
			minBegin, maxEnd, started = s.begin, s.end, true
			continue
		}
		if compareBound(maxEnd, s.begin) < 0 {
			return false
		}
		if compareBound(s.end, maxEnd) > 0 {
			maxEnd = s.end
		}
	}
	return started && compareBound(maxEnd, q.end) >= 0 && compareBound(minBegin, q.begin) <= 0
}

// touches reports whether some span holds key k.
func (ss spanSet) touches(k []byte) bool {
	p := pointSpan(k)
	for _, s := range ss {
		if s.intersects(p) {
			return true
		}
	}
	return false
}

// userPerms are the merged permissions of one user.
type userPerms struct {
	read, write spanSet
}

// mergePerms merges the key permissions of roles.
func mergePerms(roles []*authpb.Role) *userPerms {
	p := &userPerms{}
	for _, role := range roles {
		for _, perm := range role.KeyPermission {
			span := permSpan(perm)
			switch perm.PermType {
			case authpb.Permission_READWRITE:
				p.read = append(p.read, span)
				p.write = append(p.write, span)
			case authpb.Permission_READ:
				p.read = append(p.read, span)
			case authpb.Permission_WRITE:
				p.write = append(p.write, span)
			}
		}
	}
	sortSpans(p.read)
	sortSpans(p.write)
	return p
}

func sortSpans(ss spanSet) {
	sort.SliceStable(ss, func(i, j int) bool {
		if c := compareBound(ss[i].begin, ss[j].begin); c != 0 {
			return c < 0
		}
		return compareBound(ss[i].end, ss[j].end) < 0
	})
}

// permSpan is the span a granted permission covers: one key without a
// range end, every key from Key on with "\x00".
func permSpan(p *authpb.Permission) keySpan {
	switch {
	case len(p.RangeEnd) == 0:
		return pointSpan(p.Key)
	case isOpenEnded(p.RangeEnd):
		return keySpan{begin: p.Key}
	}
	return keySpan{begin: p.Key, end: p.RangeEnd}
}

func isOpenEnded(rangeEnd []byte) bool { return len(rangeEnd) == 1 && rangeEnd[0] == 0 }

// allows reports whether the permissions let a request of type typ touch
// key (with no range end) or the range [key, rangeEnd).
func (p *userPerms) allows(key, rangeEnd []byte, typ authpb.Permission_Type) bool {
	spans := p.read
	if typ == authpb.Permission_WRITE {
		spans = p.write
	}
	if len(rangeEnd) == 0 {
		return spans.touches(key)
	}
	if isOpenEnded(rangeEnd) {
		rangeEnd = nil
	}
	return spans.covers(keySpan{begin: key, end: rangeEnd})
}

// validPermRange reports whether a permission may be granted on key and
// rangeEnd: a key, and no end, an end after it, or the open end "\x00".
func validPermRange(key, rangeEnd []byte) bool {
	if len(key) == 0 {
		return false
	}
	if len(rangeEnd) == 0 || compareBound(key, rangeEnd) < 0 {
		return true
	}
	return isOpenEnded(rangeEnd)
}
