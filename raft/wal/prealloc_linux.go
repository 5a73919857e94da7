//go:build linux

package wal

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// preallocate reserves size bytes for f, extending it with zeros, so that
// the appends that fill it change neither the file's size nor its
// allocation. It is best effort: a file system out of room or without
// fallocate leaves the file to grow as written, which costs each sync a
// metadata write and nothing else. The reserved blocks are still marked
// unwritten (ext4, XFS): the first write into each converts it, a change
// of metadata that the next fdatasync must commit to the journal; see
// WAL.zeroAhead.
func preallocate(f *os.File, size int64) {
	if size > 0 {
		_ = syscall.Fallocate(int(f.Fd()), 0, 0, size)
	}
}

// syncData makes f's data durable with fdatasync: the data and the
// metadata needed to read it back, not the modification time.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// writesZeros is whether writeZeros writes anything here.
const writesZeros = true

// zeroChunk is what writeZeros writes: zeros in the binary's zero-filled
// data, never touched, so they take no memory of their own.
var zeroChunk [256 << 10]byte

// writeZeros writes n zero bytes at off and starts, without waiting for
// it, their writeback, so that the blocks the next records go to are
// written ones: overwriting them changes no metadata, and an fdatasync
// of records written there writes those records and the disk's cache
// flush alone, without a journal commit. PostgreSQL zero-fills its WAL
// segments for the same reason.
func writeZeros(f *os.File, off, n int64) error {
	for done := int64(0); done < n; {
		k := min(n-done, int64(len(zeroChunk)))
		if _, err := f.WriteAt(zeroChunk[:k], off+done); err != nil {
			return err
		}
		done += k
	}
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
