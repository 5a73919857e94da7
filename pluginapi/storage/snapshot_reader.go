package storage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
)

// readChunk bounds each allocation step while reading a long record, so a
// damaged length in a short stream fails on the missing bytes before the
// reader allocates anything near the claimed size.
const readChunk = 64 << 10

// SnapshotReader decodes a snapshot stream written by SnapshotWriter, one
// entry at a time, verifying the checksum at the end. It is not safe for
// concurrent use.
type SnapshotReader struct {
	br    *bufio.Reader
	sum   hash.Hash
	index uint64
	ns    string
	count uint64
	err   error // sticky: io.EOF after the verified end, or the first error
}

// NewSnapshotReader reads the header of the snapshot in r. It returns an
// error wrapping ErrCorrupt if the header is missing or has the wrong magic.
// The reader reads r to its end and buffers ahead, so r must hold the
// snapshot alone.
func NewSnapshotReader(r io.Reader) (*SnapshotReader, error) {
	sr := &SnapshotReader{br: bufio.NewReaderSize(r, 64<<10), sum: sha256.New()}
	magic, err := sr.readFull(len(snapshotMagic))
	if err != nil {
		return nil, sr.fail("header", err)
	}
	if string(magic) != snapshotMagic {
		return nil, fmt.Errorf("%w: snapshot: bad magic %q", ErrCorrupt, magic)
	}
	if sr.index, err = sr.readUint64(); err != nil {
		return nil, sr.fail("header", err)
	}
	return sr, nil
}

// ConsistentIndex returns the consistent index recorded in the header.
func (sr *SnapshotReader) ConsistentIndex() uint64 { return sr.index }

// Count returns the number of entries returned by Next so far.
func (sr *SnapshotReader) Count() uint64 { return sr.count }

// Next returns the next entry. The slices are newly allocated and belong to
// the caller. After the last entry Next checks the trailer and returns io.EOF
// if the stream is whole; a bad checksum, a wrong entry count, a truncated
// stream, trailing bytes or an undecodable record return an error wrapping
// ErrCorrupt. Once Next has returned an error it returns the same error.
func (sr *SnapshotReader) Next() (ns string, key, value []byte, err error) {
	for sr.err == nil {
		tag, err := sr.readByte()
		if err != nil {
			sr.err = sr.fail("record tag", err)
			break
		}
		switch tag {
		case tagNamespace:
			sr.err = sr.readNamespace()
		case tagEntry:
			key, value, sr.err = sr.readEntry()
			if sr.err == nil {
				sr.count++
				return sr.ns, key, value, nil
			}
		case tagEnd:
			sr.err = sr.readTrailer()
		default:
			sr.err = fmt.Errorf("%w: snapshot: unknown record tag 0x%02x", ErrCorrupt, tag)
		}
	}
	return "", nil, nil, sr.err
}

func (sr *SnapshotReader) readNamespace() error {
	name, err := sr.readBytes(SnapshotMaxNamespaceSize)
	if err != nil {
		return sr.fail("namespace", err)
	}
	if len(name) == 0 {
		return fmt.Errorf("%w: snapshot: empty namespace", ErrCorrupt)
	}
	sr.ns = string(name)
	return nil
}

func (sr *SnapshotReader) readEntry() (key, value []byte, err error) {
	if sr.ns == "" {
		return nil, nil, fmt.Errorf("%w: snapshot: entry before any namespace", ErrCorrupt)
	}
	if key, err = sr.readBytes(SnapshotMaxKeySize); err != nil {
		return nil, nil, sr.fail("key", err)
	}
	if value, err = sr.readBytes(SnapshotMaxValueSize); err != nil {
		return nil, nil, sr.fail("value", err)
	}
	return key, value, nil
}

// readTrailer checks the entry count, the checksum and the end of the
// stream; it returns io.EOF when all hold.
func (sr *SnapshotReader) readTrailer() error {
	count, err := sr.readUint64()
	if err != nil {
		return sr.fail("trailer", err)
	}
	want := sr.sum.Sum(nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(sr.br, got); err != nil {
		return sr.fail("checksum", err)
	}
	switch {
	case !bytes.Equal(got, want):
		return fmt.Errorf("%w: snapshot: checksum mismatch", ErrCorrupt)
	case count != sr.count:
		return fmt.Errorf("%w: snapshot: trailer counts %d entries, read %d", ErrCorrupt, count, sr.count)
	}
	if _, err := sr.br.ReadByte(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("storage: read snapshot: %w", err)
		}
		return fmt.Errorf("%w: snapshot: data after trailer", ErrCorrupt)
	}
	return io.EOF
}

// fail turns a read error into the error Next reports: a stream that ends
// early is corrupt; any other read error is passed on wrapped.
func (sr *SnapshotReader) fail(what string, err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: snapshot truncated in %s", ErrCorrupt, what)
	}
	return fmt.Errorf("storage: read snapshot %s: %w", what, err)
}

// readByte reads one byte into the checksum; through byteReaderFunc it lets
// binary.ReadUvarint read through the checksum too.
func (sr *SnapshotReader) readByte() (byte, error) {
	b, err := sr.br.ReadByte()
	if err == nil {
		sr.sum.Write([]byte{b})
	}
	return b, err
}

func (sr *SnapshotReader) readUint64() (uint64, error) {
	b, err := sr.readFull(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// readBytes reads a uvarint length, at most limit, then that many bytes.
func (sr *SnapshotReader) readBytes(limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(byteReaderFunc(sr.readByte))
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, err
		}
		return nil, fmt.Errorf("%w: snapshot: bad length: %v", ErrCorrupt, err)
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("%w: snapshot: length %d over limit %d", ErrCorrupt, n, limit)
	}
	return sr.readFull(int(n))
}

// readFull reads n bytes into the checksum, growing the buffer by steps.
func (sr *SnapshotReader) readFull(n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		step := min(n-len(buf), max(readChunk, len(buf)))
		buf = slices.Grow(buf, step)
		got, err := io.ReadFull(sr.br, buf[len(buf):len(buf)+step])
		sr.sum.Write(buf[len(buf) : len(buf)+got])
		buf = buf[:len(buf)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// byteReaderFunc adapts a function to io.ByteReader.
type byteReaderFunc func() (byte, error)

func (f byteReaderFunc) ReadByte() (byte, error) { return f() }
