// Command metastore-quota-prefix is the prefix-quota policy as a plugin
// process: per-prefix key and byte limits (plugins/quota/prefix).
package main

import (
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/prefix"
)

func main() { quota.Serve(prefix.New()) }
