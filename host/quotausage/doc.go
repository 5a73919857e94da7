// Package quotausage counts the live keys and bytes under the key
// prefixes a quota policy declared, from the member's MVCC store: the
// usage the admission of writes hands the policy.
//
// The usage is derived from the replicated store (read at one revision,
// then followed through the store's watch), so it is the same on every
// member once each has applied the same log, and nothing about it is kept
// anywhere else. Usage is both etcdapi.QuotaUsage (what the admission of a
// write asks) and plugin.PrefixUsage (what a quota plugin's prefixes
// set); host, which hands it to both, asserts it.
//
// quotausage imports, of MetaStore, mvcc and pluginapi/quota only.
package quotausage
