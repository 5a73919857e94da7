package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// etcd's config file. --config-file takes MetaStore's format (the flags'
// keys, flat) or etcd's (the YAML of etcd's embed.Config): the same keys
// for what both have, plus the nested client-transport-security,
// peer-transport-security and socket-options blocks and the keys of
// features MetaStore does not have (discovery, the v2 proxy, CORS, ...).
//
// The format is told by the keys: a file is etcd's when it has a key only
// etcd's format has (etcdFileKeys, etcdUnimplementedFileKeys). etcd's
// file carries no version or marker, so the keys are all there is to go
// on, and they are enough: MetaStore's format refuses every such key, so
// a file holding one can only be meant as etcd's; and a file without one
// reads the same in either format, because the keys both formats have
// mean the same in both once their values are read as below. A file of
// etcd's may also hold MetaStore's own keys (storage-engine, plugins, ...),
// so that an operator can take etcd's file and add to it.
//
// Values, in either format, are read as etcd reads them where MetaStore's
// own reading would fail: a key with no value keeps its default (etcd
// unmarshals YAML through JSON, where null leaves a field as it is), and
// so do an empty initial-cluster-state and a self-signed-cert-validity of
// 0; a duration may be integer nanoseconds, as etcd's file writes it
// (time.Duration through JSON), besides a Go duration; log-outputs may be
// a list.
//
// Where MetaStore differs: etcd ignores keys it does not know, and with a
// config file ignores the flags and the environment; MetaStore refuses an
// unknown key by name (a typo must not pass silently) and keeps its order,
// defaults < file < environment < flags.

// Config file formats, as Options.ConfigFileFormat names them.
const (
	FormatMetaStore = "metastore"
	FormatEtcd      = "etcd"
)

// etcdFileKeys are the keys of etcd's config file whose MetaStore setting
// has another key: the nested TLS and socket blocks.
var etcdFileKeys = map[string]string{
	"client-transport-security.cert-file":        "cert-file",
	"client-transport-security.key-file":         "key-file",
	"client-transport-security.client-cert-auth": "client-cert-auth",
	"client-transport-security.trusted-ca-file":  "trusted-ca-file",
	"client-transport-security.auto-tls":         "auto-tls",
	"peer-transport-security.cert-file":          "peer-cert-file",
	"peer-transport-security.key-file":           "peer-key-file",
	"peer-transport-security.client-cert-auth":   "peer-client-cert-auth",
	"peer-transport-security.trusted-ca-file":    "peer-trusted-ca-file",
	"peer-transport-security.auto-tls":           "peer-auto-tls",
	"peer-transport-security.allowed-cn":         "peer-cert-allowed-cn",
	"peer-transport-security.allowed-hostname":   "peer-cert-allowed-hostname",
	"socket-options.reuse-port":                  "socket-reuse-port",
	"socket-options.reuse-address":               "socket-reuse-address",
}

// etcdUnimplementedFileKeys are the keys of etcd's config file for what
// MetaStore does not have, with the values that leave it off: etcd 3.7's
// defaults, and the values etcd's sample file (etcd.conf.yml.sample) has,
// such as its v2 proxy settings, which etcd 3.7 no longer reads. A key with
// no value or an empty one is accepted too; any other value is refused by
// name. Every key under discovery-config must be empty.
var etcdUnimplementedFileKeys = map[string][]string{
	"max-snapshots":                        {"5"},
	"max-wals":                             {"5"},
	"initial-election-tick-advance":        {"true"},
	"backend-batch-interval":               {"0"},
	"backend-batch-limit":                  {"0"},
	"backend-bbolt-freelist-type":          {"map"},
	"bootstrap-defrag-threshold-megabytes": {"0"},
	"warning-unary-request-duration":       {"0", "300000000", "300ms"},
	"downgrade-check-time":                 {"5000000000", "5s"},
	"memory-mlock":                         {"false"},
	"enable-grpc-gateway":                  {"true"},
	"v2-deprecation":                       {"write-only"},
	"listen-client-http-urls":              nil,
	"cors":                                 {"*"},
	"host-whitelist":                       {"*"},
	// etcd 3.7's default is exit; its sample file says proxy.
	"discovery":              nil,
	"discovery-fallback":     {"exit", "proxy"},
	"discovery-proxy":        nil,
	"discovery-srv":          nil,
	"discovery-srv-name":     nil,
	"proxy":                  {"off"},
	"proxy-failure-wait":     {"5000"},
	"proxy-refresh-interval": {"30000"},
	"proxy-dial-timeout":     {"1000"},
	"proxy-write-timeout":    {"5000"},
	"proxy-read-timeout":     {"0"},

	"client-transport-security.client-cert-file":             nil,
	"client-transport-security.client-key-file":              nil,
	"client-transport-security.allowed-cn":                   nil,
	"client-transport-security.allowed-hostname":             nil,
	"client-transport-security.skip-client-san-verification": {"false"},
	"peer-transport-security.client-cert-file":               nil,
	"peer-transport-security.client-key-file":                nil,
	"peer-transport-security.skip-client-san-verification":   {"false"},
}

