package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Plugin kinds a catalog entry may have.
const (
	KindStorage = "storage"
	KindAuth    = "auth"
	KindQuota   = "quota"
)

// PluginKinds returns the plugin kinds a catalog entry may have, in the
// order they are named to operators: storage, auth, quota. host/plugin
// has a failure policy for each (a test there holds the two together).
func PluginKinds() []string { return []string{KindStorage, KindAuth, KindQuota} }

// PluginEntry is one entry of the plugin catalog, the `plugins` list of
// the config file: a plugin binary the host may start, and how. Built-in
// implementations need no entry; they are chosen by name.
type PluginEntry struct {
	// Kind is the plugin kind: storage, auth or quota.
	Kind string `koanf:"kind"`
	// Name is how the rest of the configuration refers to the plugin
	// (storage-engine: <name>). It must differ from the built-in names of
	// its kind.
	Name string `koanf:"name"`
	// Path is the plugin binary; a relative path is taken from the
	// working directory.
	Path string `koanf:"path"`
	// SHA256 is the binary's checksum in hex (sha256sum's output). A
	// binary whose checksum differs is not started.
	SHA256 string `koanf:"sha256"`
	// Args are the binary's command-line arguments.
	Args []string `koanf:"args"`
	// Env are environment variables set for the plugin on top of the
	// host's environment.
	Env map[string]string `koanf:"env"`
	// Options are passed to the engine's Open (storage plugins).
	Options map[string]string `koanf:"options"`
	// Config is the policy's configuration (quota plugins), passed to it
	// as JSON; a reload that changes only this applies it live.
	Config map[string]any `koanf:"config"`
	// PingInterval is how often the host checks that the plugin answers
	// (default 1s); PingTimeout how long it waits for the answer (default
	// 5s) before it counts the plugin as dead.
	PingInterval time.Duration `koanf:"ping-interval"`
	PingTimeout  time.Duration `koanf:"ping-timeout"`
	// CallTimeout bounds a storage plugin's batch writes and reads, a
	// quota plugin's checks and an auth plugin's calls (default 1m): one
	// that has not answered by then counts the plugin as dead, as a
	// missed ping does. A plugin can
	// answer pings and yet never finish a call.
	CallTimeout time.Duration `koanf:"call-timeout"`
}

// Supervision defaults of an entry.
const (
	DefaultPingInterval = time.Second
	DefaultPingTimeout  = 5 * time.Second
	DefaultCallTimeout  = time.Minute
)

// The built-in implementations are picked by name: the member links them
// in, and a test in host holds its implementations to these names.

// BuiltinQuotaPolicy is the name of the built-in quota policy, etcd's
// --quota-backend-bytes check.
const BuiltinQuotaPolicy = "backend-bytes"

// builtinEngines are the storage engines linked into the member, sorted.
var builtinEngines = []string{"bbolt", "memory"}

// BuiltinEngines returns the names of the storage engines linked into the
// member, sorted.
func BuiltinEngines() []string { return slices.Clone(builtinEngines) }

func isBuiltinEngine(name string) bool { return slices.Contains(builtinEngines, name) }

// pluginEntryKeys are the keys a catalog entry may have.
var pluginEntryKeys = map[string]bool{
	"kind": true, "name": true, "path": true, "sha256": true, "args": true,
	"env": true, "options": true, "config": true, "ping-interval": true, "ping-timeout": true, "call-timeout": true,
}

// fileOnlyKeys are settings only the config file can hold: they are
// structured, so they have no flag or environment variable.
var fileOnlyKeys = map[string]bool{"plugins": true}

var pluginNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// checkPluginEntries checks the raw `plugins` value of the config file for
// keys no entry may have, before it is decoded (decoding ignores them).
func checkPluginEntries(raw any) error {
	list, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("config file key plugins: want a list of plugin entries")
	}
	var errs []error
	for i, item := range list {
		entry, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("plugins[%d]: want a mapping with kind, name, path, sha256", i))
			continue
		}
		var unknown []string
		for key := range entry {
			if !pluginEntryKeys[key] {
				unknown = append(unknown, key)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			errs = append(errs, fmt.Errorf("plugins[%d]: unknown setting: %s", i, strings.Join(unknown, ", ")))
		}
	}
	return errors.Join(errs...)
}

