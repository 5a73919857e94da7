package storagetest

import (
	"bytes"
	"slices"
	"strings"

	"github.com/metastore/metastore/pluginapi/storage"
)

// model is the reference engine: a map per namespace, sorted on demand. It
// is slow and obviously right.
type model map[string]map[string]string

func (m model) apply(ops []storage.Op) {
	for _, op := range ops {
		ns := m[op.Namespace]
		if ns == nil {
			ns = map[string]string{}
			m[op.Namespace] = ns
		}
		if op.Kind == storage.OpPut {
			ns[string(op.Key)] = string(op.Value)
		} else {
			delete(ns, string(op.Key))
		}
	}
}

func (m model) get(ns, key string) (string, bool) {
	v, ok := m[ns][key]
	return v, ok
}

// scan answers req as the contract defines it.
func (m model) scan(req storage.ScanRequest) []kv {
	keys := make([]string, 0, len(m[req.Namespace]))
	for k := range m[req.Namespace] {
		if inRange(k, req.Start, req.End) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // Go compares strings bytewise
	if req.Reverse {
		slices.Reverse(keys)
	}
	if req.Limit > 0 && int64(len(keys)) > req.Limit {
		keys = keys[:req.Limit]
	}
	out := make([]kv, 0, len(keys))
	for _, k := range keys {
		value := m[req.Namespace][k]
		if req.KeysOnly {
			value = ""
		}
		out = append(out, kv{k, value})
	}
	return out
}

func inRange(key string, start, end []byte) bool {
	return strings.Compare(key, string(start)) >= 0 && (end == nil || bytes.Compare([]byte(key), end) < 0)
}

// namespaces lists the namespaces holding at least one key.
func (m model) namespaces() []string {
	var out []string
	for ns, keys := range m {
		if len(keys) > 0 {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}
