// Package plugintest holds what the conformance suites of every plugin kind
// (storagetest, authtest, quotatest) share: an in-memory plugin connection,
// plugin processes' logs in the test log, and building a plugin binary.
package plugintest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// CallTimeout bounds one call of a conformance suite.
const CallTimeout = 10 * time.Second

// CallContext is the context of one call of a suite: cancelled after
// CallTimeout or when the test ends.
func CallContext(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), CallTimeout)
	t.Cleanup(cancel)
	return c
}

// Pipe serves the services register adds on a gRPC server with the plugin
// message limits, over an in-memory connection, and returns a client
// connection to it: the whole plugin protocol without a process. Both ends
// stop when the test ends.
func Pipe(t testing.TB, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := pluginrpc.NewGRPCServer(nil)
	register(srv)
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
	return cc
}

// Logger is the host-side logger of the plugin binary bin: warnings and
// errors go to the test log.
func Logger(t testing.TB, bin string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   filepath.Base(bin),
		Level:  hclog.Warn,
		Output: testWriter{t},
	})
}

// Command is the command that starts the plugin binary bin with the extra
// environment env ("KEY=value").
func Command(bin string, env ...string) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// BuildPlugin builds the main package pkg into a temporary directory and
// returns the binary's path.
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