// finishPlugins validates the catalog, fills in defaults and absolute
// paths, and checks that storage-engine names a built-in engine or a
// storage plugin of the catalog.
func (c *Config) finishPlugins() error {
	var errs []error
	seen := map[string]bool{}
	for i := range c.Plugins {
		p := &c.Plugins[i]
		where := fmt.Sprintf("plugins[%d] (%s %q)", i, p.Kind, p.Name)
		switch {
		case !slices.Contains(PluginKinds(), p.Kind):
			errs = append(errs, fmt.Errorf("%s: unknown kind %q (supported: %s)", where, p.Kind, strings.Join(PluginKinds(), ", ")))
			continue
		case !pluginNamePattern.MatchString(p.Name):
			errs = append(errs, fmt.Errorf("%s: name must be lower-case letters, digits, '.', '_' or '-'", where))
			continue
		case p.Kind == KindStorage && isBuiltinEngine(p.Name):
			errs = append(errs, fmt.Errorf("%s: %q is the name of a built-in storage engine; give the plugin another name", where, p.Name))
			continue
		case seen[p.Kind+"/"+p.Name]:
			errs = append(errs, fmt.Errorf("%s: a %s plugin of that name is already in the catalog", where, p.Kind))
			continue
		}
		seen[p.Kind+"/"+p.Name] = true
		if p.Path == "" {
			errs = append(errs, fmt.Errorf("%s: path is required", where))
		} else if abs, err := filepath.Abs(p.Path); err == nil {
			p.Path = abs
		}
		if sum, err := hex.DecodeString(p.SHA256); err != nil || len(sum) != 32 {
			errs = append(errs, fmt.Errorf("%s: sha256 must be the binary's SHA-256 in hex, as `sha256sum %s` prints it "+
				"(`metastore plugins pin --config-file FILE` writes it); got %q", where, p.Path, p.SHA256))
		}
		if p.PingInterval <= 0 {
			p.PingInterval = DefaultPingInterval
		}
		if p.CallTimeout <= 0 {
			p.CallTimeout = DefaultCallTimeout
		}
		if p.PingTimeout <= 0 {
			p.PingTimeout = DefaultPingTimeout
		}
	}
	if err := c.finishQuotaPolicy(); err != nil {
		errs = append(errs, err)
	}
	if !isBuiltinEngine(c.StorageEngine) && c.StoragePlugin() == nil {
		errs = append(errs, fmt.Errorf("unknown storage engine %q: built in are %s; plugins of kind storage in the config file's catalog are also accepted",
			c.StorageEngine, strings.Join(builtinEngines, ", ")))
	}
	return errors.Join(errs...)
}

// catalogEntry returns the catalog entry of the given kind and name, or
// nil.
func (c *Config) catalogEntry(kind, name string) *PluginEntry {
	for i := range c.Plugins {
		if c.Plugins[i].Kind == kind && c.Plugins[i].Name == name {
			return &c.Plugins[i]
		}
	}
	return nil
}

// StoragePlugin returns the catalog entry storage-engine names, or nil
// when it names a built-in engine.
func (c *Config) StoragePlugin() *PluginEntry {
	if isBuiltinEngine(c.StorageEngine) {
		return nil
	}
	return c.catalogEntry(KindStorage, c.StorageEngine)
}

// finishAuthProvider checks that --auth-provider names an auth plugin of
// the catalog.
func (c *Config) finishAuthProvider() error {
	if c.AuthProvider == "" || c.AuthProvider == "etcd" {
		return nil
	}
	if c.AuthPlugin() == nil {
		return fmt.Errorf("--auth-provider: no plugin of kind auth named %q in the config file's catalog (built in: etcd)", c.AuthProvider)
	}
	return nil
}

// AuthPlugin returns the catalog entry --auth-provider names, or nil when
// it names the built-in provider.
func (c *Config) AuthPlugin() *PluginEntry {
	return c.catalogEntry(KindAuth, c.AuthProvider)
}

// finishQuotaPolicy checks that --quota-policy names the built-in policy
// or a quota plugin of the catalog.
func (c *Config) finishQuotaPolicy() error {
	for _, e := range c.Plugins {
		if e.Kind == KindQuota && e.Name == BuiltinQuotaPolicy {
			return fmt.Errorf("plugins: %q is the name of the built-in quota policy; give the quota plugin another name", e.Name)
		}
	}
	if c.QuotaPolicy == "" || c.QuotaPolicy == BuiltinQuotaPolicy {
		return nil
	}
	if c.QuotaPlugin() == nil {
		return fmt.Errorf("--quota-policy: no plugin of kind quota named %q in the config file's catalog (built in: %s)",
			c.QuotaPolicy, BuiltinQuotaPolicy)
	}
	return nil
}

// QuotaPlugin returns the catalog entry --quota-policy names, or nil when
// it names the built-in policy.
func (c *Config) QuotaPlugin() *PluginEntry {
	return c.catalogEntry(KindQuota, c.QuotaPolicy)
}
