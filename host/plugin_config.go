package host

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Plugin kinds a catalog entry may have.
const (
	pluginKindStorage = "storage"
)

// PluginConfig is one entry of the plugin catalog, the `plugins` list of
// the config file: a plugin binary the host may start, and how. Built-in
// implementations need no entry; they are chosen by name.
type PluginConfig struct {
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
}

// Supervision defaults.
const (
	defaultPingInterval = time.Second
	defaultPingTimeout  = 5 * time.Second
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
		case p.Kind != pluginKindStorage && p.Kind != pluginKindAuth && p.Kind != pluginKindQuota:
			errs = append(errs, fmt.Errorf("%s: unknown kind %q (supported: %s, %s, %s)", where, p.Kind, pluginKindStorage, pluginKindAuth, pluginKindQuota))
			continue
		case !pluginNamePattern.MatchString(p.Name):
			errs = append(errs, fmt.Errorf("%s: name must be lower-case letters, digits, '.', '_' or '-'", where))
			continue
		case p.Kind == pluginKindStorage && builtinEngines[p.Name] != nil:
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
			p.PingInterval = defaultPingInterval
		}
		if p.PingTimeout <= 0 {
			p.PingTimeout = defaultPingTimeout
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

// storagePlugin returns the catalog entry storage-engine names, or nil
// when it names a built-in engine.
func (c *Config) storagePlugin() *PluginConfig {
	if builtinEngines[c.StorageEngine] != nil {
		return nil
	}
	for i := range c.Plugins {
		if c.Plugins[i].Kind == pluginKindStorage && c.Plugins[i].Name == c.StorageEngine {
			return &c.Plugins[i]
		}
	}
	return nil
}
