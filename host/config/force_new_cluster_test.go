package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadForceNewCluster(t *testing.T) {
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte("force-new-cluster: true\n"), 0o600))
	tests := []struct {
		name string
		args []string
		env  []string
		want bool
	}{
		{name: "default", want: false},
		{name: "flag", args: []string{"--force-new-cluster"}, want: true},
		{name: "flag false", args: []string{"--force-new-cluster=false"}, want: false},
		{name: "config file", args: []string{"--config-file", file}, want: true},
		{name: "environment", env: []string{"METASTORE_FORCE_NEW_CLUSTER=true"}, want: true},
	}
	for _, tt := range tests {
		loadCase(t, tt.name, tt.args, tt.env, "", func(t *testing.T, c Config) { require.Equal(t, tt.want, c.ForceNewCluster) })
	}
}