// etcdFileDefaultValues are values etcd's file reading takes for the
// default (embed's configFromFile), which MetaStore would refuse.
var etcdFileDefaultValues = map[string]string{"initial-cluster-state": "", "self-signed-cert-validity": "0"}

func isEtcdFileDefault(key string, v any) bool {
	d, ok := etcdFileDefaultValues[key]
	return ok && fmt.Sprint(v) == d
}

// isEtcdOnlyKey reports whether key is in etcd's format and not in
// MetaStore's.
func isEtcdOnlyKey(key string) bool {
	_, mapped := etcdFileKeys[key]
	_, unimplemented := etcdUnimplementedFileKeys[key]
	return mapped || unimplemented || strings.HasPrefix(key, "discovery-config.") || key == "discovery-config" ||
		key == "client-transport-security" || key == "peer-transport-security" || key == "socket-options"
}

// fileSettings turns the keys of a config file, flattened with dots, into
// settings by key, and names the file's format.
func fileSettings(m, defs map[string]any) (map[string]any, string, error) {
	format := FormatMetaStore
	for key := range m {
		if isEtcdOnlyKey(key) {
			format = FormatEtcd
		}
	}
	out := map[string]any{}
	from := map[string]string{} // setting -> file key, for conflicts
	var bad, unknown []string
	for _, key := range sortedKeys(m) {
		v := m[key]
		setting := key
		switch _, known := defs[key]; {
		case v == nil || isEtcdFileDefault(key, v):
			continue // keeps its default, as etcd reads it
		case etcdFileKeys[key] != "":
			setting = etcdFileKeys[key]
		case isEtcdOnlyKey(key):
			if !isDefaultValue(v, etcdUnimplementedFileKeys[key]) {
				bad = append(bad, refusedFileKey(key, v))
			}
			continue
		case !known && !fileOnlyKeys[key]:
			unknown = append(unknown, "config file key "+key+suggestKey(key, defs))
			continue
		}
		value, err := fileValue(setting, v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("config file key %s: %v", key, err))
			continue
		}
		if other, dup := from[setting]; dup {
			bad = append(bad, fmt.Sprintf("config file keys %s and %s both set %s: keep one", other, key, setting))
			continue
		}
		out[setting], from[setting] = value, key
	}
	if len(unknown) > 0 {
		bad = append([]string{"unknown setting: " + strings.Join(unknown, ", ")}, bad...)
	}
	if len(bad) > 0 {
		return nil, format, errors.New(strings.Join(bad, "; "))
	}
	return out, format, nil
}

// suggestKey names the setting nearest to an unknown config file key, if
// one is near enough to be what was meant.
func suggestKey(key string, defs map[string]any) string {
	keys := append(sortedKeys(defs), sortedKeys(fileOnlyKeys)...)
	if near := Nearest(key, keys); near != "" {
		return " (did you mean " + near + "?)"
	}
	return ""
}

// fileValue reads a file's value of setting as etcd's file would have it,
// where MetaStore's own reading would fail (see above).
func fileValue(setting string, v any) (any, error) {
	switch {
	case durationSettings[setting]:
		if n, ok := wholeNumber(v); ok {
			return time.Duration(n).String(), nil
		}
	case setting == "log-outputs":
		if list, ok := v.([]any); ok {
			return joinList(list), nil
		}
	case setting == "peer-cert-allowed-cn" || setting == "peer-cert-allowed-hostname":
		list, ok := v.([]any)
		if !ok {
			return v, nil
		}
		if len(list) > 1 {
			return nil, fmt.Errorf("MetaStore takes one value, not %d", len(list))
		}
		return joinList(list), nil
	}
	return v, nil
}

// wholeNumber returns v as an integer if it is one (YAML's integers, or a
// float without a fraction).
func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}

func joinList(list []any) string {
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ",")
}

// isEmptyValue reports whether v is no value, an empty string or an empty
// list or map.
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// isDefaultValue reports whether v is empty or one of the values defaults
// spells.
func isDefaultValue(v any, defaults []string) bool {
	if isEmptyValue(v) {
		return true
	}
	for _, d := range defaults {
		if fmt.Sprint(v) == d {
			return true
		}
	}
	return false
}

// refusedFileKey says that MetaStore refuses key's value v.
func refusedFileKey(key string, v any) string {
	defaults := append([]string(nil), etcdUnimplementedFileKeys[key]...)
	sort.Strings(defaults)
	takes := "no value"
	if len(defaults) > 0 {
		takes = "only etcd's default, " + strings.Join(defaults, " or ") + ", or no value"
	}
	return fmt.Sprintf("etcd setting not implemented by MetaStore: config file key %s is %v (MetaStore takes %s)", key, v, takes)
}
