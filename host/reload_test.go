package host

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
)

func TestChangedSettings(t *testing.T) {
	base := config.Config{LogLevel: "info", StorageEngine: "bbolt", MaxTxnOps: 128}
	tests := []struct {
		name   string
		change func(*config.Config)
		want   []string
	}{
		{"nothing", func(*config.Config) {}, nil},
		{"live", func(c *config.Config) { c.LogLevel = "debug" }, []string{"log-level"}},
		{"live and not", func(c *config.Config) { c.LogLevel = "warn"; c.StorageEngine = "memory" }, []string{"log-level", "storage-engine"}},
		{"plugins", func(c *config.Config) { c.Plugins = []config.PluginEntry{{}} }, []string{"plugins"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			tt.change(&next)
			require.Equal(t, tt.want, changedSettings(base, next))
		})
	}
}
