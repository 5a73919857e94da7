package bbolt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

// writeAndClose stores one value in namespace "key" and closes the engine.
func writeAndClose(t *testing.T, dir string, key, value []byte) {
	t.Helper()
	ctx := context.Background()
	e := bbolt.New()
	_, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	_, err = e.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: 7, Ops: []storage.Op{
		{Kind: storage.OpPut, Namespace: "key", Key: key, Value: value},
		{Kind: storage.OpPut, Namespace: "key", Key: []byte("other"), Value: []byte("fine")},
	}})
	require.NoError(t, err)
	require.NoError(t, e.Close(ctx))
}

// TestFlippedBitIsCorruptionNamingTheFile flips one bit of a value, then
// of a key, in the file, as a bad disk would: every read of that entry
// fails with an error naming the file and the key, never the changed bytes.
func TestFlippedBitIsCorruptionNamingTheFile(t *testing.T) {
	value := []byte("the value as written, long enough to find in its page")
	for _, tt := range []struct {
		name string
		find []byte // the bytes to damage in the file
	}{
		{"value", value},
		{"key", []byte("the-key")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeAndClose(t, dir, []byte("the-key"), value)
			path := filepath.Join(dir, "db")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			at := bytes.Index(b, tt.find)
			require.Positive(t, at, "%q in the file", tt.find)
			b[at+len(tt.find)/2] ^= 0x01
			require.NoError(t, os.WriteFile(path, b, 0o600))

			ctx := context.Background()
			e := bbolt.New()
			_, err = e.Open(ctx, storage.OpenRequest{Dir: dir})
			require.NoError(t, err)
			defer func() { require.NoError(t, e.Close(ctx)) }()
			damagedKey := []byte("the-key")
			if tt.name == "key" {
				damagedKey[len(damagedKey)/2] ^= 0x01
			}
			want := "bbolt: " + path + `: namespace "key" key ` + hex.EncodeToString(damagedKey) + ": value checksum mismatch"

			_, err = e.GetMany(ctx, storage.GetManyRequest{Namespace: "key", Keys: [][]byte{damagedKey}})
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, want)
			var served [][]byte
			err = e.Scan(ctx, storage.ScanRequest{Namespace: "key"}, func(kv storage.KeyValue) bool {
				served = append(served, bytes.Clone(kv.Value))
				return true
			})
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, want)
			for _, v := range served {
				require.Equal(t, "fine", string(v), "only undamaged values are served")
			}
			_, err = e.Snapshot(ctx, storage.SnapshotRequest{Writer: &bytes.Buffer{}})
			require.ErrorContains(t, err, want, "no snapshot of damaged data")

			resp, err := e.GetMany(ctx, storage.GetManyRequest{Namespace: "key", Keys: [][]byte{[]byte("other")}})
			require.NoError(t, err, "undamaged values still read")
			require.Equal(t, "fine", string(resp.Values[0]))
		})
	}
}

// TestFileCutShortIsCorruption: a file cut short, in its data pages or in
// its meta pages, does not open; the error names the file.
func TestFileCutShortIsCorruption(t *testing.T) {
	for _, tt := range []struct {
		name string
		cut  func(size int64) int64
		want string
	}{
		{"in the data pages", func(int64) int64 { return 3 * 4096 }, "file of 12288 bytes is cut short: its pages need "},
		{"in the meta pages", func(int64) int64 { return 100 }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeAndClose(t, dir, []byte("the-key"), []byte("a value"))
			path := filepath.Join(dir, "db")
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, tt.cut(st.Size())))
			_, err = bbolt.New().Open(context.Background(), storage.OpenRequest{Dir: dir})
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, "bbolt: "+path+": "+tt.want)
		})
	}
}

