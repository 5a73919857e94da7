// Package snapfile is the snapshot file format: what the Snapshot RPC
// streams and `etcdctl snapshot save` stores. A file is the engine-neutral
// snapshot stream, zero padding, the stream's length as a big-endian
// uint64, and the SHA-256 of all that. The padding makes the file 32 bytes
// past a multiple of 512, which is how etcdctl recognizes a snapshot that
// carries its checksum.
//
//	stream (n bytes) | zeros | n (uint64) | SHA-256 (32 bytes)
package snapfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/metastore/metastore/pluginapi/storage"
)

const (
	align   = 512
	sumSize = sha256.Size
	lenSize = 8
)

// ErrNotWhole marks a file that is not a whole snapshot file; it is
// also storage.ErrCorrupt.
var ErrNotWhole = fmt.Errorf("%w: not a whole snapshot file", storage.ErrCorrupt)

// Writer frames a snapshot stream written to it as a snapshot
// file on w.
type Writer struct {
	w   io.Writer
	sum hash.Hash
	n   int64 // stream bytes
	out int64 // file bytes
}

// NewWriter returns a writer that frames onto w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, sum: sha256.New()}
}

// Write writes stream bytes.
func (f *Writer) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.sum.Write(p[:n])
	f.n += int64(n)
	f.out += int64(n)
	return n, err
}

// Close writes the padding, the length and the checksum; it does not close
// the underlying writer.
func (f *Writer) Close() error {
	pad := (align - (f.n+lenSize)%align) % align
	tail := make([]byte, pad, pad+lenSize+sumSize)
	tail = binary.BigEndian.AppendUint64(tail, uint64(f.n))
	f.sum.Write(tail)
	tail = f.sum.Sum(tail)
	n, err := f.w.Write(tail)
	f.out += int64(n)
	return err
}

// Size returns the bytes of the file written so far.
func (f *Writer) Size() int64 { return f.out }

// Verify checks the checksum of the snapshot file of size
// bytes in r, reading it whole once, and returns the snapshot stream it
// holds. progress, when not nil, is called with the bytes read so far. It
// returns an error wrapping ErrNotWhole for a file of the wrong shape
// or checksum.
func Verify(r io.ReaderAt, size int64, progress func(read int64)) (*io.SectionReader, error) {
	if size < lenSize+sumSize || size%align != sumSize {
		return nil, fmt.Errorf("%w: size %d has no room for the checksum", ErrNotWhole, size)
	}
	body := size - sumSize
	h := sha256.New()
	pr := &progressReader{r: io.NewSectionReader(r, 0, body), fn: progress}
	if _, err := io.Copy(h, pr); err != nil {
		return nil, err
	}
	want := make([]byte, sumSize)
	if _, err := r.ReadAt(want, body); err != nil {
		return nil, err
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return nil, fmt.Errorf("%w: SHA-256 mismatch", ErrNotWhole)
	}
	lenBuf := make([]byte, lenSize)
	if _, err := r.ReadAt(lenBuf, body-lenSize); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint64(lenBuf))
	if n < 0 || n > body-lenSize || body-lenSize-n >= align {
		return nil, fmt.Errorf("%w: stream length %d in a file of %d bytes", ErrNotWhole, n, size)
	}
	return io.NewSectionReader(r, 0, n), nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.fn != nil && (n > 0 || errors.Is(err, io.EOF)) {
		p.fn(p.n)
	}
	return n, err
}
