package snapshotcmd

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{9, "9 B"},
		{25_000, "25 kB"},
		{2_100_000, "2.1 MB"},
		{16 << 20, "17 MB"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, humanBytes(tt.n), tt.n)
	}
}

func TestFileArg(t *testing.T) {
	parse := func(args ...string) (string, string, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		w := fs.String("w", "simple", "")
		file, err := fileArg(fs, args, io.Discard)
		return file, *w, err
	}
	file, w, err := parse("snap.db", "-w", "json")
	require.NoError(t, err)
	require.Equal(t, []string{"snap.db", "json"}, []string{file, w})
	file, w, err = parse("-w", "table", "snap.db")
	require.NoError(t, err)
	require.Equal(t, []string{"snap.db", "table"}, []string{file, w})
	_, _, err = parse("a.db", "b.db")
	require.ErrorIs(t, err, errUsage)
	_, _, err = parse()
	require.ErrorContains(t, err, "exactly one snapshot file is needed, got 0")
}
