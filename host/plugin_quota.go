package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// Quota policy plugins (--quota-policy): a catalog entry of kind quota
// whose policy decides, after the built-in backend-bytes check, whether a
// write is admitted. The built-in policy keeps deciding NOSPACE; the
// plugin adds its own limits (per-prefix quotas, say). While the plugin
// cannot answer, the built-in check alone decides.

// pluginKindQuota is the catalog kind of quota policy plugins.
const pluginKindQuota = "quota"

// Restart backoff of a dead quota plugin: it doubles from the first to the
// last after every failed start.
const (
	quotaRestartBackoff    = time.Second
	quotaRestartBackoffMax = 30 * time.Second
)

// finishQuotaPolicy checks that --quota-policy names the built-in policy
// or a quota plugin of the catalog.
func (c *Config) finishQuotaPolicy() error {
	for _, e := range c.Plugins {
		if e.Kind == pluginKindQuota && e.Name == backendbytes.Name {
			return fmt.Errorf("plugins: %q is the name of the built-in quota policy; give the quota plugin another name", e.Name)
		}
	}
	if c.QuotaPolicy == "" || c.QuotaPolicy == backendbytes.Name {
		return nil
	}
	if c.quotaPlugin() == nil {
		return fmt.Errorf("--quota-policy: no plugin of kind quota named %q in the config file's catalog (built in: %s)",
			c.QuotaPolicy, backendbytes.Name)
	}
	return nil
}

func (c *Config) quotaPlugin() *PluginConfig {
	for i := range c.Plugins {
		if c.Plugins[i].Kind == pluginKindQuota && c.Plugins[i].Name == c.QuotaPolicy {
			return &c.Plugins[i]
		}
	}
	return nil
}

// startQuota installs the member's quota policy: the built-in one and, in
// front of it, the plugin --quota-policy names, if any.
func (m *Member) startQuota() error {
	builtin := m.cfg.quotaPolicy()
	usage := newPrefixUsage(m.lg.Named("quota"), m.store)
	p, err := startQuotaPlugin(m.lg, m.cfg, builtin, usage)
	if err != nil || p == nil {
		usage.close()
		m.api.SetQuota(builtin, nil)
		return err
	}
	m.quotaPlugin = p
	m.api.SetQuota(p, builtin)
	m.api.SetQuotaUsage(usage)
	return nil
}

