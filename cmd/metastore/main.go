// Command metastore runs one MetaStore member: an etcd v3 API compatible,
// raft-replicated key-value store.
package main

import (
	"os"

	"github.com/metastore/metastore/host"
)

func main() {
	os.Exit(host.Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
