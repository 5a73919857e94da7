package mvcc

import "unsafe"

// The key index stores each key once, as a string, and hands it out as a
// []byte without copying: a range of a million keys would otherwise copy
// a million keys. The bytes are shared, so nobody may modify them; every
// consumer of keyMeta.key (responses, events, deletes) only reads.

// bytesOf returns the bytes of s without copying them. They must not be
// modified.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// stringOf returns b as a string without copying it, for a lookup that
// does not keep the string past the time b stays unmodified.
func stringOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
