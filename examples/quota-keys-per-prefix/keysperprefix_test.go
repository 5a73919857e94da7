package keysperprefix_test

import (
	"testing"

	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/pluginapi/quota/quotatest"

	keysperprefix "example.com/metastore-plugins/quota-keys-per-prefix"
)

func put(prefix string, keys, addKeys int64) quota.CheckRequest {
	return quota.CheckRequest{Kind: quota.WritePut, Cost: 100, Puts: []quota.Put{{Key: []byte(prefix + "k"), ValueSize: 10}},
		Prefixes: []quota.PrefixUsage{{Prefix: []byte(prefix), Keys: keys, Bytes: keys * 20, AddKeys: addKeys, AddBytes: 20 * addKeys}}}
}

func fixture(newPolicy func(t *testing.T) quota.Policy) quotatest.Fixture {
	return quotatest.Fixture{
		New:      newPolicy,
		Config:   []byte(`{"max-keys": 2, "prefixes": ["/a/", "/b/"]}`),
		Prefixes: [][]byte{[]byte("/a/"), []byte("/b/")},
		InvalidConfigs: [][]byte{
			[]byte(`{"max-keys": 0, "prefixes": ["/a/"]}`),
			[]byte(`{"max-keys": 2, "prefixes": ["/a/", "/a/"]}`),
			[]byte(`{"max-keys": 2, "prefixes": [""]}`),
			[]byte(`{"max-keyz": 2}`),
			[]byte(`not json`),
		},
		Cases: []quotatest.Case{
			{Name: "room for a key", Request: put("/a/", 1, 1), Admit: true},
			{Name: "at the limit", Request: put("/a/", 2, 1)},
			{Name: "overwrite at the limit", Request: put("/a/", 2, 0), Admit: true},
			{Name: "over a lowered limit, shrinking", Request: put("/b/", 5, -1), Admit: true},
			{Name: "a write under no prefix", Request: quota.CheckRequest{Kind: quota.WritePut, Cost: 10}, Admit: true},
		},
	}
}

func TestConformance(t *testing.T) {
	quotatest.Run(t, fixture(func(*testing.T) quota.Policy { return keysperprefix.New() }))
}

func TestConformanceOverGRPC(t *testing.T) {
	quotatest.Run(t, fixture(func(t *testing.T) quota.Policy { return quotatest.OverGRPC(t, keysperprefix.New()) }))
}

func TestConformancePlugin(t *testing.T) {
	bin := quotatest.BuildPlugin(t, "example.com/metastore-plugins/quota-keys-per-prefix/cmd/metastore-quota-keys-per-prefix")
	quotatest.Run(t, fixture(func(t *testing.T) quota.Policy { return quotatest.LaunchPlugin(t, bin) }))
}
