package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/auth"
)

// AuthProvider is an auth provider plugin process, started again when a
// call finds it dead (at most once per the auth policy's Backoff).
// Meanwhile calls return auth.ErrUnavailable, which the host turns into
// refusals: it fails closed (FailClosed), and identities it verified
// before keep working from its cache.
//
// Its settings (the catalog entry: path, checksum, arguments,
// environment) and the choice among auth plugins change while the member
// runs (see ReconfigureAuthProviders): it starts the new entry's process,
// and only once that answers replaces the old one.
type AuthProvider struct {
	base  *zap.Logger // the member's
	lg    *zap.Logger
	entry config.PluginEntry
	audit Audit

	mu   sync.Mutex
	proc *auth.PluginProcess
	// restarts paces the starts of the process: none before nextStart.
	restarts  *backoff.ExponentialBackOff
	nextStart time.Time
	closed    bool
}

var _ auth.Provider = (*AuthProvider)(nil)

// runningAuthProviders are the auth plugins of the running members of
// this process, which a config reload reconfigures.
var runningAuthProviders = newRunning[*AuthProvider]()

// StartAuthProvider starts the plugin of entry, an auth plugin, and
// supervises it; audit (nil: none) records its starts and exits.
func StartAuthProvider(lg *zap.Logger, entry config.PluginEntry, audit Audit) (*AuthProvider, error) {
	p := &AuthProvider{base: lg, lg: lg.Named("plugin.auth." + entry.Name), entry: entry, audit: orNoAudit(audit),
		restarts: mustPolicyOf(config.KindAuth).NewBackOff()}
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.launchLocked()
	p.audit(EventStart, p.entry, err)
	if err != nil {
		return nil, err
	}
	runningAuthProviders.add(p)
	return p, nil
}

func (p *AuthProvider) launchLocked() error {
	p.nextStart = time.Now().Add(p.restarts.NextBackOff())
	proc, _, err := launch(p.base, p.entry, auth.Launch)
	if err != nil {
		return err
	}
	p.restarts.Reset()
	p.proc = proc
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(p.entry.CallTimeout, config.DefaultCallTimeout))
	defer cancel()
	info, err := proc.Provider().Info(ctx)
	p.lg.Info("started auth provider plugin", zap.String("path", p.entry.Path),
		zap.String("provider", info.Name), zap.Strings("capabilities", info.Capabilities), zap.Error(err))
	return nil
}

// provider returns the live provider and its catalog entry, starting the
// plugin again if it died and the backoff has passed.
func (p *AuthProvider) provider() (auth.Provider, config.PluginEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, err := p.providerLocked()
	return pr, p.entry, err
}

func (p *AuthProvider) providerLocked() (auth.Provider, error) {
	if p.closed {
		return nil, fmt.Errorf("%w: the member is stopping", auth.ErrUnavailable)
	}
	if p.proc != nil && !p.proc.Exited() {
		return p.proc.Provider(), nil
	}
	if time.Now().Before(p.nextStart) {
		return nil, fmt.Errorf("%w: plugin %q is restarting", auth.ErrUnavailable, p.entry.Name)
	}
	p.lg.Warn("the auth provider plugin exited; starting it again")
	if p.proc != nil {
		exited := errors.New("the plugin process exited")
		p.audit(EventExit, p.entry, exited)
		recordDown(p.entry, exited)
		p.proc = nil
	}
	err := p.launchLocked()
	p.audit(EventRestart, p.entry, err)
	if err != nil {
		p.lg.Error("restarting the auth provider plugin", zap.Error(err))
		return nil, fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
	}
	return p.proc.Provider(), nil
}

func (p *AuthProvider) Info(ctx context.Context) (auth.InfoResponse, error) {
	return bounded(p, ctx, auth.Provider.Info)
}

func (p *AuthProvider) Authenticate(ctx context.Context, req auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	return bounded(p, ctx, func(pr auth.Provider, ctx context.Context) (auth.AuthenticateResponse, error) {
		return pr.Authenticate(ctx, req)
	})
}

func (p *AuthProvider) VerifyToken(ctx context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	return bounded(p, ctx, func(pr auth.Provider, ctx context.Context) (auth.VerifyTokenResponse, error) {
		return pr.VerifyToken(ctx, req)
	})
}

// bounded runs call on the live provider within the entry's CallTimeout,
// as storage and quota plugin calls are. A plugin can answer pings and yet
// never finish a call: one that has not answered by then counts as dead,
// as a dead process does. Its process is ended, the call fails closed
// (auth.ErrUnavailable), and the next call starts the plugin again.
func bounded[T any](p *AuthProvider, ctx context.Context, call func(auth.Provider, context.Context) (T, error)) (T, error) {
	var zero T
	pr, entry, err := p.provider()
	if err != nil {
		return zero, err
	}
	timeout := cmp.Or(entry.CallTimeout, config.DefaultCallTimeout)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := call(pr, cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		p.hung(pr, timeout)
		return zero, fmt.Errorf("%w: auth plugin %s did not answer within %v", auth.ErrUnavailable, entry.Name, timeout)
	}
	return out, err
}

// hung ends the process of pr, which did not answer a call in time,
// unless another has replaced it since.
func (p *AuthProvider) hung(pr auth.Provider, timeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.proc.Provider() != pr {
		return
	}
	err := fmt.Errorf("the plugin did not answer a call within %v", timeout)
	p.lg.Error("the auth provider plugin hangs; ending it", zap.Error(err))
	p.audit(EventExit, p.entry, err)
	recordDown(p.entry, err)
	go p.proc.Kill() // go-plugin waits for a graceful exit first
	p.proc = nil
}

// Close ends the plugin process. A nil *AuthProvider does nothing.
func (p *AuthProvider) Close() {
	if p == nil {
		return
	}
	runningAuthProviders.remove(p)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.proc != nil {
		p.proc.Kill()
	}
}

// ReconfigureAuthProviders points every running auth plugin at entry, if
// it differs from the one it runs; why says what triggered the reload.
func ReconfigureAuthProviders(lg *zap.Logger, why string, entry config.PluginEntry) {
	runningAuthProviders.each(func(p *AuthProvider) {
		if err := p.reconfigure(entry); err != nil {
			lg.Error("config reload: the new auth provider plugin did not start; the running one stays", zap.String("trigger", why),
				zap.String("plugin", entry.Name), zap.Error(err))
		}
	})
}

// reconfigure starts the plugin of entry and, once it runs, ends the
// running one. It does nothing if entry is the running one's.
func (p *AuthProvider) reconfigure(entry config.PluginEntry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || reflect.DeepEqual(entry, p.entry) {
		return nil
	}
	old, oldEntry := p.proc, p.entry
	p.entry = entry
	p.lg = p.base.Named("plugin.auth." + entry.Name)
	if err := p.launchLocked(); err != nil {
		p.audit(EventStart, entry, err)
		p.proc, p.entry, p.lg = old, oldEntry, p.base.Named("plugin.auth."+oldEntry.Name)
		return err
	}
	p.audit(EventStart, entry, nil)
	p.lg.Info("config reloaded: auth provider plugin replaced", zap.String("from", oldEntry.Name), zap.String("from-path", oldEntry.Path))
	if old != nil {
		old.Kill()
	}
	return nil
}
