package host

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
)

// TestHelpExamplesLoad loads the configuration of each example that
// starts a member, with the sample config files of configs/.
func TestHelpExamplesLoad(t *testing.T) {
	for _, e := range helpExamples {
		for _, line := range e.lines {
			args := strings.Fields(line)[1:]
			if len(args) > 0 && (args[0] == "plugins" || args[0] == "snapshot") {
				continue
			}
			if strings.Contains(line, "rocksdb") {
				continue // needs the RocksDB plugin binary beside the config
			}
			for i, a := range args {
				if strings.HasPrefix(a, "configs/") {
					args[i] = filepath.Join("..", a)
				}
			}
			_, _, err := config.Load(args, nil)
			require.NoError(t, err, line)
		}
	}
}

func TestMainHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, Main(args, nil, &stdout, &stderr), args)
		require.Empty(t, stderr.String())
		out := stdout.String()
		for _, want := range []string{"Usage:", "metastore snapshot restore", "metastore plugins pin", "\nMember:\n", "\nExamples:\n"} {
			require.Contains(t, out, want)
		}
	}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, Main([]string{"--nmae=x"}, nil, &stdout, &stderr))
	require.Equal(t, "metastore: flag provided but not defined: -nmae (did you mean --name?)\n", stderr.String())
}

func TestSubcommandHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"snapshot", "--help"}, []string{"Usage:", "metastore snapshot status"}},
		{[]string{"snapshot", "restore", "--help"}, []string{"metastore snapshot restore", "Flags of metastore snapshot restore:", "  --skip-hash-check 'false'"}},
		{[]string{"plugins", "--help"}, []string{"Usage:", "metastore plugins verify"}},
		{[]string{"plugins", "list", "--help"}, []string{"metastore plugins list"}},
		{[]string{"plugins", "pin", "-h"}, []string{"Flags of metastore plugins pin:", "  --dry-run 'false'"}},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, Main(tt.args, nil, &stdout, &stderr), tt.args)
		require.Empty(t, stderr.String(), tt.args)
		for _, want := range tt.want {
			require.Contains(t, stdout.String(), want, tt.args)
		}
	}
}

// TestLiveSettingsAreApplied holds config's table to what reload applies:
// the settings it says reload live are the ones reload handles.
func TestLiveSettingsAreApplied(t *testing.T) {
	var live []string
	for _, g := range config.Groups() {
		for _, s := range g.Settings {
			if s.Live != config.RestartNeeded {
				live = append(live, s.Key)
			}
		}
	}
	require.ElementsMatch(t, []string{"log-level", "auth-provider", "plugins"}, live)
	src, err := os.ReadFile("reload.go")
	require.NoError(t, err)
	for _, key := range live {
		require.Contains(t, string(src), `case "`+key+`":`, "reload applies %s", key)
	}
}
