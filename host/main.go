package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Main runs the metastore command and returns its exit code.
func Main(args []string, environ []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "snapshot" {
		return snapshotMain(args[1:], stdout, stderr)
	}
	cfg, opts, err := Load(args, environ, stderr)
	switch {
	case errors.Is(err, ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "metastore: %v\n", err)
		return 2
	case opts.Version:
		PrintVersion(stdout)
		return 0
	}
	lg, err := newLogger(cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "metastore: %v\n", err)
		return 2
	}
	defer func() { _ = lg.Sync() }()
	for _, w := range opts.Warnings {
		lg.Warn(w)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lg.Info("starting metastore", zap.String("version", Version), zap.String("name", cfg.Name),
		zap.String("data-dir", cfg.DataDir), zap.String("storage-engine", cfg.StorageEngine))
	m, err := StartMember(ctx, lg, cfg)
	if err != nil {
		lg.Error("failed to start", zap.Error(err))
		return 1
	}
	m = superviseMember(ctx, lg, cfg, m)
	lg.Info("received signal, shutting down")
	if m != nil {
		m.Close()
	}
	lg.Info("stopped")
	return 0
}

// newLogger builds the JSON logger etcd's --logger=zap writes, on stderr.
func newLogger(level string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q", level)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.Sampling = nil
	zc.EncoderConfig.TimeKey = "ts"
	zc.EncoderConfig.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	zc.OutputPaths = []string{"stderr"}
	zc.ErrorOutputPaths = []string{"stderr"}
	return zc.Build()
}