// TestDamagedPageHeaderIsCorruption: a page whose header was damaged (its
// type, its id) is found before bbolt opens the file, which would panic
// where no caller can recover; the error names the file and the page. A
// file of many pages, with overflow pages, opens as it should.
func TestDamagedPageHeaderIsCorruption(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(page []byte)
		want   string
	}{
		{"type", func(p []byte) { p[8] = 0x20 }, "unexpected type/flags 0x20"},
		{"id", func(p []byte) { p[0] ^= 0x01 }, "header says page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			e := bbolt.New()
			_, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
			require.NoError(t, err)
			for i := range 50 {
				var ops []storage.Op
				for j := range 20 {
					ops = append(ops, storage.Op{Kind: storage.OpPut, Namespace: "key", Key: []byte{byte(i), byte(j)}, Value: make([]byte, 100)})
				}
				ops = append(ops, storage.Op{Kind: storage.OpPut, Namespace: "big", Key: []byte{byte(i)}, Value: make([]byte, 10000)})
				_, err := e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: ops})
				require.NoError(t, err)
			}
			require.NoError(t, e.Close(ctx))
			e = bbolt.New()
			_, err = e.Open(ctx, storage.OpenRequest{Dir: dir})
			require.NoError(t, err, "an undamaged file opens")
			require.NoError(t, e.Close(ctx))

			path := filepath.Join(dir, "db")
			damaged := liveLeafPage(t, path, "ns/key")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			tt.damage(b[damaged*4096:])
			require.NoError(t, os.WriteFile(path, b, 0o600))

			_, err = bbolt.New().Open(ctx, storage.OpenRequest{Dir: dir})
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, fmt.Sprintf("bbolt: %s: page %d: %s", path, damaged, tt.want))
		})
	}
}

// liveLeafPage returns a leaf page of the named bucket that the file's
// current tree reaches: the first child of the bucket's root branch. A
// page found by scanning the file may be a freed copy no tree reaches,
// whose damage no reader would meet.
func liveLeafPage(t *testing.T, path, bucket string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	var leaf uint64
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		require.NotNil(t, b, "bucket %q", bucket)
		root, err := tx.Page(int(b.Root()))
		require.NoError(t, err)
		require.Equal(t, "branch", root.Type, "the bucket spans pages")
		page := make([]byte, 4096)
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.ReadAt(page, int64(root.ID)*4096)
		require.NoError(t, err)
		leaf = binary.LittleEndian.Uint64(page[16+8:]) // the first element's child
		child, err := tx.Page(int(leaf))
		require.NoError(t, err)
		require.Equal(t, "leaf", child.Type)
		return nil
	}))
	return leaf
}

// TestFileWithoutChecksumsIsRead: a file written before values carried
// checksums is read as it is, and a Restore rewrites it with them.
func TestFileWithoutChecksumsIsRead(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("ns/key"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("k"), []byte("old")); err != nil {
			return err
		}
		_, err = tx.CreateBucket([]byte("meta"))
		return err
	}))
	require.NoError(t, db.Close())

	ctx := context.Background()
	e := bbolt.New()
	_, err = e.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	defer func() { require.NoError(t, e.Close(ctx)) }()
	resp, err := e.GetMany(ctx, storage.GetManyRequest{Namespace: "key", Keys: [][]byte{[]byte("k")}})
	require.NoError(t, err)
	require.Equal(t, "old", string(resp.Values[0]))
	_, err = e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{{Kind: storage.OpPut, Namespace: "key", Key: []byte("n"), Value: []byte("new")}}})
	require.NoError(t, err)

	var snap bytes.Buffer
	_, err = e.Snapshot(ctx, storage.SnapshotRequest{Writer: &snap})
	require.NoError(t, err)
	_, err = e.Restore(ctx, storage.RestoreRequest{Reader: &snap})
	require.NoError(t, err)
	resp, err = e.GetMany(ctx, storage.GetManyRequest{Namespace: "key", Keys: [][]byte{[]byte("k"), []byte("n")}})
	require.NoError(t, err)
	require.Equal(t, []string{"old", "new"}, []string{string(resp.Values[0]), string(resp.Values[1])})
	b, err := os.ReadFile(filepath.Join(dir, "db"))
	require.NoError(t, err)
	require.Contains(t, string(b), "value_checksum", "the restored file carries checksums")
}
