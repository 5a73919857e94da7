package storagetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

// scanKeys holds edge bytes so that only bytewise order passes.
var scanKeys = []string{"\x00", "a", "b", "ba", "bb", "c", "d", "d\x00", "\x7f", "\x80", "\xff", "\xff\xff"}

func loadScanKeys(t *testing.T, e storage.Engine) model {
	m := model{}
	ops := make([]storage.Op, 0, len(scanKeys))
	for i := len(scanKeys) - 1; i >= 0; i-- { // insertion order must not matter
		ops = append(ops, put("ns", scanKeys[i], "v-"+scanKeys[i]))
	}
	ops = append(ops, put("ns2", "b0", "other namespace"))
	apply(t, e, ops...)
	m.apply(ops)
	return m
}

func testScan(t *testing.T, h harness) {
	e, _ := h.open(t)
	m := loadScanKeys(t, e)
	b := func(s string) []byte { return []byte(s) }
	tests := map[string]storage.ScanRequest{
		"all":                  {},
		"from b":               {Start: b("b")},
		"before b":             {End: b("b")},
		"[b,c)":                {Start: b("b"), End: b("c")},
		"between keys":         {Start: b("az"), End: b("bz")},
		"end is a key":         {Start: b("a"), End: b("d")},
		"start equals end":     {Start: b("b"), End: b("b")},
		"start after end":      {Start: b("c"), End: b("b")},
		"past the last key":    {Start: b("\xff\xff\xff")},
		"high bytes":           {Start: b("\x7f"), End: b("\xff\xff")},
		"limit":                {Limit: 3},
		"limit over count":     {Limit: 100},
		"limit in range":       {Start: b("b"), End: b("d"), Limit: 2},
		"reverse all":          {Reverse: true},
		"reverse [b,c)":        {Start: b("b"), End: b("c"), Reverse: true},
		"reverse end is a key": {Start: b("a"), End: b("d"), Reverse: true},
		"reverse from c":       {Start: b("c"), Reverse: true},
		"reverse before b":     {End: b("b"), Reverse: true},
		"reverse limit":        {End: b("d\x00"), Limit: 2, Reverse: true},
		"reverse empty range":  {Start: b("bc"), End: b("bz"), Reverse: true},
		"keys only":            {Start: b("b"), KeysOnly: true},
		"keys only reverse":    {KeysOnly: true, Reverse: true, Limit: 4},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			req.Namespace = "ns"
			got := scan(t, e, req)
			if req.KeysOnly {
				for i := range got {
					got[i].Value = "" // Value may or may not be given
				}
			}
			require.Equal(t, m.scan(req), nonNil(got))
			requireSorted(t, got, req.Reverse)
		})
	}
	require.Equal(t, []kv{{"bb", "v-bb"}, {"ba", "v-ba"}},
		scan(t, e, storage.ScanRequest{Namespace: "ns", Start: b("b"), End: b("c"), Reverse: true, Limit: 2}))
}

func nonNil(kvs []kv) []kv {
	if kvs == nil {
		return []kv{}
	}
	return kvs
}

func testScanEarlyStop(t *testing.T, h harness) {
	e, _ := h.open(t)
	loadScanKeys(t, e)
	for _, reverse := range []bool{false, true} {
		calls := 0
		err := e.Scan(context.Background(), storage.ScanRequest{Namespace: "ns", Reverse: reverse},
			func(storage.KeyValue) bool {
				calls++
				return calls < 3
			})
		require.NoError(t, err, "stopping early is not an error")
		require.Equal(t, 3, calls, "fn must not be called after it returns false")
	}
}
