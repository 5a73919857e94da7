// Package auth owns etcd's authentication state as a state machine: the
// Store holds the auth switch and revision, users and roles, the
// permission cache derived from them and the groups external identities
// bring, applies Auth requests from the raft log in order (Apply), checks
// every request's permissions (Authorize and the *Permitted checks), and
// issues and verifies tokens, simple or JWT, with an external provider
// (pluginapi/auth) for tokens the member did not issue. It persists users
// and roles through mvcc's meta writes (Namespace) and rebuilds them at
// start (Load).
//
// Its errors are etcd's auth errors as sentinels; the server maps them to
// the rpctypes values clients see. Who a request acts for (its token or
// client certificate, read from gRPC metadata) is the server's to find out:
// this package receives an Info.
//
// It imports mvcc and pluginapi of MetaStore's packages, never gRPC server
// code, raft, host or etcdapi itself.
package auth
