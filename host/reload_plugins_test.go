package host

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
)

func TestPluginsChangeLive(t *testing.T) {
	base := config.Config{StorageEngine: "rocks", QuotaPolicy: "prefix", AuthProvider: "oidc", Plugins: []config.PluginEntry{
		{Kind: config.KindStorage, Name: "rocks", Path: "/r"},
		{Kind: config.KindStorage, Name: "spare", Path: "/s"},
		{Kind: config.KindQuota, Name: "prefix", Path: "/q", Config: map[string]any{"a": 1}},
		{Kind: config.KindAuth, Name: "oidc", Path: "/o", Env: map[string]string{"K": "1"}},
	}}
	tests := []struct {
		name   string
		change func(*config.Config)
		live   bool
	}{
		{"auth env", func(c *config.Config) { c.Plugins[3].Env = map[string]string{"K": "2"} }, true},
		{"auth path", func(c *config.Config) { c.Plugins[3].Path = "/o2" }, true},
		{"quota config", func(c *config.Config) { c.Plugins[2].Config = map[string]any{"a": 2} }, true},
		{"storage not in use", func(c *config.Config) { c.Plugins[1].Path = "/s2" }, true},
		{"new auth entry", func(c *config.Config) {
			c.Plugins = append(c.Plugins, config.PluginEntry{Kind: config.KindAuth, Name: "other"})
		}, true},
		{"storage in use", func(c *config.Config) { c.Plugins[0].Path = "/r2" }, false},
		{"storage in use removed", func(c *config.Config) { c.Plugins = c.Plugins[1:] }, false},
		{"quota path", func(c *config.Config) { c.Plugins[2].Path = "/q2" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			next.Plugins = append([]config.PluginEntry(nil), base.Plugins...)
			tt.change(&next)
			require.Equal(t, tt.live, pluginsChangeLive(base, next))
		})
	}
	require.True(t, authProviderChangeLive(base, config.Config{AuthProvider: "x", Plugins: []config.PluginEntry{{Kind: config.KindAuth, Name: "x"}}}))
	require.False(t, authProviderChangeLive(base, config.Config{AuthProvider: "etcd"}), "to the built-in provider: a restart")
}
