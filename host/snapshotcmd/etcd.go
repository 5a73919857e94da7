package snapshotcmd

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/metastore/metastore/pluginapi/storage"
)

// An etcd backend (a member's member/snap/db, or what `etcdctl snapshot
// save` writes from etcd: the same bbolt file with its SHA-256 appended)
// is told apart from MetaStore's snapshot file by bbolt's magic in its first
// meta page.
const (
	boltMagic       = 0xED0CDAED
	boltMagicOffset = 16 // after the page header
)

// ErrEtcdSnapshot marks an etcd backend file restore cannot read.
var ErrEtcdSnapshot = errors.New("not a readable etcd snapshot")

// isEtcdBackend reports whether r starts as a bbolt file.
func isEtcdBackend(r io.ReaderAt) bool {
	var b [boltMagicOffset + 4]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return false
	}
	return binary.LittleEndian.Uint32(b[boltMagicOffset:]) == boltMagic
}

// copyEtcdBackend copies the etcd backend file into dir, checks and cuts off
// the SHA-256 `etcdctl snapshot save` appends, as etcdutl does (a file whose
// size is 32 bytes past a multiple of 512 carries one), and returns the
// copy's path. A file without the hash is refused unless skipHashCheck,
// which a member's own member/snap/db needs.
func copyEtcdBackend(file, dir string, skipHashCheck bool) (string, error) {
	src, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer src.Close()
	path := filepath.Join(dir, "etcd.db")
	dst, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer dst.Close()
	size, err := io.Copy(dst, src)
	if err != nil {
		return "", err
	}
	if size%512 != sha256.Size {
		if !skipHashCheck {
			return "", fmt.Errorf("%w: %s is cut short, or has no SHA-256 appended (a member's member/snap/db has none: pass --skip-hash-check)", ErrEtcdSnapshot, file)
		}
		return path, dst.Sync()
	}
	body := size - sha256.Size
	if !skipHashCheck {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(dst, 0, body)); err != nil {
			return "", err
		}
		want := make([]byte, sha256.Size)
		if _, err := dst.ReadAt(want, body); err != nil {
			return "", err
		}
		if !bytes.Equal(h.Sum(nil), want) {
			return "", fmt.Errorf("%w: %s: SHA-256 mismatch", ErrEtcdSnapshot, file)
		}
	}
	if err := dst.Truncate(body); err != nil {
		return "", err
	}
	return path, dst.Sync()
}

// checkBoltSize reads the meta pages of the bbolt file at path and checks
// that the file holds every page the newer valid one counts: bbolt opens a
// truncated file read-only without a word, and would read what is missing
// as empty.
func checkBoltSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// A meta page: a 16-byte page header, then magic, version, page size
	// and flags (4 bytes each), the root bucket (16), the freelist page
	// (8), the high water mark (8), the txid (8) and an FNV-64a checksum
	// of everything from the magic to the txid.
	var best struct{ txid, pages, pageSize uint64 }
	found := false
	for _, off := range []int64{0, -1} {
		if off < 0 {
			if best.pageSize == 0 {
				break
			}
			off = int64(best.pageSize)
		}
		var m [80]byte
		if _, err := f.ReadAt(m[:], off); err != nil {
			continue
		}
		le := binary.LittleEndian
		h := fnv.New64a()
		h.Write(m[16:72])
		if le.Uint32(m[16:]) != boltMagic || h.Sum64() != le.Uint64(m[72:]) {
			continue
		}
		txid, pages, pageSize := le.Uint64(m[64:]), le.Uint64(m[56:]), uint64(le.Uint32(m[24:]))
		if !found || txid > best.txid {
			best.txid, best.pages, best.pageSize, found = txid, pages, pageSize, true
		}
	}
	if !found {
		return fmt.Errorf("%w: %s: no valid bbolt meta page", ErrEtcdSnapshot, path)
	}
	if need := best.pages * best.pageSize; uint64(st.Size()) < need {
		return fmt.Errorf("%w: truncated: %d bytes of the %d its pages take", ErrEtcdSnapshot, st.Size(), need)
	}
	return nil
}

// etcdStats is what an etcd backend held.
type etcdStats struct {
	revisions, leases, users, roles int
	authEnabled                     bool
}

