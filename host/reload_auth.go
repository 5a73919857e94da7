package host

import (
	"reflect"
	"sync"

	"go.uber.org/zap"
)

// An auth provider plugin's settings (its catalog entry: path, checksum,
// arguments, environment) and the choice among auth plugins
// (auth-provider) change while the member runs: the running auth plugin
// starts the new entry's process, and only once that answers replaces
// the old one. Switching between the built-in provider and a plugin needs
// a restart, and so does any change to the storage engine in use.

// authPluginSet is the auth plugins of the running members of this
// process, which a config reload reconfigures.
type authPluginSet struct {
	mu      sync.Mutex
	plugins map[*authPlugin]bool
}

var runningAuthPlugins = &authPluginSet{plugins: map[*authPlugin]bool{}}

func (s *authPluginSet) add(p *authPlugin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plugins[p] = true
}

func (s *authPluginSet) remove(p *authPlugin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.plugins, p)
}

// authProviderChangeLive reports whether a change of auth-provider from
// a's to b's can apply live: from one auth plugin to another.
func authProviderChangeLive(a, b Config) bool {
	return a.authPlugin() != nil && b.authPlugin() != nil
}

// pluginsChangeLive reports whether the catalog can change from a's to
// b's while the member runs: the storage engine in use keeps its entry,
// the quota policy in use changes at most its config, and auth entries
// may change at will. Entries nothing uses may change too.
func pluginsChangeLive(a, b Config) bool {
	type key struct{ kind, name string }
	entries := func(c Config) map[key]PluginConfig {
		out := map[key]PluginConfig{}
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
		case k.kind == pluginKindStorage && k.name == a.StorageEngine:
			return false
		case k.kind == pluginKindQuota && k.name == a.QuotaPolicy:
			old.Config, cur.Config = nil, nil
			if !ok || !reflect.DeepEqual(old, cur) {
				return false
			}
		}
	}
	return true
}

// reconfigureAuthPlugins points every running auth plugin at the entry
// cfg's auth-provider names, if it differs from the one it runs.
func reconfigureAuthPlugins(lg *zap.Logger, why string, cfg Config) {
	entry := cfg.authPlugin()
	if entry == nil {
		return
	}
	runningAuthPlugins.mu.Lock()
	defer runningAuthPlugins.mu.Unlock()
	for p := range runningAuthPlugins.plugins {
		if err := p.reconfigure(*entry); err != nil {
			lg.Error("config reload: the new auth provider plugin did not start; the running one stays", zap.String("trigger", why),
				zap.String("plugin", entry.Name), zap.Error(err))
			continue
		}
	}
}

// reconfigure starts the plugin of entry and, once it runs, ends the
// running one. It does nothing if entry is the running one's.
func (p *authPlugin) reconfigure(entry PluginConfig) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || reflect.DeepEqual(entry, p.entry) {
		return nil
	}
	old, oldEntry := p.proc, p.entry
	p.entry = entry
	p.lg = p.base.Named("plugin.auth." + entry.Name)
	if err := p.launchLocked(); err != nil {
		p.audit.plugin(auditPluginStart, entry, err)
		p.proc, p.entry, p.lg = old, oldEntry, p.base.Named("plugin.auth."+oldEntry.Name)
		return err
	}
	p.audit.plugin(auditPluginStart, entry, nil)
	p.lg.Info("config reloaded: auth provider plugin replaced", zap.String("from", oldEntry.Name), zap.String("from-path", oldEntry.Path))
	if old != nil {
		old.Kill()
	}
	return nil
}
