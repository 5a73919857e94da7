package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writePluginConfig writes a MetaStore config file under dir that selects
// the RocksDB storage plugin at bin, with the binary's SHA-256 as read now,
// and returns its path. Every other setting comes from the flags.
func writePluginConfig(dir, bin string) (string, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", fmt.Errorf("rocksdb plugin: %w (make build)", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`storage-engine: rocksdb
plugins:
  - kind: storage
    name: rocksdb
    path: %q
    sha256: %s
`, abs, hex.EncodeToString(h.Sum(nil)))
	path := filepath.Join(dir, "rocksdb-plugin.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}
