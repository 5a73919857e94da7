package config

import (
	"bytes"
	"encoding/json"
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

// DefaultLogRotationConfig is etcd's default --log-rotation-config-json.
const DefaultLogRotationConfig = `{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}`

// LogRotation is --log-rotation-config-json read, for the one file
// --log-outputs names: rotation needs exactly one file output, as in etcd.
type LogRotation struct {
	File       string
	MaxSizeMB  int  `json:"maxsize"`
	MaxAgeDays int  `json:"maxage"`
	MaxBackups int  `json:"maxbackups"`
	LocalTime  bool `json:"localtime"`
	Compress   bool `json:"compress"`
}

// LogRotation returns the rotation of the log file, or an error naming
// what is wrong.
func (c *Config) LogRotation() (LogRotation, error) {
	var r LogRotation
	for _, o := range c.LogOutputPaths() {
		if o == "stderr" || o == "stdout" {
			continue
		}
		if r.File != "" {
			return r, fmt.Errorf("--enable-log-rotation rotates one file; --log-outputs names %q and %q", r.File, o)
		}
		r.File = o
	}
	if r.File == "" {
		return r, fmt.Errorf("--enable-log-rotation needs a file in --log-outputs, which names only %q", c.LogOutputs)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(c.LogRotationConfigJSON)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("invalid --log-rotation-config-json %q: %w", c.LogRotationConfigJSON, err)
	}
	return r, nil
}
