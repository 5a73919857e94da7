package pluginrpc_test

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

func TestChecksum(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plugin")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755))
	sum := sha256.Sum256([]byte("#!/bin/sh\n"))
	other := sha256.Sum256([]byte("something else"))

	require.NoError(t, pluginrpc.CheckSHA256(bin, sum[:]))
	err := pluginrpc.CheckSHA256(bin, other[:])
	require.ErrorIs(t, err, pluginrpc.ErrChecksumMismatch)
	require.ErrorContains(t, err, bin)

	_, err = pluginrpc.NewClient(pluginrpc.ClientConfig{Cmd: exec.Command(bin), SHA256: other[:]})
	require.ErrorIs(t, err, pluginrpc.ErrChecksumMismatch, "NewClient refuses the binary")
	_, err = pluginrpc.FileSHA256(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
}
