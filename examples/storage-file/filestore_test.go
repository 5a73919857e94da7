package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/pluginapi/storage/storagetest"

	filestore "example.com/metastore-plugins/storage-file"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T, string) storage.Engine { return filestore.New() })
}

func TestConformanceOverGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, _ string) storage.Engine { return storagetest.OverGRPC(t, filestore.New()) })
}

func TestConformancePlugin(t *testing.T) {
	bin := storagetest.BuildPlugin(t, "example.com/metastore-plugins/storage-file/cmd/metastore-storage-file")
	storagetest.Run(t, storagetest.PluginFactory(bin))
}

// A record cut short by a crash is dropped at Open; damage before the last
// record is corruption.
func TestTornAndDamagedLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := filestore.New()
	_, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"1", "2"} {
		op := storage.Op{Kind: storage.OpPut, Namespace: "ns", Key: []byte("k"), Value: []byte(v)}
		if _, err := e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{op}, ConsistentIndex: uint64(i + 1), Sync: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "data.log")
	whole, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(log, whole[:len(whole)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	e = filestore.New()
	resp, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	if err != nil || resp.ConsistentIndex != 1 {
		t.Fatalf("a torn last record: Open = %v, %v; want index 1, no error", resp, err)
	}
	_ = e.Close(ctx)

	damaged := append([]byte{}, whole...)
	damaged[10] ^= 0xff // inside the first record
	if err := os.WriteFile(log, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := filestore.New().Open(ctx, storage.OpenRequest{Dir: dir}); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("a damaged first record: Open error %v, want ErrCorrupt", err)
	}
}
