package host

import (
	"sync"

	"go.uber.org/zap"
)

// A quota plugin's config (per-prefix limits, say) changes while the
// member runs: when a reload finds the entry of the quota policy in use
// changed in nothing but its config (see pluginsChangeLive), the running
// quota plugins take their new config.

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
