// Package wal is MetaStore's raft write-ahead log: the durable home of raft's
// HardState, log entries and snapshot markers for one member.
//
// A WAL is a directory of segment files named "<seq>-<firstindex>.wal" (both
// 16 hex digits), where seq counts segments from 1 and firstindex is the index
// the first entry written to the segment was expected to have. A new segment
// is cut once the current one passes Options.SegmentSize (64 MiB by default).
// Every segment starts with a header of self-describing records: the member
// metadata, the latest snapshot marker and the latest HardState, so segments
// wholly covered by a snapshot can be removed (ReleaseTo) without losing state.
//
// Each record is
//
//	[length u32 LE][crc32c u32 LE][type u8][payload: length bytes]
//
// where the CRC covers the type byte and the payload. Record types are
// metadata (member and cluster id), entry (a marshalled raftpb.Entry),
// hardstate (a marshalled raftpb.HardState) and snapshot (a marshalled
// raftpb.SnapshotMetadata: index, term and ConfState; the state itself lives
// in the storage engine).
//
// A segment is preallocated to Options.SegmentSize when it is created
// (fallocate, where the file system has it and room), so appends within it
// do not change the file's size, and each sync is an fdatasync, as etcd
// does. Preallocated blocks are unwritten ones, which the first write
// into each converts, so the WAL also writes zeros a megabyte ahead of
// its records, after an fsync: the records then overwrite written blocks,
// whose fdatasync has no conversion to record (BenchmarkSyncAfterAppend).
// The records of a segment end at its first all-zero byte run: zero is no
// record type.
//
// Reading replays records in order. An entry whose index is at or below an
// earlier one replaces that entry and everything after it, because raft may
// rewrite an uncommitted tail. A snapshot marker discards the entries it
// covers.
//
// Crash recovery: Open repairs a torn tail, that is an incomplete last
// record of the last segment with nothing valid after it, by truncating it
// away and logging a warning that names the segment; such a record was never
// acknowledged as durable. A record is incomplete when the segment ends
// inside it, or when its checksum or type is wrong and a sector's worth of
// its payload is still zeros, as etcd's WAL decides: disks write whole
// sectors, so a record written whole and damaged since (a flipped bit) is
// no torn write. Any other damage is an error wrapping ErrCorrupt that names
// the segment and offset; nothing is dropped silently.
//
// A write or fsync that fails is final: the WAL never writes or syncs
// again (every later call answers ErrFailed), and Close closes the segment
// without syncing it. After a failed fsync the kernel may have dropped the
// pages that failed, so a second fsync proves nothing; the owner must stop,
// as etcd does, and a later Open replays what reached the disk.
//
// Package wal imports no other MetaStore package.
package wal
