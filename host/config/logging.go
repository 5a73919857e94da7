package config

import (
	"fmt"
	"strings"

	"go.uber.org/zap/zapcore"
)

// ParseLogLevel parses --log-level.
func ParseLogLevel(s string) (zapcore.Level, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return lvl, fmt.Errorf("invalid --log-level %q", s)
	}
	return lvl, nil
}

// LogOutputPaths splits --log-outputs; "default" means stderr, as in etcd.
func (c *Config) LogOutputPaths() []string {
	var out []string
	for _, o := range strings.Split(c.LogOutputs, ",") {
		switch o = strings.TrimSpace(o); o {
		case "":
		case "default":
			out = append(out, "stderr")
		default:
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		out = []string{"stderr"}
	}
	return out
}

// checkLogFormat validates --log-format.
func checkLogFormat(format string) error {
	if format != "json" && format != "console" {
		return fmt.Errorf("invalid value %q for --log-format: want json or console", format)
	}
	return nil
}
