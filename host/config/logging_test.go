package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

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
		require.Equal(t, tt.want, (&Config{LogOutputs: tt.in}).LogOutputPaths(), tt.in)
	}
}
