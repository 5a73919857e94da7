package bbolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"

	"github.com/metastore/metastore/pluginapi/storage"
)

// boltMagic starts every valid bbolt meta page.
const boltMagic = 0xED0CDAED

// defaultPageSize is where the second meta page is looked for when the
// first does not say its page size.
const defaultPageSize = 4096

// checkFileSize reads the meta pages of the bbolt file at path before
// bbolt maps it, and reports a file cut short: one that ends before the
// pages its newest valid meta page counts. bbolt would fault (SIGBUS) on
// the missing pages when it rebuilds its free list at open, killing the
// process without a word about the file. A missing file, or one without a
// valid meta page, is left to bbolt.Open to create or refuse.
func checkFileSize(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bbolt: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("bbolt: %w", err)
	}
	var best meta
	for _, off := range []int64{0, -1} {
		if off < 0 {
			off = defaultPageSize
			if best.pageSize != 0 {
				off = int64(best.pageSize)
			}
		}
		if m, ok := readMeta(f, off); ok && m.txid >= best.txid {
			best = m
		}
	}
	if need := best.pages * best.pageSize; uint64(st.Size()) < need {
		return fmt.Errorf("%w: bbolt: %s: file of %d bytes is cut short: its pages need %d",
			storage.ErrCorrupt, path, st.Size(), need)
	}
	return nil
}

// meta is what checkFileSize reads of a meta page.
type meta struct{ txid, pages, pageSize uint64 }

// readMeta decodes the meta page at off: a 16-byte page header, then the
// magic, version, page size and flags (4 bytes each), the root bucket
// (16), the free list's page (8), the high water mark in pages (8), the
// transaction id (8) and an FNV-64a checksum of everything from the magic
// to the transaction id.
func readMeta(f *os.File, off int64) (meta, bool) {
	var b [80]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return meta{}, false
	}
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(b[16:72])
	if le.Uint32(b[16:]) != boltMagic || h.Sum64() != le.Uint64(b[72:]) {
		return meta{}, false
	}
	return meta{txid: le.Uint64(b[64:]), pages: le.Uint64(b[56:]), pageSize: uint64(le.Uint32(b[24:]))}, true
}

// Page layout, as bbolt writes it: a 16-byte header (id, flags, element
// count, overflow pages), then the elements.
const (
	pageHeaderSize  = 16
	elementSize     = 16
	branchPageFlag  = 0x01
	leafPageFlag    = 0x02
	bucketLeafFlag  = 0x01
	bucketHeaderLen = 16
	maxWalkDepth    = 64
)

// checkPages walks the pages the newest meta page reaches, reading them
// with ReadAt, and reports a page whose header is not what its parent
// says (its id, a branch or leaf type) or that lies past the high water
// mark. bbolt checks the same when it reaches such a page, but by a panic
// in a goroutine of its own while it opens the file, which no caller can
// recover; this turns that into an error naming the file. Damage it does
// not recognise is left to bbolt.
func checkPages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // left to bbolt.Open
	}
	defer f.Close()
	var best meta
	var root uint64
	for _, off := range []int64{0, defaultPageSize} {
		if best.pageSize != 0 && off != 0 {
			off = int64(best.pageSize)
		}
		if m, ok := readMeta(f, off); ok && m.txid >= best.txid {
			best = m
			var b [8]byte
			if _, err := f.ReadAt(b[:], off+32); err != nil {
				return nil
			}
			root = binary.LittleEndian.Uint64(b[:])
		}
	}
	if best.pageSize == 0 {
		return nil
	}
	w := &pageWalker{f: f, pageSize: best.pageSize, pages: best.pages}
	if err := w.walk(root, true, 0); err != nil {
		return fmt.Errorf("%w: bbolt: %s: %v", storage.ErrCorrupt, path, err)
	}
	return nil
}

type pageWalker struct {
	f               *os.File
	pageSize, pages uint64
	buf             []byte // the page being read; reused
}

// walk checks page id and what it reaches. buckets says whether the
// page's bucket holds buckets: only the root bucket does (it holds meta
// and the namespaces), so the leaf pages of the others are checked by
// their header alone.
func (w *pageWalker) walk(id uint64, buckets bool, depth int) error {
	if depth > maxWalkDepth {
		return fmt.Errorf("page %d: tree deeper than %d", id, maxWalkDepth)
	}
	children, subBuckets, err := w.read(id, buckets)
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := w.walk(c, buckets, depth+1); err != nil {
			return err
		}
	}
	for _, b := range subBuckets {
		if err := w.walk(b, false, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// read checks page id's header and returns the pages it points to: a
// branch page's children, or the roots of a leaf page's sub-buckets when
// its bucket holds buckets.
func (w *pageWalker) read(id uint64, buckets bool) (children, subBuckets []uint64, err error) {
	if id < 2 || id >= w.pages {
		return nil, nil, fmt.Errorf("page %d: out of the file's %d pages", id, w.pages)
	}
	var h [pageHeaderSize]byte
	if _, err := w.f.ReadAt(h[:], int64(id*w.pageSize)); err != nil {
		return nil, nil, fmt.Errorf("page %d: %v", id, err)
	}
	le := binary.LittleEndian
	gotID, flags, count, overflow := le.Uint64(h[0:]), le.Uint16(h[8:]), int(le.Uint16(h[10:])), uint64(le.Uint32(h[12:]))
	if gotID != id {
		return nil, nil, fmt.Errorf("page %d: header says page %d", id, gotID)
	}
	if flags != branchPageFlag && flags != leafPageFlag {
		return nil, nil, fmt.Errorf("page %d: unexpected type/flags %#x", id, flags)
	}
	if flags == leafPageFlag && !buckets {
		return nil, nil, nil
	}
	if id+overflow >= w.pages {
		return nil, nil, fmt.Errorf("page %d: %d overflow pages run past the file's %d", id, overflow, w.pages)
	}
	size := int((overflow + 1) * w.pageSize)
	if cap(w.buf) < size {
		w.buf = make([]byte, size)
	}
	p := w.buf[:size]
	if _, err := w.f.ReadAt(p, int64(id*w.pageSize)); err != nil {
		return nil, nil, fmt.Errorf("page %d: %v", id, err)
	}
	if pageHeaderSize+count*elementSize > len(p) {
		return nil, nil, fmt.Errorf("page %d: %d elements overflow it", id, count)
	}
	for i := range count {
		e := p[pageHeaderSize+i*elementSize:]
		if flags == branchPageFlag {
			children = append(children, le.Uint64(e[8:]))
			continue
		}
		if le.Uint32(e[0:])&bucketLeafFlag == 0 {
			continue
		}
		// A sub-bucket: its header is the value, after the key.
		at := uint64(pageHeaderSize+i*elementSize) + uint64(le.Uint32(e[4:])) + uint64(le.Uint32(e[8:]))
		if at+bucketHeaderLen > uint64(len(p)) {
			return nil, nil, fmt.Errorf("page %d: element %d runs past the page", id, i)
		}
		if sub := le.Uint64(p[at:]); sub != 0 { // 0: an inline bucket, in the value itself
			subBuckets = append(subBuckets, sub)
		}
	}
	return children, subBuckets, nil
}
