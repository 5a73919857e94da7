package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestClusterExampleConfigs starts the three members of configs/ from their
// config files, as the README says, and checks that they form one cluster.
func TestClusterExampleConfigs(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 1; i <= 3; i++ {
		cfg, err := filepath.Abs(filepath.Join("..", "..", "configs", "cluster-m"+string(rune('0'+i))+".yaml"))
		require.NoError(t, err)
		cmd := exec.CommandContext(ctx, hosttest.MetastoreBin(t), "--config-file", cfg)
		cmd.Dir = dir
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Log(out.String())
			}
		})
	}
	var list string
	require.Eventually(t, func() bool {
		out, err := hosttest.Etcdctl(t, "127.0.0.1:12379,127.0.0.1:22379,127.0.0.1:32379", "", "member", "list")
		list = out
		return err == nil && strings.Count(out, "started") == 3
	}, 40*time.Second, 200*time.Millisecond, "members: %s", list)
	for _, name := range []string{"m1", "m2", "m3"} {
		_, err := os.Stat(filepath.Join(dir, name+".metastore"))
		require.NoError(t, err)
	}
}
