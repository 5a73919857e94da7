package host

import (
	"reflect"
	"slices"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/plugin"
)

// The plugin catalog (plugins) and the choice among auth plugins
// (auth-provider) change in part while the member runs: an auth plugin's
// whole entry, a quota plugin's config, and entries nothing uses.
// Switching between the built-in auth provider and a plugin needs a
// restart, and so does any change to the storage engine in use.

// authProviderChangeLive reports whether a change of auth-provider from
// a's to b's can apply live: from one auth plugin to another.
func authProviderChangeLive(a, b config.Config) bool {
	return a.AuthPlugin() != nil && b.AuthPlugin() != nil
}

// pluginsChangeLive reports whether the catalog can change from a's to
// b's while the member runs: the storage engine in use keeps its entry,
// the quota policy in use changes at most its config, and auth entries
// may change at will. Entries nothing uses may change too.
func pluginsChangeLive(a, b config.Config) bool {
	type key struct{ kind, name string }
	entries := func(c config.Config) map[key]config.PluginEntry {
		out := map[key]config.PluginEntry{}
		for _, p := range c.Plugins {
			out[key{p.Kind, p.Name}] = p
		}
		return out
	}
	olds, news := entries(a), entries(b)
	for k, old := range olds {
		cur, ok := news[k]
		if ok && reflect.DeepEqual(old, cur) {
			continue
		}
		switch {
		case k.kind == config.KindStorage && k.name == a.StorageEngine:
			return false
		case k.kind == config.KindQuota && k.name == a.QuotaPolicy:
			old.Config, cur.Config = nil, nil
			if !ok || !reflect.DeepEqual(old, cur) {
				return false
			}
		}
	}
	return true
}

// reloadedCatalog is the plugin catalog the last reload applied, nil
// before one did; the web console's plugins page lists it. It is the
// process's, as the running plugins are: a process runs one member's
// configuration.
var reloadedCatalog atomic.Pointer[[]config.PluginEntry]

// reconfigurePlugins gives the running plugins what changed in cfg's
// catalog: quota plugins their config, auth plugins the entry cfg's
// auth-provider names; and the console the new catalog.
func reconfigurePlugins(lg *zap.Logger, why string, cfg config.Config) {
	plugin.ReconfigureQuotaPolicies(lg, why, cfg.Plugins)
	reconfigureAuthPlugins(lg, why, cfg)
	catalog := slices.Clone(cfg.Plugins)
	reloadedCatalog.Store(&catalog)
}

// liveCatalog returns the catalog in effect: the last one a reload
// applied, else started, the one the member started with.
func liveCatalog(started []config.PluginEntry) []config.PluginEntry {
	if c := reloadedCatalog.Load(); c != nil {
		return *c
	}
	return started
}

// reconfigureAuthPlugins points every running auth plugin at the entry
// cfg's auth-provider names, if it differs from the one it runs.
func reconfigureAuthPlugins(lg *zap.Logger, why string, cfg config.Config) {
	if entry := cfg.AuthPlugin(); entry != nil {
		plugin.ReconfigureAuthProviders(lg, why, *entry)
	}
}
