package plugin

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrefixLimits(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		want     []prefixLimit
	}{
		{"prefix-quota config, as koanf reads YAML", map[string]any{"prefixes": []any{
			map[string]any{"prefix": "/a/", "max-keys": 3, "max-bytes": 40},
			map[string]any{"prefix": "/b/", "max-keys": float64(100)},
		}}, []prefixLimit{{Prefix: "/a/", MaxKeys: 3, MaxBytes: 40}, {Prefix: "/b/", MaxKeys: 100}}},
		{"no config", nil, nil},
		{"no prefixes", map[string]any{"other": 1}, nil},
		{"prefixes of another shape", map[string]any{"prefixes": []any{"/a/", "/b/"}}, nil},
		{"a limit that is not a number", map[string]any{"prefixes": []any{
			map[string]any{"prefix": "/a/", "max-keys": "many"},
		}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, prefixLimits(tt.settings))
		})
	}
}
