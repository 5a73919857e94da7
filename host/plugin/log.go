package plugin

import (
	"fmt"
	"io"
	"log"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// pluginLogger is the hclog.Logger go-plugin gets for a plugin: it writes
// go-plugin's own messages and the plugin's stderr lines (hclog JSON,
// parsed by go-plugin) to the host's zap logger, under the plugin's name.
type pluginLogger struct {
	lg   *zap.Logger
	name string
	args []any
}

var _ hclog.Logger = (*pluginLogger)(nil)

// newPluginLogger returns the logger of the plugin of the given kind and
// name; its lines carry the logger name plugin.<kind>.<name>.
func newPluginLogger(lg *zap.Logger, kind, name string) *pluginLogger {
	full := "plugin." + kind + "." + name
	return &pluginLogger{lg: lg.Named(full).WithOptions(zap.WithCaller(false)), name: full}
}

func (l *pluginLogger) Log(level hclog.Level, msg string, args ...any) {
	var lvl zapcore.Level
	switch level {
	case hclog.Trace, hclog.Debug, hclog.NoLevel:
		lvl = zapcore.DebugLevel
	case hclog.Info:
		lvl = zapcore.InfoLevel
	case hclog.Warn:
		lvl = zapcore.WarnLevel
	default:
		lvl = zapcore.ErrorLevel
	}
	if ce := l.lg.Check(lvl, msg); ce != nil {
		ce.Write(fields(append(l.args[:len(l.args):len(l.args)], args...))...)
	}
}

// fields turns hclog's key, value pairs into zap fields. The plugin's own
// timestamp is dropped: the host's line has one.
func fields(args []any) []zap.Field {
	out := make([]zap.Field, 0, len(args)/2+1)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			out = append(out, zap.Any("extra-value", args[i]))
			break
		}
		key := fmt.Sprint(args[i])
		if key == "timestamp" {
			continue
		}
		out = append(out, zap.Any(key, args[i+1]))
	}
	return out
}

func (l *pluginLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *pluginLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *pluginLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *pluginLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *pluginLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *pluginLogger) IsTrace() bool { return l.lg.Core().Enabled(zapcore.DebugLevel) }
func (l *pluginLogger) IsDebug() bool { return l.lg.Core().Enabled(zapcore.DebugLevel) }
func (l *pluginLogger) IsInfo() bool  { return l.lg.Core().Enabled(zapcore.InfoLevel) }
func (l *pluginLogger) IsWarn() bool  { return l.lg.Core().Enabled(zapcore.WarnLevel) }
func (l *pluginLogger) IsError() bool { return l.lg.Core().Enabled(zapcore.ErrorLevel) }

func (l *pluginLogger) ImpliedArgs() []any { return l.args }

func (l *pluginLogger) With(args ...any) hclog.Logger {
	return &pluginLogger{lg: l.lg, name: l.name, args: append(l.args[:len(l.args):len(l.args)], args...)}
}

func (l *pluginLogger) Name() string { return l.name }

// Named keeps the plugin's name: go-plugin names the logger after the
// binary, and the catalog name says more.
func (l *pluginLogger) Named(string) hclog.Logger      { return l }
func (l *pluginLogger) ResetNamed(string) hclog.Logger { return l }

// SetLevel does nothing: the host's log level decides.
func (l *pluginLogger) SetLevel(hclog.Level) {}

// GetLevel reports the host's level, so go-plugin skips parsing lines the
// host would drop.
func (l *pluginLogger) GetLevel() hclog.Level {
	switch {
	case l.IsDebug():
		return hclog.Trace
	case l.IsInfo():
		return hclog.Info
	case l.IsWarn():
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (l *pluginLogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return zap.NewStdLog(l.lg)
}

func (l *pluginLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return l.StandardLogger(opts).Writer()
}

// pluginOutput receives what a plugin writes to os.Stdout or os.Stderr
// other than through its logger, and logs it line by line.
type pluginOutput struct{ lg *zap.Logger }

func (o pluginOutput) Write(p []byte) (int, error) {
	o.lg.Info("plugin output", zap.ByteString("text", p))
	return len(p), nil
}
