package bbolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Value checksums. bbolt checksums its meta pages only: a bit flipped in a
// leaf page would be read back as data, and a flipped key would be served
// under another name. So every value the engine stores in a namespace ends
// with a CRC-32C of the key and the value, checked on every read; a
// mismatch is an error wrapping storage.ErrCorrupt that names the file,
// the namespace and the key.
//
// A file created by this engine says so in its meta bucket (formatKey);
// a file written before values carried checksums has no such key and is
// read as it is, until a Restore rewrites it.

var (
	formatKey    = []byte("value_checksum")
	formatCRC32C = []byte("crc32c")
)

// checksumSize is the length of the checksum that ends a stored value.
const checksumSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksummed reports whether the values of tx's file carry checksums.
func checksummed(tx *bolt.Tx) bool {
	meta := tx.Bucket(metaBucket)
	return meta != nil && bytes.Equal(meta.Get(formatKey), formatCRC32C)
}

// markChecksummed records in meta that values carry checksums.
func markChecksummed(meta *bolt.Bucket) error {
	return meta.Put(formatKey, formatCRC32C)
}

// valueChecksum is the CRC-32C of key followed by value.
func valueChecksum(key, value []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, value)
}

// seal returns value followed by its checksum, in a new slice.
func seal(key, value []byte) []byte {
	out := make([]byte, 0, len(value)+checksumSize)
	out = append(out, value...)
	return binary.LittleEndian.AppendUint32(out, valueChecksum(key, value))
}

// valueReader checks and strips the checksums of one file's values.
type valueReader struct {
	path string // the file, for errors
	on   bool   // whether values carry checksums
}

func newValueReader(tx *bolt.Tx, path string) valueReader {
	return valueReader{path: path, on: checksummed(tx)}
}

// open returns the value stored under key in ns without its checksum. The
// result aliases stored.
func (r valueReader) open(ns string, key, stored []byte) ([]byte, error) {
	if !r.on {
		return stored, nil
	}
	n := len(stored) - checksumSize
	if n < 0 {
		return nil, fmt.Errorf("%w: bbolt: %s: namespace %q key %x: value of %d bytes has no checksum",
			storage.ErrCorrupt, r.path, ns, key, len(stored))
	}
	if binary.LittleEndian.Uint32(stored[n:]) != valueChecksum(key, stored[:n]) {
		return nil, fmt.Errorf("%w: bbolt: %s: namespace %q key %x: value checksum mismatch",
			storage.ErrCorrupt, r.path, ns, key)
	}
	return stored[:n], nil
}
