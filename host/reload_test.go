package host

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/plugin"
)

func TestChangedSettings(t *testing.T) {
	base := Config{LogLevel: "info", StorageEngine: "bbolt", MaxTxnOps: 128}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"live", func(c *Config) { c.LogLevel = "debug" }, []string{"log-level"}},
		{"live and not", func(c *Config) { c.LogLevel = "warn"; c.StorageEngine = "memory" }, []string{"log-level", "storage-engine"}},
		{"plugins", func(c *Config) { c.Plugins = []plugin.Entry{{}} }, []string{"plugins"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			tt.change(&next)
			require.Equal(t, tt.want, changedSettings(base, next))
		})
	}
}

func TestLogOutputs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"default", []string{"stderr"}},
		{"", []string{"stderr"}},
		{"stdout", []string{"stdout"}},
		{"stderr, /var/log/metastore.log", []string{"stderr", "/var/log/metastore.log"}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, logOutputs(tt.in), tt.in)
	}
}
