// Package backendbytes is the built-in quota policy behind etcd's
// --quota-backend-bytes: a write is refused, and NOSPACE raised, when the
// storage engine's size plus the write's cost would reach the quota.
//
// It imports only pluginapi/quota.
package backendbytes
