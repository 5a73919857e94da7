// Command metastore-storage-file is the file storage engine as a plugin
// process.
package main

import (
	"github.com/metastore/metastore/pluginapi/storage"

	filestore "example.com/metastore-plugins/storage-file"
)

func main() { storage.Serve(filestore.New()) }
