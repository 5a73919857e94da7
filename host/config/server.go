package config

import (
	"fmt"
	"math"
	"time"
)

// slowApplyThreshold is etcd's threshold for its slow-request warnings:
// an apply (and a read) slower than it (--warning-apply-duration's
// default, which sets it).
const slowApplyThreshold = 100 * time.Millisecond

// ServerConfig holds the server settings that take etcd 3.7's flags and
// defaults: the client listeners' gRPC limits and keepalives, profiling,
// the metrics' detail, raft's pre-vote, the number of learners and the
// listeners' socket options, fsync and the compaction batches.
type ServerConfig struct {
	// MaxConcurrentStreams is how many streams each client connection
	// may have open at a time (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS);
	// a client wanting more waits for one to end. etcd's flag is a
	// uint32.
	MaxConcurrentStreams uint64 `koanf:"max-concurrent-streams"`
	// GRPCKeepAliveMinTime is the shortest interval between a client's
	// pings; a client pinging more often is sent GOAWAY. 0: gRPC's own
	// policy.
	GRPCKeepAliveMinTime time.Duration `koanf:"grpc-keepalive-min-time"`
	// GRPCKeepAliveInterval is how long a connection may stay silent
	// before the server pings it, and GRPCKeepAliveTimeout how long it
	// then waits for the answer before closing it. Either 0: gRPC's own
	// (no pings).
	GRPCKeepAliveInterval time.Duration `koanf:"grpc-keepalive-interval"`
	GRPCKeepAliveTimeout  time.Duration `koanf:"grpc-keepalive-timeout"`
	// EnablePprof serves Go's runtime profiles under /debug/pprof/ on the
	// client URLs; as etcd, --log-level=debug does too.
	EnablePprof bool `koanf:"enable-pprof"`
	// Metrics is etcd's level of detail of the metrics, basic or
	// extensive. etcd adds the gRPC handling-time histogram
	// (grpc_server_handling_seconds) with extensive only; MetaStore
	// serves it at either level, so the two are the same here: basic
	// serves a superset of etcd's basic, extensive exactly etcd's. As
	// etcd, any other value is taken for basic.
	Metrics string `koanf:"metrics"`
	// PreVote runs raft's Pre-Vote, so that a member cut off from the
	// others does not disrupt them with a higher term when it returns.
	PreVote bool `koanf:"pre-vote"`
	// MaxLearners is how many learners the cluster may have: this member
	// refuses to apply the addition of one more.
	MaxLearners int `koanf:"max-learners"`
	// SocketReusePort and SocketReuseAddress set SO_REUSEPORT and
	// SO_REUSEADDR on the client, peer and metrics listeners.
	SocketReusePort    bool `koanf:"socket-reuse-port"`
	SocketReuseAddress bool `koanf:"socket-reuse-address"`
	// UnsafeNoFsync skips the WAL's fsyncs and asks the storage engine
	// not to fsync its commits: a crash of the machine may lose
	// acknowledged writes, or leave the member unable to start.
	UnsafeNoFsync bool `koanf:"unsafe-no-fsync"`
	// CompactionBatchLimit is how many revisions one compaction batch
	// examines and deletes from (etcd: "maximum revisions deleted in each
	// compaction batch"); compaction lets writes in between batches. 0:
	// the default, 1000; negative, as etcd's unlimited range: one batch.
	CompactionBatchLimit int `koanf:"compaction-batch-limit"`
	// CompactionSleepInterval is how long compaction rests between
	// batches, so that the writes it competes with keep their latency.
	// 0: the default, 10ms, as etcd.
	CompactionSleepInterval time.Duration `koanf:"compaction-sleep-interval"`
	// WarningApplyDuration is how long applying a request or serving a
	// range may take before the member warns of it and counts it in
	// etcd_server_slow_apply_total. 0: the default, 100ms, as etcd.
	WarningApplyDuration time.Duration `koanf:"warning-apply-duration"`
}

// serverDefaults are etcd's defaults of the settings above. Durations are
// strings, so that the flag, the environment and the file all take Go
// durations.
func serverDefaults() map[string]any {
	return map[string]any{
		"max-concurrent-streams":    uint64(math.MaxUint32),
		"grpc-keepalive-min-time":   "5s",
		"grpc-keepalive-interval":   "2h0m0s",
		"grpc-keepalive-timeout":    "20s",
		"enable-pprof":              false,
		"metrics":                   "basic",
		"pre-vote":                  true,
		"max-learners":              1,
		"socket-reuse-port":         false,
		"socket-reuse-address":      false,
		"unsafe-no-fsync":           false,
		"compaction-batch-limit":    0,
		"compaction-sleep-interval": "10ms",
		"warning-apply-duration":    "100ms",
	}
}

// finish validates the settings.
func (c *ServerConfig) finish() error {
	if c.MaxConcurrentStreams > math.MaxUint32 {
		return fmt.Errorf("invalid value %d for --max-concurrent-streams: want at most %d", c.MaxConcurrentStreams, uint64(math.MaxUint32))
	}
	return nil
}

// LearnerLimit is MaxLearners as etcdapi takes it, where 0 is the default.
func (c *ServerConfig) LearnerLimit() int {
	if c.MaxLearners == 0 {
		return -1
	}
	return c.MaxLearners
}

// CompactionBatch is CompactionBatchLimit as mvcc takes it, where 0 is
// the default.
func (c *ServerConfig) CompactionBatch() int {
	if c.CompactionBatchLimit < 0 {
		return math.MaxInt32
	}
	return c.CompactionBatchLimit
}

// SlowApplyThreshold is WarningApplyDuration, where 0 is the default:
// how long an apply or a range may take before the member warns of it.
func (c *ServerConfig) SlowApplyThreshold() time.Duration {
	if c.WarningApplyDuration <= 0 {
		return slowApplyThreshold
	}
	return c.WarningApplyDuration
}

// HTTP2MaxStreams is the stream limit for the HTTP server beside gRPC;
// net/http takes an int and replaces values above MaxInt32 with its own
// default, so the limit is clamped there.
func (c *ServerConfig) HTTP2MaxStreams() int {
	return int(min(c.MaxConcurrentStreams, math.MaxInt32))
}
