//go:build tools

// Package benchmark pins etcd's load generator, tools/benchmark, which is
// published only in the go.etcd.io/etcd/v3 root module. The newest version of
// that module on the module proxy is v3.6.8, and its sources do not compile
// against go.etcd.io/etcd/pkg/v3 v3.7.x, so it lives in a module of its own
// with the v3.6.8 dependency set. It speaks the same etcd v3 gRPC API.
package benchmark

import (
	_ "go.etcd.io/etcd/v3/tools/benchmark"
)
