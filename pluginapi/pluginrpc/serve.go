package pluginrpc

import (
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// parentPollInterval is how often a plugin checks that its host still runs.
const parentPollInterval = 500 * time.Millisecond

// ServeConfig is what a plugin kind serves.
type ServeConfig struct {
	// Handshake is the kind's handshake; its cookie keeps a plugin of one
	// kind from being started as another.
	Handshake plugin.HandshakeConfig
	// Plugins are the plugin sets by protocol version.
	Plugins map[int]plugin.PluginSet
	// Logger is the plugin's logger; nil means NewLogger("plugin").
	Logger hclog.Logger
	// Cleanup runs before the plugin exits: after the host asked it to
	// stop, and before it exits because its host is gone. It must be safe
	// to call more than once.
	Cleanup func()
}

// NewLogger returns the logger a plugin writes with: hclog JSON on stderr,
// which the host parses and re-logs under the plugin's name. A plugin must
// write nothing on stdout: go-plugin's handshake is one line there.
func NewLogger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Info,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}

// Serve serves cfg.Plugins over gRPC until the host asks the plugin to stop,
// then runs cfg.Cleanup and returns. It exits the process early (after
// Cleanup) if the host process goes away, so that no plugin outlives its
// host even when the host was killed.
func Serve(cfg ServeConfig) {
	if cfg.Logger == nil {
		cfg.Logger = NewLogger("plugin")
	}
	tracing := startTracing(cfg.Logger)
	cleanup := func() {
		if cfg.Cleanup != nil {
			cfg.Cleanup()
		}
		tracing.shutdown()
	}
	cfg.Logger.Info("plugin starting", "pid", os.Getpid(), "host-pid", os.Getppid())
	go watchParent(cfg.Logger, cleanup)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  cfg.Handshake,
		VersionedPlugins: cfg.Plugins,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return NewGRPCServer(append(opts, tracing.serverOptions...))
		},
		Logger: cfg.Logger,
	})
	cleanup()
}

// watchParent exits the process once its parent changes, which happens
// when the host dies and the plugin is re-parented. The host also asks the
// kernel to kill the plugin when it dies (a parent-death signal); this
// covers hosts that could not.
func watchParent(lg hclog.Logger, cleanup func()) {
	parent := os.Getppid()
	if parent <= 1 {
		return // started without a host to watch
	}
	for range time.Tick(parentPollInterval) {
		if os.Getppid() != parent {
			lg.Error("host process is gone; exiting", "host-pid", parent)
			cleanup()
			os.Exit(2)
		}
	}
}
