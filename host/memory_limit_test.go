package host

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/host/config"
)

func TestCgroupMemoryLimit(t *testing.T) {
	tests := map[string]struct {
		v2, v1    string // "" for a missing file
		wantLimit int64
		wantOK    bool
	}{
		"v2 limit":             {v2: "1073741824\n", wantLimit: 1 << 30, wantOK: true},
		"v2 without a limit":   {v2: "max\n"},
		"v1 limit":             {v1: "536870912\n", wantLimit: 512 << 20, wantOK: true},
		"v1 without a limit":   {v1: "9223372036854771712\n"},
		"no cgroup files":      {},
		"v2 before v1":         {v2: "1073741824", v1: "536870912", wantLimit: 1 << 30, wantOK: true},
		"v2 unlimited, v1 set": {v2: "max", v1: "536870912", wantLimit: 512 << 20, wantOK: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := []string{filepath.Join(dir, "memory.max"), filepath.Join(dir, "memory.limit_in_bytes")}
			for i, content := range []string{tt.v2, tt.v1} {
				if content != "" {
					require.NoError(t, os.WriteFile(files[i], []byte(content), 0o644))
				}
			}
			limit, _, ok := cgroupMemoryLimit(files)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.wantLimit, limit)
		})
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	lg := zaptest.NewLogger(t)

	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit(lg, config.MemoryConfig{MemoryLimit: 3 << 30}, nil)
	assert.Equal(t, int64(3<<30), debug.SetMemoryLimit(-1), "--memory-limit sets the limit")

	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit(lg, config.MemoryConfig{MemoryLimit: -1}, nil)
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "a negative limit leaves none")

	debug.SetMemoryLimit(2 << 30)
	applyMemoryLimit(lg, config.MemoryConfig{}, []string{"GOMEMLIMIT=2GiB"})
	assert.Equal(t, int64(2<<30), debug.SetMemoryLimit(-1), "GOMEMLIMIT stays when no flag is given")
}
