package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testSum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	return file
}

func TestPluginCatalog(t *testing.T) {
	file := writeConfig(t, `
storage-engine: rocks
plugins:
  - kind: storage
    name: rocks
    path: bin/metastore-storage-rocksdb
    sha256: `+testSum+`
    args: [--verbose]
    env: {ROCKS_THREADS: "4"}
    options: {block-cache: "64MiB"}
    ping-timeout: 2s
    call-timeout: 30s
`)
	cfg, _, err := Load([]string{"--config-file", file}, nil)
	require.NoError(t, err)
	p := cfg.StoragePlugin()
	require.NotNil(t, p)
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, PluginEntry{
		Kind:         "storage",
		Name:         "rocks",
		Path:         filepath.Join(wd, "bin/metastore-storage-rocksdb"),
		SHA256:       testSum,
		Args:         []string{"--verbose"},
		Env:          map[string]string{"ROCKS_THREADS": "4"},
		Options:      map[string]string{"block-cache": "64MiB"},
		PingInterval: DefaultPingInterval,
		PingTimeout:  2 * time.Second,
		CallTimeout:  30 * time.Second,
	}, *p)

	// A flag picks a built-in engine over the file's plugin.
	cfg, _, err = Load([]string{"--config-file", file, "--storage-engine", "memory"}, nil)
	require.NoError(t, err)
	require.Nil(t, cfg.StoragePlugin())
	require.Equal(t, "memory", cfg.StorageEngine)
}

func TestPluginCatalogErrors(t *testing.T) {
	entry := func(extra string) string {
		return "plugins:\n  - kind: storage\n    name: rocks\n    path: /bin/rocks\n    sha256: " + testSum + "\n" + extra
	}
	tests := map[string]struct {
		file, wantErr string
	}{
		"unknown engine":      {"storage-engine: nope\n", `unknown storage engine "nope": built in are bbolt, memory`},
		"unknown entry key":   {entry("    checksum: x\n"), "plugins[0]: unknown setting: checksum"},
		"not a list":          {"plugins: {a: 1}\n", "config file key plugins.a"},
		"missing sha256":      {"plugins:\n  - {kind: storage, name: rocks, path: /bin/rocks}\n", "sha256 must be the binary's SHA-256 in hex"},
		"short sha256":        {"plugins:\n  - {kind: storage, name: rocks, path: /bin/rocks, sha256: abcd}\n", "sha256 must be"},
		"missing path":        {"plugins:\n  - {kind: storage, name: rocks, sha256: " + testSum + "}\n", "path is required"},
		"unknown kind":        {"plugins:\n  - {kind: tracing, name: x, path: /x, sha256: " + testSum + "}\n", `unknown kind "tracing"`},
		"built-in name":       {"plugins:\n  - {kind: storage, name: bbolt, path: /x, sha256: " + testSum + "}\n", "is the name of a built-in storage engine"},
		"duplicate":           {entry("  - {kind: storage, name: rocks, path: /y, sha256: " + testSum + "}\n"), "already in the catalog"},
		"bad name":            {"plugins:\n  - {kind: storage, name: Rocks DB, path: /x, sha256: " + testSum + "}\n", "name must be lower-case"},
		"engine names plugin": {entry("storage-engine: other\n"), `unknown storage engine "other"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := Load([]string{"--config-file", writeConfig(t, tc.file)}, nil)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestPluginsOnlyFromFile(t *testing.T) {
	_, opts, err := Load(nil, []string{"METASTORE_PLUGINS=x"})
	require.NoError(t, err)
	require.Equal(t, []string{"unrecognized environment variable METASTORE_PLUGINS"}, opts.Warnings)
	_, _, err = Load([]string{"--plugins=x"}, nil)
	require.ErrorContains(t, err, "flag provided but not defined")
}

// TestExampleConfigs loads every file in configs/, with a checksum in
// place of the placeholder, so the examples keep up with the settings.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			text, err := os.ReadFile(f)
			require.NoError(t, err)
			// What `metastore plugins pin` does, without the binaries.
			fixed := regexp.MustCompile(`sha256: "not pinned yet[^"]*"`).ReplaceAllString(string(text), "sha256: "+testSum)
			_, _, err = Load([]string{"--config-file", writeConfig(t, fixed)}, nil)
			require.NoError(t, err)
		})
	}
}

func TestQuotaPolicyConfig(t *testing.T) {
	sum := "0000000000000000000000000000000000000000000000000000000000000000"
	c := Config{QuotaPolicy: "prefix-quota"}
	require.ErrorContains(t, c.finishQuotaPolicy(), `no plugin of kind quota named "prefix-quota"`)
	c.Plugins = []PluginEntry{{Kind: KindQuota, Name: "prefix-quota", Path: "/bin/x", SHA256: sum}}
	require.NoError(t, c.finishQuotaPolicy())
	c.Plugins = append(c.Plugins, PluginEntry{Kind: KindQuota, Name: "backend-bytes", Path: "/bin/y", SHA256: sum})
	require.ErrorContains(t, c.finishQuotaPolicy(), "name of the built-in quota policy")
	require.NoError(t, (&Config{QuotaPolicy: "backend-bytes"}).finishQuotaPolicy())
}

func TestPluginKinds(t *testing.T) {
	require.Equal(t, []string{KindStorage, KindAuth, KindQuota}, PluginKinds())
}
