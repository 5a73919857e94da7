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
