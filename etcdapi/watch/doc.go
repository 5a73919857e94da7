// Package watch runs etcd's watch protocol over gRPC streams: it turns a
// client's create, cancel and progress requests into calls on the
// store's watch streams, and the store's responses into etcd's, merged
// per watcher, split for watchers that asked for fragments, with previous
// values for those that asked for them, and with progress notifications
// for idle watchers.
//
// The events themselves, their order, buffering and catch-up, are the
// store's (mvcc). What a stream may watch is the member's to decide: the
// Member interface answers it and stamps headers.
package watch
