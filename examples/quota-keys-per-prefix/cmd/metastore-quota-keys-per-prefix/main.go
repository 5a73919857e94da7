// Command metastore-quota-keys-per-prefix is the keys-per-prefix quota
// policy as a plugin process; the host configures it from the catalog
// entry's config mapping.
package main

import (
	"github.com/metastore/metastore/pluginapi/quota"

	keysperprefix "example.com/metastore-plugins/quota-keys-per-prefix"
)

func main() { quota.Serve(keysperprefix.New()) }
