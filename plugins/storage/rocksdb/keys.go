package rocksdb

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Key layout. A namespace is escaped (0x00 becomes 0x00 0xff) and ended by
// 0x00 0x01, which sorts below any escaped byte that could follow; so the
// encoded prefixes sort as the namespaces do bytewise, and none is a
// prefix of another. Metadata keys start with 0x00 0x00, which no encoded
// namespace does.
var (
	metaPrefix   = []byte{0x00, 0x00}
	indexKey     = []byte{0x00, 0x00, 'i'}
	countsPrefix = []byte{0x00, 0x00, 'n'} // + namespace: uint64 key count
	dataStart    = []byte{0x00, 0x01}      // first key after the metadata
)

const (
	escByte   = 0x00
	escEscape = 0xff
	escEnd    = 0x01
)

// nsPrefix returns the encoded prefix of every key of namespace ns.
func nsPrefix(ns string) []byte {
	out := make([]byte, 0, len(ns)+2)
	for i := 0; i < len(ns); i++ {
		out = append(out, ns[i])
		if ns[i] == escByte {
			out = append(out, escEscape)
		}
	}
	return append(out, escByte, escEnd)
}

// dataKey returns the stored form of key in namespace ns.
func dataKey(ns string, key []byte) []byte {
	return append(nsPrefix(ns), key...)
}

// prefixEnd returns the smallest key above every key starting with prefix;
// prefix ends with escEnd, so incrementing its last byte is enough.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	end[len(end)-1]++
	return end
}

var errBadKey = errors.New("rocksdb: stored key has no namespace")

// splitDataKey returns the namespace and key of a stored data key.
func splitDataKey(stored []byte) (string, []byte, error) {
	ns := make([]byte, 0, 16)
	for i := 0; i+1 < len(stored); i++ {
		if stored[i] != escByte {
			ns = append(ns, stored[i])
			continue
		}
		switch stored[i+1] {
		case escEscape:
			ns = append(ns, escByte)
			i++
		case escEnd:
			return string(ns), stored[i+2:], nil
		default:
			return "", nil, errBadKey
		}
	}
	return "", nil, errBadKey
}

func countKey(ns string) []byte {
	return append(bytes.Clone(countsPrefix), ns...)
}

func encodeUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeUint64(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}
