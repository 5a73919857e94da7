package wal

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSyncAfterAppend appends 6 KB (a batch of proposals under load)
// and fdatasyncs it, into a preallocated segment and into one whose blocks
// zeros were written to first, as zeroAhead keeps them. It reports the
// CPU of each append and sync beside its time.
//
//	go test ./raft/wal -run XXX -bench SyncAfterAppend
func BenchmarkSyncAfterAppend(b *testing.B) {
	const size = 64 << 20
	for _, c := range []struct {
		name    string
		prepare func(*os.File) error
	}{
		{"preallocated", func(f *os.File) error { preallocate(f, size); return nil }},
		{"zeroed", func(f *os.File) error { preallocate(f, size); return writeZeros(f, 0, size) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "segment"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := c.prepare(f); err != nil {
				b.Fatal(err)
			}
			if err := syncData(f); err != nil {
				b.Fatal(err)
			}
			rec := make([]byte, 6000)
			var before, after syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := int64(i*len(rec)) % (size - int64(len(rec)))
				if _, err := f.WriteAt(rec, off); err != nil {
					b.Fatal(err)
				}
				if err := syncData(f); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() - before.Utime.Nano() + after.Stime.Nano() - before.Stime.Nano())
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
