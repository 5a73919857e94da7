// Command metastore-storage-rocksdb serves the RocksDB storage engine as a
// MetaStore plugin process. It needs cgo and librocksdb (`make build`
// builds it so); the host starts it, and run by hand it refuses to start.
package main

import (
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/rocksdb"
)

func main() { storage.Serve(rocksdb.New()) }
