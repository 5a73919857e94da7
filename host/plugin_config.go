package host

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/metastore/metastore/host/plugin"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// pluginEntryKeys are the keys a catalog entry may have.
var pluginEntryKeys = map[string]bool{
	"kind": true, "name": true, "path": true, "sha256": true, "args": true,
	"env": true, "options": true, "config": true, "ping-interval": true, "ping-timeout": true,
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
		case !knownKind(p.Kind):
			errs = append(errs, fmt.Errorf("%s: unknown kind %q (supported: %s)", where, p.Kind, strings.Join(plugin.Kinds(), ", ")))
			continue
		case !pluginNamePattern.MatchString(p.Name):
			errs = append(errs, fmt.Errorf("%s: name must be lower-case letters, digits, '.', '_' or '-'", where))
			continue
		case p.Kind == plugin.KindStorage && builtinEngines[p.Name] != nil:
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
			errs = append(errs, fmt.Errorf("%s: sha256 must be the binary's SHA-256 in hex, as `sha256sum %s` prints it; got %q",
				where, p.Path, p.SHA256))
		}
		if p.PingInterval <= 0 {
			p.PingInterval = plugin.DefaultPingInterval
		}
		if p.PingTimeout <= 0 {
			p.PingTimeout = plugin.DefaultPingTimeout
		}
	}
	if err := c.finishQuotaPolicy(); err != nil {
		errs = append(errs, err)
	}
	if builtinEngines[c.StorageEngine] == nil && c.storagePlugin() == nil {
		errs = append(errs, fmt.Errorf("unknown storage engine %q: built in are %s; plugins of kind storage in the config file's catalog are also accepted",
			c.StorageEngine, strings.Join(builtinEngineNames(), ", ")))
	}
	return errors.Join(errs...)
}

// knownKind reports whether kind is a plugin kind the host supervises.
func knownKind(kind string) bool {
	_, ok := plugin.PolicyOf(kind)
	return ok
}

// catalogEntry returns the catalog entry of the given kind and name, or
// nil.
func (c *Config) catalogEntry(kind, name string) *plugin.Entry {
	for i := range c.Plugins {
		if c.Plugins[i].Kind == kind && c.Plugins[i].Name == name {
			return &c.Plugins[i]
		}
	}
	return nil
}

// storagePlugin returns the catalog entry storage-engine names, or nil
// when it names a built-in engine.
func (c *Config) storagePlugin() *plugin.Entry {
	if builtinEngines[c.StorageEngine] != nil {
		return nil
	}
	return c.catalogEntry(plugin.KindStorage, c.StorageEngine)
}

// finishAuthProvider checks that --auth-provider names an auth plugin of
// the catalog.
func (c *Config) finishAuthProvider() error {
	if c.AuthProvider == "" || c.AuthProvider == "etcd" {
		return nil
	}
	if c.authPlugin() == nil {
		return fmt.Errorf("--auth-provider: no plugin of kind auth named %q in the config file's catalog (built in: etcd)", c.AuthProvider)
	}
	return nil
}

// authPlugin returns the catalog entry --auth-provider names, or nil when
// it names the built-in provider.
func (c *Config) authPlugin() *plugin.Entry {
	return c.catalogEntry(plugin.KindAuth, c.AuthProvider)
}

// finishQuotaPolicy checks that --quota-policy names the built-in policy
// or a quota plugin of the catalog.
func (c *Config) finishQuotaPolicy() error {
	for _, e := range c.Plugins {
		if e.Kind == plugin.KindQuota && e.Name == backendbytes.Name {
			return fmt.Errorf("plugins: %q is the name of the built-in quota policy; give the quota plugin another name", e.Name)
		}
	}
	if c.QuotaPolicy == "" || c.QuotaPolicy == backendbytes.Name {
		return nil
	}
	if c.quotaPlugin() == nil {
		return fmt.Errorf("--quota-policy: no plugin of kind quota named %q in the config file's catalog (built in: %s)",
			c.QuotaPolicy, backendbytes.Name)
	}
	return nil
}

// quotaPlugin returns the catalog entry --quota-policy names, or nil when
// it names the built-in policy.
func (c *Config) quotaPlugin() *plugin.Entry {
	return c.catalogEntry(plugin.KindQuota, c.QuotaPolicy)
}
