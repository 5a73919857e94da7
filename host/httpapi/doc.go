// Package httpapi serves a member's client-facing HTTP: on every client
// port next to gRPC, etcd's HTTP endpoints (/metrics, the health
// endpoints, /version, the runtime profiles, the JSON gateway of the
// gRPC API, /v3/..., and the web console a member hands it, /ui/), and /metrics and the health endpoints on the
// metrics URLs.
//
// A client port carries both protocols: a connection multiplexer routes
// each connection by its first bytes, gRPC to the member's gRPC server and
// the rest to the HTTP server. The gateway reaches the gRPC API over a
// loopback connection to the first client port, so its requests see the
// gRPC API's behaviour, errors and auth exactly.
//
// httpapi imports, of MetaStore, host/tlsconf (the TLS state of a
// connection) only: the member hands it its gRPC server, its listeners and
// the handlers of /metrics and the health endpoints.
package httpapi
