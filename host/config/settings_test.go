package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

// TestEveryFlagHasOneGroup holds the settings table to the flags Load
// registers: each flag in exactly one group, and no setting that is no
// flag (except the file-only ones, which are settings of the file).
func TestEveryFlagHasOneGroup(t *testing.T) {
	defs := Defaults()
	var configFile string
	fs := loadFlags(defs, &Options{}, &configFile, &flagAliases{})

	groupsOf := map[string][]string{}
	for _, g := range Groups() {
		for _, s := range g.Settings {
			groupsOf[s.Key] = append(groupsOf[s.Key], g.Name)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		require.Len(t, groupsOf[f.Name], 1, "flag --%s must be in exactly one group of settings.go's table", f.Name)
		require.NotEmpty(t, f.Usage, "--%s has no help", f.Name)
	})
	for key := range groupsOf {
		s, _, _ := settingByKey(key)
		if s.FileOnly {
			require.True(t, fileOnlyKeys[key], "%s is no config file key", key)
			require.Nil(t, fs.Lookup(key), "--%s is a flag, not file only", key)
			continue
		}
		require.NotNil(t, fs.Lookup(key), "the table's %s is no flag", key)
		_, isSetting := defs[key]
		require.Equal(t, !s.FlagOnly, isSetting, "%s: FlagOnly must say it has no config file key", key)
	}
}

// TestConfigurationDoc regenerates docs/configuration.md and fails when
// the checked-in file differs.
func TestConfigurationDoc(t *testing.T) {
	var b bytes.Buffer
	WriteReference(&b)
	path := filepath.Join("..", "..", "docs", "configuration.md")
	if *update {
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("docs/configuration.md is out of date with host/config/settings.go; regenerate it with\n\n" +
			"\tgo test ./host/config -run TestConfigurationDoc -update")
	}
}

func TestEnvVarsAndFileKeys(t *testing.T) {
	tests := []struct {
		key      string
		wantEnv  []string
		wantFile []string
	}{
		{"name", []string{"METASTORE_NAME", "ETCD_NAME"}, []string{"name"}},
		{"storage-engine", []string{"METASTORE_STORAGE_ENGINE"}, []string{"storage-engine"}},
		{"cert-file", []string{"METASTORE_CERT_FILE", "ETCD_CERT_FILE"}, []string{"cert-file", "client-transport-security.cert-file"}},
		{"config-file", []string{"METASTORE_CONFIG_FILE", "ETCD_CONFIG_FILE"}, nil},
		{"listen", nil, nil},
		{"plugins", nil, []string{"plugins"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			s, _, ok := settingByKey(tt.key)
			require.True(t, ok)
			require.Equal(t, tt.wantEnv, s.EnvVars())
			require.Equal(t, tt.wantFile, s.FileKeys())
		})
	}
}

// TestEnvVarsAreRead holds the variables the table names to what Load
// reads: each sets its setting.
func TestEnvVarsAreRead(t *testing.T) {
	for _, key := range []string{"snapshot-count", "value-cache-bytes"} {
		s, _, _ := settingByKey(key)
		for _, v := range s.EnvVars() {
			c, opts, err := Load(nil, []string{v + "=77"})
			require.NoError(t, err, v)
			require.Empty(t, opts.Warnings, v)
			if key == "snapshot-count" {
				require.Equal(t, uint64(77), c.SnapshotCount, v)
			} else {
				require.Equal(t, int64(77), c.ValueCacheBytes, v)
			}
		}
	}
}

func TestFlagHelp(t *testing.T) {
	var b bytes.Buffer
	WriteFlagHelp(&b)
	out := b.String()
	for _, want := range []string{
		"\nMember:\n", "\nClustering:\n", "\nSecurity:\n", "\nAuth:\n", "\nLogging:\n", "\nMetaStore (no etcd equivalent):\n",
		"  --snapshot-count '10000'\n      Number of applied entries between raft snapshots.\n" +
			"      env: METASTORE_SNAPSHOT_COUNT, ETCD_SNAPSHOT_COUNT\n      file: snapshot-count\n",
		"  --log-level 'info'\n", "      reloads live: yes\n",
		"  --data-dir '${name}.metastore'\n",
	} {
		require.Contains(t, out, want)
	}
	for _, line := range bytes.Split(b.Bytes(), []byte("\n")) {
		if len(line) > helpWidth && !bytes.Contains(line, []byte("env: ")) {
			t.Errorf("line longer than %d columns: %s", helpWidth, line)
		}
	}
}
