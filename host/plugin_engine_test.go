package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/storage"
)

// memoryPluginBuild is the memory engine's plugin binary, built once per
// test binary run into a directory TestMain removes.
var memoryPluginBuild struct {
	sync.Once
	dir, bin string
	err      error
}

func memoryPlugin(t *testing.T) PluginConfig {
	t.Helper()
	b := &memoryPluginBuild
	b.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "metastore-plugin-test"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "metastore-storage-memory")
		out, err := exec.Command("go", "build", "-o", b.bin, "github.com/metastore/metastore/cmd/metastore-storage-memory").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, b.err)
	sum, err := pluginrpc.FileSHA256(b.bin)
	require.NoError(t, err)
	return PluginConfig{
		Kind: pluginKindStorage, Name: "mem", Path: b.bin, SHA256: hex.EncodeToString(sum),
		PingInterval: 100 * time.Millisecond, PingTimeout: 500 * time.Millisecond,
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if memoryPluginBuild.dir != "" {
		_ = os.RemoveAll(memoryPluginBuild.dir)
	}
	os.Exit(code)
}

func startTestPlugin(t *testing.T, entry PluginConfig) (*pluginEngine, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	p, err := startPluginEngine(zap.New(core), entry)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	_, err = p.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	return p, logs
}

func requireFailed(t *testing.T, p *pluginEngine) {
	t.Helper()
	select {
	case <-p.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("the engine was not marked failed")
	}
	_, err := p.Stats(context.Background(), storage.StatsRequest{})
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.Eventually(t, p.proc.Exited, 10*time.Second, 10*time.Millisecond, "the plugin process is gone")
}

func TestPluginEngineServesAndLogs(t *testing.T) {
	p, logs := startTestPlugin(t, memoryPlugin(t))
	ctx := context.Background()
	_, err := p.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{{Kind: storage.OpPut, Namespace: "ns", Key: []byte("k"), Value: []byte("v")}}})
	require.NoError(t, err)
	got, err := p.GetMany(ctx, storage.GetManyRequest{Namespace: "ns", Keys: [][]byte{[]byte("k")}})
	require.NoError(t, err)
	require.Equal(t, []byte("v"), got.Values[0])
	_, err = p.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{{Kind: storage.OpPut, Namespace: "", Key: []byte("k")}}})
	require.ErrorIs(t, err, storage.ErrInvalidRequest, "an engine error does not fail the engine")
	require.Nil(t, p.Cause())

	// The plugin's own stderr line, under the catalog name.
	require.Eventually(t, func() bool {
		return logs.FilterLoggerName("plugin.storage.mem").FilterMessage("plugin starting").Len() > 0
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Close(ctx))
	require.True(t, p.proc.Exited())
}

func TestPluginEngineFailsWhenKilled(t *testing.T) {
	p, _ := startTestPlugin(t, memoryPlugin(t))
	require.NoError(t, syscall.Kill(p.proc.Pid(), syscall.SIGKILL))
	requireFailed(t, p)
	require.ErrorContains(t, p.Cause(), "exited")
}

func TestPluginEngineFailsWhenHung(t *testing.T) {
	p, _ := startTestPlugin(t, memoryPlugin(t))
	require.NoError(t, syscall.Kill(p.proc.Pid(), syscall.SIGSTOP))
	requireFailed(t, p)
	require.ErrorContains(t, p.Cause(), "ping")
}

func TestPluginEngineRefusesTamperedBinary(t *testing.T) {
	entry := memoryPlugin(t)
	entry.SHA256 = "00" + entry.SHA256[2:]
	_, err := startPluginEngine(zap.NewNop(), entry)
	require.ErrorIs(t, err, pluginrpc.ErrChecksumMismatch)
	require.ErrorContains(t, err, "refusing to start it")
}
