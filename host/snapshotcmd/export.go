package snapshotcmd

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/metastore/metastore/etcdapi/snapfile"
	"github.com/metastore/metastore/pluginapi/storage"
)

// exportCommand is `metastore snapshot export --format etcd IN OUT`: it
// turns a MetaStore snapshot file (what `etcdctl snapshot save` writes
// against MetaStore) into the file `etcdctl snapshot save` would have
// written against etcd, which `etcdutl snapshot restore` takes. It is the
// reverse of restore's etcd import (etcd.go): revisions unchanged,
// compaction revisions, leases, the auth switch and revision, users and
// roles; alarms and membership are left out, as etcdutl restores into a
// new cluster.
//
// A separate command rather than etcd's format from `etcdctl snapshot save`
// itself: the snapshot RPC streams what the member's engine holds, in the
// engine-neutral format every engine restores from, and a bbolt file can
// only be written whole before its checksum is known.
func exportCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("metastore snapshot export")
	format := fs.String("format", "etcd", "The format to write: etcd (an etcd 3.5 to 3.7 backend, with its SHA-256 appended).")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: export needs an input and an output file", errUsage)
	}
	if *format != "etcd" {
		return fmt.Errorf("%w: unknown format %q: export writes etcd", errUsage, *format)
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists", out)
	}
	n, err := exportEtcd(in, out)
	if err != nil {
		_ = os.Remove(out)
		return err
	}
	fmt.Fprintf(stdout, "exported %s to %s: %d entries in etcd's format\n", in, out, n)
	return nil
}

// exportEtcd writes the snapshot file in into out as an etcd backend with
// its SHA-256 appended, and returns the number of entries written.
func exportEtcd(in, out string) (int, error) {
	f, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	stream, err := snapfile.Verify(f, st.Size(), nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", in, err)
	}
	sr, err := storage.NewSnapshotReader(stream)
	if err != nil {
		return 0, err
	}
	db, err := bolt.Open(out, 0o600, nil)
	if err != nil {
		return 0, err
	}
	n, err := writeEtcdBuckets(db, sr)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return n, appendSHA256(out)
}

// exportBatch is how many entries one bbolt transaction writes.
const exportBatch = 10000

// writeEtcdBuckets writes every entry of sr into etcd's buckets, in
// transactions of exportBatch entries.
func writeEtcdBuckets(db *bolt.DB, sr *storage.SnapshotReader) (int, error) {
	buckets := []string{"key", "meta", "lease", "alarm", "cluster", "members", "members_removed", "auth", "authUsers", "authRoles"}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			for i := 0; i < exportBatch; i++ {
				ns, k, v, err := sr.Next()
				if errors.Is(err, io.EOF) {
					done = true
					return nil
				}
				if err != nil {
					return err
				}
				bucket, key, value, ok, err := etcdRecord(ns, k, v)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if err := tx.Bucket([]byte(bucket)).Put(key, value); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// etcdRecord maps one MetaStore engine entry to etcd's bucket, key and
// value; ok is false for entries etcd's backend does not get.
func etcdRecord(ns string, k, v []byte) (bucket string, key, value []byte, ok bool, err error) {
	switch ns {
	case "key":
		return "key", k, v, true, nil
	case "meta":
		if string(k) != "finishedCompactRev" && string(k) != "scheduledCompactRev" {
			return "", nil, nil, false, nil
		}
		if len(v) != 8 {
			return "", nil, nil, false, fmt.Errorf("%w: meta %s of %d bytes", storage.ErrCorrupt, k, len(v))
		}
		// etcd writes a compaction revision as a revision key.
		rev := append(append(append([]byte{}, v...), '_'), make([]byte, 8)...)
		return "meta", k, rev, true, nil
	case "lease":
		if len(k) != 8 || len(v) != 16 {
			return "", nil, nil, false, fmt.Errorf("%w: lease record of %d+%d bytes", storage.ErrCorrupt, len(k), len(v))
		}
		// leasepb.Lease: 1 ID, 2 TTL, 3 RemainingTTL, proto3 varints.
		var pb []byte
		for num, x := range []uint64{binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:])} {
			if x != 0 {
				pb = protowire.AppendTag(pb, protowire.Number(num+1), protowire.VarintType)
				pb = protowire.AppendVarint(pb, x)
			}
		}
		return "lease", k, pb, true, nil
	case "auth":
		switch s := string(k); {
		case s == "enabled":
			return "auth", []byte("authEnabled"), v, true, nil
		case s == "revision":
			return "auth", []byte("authRevision"), v, true, nil
		case len(s) > len("user/") && s[:len("user/")] == "user/":
			return "authUsers", k[len("user/"):], v, true, nil
		case len(s) > len("role/") && s[:len("role/")] == "role/":
			return "authRoles", k[len("role/"):], v, true, nil
		}
	}
	// Alarms name the members that raised them, membership is the old
	// cluster's: etcdutl restores into a new one.
	return "", nil, nil, false, nil
}

// appendSHA256 appends the SHA-256 of path's content to it, as `etcdctl
// snapshot save` does, after padding it to a multiple of 512 bytes as
// etcdutl expects of a file carrying a hash.
func appendSHA256(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if pad := st.Size() % 512; pad != 0 {
		if err := f.Truncate(st.Size() + 512 - pad); err != nil {
			return err
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if _, err := f.Write(h.Sum(nil)); err != nil {
		return err
	}
	return f.Sync()
}
