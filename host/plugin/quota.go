package plugin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// QuotaPolicy is a supervised quota policy plugin process. It implements
// quota.Policy for the member's quota gate: the built-in check first, then
// the plugin's, which adds its own limits (per-prefix quotas, say). A
// supervisor pings the process every PingInterval; when it exited or does
// not answer, the plugin is down: checks get the built-in decision alone
// (the quota kind's failure policy, FallBack), and the supervisor starts
// it again with backoff, configures it and hands checks back to it.
//
// Its config (per-prefix limits, say) changes while the member runs (see
// ReconfigureQuotaPolicies).
type QuotaPolicy struct {
	base    *zap.Logger // the member's
	lg      *zap.Logger
	builtin quota.Policy // nil when the backend quota is off
	usage   PrefixUsage
	audit   Audit

	name        string
	callTimeout time.Duration // bounds each Check

	mu      sync.Mutex
	entry   config.PluginEntry // its Config is the last one the plugin took
	pending map[string]any
	// live is the plugin process while it is up, nil while it is down;
	// checks read it without the lock, so that a slow restart or
	// reconfiguration never holds up a write.
	live atomic.Pointer[quota.PluginProcess]
	// prefixesOnly is set when the live plugin declared
	// quota.CapabilityPrefixesOnly.
	prefixesOnly atomic.Bool
	prefixes     [][]byte
	// limits are the per-prefix limits of the config the plugin took, as
	// its metrics serve them (see prefixLimits).
	limits atomic.Pointer[[]prefixLimit]
	// restarts paces the restarts; nextStart is the earliest next one.
	restarts  *backoff.ExponentialBackOff
	nextStart time.Time

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ quota.Policy = (*QuotaPolicy)(nil)

// PrefixUsage counts the keys and bytes under the prefixes a quota
// policy declares, for its checks.
type PrefixUsage interface {
	// Track counts the given prefixes from now on, replacing those
	// counted before; nil stops counting.
	Track(prefixes [][]byte) error
	// Counts returns every prefix counted with its live keys and bytes,
	// for the metrics.
	Counts() []quota.PrefixUsage
	// Close stops counting.
	Close()
}

// runningQuotaPolicies are the quota plugins of the running members of
// this process, which a config reload reconfigures.
var runningQuotaPolicies = newRunning[*QuotaPolicy]()

// StartQuotaPolicy starts the plugin of entry, a quota plugin, configures
// it and starts counting the prefixes it declares in usage, which it
// closes with itself; builtin (nil: none) decides first, and alone while
// the plugin is down; audit (nil: none) records the plugin's starts,
// exits and fallbacks. A plugin that cannot start, or refuses its
// configuration, is an error: the configuration is wrong.
func StartQuotaPolicy(lg *zap.Logger, entry config.PluginEntry, builtin quota.Policy, usage PrefixUsage, audit Audit) (*QuotaPolicy, error) {
	p := &QuotaPolicy{
		base: lg, lg: lg.Named("plugin.quota." + entry.Name), builtin: builtin, usage: usage,
		name: entry.Name, callTimeout: cmp.Or(entry.CallTimeout, config.DefaultCallTimeout),
		entry: entry, restarts: mustPolicyOf(config.KindQuota).NewBackOff(), stop: make(chan struct{}), audit: orNoAudit(audit),
	}
	p.mu.Lock()
	err := p.launchLocked()
	p.mu.Unlock()
	p.audit(EventStart, p.entry, err)
	if err != nil {
		return nil, err
	}
	runningQuotaPolicies.add(p)
	p.wg.Add(1)
	go p.supervise()
	return p, nil
}

// launchLocked starts the process, gives it its configuration (the
// pending one if any, else the last taken) and counts what it declares.
func (p *QuotaPolicy) launchLocked() error {
	proc, _, err := launch(p.base, p.entry, quota.Launch)
	if err != nil {
		return err
	}
	if err := p.configureLocked(proc); err != nil {
		proc.Kill()
		return err
	}
	info, err := proc.Policy().Info(context.Background())
	p.prefixesOnly.Store(slices.Contains(info.Capabilities, quota.CapabilityPrefixesOnly))
	p.live.Store(proc)
	p.lg.Info("started quota policy plugin", zap.String("path", p.entry.Path), zap.Int("pid", proc.Pid()),
		zap.String("policy", info.Name), zap.String("version", info.Version), zap.Error(err))
	return nil
}

// configureLocked configures proc with the pending configuration, or the
// last one taken when there is none or proc refuses it, and counts the
// prefixes proc declares.
func (p *QuotaPolicy) configureLocked(proc *quota.PluginProcess) error {
	if p.pending != nil {
		pending := p.pending
		p.pending = nil
		resp, err := configure(proc.Policy(), pending)
		if err == nil {
			p.entry.Config = pending
			return p.declaredLocked(resp.Prefixes)
		}
		p.lg.Error("the quota plugin refused its new configuration; it keeps the previous one", zap.Error(err))
	}
	resp, err := configure(proc.Policy(), p.entry.Config)
	if err != nil {
		return fmt.Errorf("quota plugin %q: configure: %w", p.entry.Name, err)
	}
	return p.declaredLocked(resp.Prefixes)
}

// configure gives pol the catalog entry's config, as JSON. A policy that
// takes no configuration declares no prefixes.
func configure(pol quota.Policy, settings map[string]any) (quota.ConfigureResponse, error) {
	c, ok := pol.(quota.Configurer)
	if !ok {
		return quota.ConfigureResponse{}, nil
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return quota.ConfigureResponse{}, fmt.Errorf("%w: %v", quota.ErrInvalidConfig, err)
	}
	if settings == nil {
		raw = []byte("{}")
	}
	ctx, cancel := context.WithTimeout(context.Background(), config.DefaultPingTimeout)
	defer cancel()
	resp, err := c.Configure(ctx, quota.ConfigureRequest{Config: raw})
	if errors.Is(err, quota.ErrNotSupported) {
		return quota.ConfigureResponse{}, nil
	}
	return resp, err
}

// declaredLocked counts the prefixes the plugin declared, when they
// changed, and notes the limits of the config it took (p.entry.Config).
func (p *QuotaPolicy) declaredLocked(prefixes [][]byte) error {
	limits := prefixLimits(p.entry.Config)
	p.limits.Store(&limits)
	if reflect.DeepEqual(prefixes, p.prefixes) {
		return nil
	}
	if err := p.usage.Track(prefixes); err != nil {
		return err
	}
	p.prefixes = prefixes
	p.lg.Info("counting the usage of the quota prefixes", zap.ByteStrings("prefixes", prefixes))
	return nil
}

// supervise pings the plugin, marks it down when it stops answering, and
// starts it again with backoff.
func (p *QuotaPolicy) supervise() {
	defer p.wg.Done()
	every(p.entry.PingInterval, p.stop, nil, func() bool {
		if proc := p.live.Load(); proc != nil {
			if err := alive(proc, p.entry.PingTimeout); err != nil {
				p.down(proc, err)
			}
		} else {
			p.restart()
		}
		return true
	})
}

// down hands checks to the built-in policy and kills proc, unless a newer
// process replaced it already.
func (p *QuotaPolicy) down(proc *quota.PluginProcess, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live.CompareAndSwap(proc, nil) {
		return
	}
	wait := p.restarts.NextBackOff()
	p.nextStart = time.Now().Add(wait)
	p.lg.Warn("the quota policy plugin is down; the built-in "+backendbytes.Name+" check alone decides until it answers again",
		zap.Error(cause), zap.Int("pid", proc.Pid()), zap.Duration("restart-in", wait))
	p.audit(EventExit, p.entry, cause)
	recordDown(p.entry, cause)
	p.audit(EventFallback, p.entry, nil)
	go proc.Kill()
}

// restart starts the plugin again once its backoff has passed.
func (p *QuotaPolicy) restart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live.Load() != nil || time.Now().Before(p.nextStart) {
		return
	}
	select {
	case <-p.stop:
		return
	default:
	}
	err := p.launchLocked()
	p.audit(EventRestart, p.entry, err)
	if err != nil {
		wait := p.restarts.NextBackOff()
		p.nextStart = time.Now().Add(wait)
		p.lg.Error("restarting the quota policy plugin", zap.Error(err), zap.Duration("next-attempt-in", wait))
		return
	}
	p.restarts.Reset()
	p.lg.Info("the quota policy plugin answers again; it decides again", zap.Int("pid", p.live.Load().Pid()))
}

