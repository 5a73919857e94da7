package e2e

import "testing"

// Each script runs against real etcd 3.7.3 and MetaStore; every output must
// match to the byte (identities masked).

func TestEtcdctlPutGet(t *testing.T) {
	requireSameAsEtcd(t, []step{
		ctl("get", "foo", "-w", "json"),
		ctl("put", "foo", "bar"),
		ctl("put", "foo", "bar2", "--prev-kv"),
		ctl("put", "foo", "bar3", "--prev-kv", "-w", "json"),
		ctl("get", "foo"),
		ctl("get", "foo", "-w", "json"),
		ctl("get", "foo", "-w", "fields"),
		ctl("get", "foo", "-w", "simple"),
		ctl("get", "foo", "--rev", "2"),
		ctl("get", "foo", "--rev", "3", "-w", "json"),
		ctl("get", "foo", "--rev", "100"),
		ctl("get", "foo", "--consistency", "s", "-w", "json"),
		ctl("put", "foo", "--ignore-value", "--prev-kv"),
		ctl("put", "missing", "--ignore-value"),
		ctl("put", "k", "v", "--lease", "1234"),
		ctl("put", "k", "v", "--ignore-lease"),
		ctl("get", "nosuchkey"),
	})
}

func TestEtcdctlGetOptions(t *testing.T) {
	steps := []step{
		ctl("put", "fo", "3"),
		ctl("put", "foo", "1"),
		ctl("put", "fop", "2"),
		ctl("put", "foo", "4"),
		ctl("put", "fz", "0"),
		ctl("put", "g", "5"),
		ctl("put", "fop", "6"),
	}
	for _, args := range [][]string{
		{"fo", "--prefix"},
		{"fo", "--prefix", "-w", "json"},
		{"fo", "--prefix", "--limit", "2", "-w", "json"},
		{"fo", "--from-key"},
		{"fo", "fp"},
		{"fo", "--prefix", "--keys-only"},
		{"fo", "--prefix", "--keys-only", "-w", "json"},
		{"fo", "--prefix", "--count-only", "-w", "json"},
		{"fo", "--prefix", "--print-value-only"},
		{"f", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND"},
		{"f", "--prefix", "--sort-by", "VALUE", "--order", "ASCEND", "--limit", "2"},
		{"f", "--prefix", "--sort-by", "CREATE", "--order", "DESCEND"},
		{"f", "--prefix", "--sort-by", "MODIFY"},
		{"f", "--prefix", "--sort-by", "VERSION", "--order", "DESCEND"},
		{"f", "--prefix", "--sort-by", "KEY", "--order", "DESCEND", "--limit", "3", "-w", "json"},
		{"f", "--prefix", "--min-mod-rev", "4"},
		{"f", "--prefix", "--max-mod-rev", "4"},
		{"f", "--prefix", "--min-create-rev", "3", "--max-create-rev", "5", "-w", "json"},
		{"f", "--prefix", "--rev", "4", "--limit", "1", "-w", "json"},
		{"", "--from-key", "--keys-only"},
		{"f", "--prefix", "--consistency", "s", "--count-only"},
	} {
		steps = append(steps, ctl(append([]string{"get"}, args...)...))
	}
	requireSameAsEtcd(t, steps)
}

func TestEtcdctlDelete(t *testing.T) {
	requireSameAsEtcd(t, []step{
		ctl("put", "a", "1"),
		ctl("put", "ab", "2"),
		ctl("put", "abc", "3"),
		ctl("put", "b", "4"),
		ctl("put", "c", "5"),
		ctl("del", "nosuch"),
		ctl("del", "a", "--prev-kv"),
		ctl("del", "ab", "--prefix", "--prev-kv", "-w", "json"),
		ctl("get", "", "--from-key"),
		ctl("del", "b", "--from-key"),
		ctl("get", "", "--from-key", "-w", "json"),
		ctl("put", "a", "again"),
		ctl("get", "a", "-w", "json"),
		ctl("del", "a", "c"),
	})
}

func TestEtcdctlTxn(t *testing.T) {
	requireSameAsEtcd(t, []step{
		ctl("put", "k1", "v1"),
		ctl("put", "k2", "v2"),
		ctlIn("value(\"k1\") = \"v1\"\n\nput k1 \"new\"\nget k1\n\nput k1 \"else\"\n\n", "txn"),
		ctlIn("value(\"k1\") = \"v1\"\n\nput k1 \"new2\"\n\nget k2\ndel k2\n\n", "txn", "-w", "json"),
		ctlIn("mod(\"k1\") > \"0\"\ncreate(\"k1\") = \"2\"\nversion(\"k1\") < \"3\"\n\nget k1\n\n\n", "txn"),
		ctlIn("version(\"k1\") = \"2\"\nvalue(\"k1\") != \"x\"\n\nput k3 v3\nget k --prefix\n\n\n", "txn", "-w", "json"),
		ctlIn("create(\"nokey\") = \"0\"\n\nput nokey created\n\n\n", "txn"),
		ctlIn("value(\"nokey\") > \"a\"\n\nget nokey\n\nget k1\n\n", "txn", "--interactive"),
		ctlIn("\nput a 1\nput a 2\n\n\n", "txn"),
		ctlIn("\nput a 1\ndel a\n\n\n", "txn"),
		ctlIn("\nget k1 --rev=100\n\n\n", "txn"),
		ctl("get", "", "--from-key", "-w", "json"),
	})
}

func TestEtcdctlCompaction(t *testing.T) {
	requireSameAsEtcd(t, []step{
		ctl("put", "x", "1"),
		ctl("put", "x", "2"),
		ctl("put", "y", "3"),
		ctl("del", "y"),
		ctl("put", "x", "5"),
		ctl("compaction", "3"),
		ctl("get", "x", "--rev", "2"),
		ctl("get", "x", "--rev", "3", "-w", "json"),
		ctl("get", "y", "--rev", "4"),
		ctl("compaction", "3"),
		ctl("compaction", "2"),
		ctl("compaction", "100"),
		ctl("compaction", "5", "--physical"),
		ctl("get", "x", "--rev", "4"),
		ctl("get", "", "--from-key", "-w", "json"),
		ctl("put", "x", "6", "-w", "json"),
	})
}
