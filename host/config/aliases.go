package config

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Short command-line aliases of etcd's flags, for the common case of one
// member per machine:
//
//	--storage memory|bbolt|rocksdb   --storage-engine
//	--listen host:port               --listen-client-urls and --advertise-client-urls
//	--id name                        --name
//	--cluster host:port,...          --initial-cluster, --listen-peer-urls and
//	                                 --initial-advertise-peer-urls
//
// An alias given together with the etcd setting it stands for (a flag, a
// METASTORE_* variable or a config file key) is refused unless both say
// the same.

// bundledRocksDB is the RocksDB plugin binary --storage rocksdb starts when
// the catalog has no storage plugin of that name.
const bundledRocksDB = "metastore-storage-rocksdb"

// flagAliases holds the aliases as given.
type flagAliases struct {
	storage, listen, id, cluster string
}

func (a *flagAliases) register(fs *flag.FlagSet) {
	fs.StringVar(&a.storage, "storage", "", help("storage"))
	fs.StringVar(&a.listen, "listen", "", help("listen"))
	fs.StringVar(&a.id, "id", "", help("id"))
	fs.StringVar(&a.cluster, "cluster", "", help("cluster"))
}

// isAlias reports whether a flag name is an alias, not a setting.
func isAlias(name string) bool { return aliasKeys[name] }

// aliasKeys are the aliases' flag names.
var aliasKeys = groupKeys(GroupAliases)

// settings returns the etcd settings the given aliases stand for.
func (a *flagAliases) settings() (map[string]any, error) {
	out := map[string]any{}
	if a.storage != "" {
		out["storage-engine"] = a.storage
	}
	if a.id != "" {
		out["name"] = a.id
	}
	if a.listen != "" {
		listen, advertise, err := listenURLs(a.listen)
		if err != nil {
			return nil, err
		}
		out["listen-client-urls"], out["advertise-client-urls"] = listen, advertise
	}
	if a.cluster != "" {
		if a.id == "" {
			return nil, fmt.Errorf("--cluster needs --id, the name of this member's entry")
		}
		entries, err := parseClusterAlias(a.cluster)
		if err != nil {
			return nil, err
		}
		var parts []string
		self := ""
		for _, e := range entries {
			parts = append(parts, e.name+"=http://"+e.addr)
			if e.name == a.id {
				self = "http://" + e.addr
			}
		}
		if self == "" {
			names := make([]string, len(entries))
			for i, e := range entries {
				names[i] = e.name
			}
			return nil, fmt.Errorf("--id %q names no member of --cluster (its members: %s)", a.id, strings.Join(names, ", "))
		}
		out["initial-cluster"] = strings.Join(parts, ",")
		out["listen-peer-urls"], out["initial-advertise-peer-urls"] = self, self
	}
	return out, nil
}

// listenURLs turns --listen's host:port into the client URLs to listen on
// and to advertise.
func listenURLs(hostport string) (listen, advertise string, err error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" {
		return "", "", fmt.Errorf("--listen %q: want host:port or :port", hostport)
	}
	if host != "" {
		u := "http://" + net.JoinHostPort(host, port)
		return u, u, nil
	}
	name, err := os.Hostname()
	if err != nil {
		return "", "", fmt.Errorf("--listen %q: no host given and the machine's host name is unknown: %w", hostport, err)
	}
	return "http://" + net.JoinHostPort("0.0.0.0", port), "http://" + net.JoinHostPort(name, port), nil
}

type clusterEntry struct{ name, addr string }

// parseClusterAlias parses --cluster's [name=]host:port list and names the
// entries that have no name.
func parseClusterAlias(s string) ([]clusterEntry, error) {
	var entries []clusterEntry
	hosts := map[string]int{}
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		name, addr, named := strings.Cut(raw, "=")
		if !named {
			name, addr = "", raw
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("--cluster entry %q: want [name=]host:port", raw)
		}
		hosts[host]++
		entries = append(entries, clusterEntry{name: name, addr: addr})
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("--cluster: no member given")
	}
	seen := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		if e.name == "" {
			host, _, _ := net.SplitHostPort(e.addr)
			e.name = host
			if hosts[host] > 1 {
				e.name = e.addr
			}
		}
		if seen[e.name] {
			return nil, fmt.Errorf("--cluster: two members are named %q", e.name)
		}
		seen[e.name] = true
	}
	return entries, nil
}

// aliasConflicts returns an error naming every alias given with an etcd
// setting it stands for set explicitly to something else. explicit holds
// the settings the flags, the environment and the config file set.
func aliasConflicts(derived, explicit map[string]any) error {
	var bad []string
	for _, key := range sortedKeys(derived) {
		v, ok := explicit[key]
		if ok && fmt.Sprint(v) != fmt.Sprint(derived[key]) {
			bad = append(bad, fmt.Sprintf("--%s is %q but the aliases given make it %q", key, fmt.Sprint(v), fmt.Sprint(derived[key])))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("conflicting settings: %s; give either the alias or the setting", strings.Join(bad, "; "))
	}
	return nil
}

// addBundledRocksDB adds to the catalog, when --storage rocksdb is given
// and the catalog has no storage plugin of that name, the RocksDB plugin
// binary that ships beside the metastore binary. Its checksum is taken
// now: the binary is trusted as the metastore binary beside it is.
func (c *Config) addBundledRocksDB(a *flagAliases) error {
	if a.storage != "rocksdb" {
		return nil
	}
	for _, p := range c.Plugins {
		if p.Kind == KindStorage && p.Name == "rocksdb" {
			return nil
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--storage rocksdb: %w", err)
	}
	path := filepath.Join(filepath.Dir(exe), bundledRocksDB)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--storage rocksdb: no storage plugin named rocksdb in the config file's catalog, and %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("--storage rocksdb: %w", err)
	}
	c.Plugins = append(c.Plugins, PluginEntry{Kind: KindStorage, Name: "rocksdb", Path: path, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}