// convertEtcdBackend writes the content of the etcd backend at path to sw
// in MetaStore's engine namespaces:
//
//   - key: etcd's revision keys and mvccpb.KeyValue values, unchanged
//     (MetaStore stores them as etcd does, which keeps HashKV equal);
//   - meta: the scheduled and finished compaction revisions, from etcd's
//     17-byte revision form to MetaStore's 8 bytes;
//   - lease: each leasepb.Lease as its granted and checkpointed TTLs;
//   - auth: the switch, the auth revision, and every user (password hash
//     kept) and role, as they are.
//
// The membership, the raft term and index and the alarms are left out: a
// restore starts a new cluster whose members have raised none.
func convertEtcdBackend(path string, sw *storage.SnapshotWriter, tick func()) (etcdStats, error) {
	var st etcdStats
	if err := checkBoltSize(path); err != nil {
		return st, err
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return st, fmt.Errorf("%w: %v", ErrEtcdSnapshot, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("key")) == nil || tx.Bucket([]byte("meta")) == nil {
			return fmt.Errorf("%w: a bbolt file without etcd's key and meta buckets", ErrEtcdSnapshot)
		}
		n := 0
		add := func(ns string, k, v []byte) error {
			if n++; n%4096 == 0 {
				tick()
			}
			return sw.Add(ns, k, v)
		}
		steps := []func(*bolt.Tx, func(string, []byte, []byte) error, *etcdStats) error{
			convertAuth, convertKeys, convertLeases, convertMeta,
		}
		for _, step := range steps {
			if err := step(tx, add, &st); err != nil {
				return err
			}
		}
		return nil
	})
	return st, err
}

type addFunc = func(ns string, k, v []byte) error

func convertKeys(tx *bolt.Tx, add addFunc, st *etcdStats) error {
	return tx.Bucket([]byte("key")).ForEach(func(k, v []byte) error {
		if len(k) != 17 && !(len(k) == 18 && k[17] == 't') || k[8] != '_' {
			return fmt.Errorf("%w: key bucket entry %x is no revision", ErrEtcdSnapshot, k)
		}
		st.revisions++
		return add("key", k, v)
	})
}

// convertMeta keeps the compaction revisions; etcd writes them as revision
// keys (8-byte main revision, '_', 8-byte sub).
func convertMeta(tx *bolt.Tx, add addFunc, _ *etcdStats) error {
	meta := tx.Bucket([]byte("meta"))
	for _, name := range []string{"finishedCompactRev", "scheduledCompactRev"} {
		v := meta.Get([]byte(name))
		if v == nil {
			continue
		}
		if len(v) < 8 {
			return fmt.Errorf("%w: meta %s of %d bytes", ErrEtcdSnapshot, name, len(v))
		}
		if err := add("meta", []byte(name), bytes.Clone(v[:8])); err != nil {
			return err
		}
	}
	return nil
}

// convertLeases turns each leasepb.Lease (1: ID, 2: TTL, 3: RemainingTTL,
// all varints) into MetaStore's 16-byte record.
func convertLeases(tx *bolt.Tx, add addFunc, st *etcdStats) error {
	b := tx.Bucket([]byte("lease"))
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var fields [4]int64
		for rest := v; len(rest) > 0; {
			num, typ, n := protowire.ConsumeTag(rest)
			if n < 0 {
				return fmt.Errorf("%w: lease %x: %v", ErrEtcdSnapshot, k, protowire.ParseError(n))
			}
			rest = rest[n:]
			if typ != protowire.VarintType {
				n = protowire.ConsumeFieldValue(num, typ, rest)
				if n < 0 {
					return fmt.Errorf("%w: lease %x: %v", ErrEtcdSnapshot, k, protowire.ParseError(n))
				}
				rest = rest[n:]
				continue
			}
			x, n := protowire.ConsumeVarint(rest)
			if n < 0 {
				return fmt.Errorf("%w: lease %x: %v", ErrEtcdSnapshot, k, protowire.ParseError(n))
			}
			rest = rest[n:]
			if num >= 1 && num <= 3 {
				fields[num] = int64(x)
			}
		}
		if len(k) != 8 || fields[1] != int64(binary.BigEndian.Uint64(k)) {
			return fmt.Errorf("%w: lease %x holds lease %d", ErrEtcdSnapshot, k, fields[1])
		}
		rec := binary.BigEndian.AppendUint64(nil, uint64(fields[2]))
		rec = binary.BigEndian.AppendUint64(rec, uint64(fields[3]))
		st.leases++
		return add("lease", bytes.Clone(k), rec)
	})
}

// convertAuth writes the auth switch and revision, then users and roles,
// in the bytewise order of MetaStore's auth keys.
func convertAuth(tx *bolt.Tx, add addFunc, st *etcdStats) error {
	if b := tx.Bucket([]byte("auth")); b != nil {
		if v := b.Get([]byte("authEnabled")); len(v) == 1 {
			st.authEnabled = v[0] == 1
			if err := add("auth", []byte("enabled"), []byte{v[0]}); err != nil {
				return err
			}
		}
		if v := b.Get([]byte("authRevision")); len(v) == 8 {
			if err := add("auth", []byte("revision"), bytes.Clone(v)); err != nil {
				return err
			}
		}
	}
	for _, c := range []struct {
		bucket, prefix string
		count          *int
	}{{"authRoles", "role/", &st.roles}, {"authUsers", "user/", &st.users}} {
		b := tx.Bucket([]byte(c.bucket))
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			*c.count++
			return add("auth", append([]byte(c.prefix), k...), bytes.Clone(v))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
