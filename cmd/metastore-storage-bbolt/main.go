// Command metastore-storage-bbolt serves the bbolt storage engine as a MetaStore
// plugin process. The host starts it; run by hand it refuses to start.
package main

import (
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

func main() { storage.Serve(bbolt.New()) }
