// Command metastore-storage-memory serves the memory storage engine as a MetaStore
// plugin process. The host starts it; run by hand it refuses to start.
package main

import (
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

func main() { storage.Serve(memory.New()) }
