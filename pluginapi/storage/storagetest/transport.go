package storagetest

import (
	"context"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/pluginapi/internal/plugintest"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/storage"
	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
)

// OverGRPC serves impl through the gRPC server shim on an in-memory
// connection, with the plugin message limits, and returns the client shim
// talking to it: the whole plugin protocol without a process. Both ends stop
// when the test ends.
func OverGRPC(t testing.TB, impl storage.Engine) storage.Engine {
	t.Helper()
	cc := plugintest.Pipe(t, func(s *grpc.Server) { storagev1.RegisterStorageServer(s, storage.NewGRPCServer(impl)) })
	e, err := storage.NewGRPCClient(context.Background(), cc)
	require.NoError(t, err)
	return e
}

// PluginFactory returns a Factory whose engines each run in a new process
// of the plugin binary bin, killed when the test ends (after the suite's
// Close). Build bin with BuildPlugin.
func PluginFactory(bin string) Factory {
	return func(t *testing.T, _ string) storage.Engine {
		return LaunchPlugin(t, bin)
	}
}

// LaunchPlugin starts the plugin binary bin and returns its engine; the
// process is killed when the test ends. Its logs go to the test log.
func LaunchPlugin(t testing.TB, bin string) storage.Engine {
	t.Helper()
	p, err := storage.Launch(pluginrpc.ClientConfig{Cmd: exec.Command(bin), Logger: plugintest.Logger(t, bin)})
	require.NoError(t, err, "launch plugin %s", bin)
	t.Cleanup(p.Kill)
	return p.Engine()
}

// BuildPlugin builds the main package pkg (an import path, e.g.
// "example.com/engine/cmd/my-plugin") into a temporary directory and
// returns the binary's path. Extra environment such as CGO_ENABLED=1 may be
// given.
func BuildPlugin(t testing.TB, pkg string, env ...string) string {
	t.Helper()
	return plugintest.BuildPlugin(t, pkg, env...)
}
