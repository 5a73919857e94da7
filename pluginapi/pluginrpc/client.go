package pluginrpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ErrChecksumMismatch is returned when a plugin binary's SHA-256 differs
// from the one configured for it; the binary is not started.
var ErrChecksumMismatch = errors.New("pluginrpc: plugin binary checksum mismatch")

// DefaultStartTimeout bounds the wait for a plugin's handshake.
const DefaultStartTimeout = 30 * time.Second

// ClientConfig describes a plugin process to start.
type ClientConfig struct {
	// Handshake and Plugins are the kind's, as in ServeConfig.
	Handshake plugin.HandshakeConfig
	Plugins   map[int]plugin.PluginSet
	// Cmd is the unstarted plugin command. Its SysProcAttr, Env and Dir
	// are kept; go-plugin adds its own variables to Env. A nil Env means
	// the host's environment; otherwise Env is the whole environment the
	// plugin gets, so its settings win over the host's.
	Cmd *exec.Cmd
	// SHA256 is the expected checksum of Cmd.Path; nil skips the check.
	SHA256 []byte
	// Logger receives go-plugin's logs and the plugin's stderr, parsed.
	Logger hclog.Logger
	// Output receives everything the plugin writes to os.Stdout and
	// os.Stderr after its handshake (not its logger's lines, which go to
	// Logger). Nil discards it.
	Output io.Writer
	// StartTimeout bounds the handshake; zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// DialOptions are added to the host's gRPC connection to the plugin,
	// after the raised message limits: interceptors that count or time
	// the calls, for instance.
	DialOptions []grpc.DialOption
}

// NewClient returns an unstarted go-plugin client for cfg, with gRPC as the
// only protocol, AutoMTLS and the raised message limits. When cfg.SHA256 is
// set it first checks the binary and returns an error wrapping
// ErrChecksumMismatch, naming both sums, if it differs; go-plugin checks
// the binary again as it starts it.
func NewClient(cfg ClientConfig) (*plugin.Client, error) {
	var secure *plugin.SecureConfig
	if cfg.SHA256 != nil {
		if err := CheckSHA256(cfg.Cmd.Path, cfg.SHA256); err != nil {
			return nil, err
		}
		secure = &plugin.SecureConfig{Checksum: cfg.SHA256, Hash: sha256.New()}
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	if cfg.Cmd.Env == nil {
		cfg.Cmd.Env = os.Environ()
	}
	out := cfg.Output
	if out == nil {
		out = io.Discard
	}
	return plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  cfg.Handshake,
		VersionedPlugins: cfg.Plugins,
		Cmd:              cfg.Cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  append(DialOptions(), cfg.DialOptions...),
		SkipHostEnv:      true, // Cmd.Env holds it already, in the order wanted
		Logger:           cfg.Logger,
		StartTimeout:     timeout,
		SyncStdout:       out,
		SyncStderr:       out,
	}), nil
}

// CheckSHA256 returns nil if the file at path has the given SHA-256, and
// an error wrapping ErrChecksumMismatch naming both sums otherwise.
func CheckSHA256(path string, want []byte) error {
	got, err := FileSHA256(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: %s has sha256 %s, the configuration expects %s; refusing to start it",
			ErrChecksumMismatch, path, hex.EncodeToString(got), hex.EncodeToString(want))
	}
	return nil
}

// FileSHA256 returns the SHA-256 of the file at path.
func FileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pluginrpc: checksum of plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("pluginrpc: checksum of plugin binary %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// Launch starts the plugin process cfg describes and dispenses the plugin
// called name from it. kind ("storage", "auth", ...) prefixes errors. On
// error nothing is left running.
func Launch(cfg ClientConfig, kind, name string) (*Process, any, error) {
	client, err := NewClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("%s: start plugin %s: %w", kind, cfg.Cmd.Path, err)
	}
	raw, err := rpc.Dispense(name)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("%s: plugin %s: %w", kind, cfg.Cmd.Path, err)
	}
	return &Process{client: client}, raw, nil
}
