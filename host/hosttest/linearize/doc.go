// Package linearize records the history of concurrent etcd KV calls made
// with clientv3 (puts, gets, deletes and compare-and-swap transactions on
// single keys) and checks that it is linearizable with porcupine, against
// a model of one key's value partitioned by key.
//
// A write whose outcome the client could not learn (a timeout, an
// unavailable member) is recorded as unknown: it may or may not have taken
// effect, and the checker accepts either.
//
// It is test support: it imports clientv3 and porcupine, never server code.
package linearize