// quotaPlugin is a supervised quota policy plugin process. It implements
// quota.Policy for the member's quota gate: the built-in check first, then
// the plugin's. A supervisor pings the process every PingInterval; when it
// exited or does not answer, the plugin is down: checks get the built-in
// decision alone, and the supervisor starts it again with backoff,
// configures it and hands checks back to it.
type quotaPlugin struct {
	base    *zap.Logger // the member's
	lg      *zap.Logger
	builtin quota.Policy // nil when the backend quota is off
	usage   *prefixUsage
	audit   *auditLog

	mu      sync.Mutex
	entry   PluginConfig // its Config is the last one the plugin took
	pending map[string]any
	// live is the plugin process while it is up, nil while it is down;
	// checks read it without the lock, so that a slow restart or
	// reconfiguration never holds up a write.
	live atomic.Pointer[quota.PluginProcess]
	// prefixesOnly is set when the live plugin declared
	// quota.CapabilityPrefixesOnly.
	prefixesOnly atomic.Bool
	prefixes     [][]byte
	backoff      time.Duration
	nextStart    time.Time

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ quota.Policy = (*quotaPlugin)(nil)

// startQuotaPlugin starts the plugin --quota-policy names, configures it
// and starts counting the prefixes it declares; nil when the built-in
// policy is the only one. A plugin that cannot start, or refuses its
// configuration, fails the member's start: the configuration is wrong.
func startQuotaPlugin(lg *zap.Logger, cfg Config, builtin quota.Policy, usage *prefixUsage) (*quotaPlugin, error) {
	entry := cfg.quotaPlugin()
	if entry == nil {
		return nil, nil
	}
	p := &quotaPlugin{
		base: lg, lg: lg.Named("plugin.quota." + entry.Name), builtin: builtin, usage: usage,
		entry: *entry, backoff: quotaRestartBackoff, stop: make(chan struct{}), audit: cfg.audit,
	}
	p.mu.Lock()
	err := p.launchLocked()
	p.mu.Unlock()
	p.audit.plugin(auditPluginStart, p.entry, err)
	if err != nil {
		return nil, err
	}
	runningQuotaPlugins.add(p)
	p.wg.Add(1)
	go p.supervise()
	return p, nil
}

// launchLocked starts the process, gives it its configuration (the
// pending one if any, else the last taken) and counts what it declares.
func (p *quotaPlugin) launchLocked() error {
	cfg, _, err := pluginClientConfig(p.base, p.entry)
	if err != nil {
		return err
	}
	var proc *quota.PluginProcess
	spawner().do(func() { proc, err = quota.Launch(cfg) })
	if err != nil {
		return fmt.Errorf("quota plugin %q: %w", p.entry.Name, err)
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
func (p *quotaPlugin) configureLocked(proc *quota.PluginProcess) error {
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
func configure(pol quota.Policy, config map[string]any) (quota.ConfigureResponse, error) {
	c, ok := pol.(quota.Configurer)
	if !ok {
		return quota.ConfigureResponse{}, nil
	}
	raw, err := json.Marshal(config)
	if err != nil {
		return quota.ConfigureResponse{}, fmt.Errorf("%w: %v", quota.ErrInvalidConfig, err)
	}
	if config == nil {
		raw = []byte("{}")
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultPingTimeout)
	defer cancel()
	resp, err := c.Configure(ctx, quota.ConfigureRequest{Config: raw})
	if errors.Is(err, quota.ErrNotSupported) {
		return quota.ConfigureResponse{}, nil
	}
	return resp, err
}

// declaredLocked counts the prefixes the plugin declared, when they
// changed.
func (p *quotaPlugin) declaredLocked(prefixes [][]byte) error {
	if reflect.DeepEqual(prefixes, p.prefixes) {
		return nil
	}
	if err := p.usage.track(prefixes); err != nil {
		return err
	}
	p.prefixes = prefixes
	p.lg.Info("counting the usage of the quota prefixes", zap.ByteStrings("prefixes", prefixes))
	return nil
}

// supervise pings the plugin, marks it down when it stops answering, and
// starts it again with backoff.
func (p *quotaPlugin) supervise() {
	defer p.wg.Done()
	tick := time.NewTicker(p.entry.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		if proc := p.live.Load(); proc != nil {
			if err := p.ping(proc); err != nil {
				p.down(proc, err)
			}
			continue
		}
		p.restart()
	}
}

func (p *quotaPlugin) ping(proc *quota.PluginProcess) error {
	if proc.Exited() {
		return errors.New("plugin process exited")
	}
	return pingWithin(proc.Ping, p.entry.PingTimeout)
}

// down hands checks to the built-in policy and kills proc, unless a newer
// process replaced it already.
func (p *quotaPlugin) down(proc *quota.PluginProcess, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live.CompareAndSwap(proc, nil) {
		return
	}
	p.nextStart = time.Now().Add(p.backoff)
	p.lg.Warn("the quota policy plugin is down; the built-in "+backendbytes.Name+" check alone decides until it answers again",
		zap.Error(cause), zap.Int("pid", proc.Pid()), zap.Duration("restart-in", p.backoff))
	p.audit.plugin(auditPluginExit, p.entry, cause)
	p.audit.plugin(auditPluginFallback, p.entry, nil)
	go proc.Kill()
}

// restart starts the plugin again once its backoff has passed.
func (p *quotaPlugin) restart() {
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
	p.audit.plugin(auditPluginRestart, p.entry, err)
	if err != nil {
		p.backoff = min(2*p.backoff, quotaRestartBackoffMax)
		p.nextStart = time.Now().Add(p.backoff)
		p.lg.Error("restarting the quota policy plugin", zap.Error(err), zap.Duration("next-attempt-in", p.backoff))
		return
	}
	p.backoff = quotaRestartBackoff
	p.lg.Info("the quota policy plugin answers again; it decides again", zap.Int("pid", p.live.Load().Pid()))
}

// current returns the live plugin process, or nil while it is down.
func (p *quotaPlugin) current() *quota.PluginProcess { return p.live.Load() }

// Info describes the plugin's policy, or the built-in one while it is
// down.
func (p *quotaPlugin) Info(ctx context.Context) (quota.InfoResponse, error) {
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
func (p *quotaPlugin) Check(ctx context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
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
	presp, err := proc.Policy().Check(ctx, req)
	if errors.Is(err, quota.ErrUnavailable) && ctx.Err() == nil {
		p.down(proc, err)
	}
	return presp, err
}

// reconfigure gives the plugin the config of entry: at once when it runs,
// otherwise when it starts again.
func (p *quotaPlugin) reconfigure(entry PluginConfig) {
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

// close stops supervising and ends the plugin process.
func (p *quotaPlugin) close() {
	if p == nil {
		return
	}
	runningQuotaPlugins.remove(p)
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if proc := p.live.Swap(nil); proc != nil {
		proc.Kill()
	}
	p.usage.close()
}
