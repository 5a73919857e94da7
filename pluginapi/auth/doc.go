// Package auth is the published contract between the MetaStore host and an
// auth provider: the Provider interface, its plain request and response
// structs, and the sentinel errors a provider returns.
//
// A provider answers one question: who is this? It checks a user name and
// password, or a bearer token, and returns an Identity: a user name, the
// groups the user belongs to, and how long the answer holds. It decides
// nothing about keys. Users, roles and permissions stay etcd's, replicated
// through raft and checked by the host against its permission cache, so
// every member enforces the same rules whatever provider verified the
// caller.
//
// The built-in provider, "etcd", checks etcd's bcrypt users and the simple
// or JWT tokens the host issues. Other providers verify credentials issued
// elsewhere (an OIDC identity provider's JWTs, a static file, a client
// certificate's name). The host fails closed when a provider cannot
// answer: ErrUnavailable refuses the request.
//
// This package imports nothing of MetaStore's.
package auth
