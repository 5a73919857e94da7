package plugin

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/metastore/metastore/host/config"
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

func memoryPlugin(t *testing.T) config.PluginEntry {
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
	return config.PluginEntry{
		Kind: config.KindStorage, Name: "mem", Path: b.bin, SHA256: hex.EncodeToString(sum),
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

func startTestPlugin(t *testing.T, entry config.PluginEntry) (*Engine, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	p, err := StartEngine(zap.New(core), entry)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	_, err = p.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	return p, logs
}

func requireFailed(t *testing.T, p *Engine) {
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
	_, err := StartEngine(zap.NewNop(), entry)
	require.ErrorIs(t, err, pluginrpc.ErrChecksumMismatch)
	require.ErrorContains(t, err, "refusing to start it")
}

// TestPluginExitsWhenParentDies: a plugin whose parent dies without a
// parent-death signal (here a shell that started it) notices and exits.
func TestPluginExitsWhenParentDies(t *testing.T) {
	entry := memoryPlugin(t)
	sh := exec.Command("sh", "-c", `"$0" & echo "pid $!"; wait`, entry.Path)
	sh.Env = append(os.Environ(),
		storage.Handshake.MagicCookieKey+"="+storage.Handshake.MagicCookieValue, "PLUGIN_PROTOCOL_VERSIONS=1")
	out, err := sh.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	lines := bufio.NewScanner(out)
	pid := 0
	for pid == 0 && lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "pid "); ok {
			pid, err = strconv.Atoi(rest)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, pid, "the plugin's pid")
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	go func() {
		for lines.Scan() { // the handshake line; keep the pipe drained
		}
	}()
	require.Eventually(t, func() bool { return processRunning(pid) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second) // past the plugin's first look at its parent
	require.NoError(t, sh.Process.Kill())
	_ = sh.Wait()
	require.Eventually(t, func() bool { return !processRunning(pid) }, 10*time.Second, 20*time.Millisecond,
		"the plugin outlived its parent")
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// TestPluginRefusesToRunAlone: run by hand, without the host's handshake
// cookie, a plugin binary exits with an explanation.
func TestPluginRefusesToRunAlone(t *testing.T) {
	out, err := exec.Command(memoryPlugin(t).Path).CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Contains(t, string(out), "This binary is a plugin")
}
