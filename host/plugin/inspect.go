package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/pluginapi/storage"
)

// inspectTimeout bounds starting a plugin and asking for its Info.
const inspectTimeout = 30 * time.Second

// Inspect starts the plugin of entry, whose binary has the checksum sum,
// performs the handshake, asks for its Info and ends it: what `metastore
// plugins list|verify` shows of a catalog entry. Unlike a supervised
// launch, its calls are not counted and it is no restart; a failure is
// "handshake: " and go-plugin's first line, with the last line the
// plugin wrote to stderr when it exited at start.
func Inspect(entry config.PluginEntry, sum []byte) (version string, capabilities []string, err error) {
	core, logs := observer.New(zapcore.DebugLevel)
	ctx, cancel := context.WithTimeout(context.Background(), inspectTimeout)
	defer cancel()
	lg := zap.New(core)
	switch entry.Kind {
	case config.KindStorage:
		version, capabilities, err = inspect(ctx, lg, entry, sum, storage.Launch,
			func(ctx context.Context, p *storage.PluginProcess) (string, []string, error) {
				info, err := p.Engine().Info(ctx)
				return info.Version, info.Capabilities, err
			})
	case config.KindAuth:
		version, capabilities, err = inspect(ctx, lg, entry, sum, auth.Launch,
			func(ctx context.Context, p *auth.PluginProcess) (string, []string, error) {
				info, err := p.Provider().Info(ctx)
				return info.Version, info.Capabilities, err
			})
	case config.KindQuota:
		version, capabilities, err = inspect(ctx, lg, entry, sum, quota.Launch,
			func(ctx context.Context, p *quota.PluginProcess) (string, []string, error) {
				info, err := p.Policy().Info(ctx)
				return info.Version, info.Capabilities, err
			})
	default:
		err = fmt.Errorf("unknown plugin kind %q", entry.Kind)
	}
	if err != nil {
		// go-plugin's errors run over lines; the first says it.
		first, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
		err = fmt.Errorf("handshake: %s%s", strings.TrimSuffix(strings.TrimSpace(first), ":"), pluginSaid(logs.All()))
	}
	return version, capabilities, err
}

// inspect starts a process with start, asks it for its Info with info,
// and kills it.
func inspect[P interface{ Kill() }](ctx context.Context, lg *zap.Logger, entry config.PluginEntry, sum []byte,
	start func(pluginrpc.ClientConfig) (P, error), info func(context.Context, P) (string, []string, error)) (string, []string, error) {
	proc, _, err := spawn(lg, entry, sum, nil, start)
	if err != nil {
		return "", nil, err
	}
	defer proc.Kill()
	return info(ctx, proc)
}

// pluginSaid returns the last line a plugin wrote to stderr other than
// through its logger, which go-plugin logs as a bare debug message: when
// a plugin exits at start, that line usually says why.
func pluginSaid(entries []observer.LoggedEntry) string {
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Level == zapcore.DebugLevel && len(e.Context) == 0 && e.Message != "configuring client automatic mTLS" {
			return "; the plugin said: " + e.Message
		}
	}
	return ""
}
