//go:build tools

// Package tools pins the upstream etcd binaries that MetaStore's tests and
// benchmarks run against. It is a separate module so that their dependencies
// never enter MetaStore's own go.mod. Build them from the repository root with
// `make tools`, `make etcd` and `make benchmark`.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
