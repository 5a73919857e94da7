package host

import (
	"reflect"
	"sync"

	"go.uber.org/zap"
)

// A quota plugin's config (per-prefix limits, say) changes while the
// member runs: when a reload finds the plugin catalog changed in nothing
// but the config of quota entries, the running quota plugins take their
// new config, and the change counts as applied.

// quotaPluginSet is the quota plugins of the running members of this
// process, which a config reload reconfigures.
type quotaPluginSet struct {
	mu      sync.Mutex
	plugins map[*quotaPlugin]bool
}

var runningQuotaPlugins = &quotaPluginSet{plugins: map[*quotaPlugin]bool{}}

func (s *quotaPluginSet) add(p *quotaPlugin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plugins[p] = true
}

func (s *quotaPluginSet) remove(p *quotaPlugin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.plugins, p)
}

// quotaConfigsOnly reports whether catalogs a and b differ at most in the
// config of entries of kind quota.
func quotaConfigsOnly(a, b []PluginConfig) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind == pluginKindQuota && y.Kind == pluginKindQuota {
			x.Config, y.Config = nil, nil
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// reconfigureQuotaPlugins gives every running quota plugin the config its
// entry of catalog has.
func reconfigureQuotaPlugins(lg *zap.Logger, why string, catalog []PluginConfig) {
	runningQuotaPlugins.mu.Lock()
	defer runningQuotaPlugins.mu.Unlock()
	for p := range runningQuotaPlugins.plugins {
		for _, e := range catalog {
			if e.Kind == pluginKindQuota && e.Name == p.entry.Name {
				lg.Info("config reloaded: quota plugin config", zap.String("trigger", why), zap.String("plugin", e.Name))
				p.reconfigure(e)
			}
		}
	}
}
