//go:build !linux

package wal

import "os"

// preallocate does nothing here: segments grow as written.
func preallocate(*os.File, int64) {}

// syncData makes f's data durable.
func syncData(f *os.File) error { return f.Sync() }

// writesZeros is whether writeZeros writes anything here.
const writesZeros = false

// writeZeros is never called here: segments are not preallocated.
func writeZeros(*os.File, int64, int64) error { return nil }
