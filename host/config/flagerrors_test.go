package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadableFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
	}{
		{name: "misspelt flag", args: []string{"--nmae", "x"}, wantErr: "flag provided but not defined: -nmae (did you mean --name?)"},
		{name: "misspelt long flag", args: []string{"--listen-client-url=http://x:1"},
			wantErr: "flag provided but not defined: -listen-client-url (did you mean --listen-client-urls?)"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantErr: "flag provided but not defined: -frobnicate; see metastore --help"},
		{name: "not a number", args: []string{"--snapshot-count", "abc"},
			wantErr: `invalid value "abc" for --snapshot-count: want a non-negative integer (default 10000)`},
		{name: "not bytes", args: []string{"--quota-backend-bytes=8GiB"},
			wantErr: `invalid value "8GiB" for --quota-backend-bytes: want an integer (default 0)`},
		{name: "not a bool", args: []string{"--strict-reconfig-check=maybe"},
			wantErr: `invalid value "maybe" for --strict-reconfig-check: want true or false (default true)`},
		{name: "not a duration", args: []string{"--grpc-keepalive-min-time=abc"},
			wantErr: `invalid --grpc-keepalive-min-time "abc": want a duration such as 500ms, 10s or 1h30m`},
		{name: "not a duration, from the environment", env: []string{"METASTORE_COMPACTION_SLEEP_INTERVAL=soon"},
			wantErr: `invalid --compaction-sleep-interval "soon": want a duration`},
		{name: "not a number, from the environment", env: []string{"METASTORE_MAX_TXN_OPS=abc"},
			wantErr: `invalid value "abc" for max-txn-ops: want an integer (default 128)`},
		{name: "not a bool, from the environment", env: []string{"METASTORE_PRE_VOTE=maybe"},
			wantErr: `invalid value "maybe" for pre-vote: want true or false (default true)`},
		{name: "an argument", args: []string{"snapshots"}, wantErr: `unexpected argument "snapshots"; flags start with --, see metastore --help`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(tt.args, tt.env)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestBadFileValue(t *testing.T) {
	file := writeConfig(t, "snapshot-count: lots\nmax-txn-ops: 64\n")
	_, _, err := Load([]string{"--config-file", file}, nil)
	require.ErrorContains(t, err, `invalid value "lots" for snapshot-count: want a non-negative integer (default 10000)`)
}

func TestUnknownFileKeySuggests(t *testing.T) {
	file := writeConfig(t, "nmae: x\n")
	_, _, err := Load([]string{"--config-file", file}, nil)
	require.ErrorContains(t, err, "unknown setting: config file key nmae (did you mean name?)")
}

func TestNearest(t *testing.T) {
	names := []string{"name", "data-dir", "listen-client-urls", "listen-peer-urls", "id"}
	tests := []struct{ in, want string }{
		{"nmae", "name"},
		{"data-dr", "data-dir"},
		{"listen-clinet-urls", "listen-client-urls"},
		{"ip", "id"},
		{"frobnicate", ""},
		{"xyz", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Nearest(tt.in, names), tt.in)
	}
	require.Equal(t, 1, editDistance("ab", "ba"))
	require.Equal(t, 3, editDistance("kitten", "sitting"))
}
