//go:build linux

package wal

import (
	"errors"
	"os"
	"syscall"
)

// preallocate reserves size bytes for f, extending it with zeros, so that
// the appends that fill it change neither the file's size nor its block
// map, and fdatasync writes the data alone. It is best effort: a file
// system out of room or without fallocate leaves the file to grow as
// written, which costs each sync a metadata write and nothing else.
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
