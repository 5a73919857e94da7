package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/audit"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/pluginscmd"
	"github.com/metastore/metastore/host/snapshotcmd"
)

// Main runs the metastore command and returns its exit code.
func Main(args []string, environ []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "snapshot" {
		return snapshotcmd.Main(args[1:], stdout, stderr, restoreEngine)
	}
	if len(args) > 0 && args[0] == "plugins" {
		return pluginscmd.Main(args[1:], environ, stdout, stderr, pluginscmd.Builtins{Engines: builtinEngines, Version: Version})
	}
	if len(args) > 0 && args[0] == "help" {
		writeHelp(stdout)
		return 0
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if near := config.Nearest(args[0], []string{"snapshot", "plugins", "help"}); near != "" {
			fmt.Fprintf(stderr, "metastore: unknown command %q (did you mean metastore %s?)\n", args[0], near)
			return 2
		}
	}
	cfg, opts, err := config.Load(args, environ)
	switch {
	case errors.Is(err, config.ErrHelp):
		writeHelp(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "metastore: %v\n", err)
		return 2
	case opts.Version:
		PrintVersion(stdout)
		return 0
	}
	lg, level, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "metastore: %v\n", err)
		return 2
	}
	defer func() { _ = lg.Sync() }()
	auditLog, err := audit.Open(lg, cfg.AuditLog)
	if err != nil {
		lg.Error("failed to start", zap.Error(err))
		return 1
	}
	defer auditLog.Close()
	reloader := startReloader(lg, &level, cfg, opts, args, environ)
	defer reloader.stop()
	for _, w := range opts.Warnings {
		lg.Warn(w)
	}
	if opts.ConfigFile != "" {
		lg.Info("loaded config file", zap.String("path", opts.ConfigFile), zap.String("format", opts.ConfigFileFormat))
	}
	applyMemoryLimit(lg, cfg.MemoryConfig, environ)
	stopGCHeapFloor := applyGCHeapFloor(lg, cfg.MemoryConfig, environ)
	defer stopGCHeapFloor()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lg.Info("starting metastore", zap.String("version", Version), zap.String("name", cfg.Name),
		zap.String("data-dir", cfg.DataDir), zap.String("storage-engine", cfg.StorageEngine))
	m, err := startMember(ctx, lg, cfg, auditLog)
	if err != nil {
		lg.Error("failed to start", zap.Error(err))
		return 1
	}
	notifySystemd(lg, environ, sdReady)
	m, err = superviseMember(ctx, lg, cfg, auditLog, m)
	if err != nil {
		lg.Error("the member cannot go on, exiting", zap.Error(err))
	} else {
		lg.Info("received signal, shutting down")
	}
	notifySystemd(lg, environ, sdStopping)
	if m != nil {
		m.Close()
	}
	lg.Info("stopped")
	if err != nil {
		return 1
	}
	return 0
}
