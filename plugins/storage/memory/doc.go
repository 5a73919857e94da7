// Package memory is an in-memory storage engine: one copy-on-write B-tree
// per namespace. It is not durable: Close drops everything, and a new engine
// opened on the same directory starts empty. Scan and Snapshot read from
// cheap clones of the trees, so they see one consistent state while batches
// keep applying.
//
// It suits tests and members whose state the WAL can rebuild. It imports
// only pluginapi/storage and third-party libraries.
package memory
