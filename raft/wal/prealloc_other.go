//go:build !linux

package wal

import "os"

// preallocate does nothing here: segments grow as written.
func preallocate(*os.File, int64) {}

// syncData makes f's data durable.
func syncData(f *os.File) error { return f.Sync() }

// writesZerosAhead is whether zeroAhead writes anything here.
const writesZerosAhead = false

// zeroAhead does nothing here: segments are not preallocated.
func zeroAhead(*os.File, int64, int64) error { return nil }
