package host

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/plugin"
)

func TestPluginsChangeLive(t *testing.T) {
	base := Config{StorageEngine: "rocks", QuotaPolicy: "prefix", AuthProvider: "oidc", Plugins: []plugin.Entry{
		{Kind: plugin.KindStorage, Name: "rocks", Path: "/r"},
		{Kind: plugin.KindStorage, Name: "spare", Path: "/s"},
		{Kind: plugin.KindQuota, Name: "prefix", Path: "/q", Config: map[string]any{"a": 1}},
		{Kind: plugin.KindAuth, Name: "oidc", Path: "/o", Env: map[string]string{"K": "1"}},
	}}
	tests := []struct {
		name   string
		change func(*Config)
		live   bool
	}{
		{"auth env", func(c *Config) { c.Plugins[3].Env = map[string]string{"K": "2"} }, true},
		{"auth path", func(c *Config) { c.Plugins[3].Path = "/o2" }, true},
		{"quota config", func(c *Config) { c.Plugins[2].Config = map[string]any{"a": 2} }, true},
		{"storage not in use", func(c *Config) { c.Plugins[1].Path = "/s2" }, true},
		{"new auth entry", func(c *Config) { c.Plugins = append(c.Plugins, plugin.Entry{Kind: plugin.KindAuth, Name: "other"}) }, true},
		{"storage in use", func(c *Config) { c.Plugins[0].Path = "/r2" }, false},
		{"storage in use removed", func(c *Config) { c.Plugins = c.Plugins[1:] }, false},
		{"quota path", func(c *Config) { c.Plugins[2].Path = "/q2" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			next.Plugins = append([]plugin.Entry(nil), base.Plugins...)
			tt.change(&next)
			require.Equal(t, tt.live, pluginsChangeLive(base, next))
		})
	}
	require.True(t, authProviderChangeLive(base, Config{AuthProvider: "x", Plugins: []plugin.Entry{{Kind: plugin.KindAuth, Name: "x"}}}))
	require.False(t, authProviderChangeLive(base, Config{AuthProvider: "etcd"}), "to the built-in provider: a restart")
}
