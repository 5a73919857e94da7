package storage

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// The engine-neutral snapshot format, written by SnapshotWriter and read by
// SnapshotReader. All integers are big-endian unless marked uvarint.
//
//	header   magic "MSSNAP\x00\x01" (8 bytes) | consistent index (uint64)
//	records  zero or more of
//	           'n' | uvarint length | namespace      (switches the namespace)
//	           'e' | uvarint length | key | uvarint length | value
//	trailer  'z' | entry count (uint64) | SHA-256 of every byte before it (32 bytes)
//
// An entry belongs to the namespace named by the last 'n' record before it.
// Engines write namespaces and keys in bytewise order, though a reader does
// not depend on it. The stream ends right after the trailer.
const (
	snapshotMagic = "MSSNAP\x00\x01"

	tagNamespace byte = 'n'
	tagEntry     byte = 'e'
	tagEnd       byte = 'z'
)

// Limits on a snapshot record; the reader treats anything larger as corrupt,
// so that a damaged length never makes it allocate without bound.
const (
	// SnapshotMaxNamespaceSize is the largest namespace name, in bytes.
	SnapshotMaxNamespaceSize = 1 << 10
	// SnapshotMaxKeySize is the largest key, in bytes.
	SnapshotMaxKeySize = 1 << 20
	// SnapshotMaxValueSize is the largest value, in bytes.
	SnapshotMaxValueSize = 1 << 30
)

// SnapshotWriter encodes a snapshot stream. It buffers a little and never
// holds more than one record. It is not safe for concurrent use.
type SnapshotWriter struct {
	bw      *bufio.Writer
	sum     hash.Hash
	out     io.Writer // bw and sum together
	ns      string
	hasNS   bool
	count   uint64
	written int64
	closed  bool
	err     error // sticky: the first write error
}

// NewSnapshotWriter starts a snapshot of a store whose consistent index is
// consistentIndex, written to w. Call Add for every entry, then Close. The
// writer never closes w.
func NewSnapshotWriter(w io.Writer, consistentIndex uint64) *SnapshotWriter {
	sw := &SnapshotWriter{bw: bufio.NewWriterSize(w, 64<<10), sum: sha256.New()}
	sw.out = io.MultiWriter(sw.bw, sw.sum)
	sw.write([]byte(snapshotMagic))
	sw.write(binary.BigEndian.AppendUint64(nil, consistentIndex))
	return sw
}

// Add appends one entry. It returns ErrInvalidRequest for an empty namespace
// or a record over the Snapshot size limits, and the write error of the
// underlying writer, if any; after an error the stream is unusable.
func (sw *SnapshotWriter) Add(namespace string, key, value []byte) error {
	if sw.closed {
		return fmt.Errorf("%w: snapshot writer closed", ErrInvalidRequest)
	}
	if err := checkRecord(namespace, key, value); err != nil {
		return err
	}
	if !sw.hasNS || namespace != sw.ns {
		sw.ns, sw.hasNS = namespace, true
		sw.write([]byte{tagNamespace})
		sw.writeBytes([]byte(namespace))
	}
	sw.write([]byte{tagEntry})
	sw.writeBytes(key)
	sw.writeBytes(value)
	sw.count++
	return sw.err
}

// Close writes the trailer and flushes. It does not close the underlying
// writer. Calling Close again returns the first result.
func (sw *SnapshotWriter) Close() error {
	if sw.closed {
		return sw.err
	}
	sw.closed = true
	sw.write([]byte{tagEnd})
	sw.write(binary.BigEndian.AppendUint64(nil, sw.count))
	sw.writeRaw(sw.sum.Sum(nil))
	if sw.err == nil {
		if err := sw.bw.Flush(); err != nil {
			sw.err = fmt.Errorf("storage: write snapshot: %w", err)
		}
	}
	return sw.err
}

// Count returns the number of entries added so far.
func (sw *SnapshotWriter) Count() uint64 { return sw.count }

// Written returns the number of bytes of the stream produced so far,
// including bytes still buffered.
func (sw *SnapshotWriter) Written() int64 { return sw.written }

func checkRecord(namespace string, key, value []byte) error {
	switch {
	case namespace == "":
		return fmt.Errorf("%w: empty namespace", ErrInvalidRequest)
	case len(namespace) > SnapshotMaxNamespaceSize:
		return fmt.Errorf("%w: namespace of %d bytes", ErrInvalidRequest, len(namespace))
	case len(key) > SnapshotMaxKeySize:
		return fmt.Errorf("%w: key of %d bytes", ErrInvalidRequest, len(key))
	case len(value) > SnapshotMaxValueSize:
		return fmt.Errorf("%w: value of %d bytes", ErrInvalidRequest, len(value))
	}
	return nil
}

// writeBytes writes a uvarint length then b.
func (sw *SnapshotWriter) writeBytes(b []byte) {
	sw.write(binary.AppendUvarint(nil, uint64(len(b))))
	sw.write(b)
}

// write writes p to the stream and into the checksum.
func (sw *SnapshotWriter) write(p []byte) {
	sw.emit(sw.out, p)
}

// writeRaw writes p to the stream only (the checksum itself).
func (sw *SnapshotWriter) writeRaw(p []byte) {
	sw.emit(sw.bw, p)
}

func (sw *SnapshotWriter) emit(w io.Writer, p []byte) {
	if sw.err != nil {
		return
	}
	n, err := w.Write(p)
	sw.written += int64(n)
	if err != nil {
		sw.err = fmt.Errorf("storage: write snapshot: %w", err)
	}
}
