package storagetest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

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
	lis := bufconn.Listen(1 << 20)
	srv := pluginrpc.NewGRPCServer(nil)
	storagev1.RegisterStorageServer(srv, storage.NewGRPCServer(impl))
	go func() { _ = srv.Serve(lis) }()
	opts := append(pluginrpc.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient("passthrough:///bufconn", opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
	})
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
	p, err := storage.Launch(pluginrpc.ClientConfig{
		Cmd: exec.Command(bin),
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   filepath.Base(bin),
			Level:  hclog.Warn,
			Output: testWriter{t},
		}),
	})
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
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", pkg, out)
	return bin
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
