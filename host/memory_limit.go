package host

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

// cgroupMemoryFiles are where the cgroup v2 and v1 memory limits of the
// process's cgroup are read, in that order.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryLimitShare is the part of a cgroup's limit the Go heap is held to.
// The rest is for what the runtime does not count: the engine's mapped
// file, thread stacks, and the kernel's own accounting.
const memoryLimitShare = 0.9

// applyMemoryLimit sets the Go runtime's soft memory limit as MemoryLimit
// says, and logs where it came from.
func applyMemoryLimit(lg *zap.Logger, c config.MemoryConfig, environ []string) {
	limit, source := c.MemoryLimit, "--memory-limit"
	switch {
	case limit < 0:
		return
	case limit == 0 && envSet(environ, "GOMEMLIMIT"):
		lg.Info("memory limit", zap.String("source", "GOMEMLIMIT"), zap.Int64("bytes", debug.SetMemoryLimit(-1)))
		return
	case limit == 0:
		cg, file, ok := cgroupMemoryLimit(cgroupMemoryFiles)
		if !ok {
			return
		}
		limit, source = int64(float64(cg)*memoryLimitShare), fmt.Sprintf("90%% of %s (%d)", file, cg)
	}
	debug.SetMemoryLimit(limit)
	lg.Info("memory limit", zap.String("source", source), zap.Int64("bytes", limit))
}

// cgroupMemoryLimit returns the first limit files hold, with its file; ok is
// false when none holds one ("max", or v1's near-MaxInt64 value).
func cgroupMemoryLimit(files []string) (limit int64, file string, ok bool) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= math.MaxInt64/2 {
			continue
		}
		return n, f, true
	}
	return 0, "", false
}

func envSet(environ []string, name string) bool { return config.Getenv(environ, name) != "" }
