package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// Auth provider plugins (--auth-provider): a catalog entry of kind auth
// whose provider verifies the bearer tokens the member did not issue.

// pluginKindAuth is the catalog kind of auth provider plugins.
const pluginKindAuth = "auth"

// finishAuthProvider checks that --auth-provider names an auth plugin of
// the catalog.
func (c *Config) finishAuthProvider() error {
	if c.AuthProvider == "" || c.AuthProvider == "etcd" {
		return nil
	}
	if c.authPlugin() == nil {
		return fmt.Errorf("--auth-provider: no plugin of kind auth named %q in the config file's catalog (built in: etcd)", c.AuthProvider)
	}
	return nil
}

func (c *Config) authPlugin() *PluginConfig {
	for i := range c.Plugins {
		if c.Plugins[i].Kind == pluginKindAuth && c.Plugins[i].Name == c.AuthProvider {
			return &c.Plugins[i]
		}
	}
	return nil
}

// authPlugin is an auth provider plugin process, started again when a
// call finds it dead (at most once per restartBackoff). Meanwhile calls
// return auth.ErrUnavailable, which the host turns into refusals: it fails
// closed, and identities it verified before keep working from its cache.
type authPlugin struct {
	base  *zap.Logger // the member's
	lg    *zap.Logger
	entry PluginConfig
	audit *auditLog

	mu        sync.Mutex
	proc      *auth.PluginProcess
	lastStart time.Time
	closed    bool
}

var _ auth.Provider = (*authPlugin)(nil)

const authPluginRestartBackoff = time.Second

// startAuthPlugin starts the plugin --auth-provider names, or returns nil
// when the built-in provider is the only one.
func startAuthPlugin(lg *zap.Logger, cfg Config) (*authPlugin, error) {
	entry := cfg.authPlugin()
	if entry == nil {
		return nil, nil
	}
	p := &authPlugin{base: lg, lg: lg.Named("plugin.auth." + entry.Name), entry: *entry, audit: cfg.audit}
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.launchLocked()
	p.audit.plugin(auditPluginStart, p.entry, err)
	if err != nil {
		return nil, err
	}
	runningAuthPlugins.add(p)
	return p, nil
}

func (p *authPlugin) launchLocked() error {
	p.lastStart = time.Now()
	sum, err := hex.DecodeString(p.entry.SHA256)
	if err != nil {
		return fmt.Errorf("auth plugin %q: sha256: %w", p.entry.Name, err)
	}
	plg := newPluginLogger(p.base, p.entry.Kind, p.entry.Name)
	cmd := exec.Command(p.entry.Path, p.entry.Args...)
	cmd.Env = os.Environ()
	for k, v := range p.entry.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = pluginSysProcAttr()
	var proc *auth.PluginProcess
	spawner().do(func() {
		proc, err = auth.Launch(pluginrpc.ClientConfig{Cmd: cmd, SHA256: sum, Logger: plg, Output: pluginOutput{plg.lg},
			DialOptions: observePluginLaunch(p.entry)})
	})
	if err != nil {
		return fmt.Errorf("auth plugin %q: %w", p.entry.Name, err)
	}
	p.proc = proc
	info, err := proc.Provider().Info(context.Background())
	p.lg.Info("started auth provider plugin", zap.String("path", p.entry.Path),
		zap.String("provider", info.Name), zap.Strings("capabilities", info.Capabilities), zap.Error(err))
	return nil
}

// provider returns the live provider, starting the plugin again if it
// died and the backoff has passed.
func (p *authPlugin) provider() (auth.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: the member is stopping", auth.ErrUnavailable)
	}
	if p.proc != nil && !p.proc.Exited() {
		return p.proc.Provider(), nil
	}
	if time.Since(p.lastStart) < authPluginRestartBackoff {
		return nil, fmt.Errorf("%w: plugin %q is restarting", auth.ErrUnavailable, p.entry.Name)
	}
	p.lg.Warn("the auth provider plugin exited; starting it again")
	if p.proc != nil {
		p.audit.plugin(auditPluginExit, p.entry, errors.New("the plugin process exited"))
		p.proc = nil
	}
	err := p.launchLocked()
	p.audit.plugin(auditPluginRestart, p.entry, err)
	if err != nil {
		p.lg.Error("restarting the auth provider plugin", zap.Error(err))
		return nil, fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
	}
	return p.proc.Provider(), nil
}

func (p *authPlugin) Info(ctx context.Context) (auth.InfoResponse, error) {
	pr, err := p.provider()
	if err != nil {
		return auth.InfoResponse{}, err
	}
	return pr.Info(ctx)
}

func (p *authPlugin) Authenticate(ctx context.Context, req auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	pr, err := p.provider()
	if err != nil {
		return auth.AuthenticateResponse{}, err
	}
	return pr.Authenticate(ctx, req)
}

func (p *authPlugin) VerifyToken(ctx context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	pr, err := p.provider()
	if err != nil {
		return auth.VerifyTokenResponse{}, err
	}
	return pr.VerifyToken(ctx, req)
}

// close ends the plugin process.
func (p *authPlugin) close() {
	if p == nil {
		return
	}
	runningAuthPlugins.remove(p)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.proc != nil {
		p.proc.Kill()
	}
}

// providerOrNil keeps a nil *authPlugin from becoming a non-nil interface.
func (p *authPlugin) providerOrNil() auth.Provider {
	if p == nil {
		return nil
	}
	return p
}