// current returns the live plugin process, or nil while it is down.
func (p *QuotaPolicy) current() *quota.PluginProcess { return p.live.Load() }

// Info describes the plugin's policy, or the built-in one while it is
// down.
func (p *QuotaPolicy) Info(ctx context.Context) (quota.InfoResponse, error) {
	if proc := p.current(); proc != nil {
		return proc.Policy().Info(ctx)
	}
	if p.builtin != nil {
		return p.builtin.Info(ctx)
	}
	return quota.InfoResponse{}, fmt.Errorf("%w: plugin %q is down", quota.ErrUnavailable, p.entry.Name)
}

// Check asks the built-in policy, then, if it admits req, the plugin. A
// plugin that is down leaves the built-in decision; one that fails the
// call is marked down and its error returned, so that the gate falls back.
func (p *QuotaPolicy) Check(ctx context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
	resp := quota.CheckResponse{Admit: true}
	if p.builtin != nil {
		var err error
		if resp, err = p.builtin.Check(ctx, req); err != nil || !resp.Admit {
			return resp, err
		}
	}
	proc := p.current()
	if proc == nil || len(req.Prefixes) == 0 && p.prefixesOnly.Load() {
		return resp, nil
	}
	// A plugin that answers pings but not this call must not hold the
	// write: past CallTimeout it counts as down.
	cctx, cancel := context.WithTimeout(ctx, p.callTimeout)
	defer cancel()
	presp, err := proc.Policy().Check(cctx, req)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: quota plugin %s did not answer within %v: %w", quota.ErrUnavailable, p.name, p.callTimeout, err)
	}
	if errors.Is(err, quota.ErrUnavailable) && ctx.Err() == nil {
		p.down(proc, err)
	}
	return presp, err
}

