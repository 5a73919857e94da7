package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrEtcdDataDir is returned by StartMember when the data dir is etcd's.
var ErrEtcdDataDir = errors.New("host: the data dir is etcd's")

// checkNotEtcdDataDir refuses an etcd data dir, so that a member pointed
// at one (etcd's systemd unit or chart, with MetaStore's binary swapped
// in) stops instead of starting an empty member beside etcd's data.
//
// An etcd data dir has its backend in member/snap/db and, unless etcd ran
// with --wal-dir, its WAL in member/wal. MetaStore's WAL is in member/wal
// too, but MetaStore never makes member/snap/db (its engine lives in
// member/engine, the raft snapshots it receives in member/snap/
// <index>.snap.db), so that file alone tells etcd's data dir.
func checkNotEtcdDataDir(dataDir string) error {
	db := filepath.Join(dataDir, "member", "snap", "db")
	if st, err := os.Stat(db); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	found := db
	if st, err := os.Stat(filepath.Join(dataDir, "member", "wal")); err == nil && st.IsDir() {
		found += " and " + filepath.Join(dataDir, "member", "wal")
	}
	return fmt.Errorf("%w: %s has %s; MetaStore does not read etcd's files in place: "+
		"import them into a new data dir with `metastore snapshot restore %s --skip-hash-check --data-dir <new data dir> ...` "+
		"(with this member's --name, --initial-cluster, --initial-cluster-token and --initial-advertise-peer-urls), "+
		"then start the member on the new data dir", ErrEtcdDataDir, dataDir, found, db)
}
