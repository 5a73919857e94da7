//go:build tools

// Package compat pins etcd's own end-to-end suite (go.etcd.io/etcd/tests/v3,
// package common, built with the e2e tag) and etcdutl, so that `make compat`
// can run that suite against bin/metastore as a drop-in etcd. It is a separate
// module so that none of these dependencies reach MetaStore's go.mod or the
// tools module that builds etcdctl and etcd.
//
// The imports below are the non-test packages that the suite's test files
// need, so that `go mod tidy` keeps their go.sum entries.
package compat

import (
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/stretchr/testify/assert"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/etcd/etcdutl/v3"
	_ "go.etcd.io/etcd/tests/v3/framework"
	_ "go.etcd.io/etcd/tests/v3/framework/config"
	_ "go.etcd.io/etcd/tests/v3/framework/e2e"
)