// reconfigure gives the plugin the config of entry: at once when it runs,
// otherwise when it starts again.
func (p *QuotaPolicy) reconfigure(entry config.PluginEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reflect.DeepEqual(entry.Config, p.entry.Config) && p.pending == nil {
		return
	}
	proc := p.live.Load()
	if proc == nil {
		p.pending = entry.Config
		p.lg.Info("config reloaded: the quota plugin takes its new configuration when it starts again")
		return
	}
	resp, err := configure(proc.Policy(), entry.Config)
	if err != nil {
		p.lg.Error("config reloaded: the quota plugin refused its new configuration; it keeps the previous one", zap.Error(err))
		return
	}
	p.entry.Config = entry.Config
	if err := p.declaredLocked(resp.Prefixes); err != nil {
		p.lg.Error("config reloaded: counting the new quota prefixes", zap.Error(err))
		return
	}
	p.lg.Info("config reloaded: the quota plugin took its new configuration", zap.ByteStrings("prefixes", resp.Prefixes))
}

// Close stops supervising, ends the plugin process and closes its usage
// counter. A nil *QuotaPolicy does nothing.
func (p *QuotaPolicy) Close() {
	if p == nil {
		return
	}
	runningQuotaPolicies.remove(p)
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if proc := p.live.Swap(nil); proc != nil {
		proc.Kill()
	}
	p.usage.Close()
}

// ReconfigureQuotaPolicies gives every running quota plugin the config
// its entry of catalog has; why says what triggered the reload.
func ReconfigureQuotaPolicies(lg *zap.Logger, why string, catalog []config.PluginEntry) {
	runningQuotaPolicies.each(func(p *QuotaPolicy) {
		for _, e := range catalog {
			if e.Kind == config.KindQuota && e.Name == p.entry.Name {
				lg.Info("config reloaded: quota plugin config", zap.String("trigger", why), zap.String("plugin", e.Name))
				p.reconfigure(e)
			}
		}
	})
}
