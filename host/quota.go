package host

import (
	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/host/plugin"
)

// startQuota chooses the member's quota policy: the built-in one and, in
// front of it, the plugin --quota-policy names, if any, which it starts.
// It fills d's quota settings.
func (m *Member) startQuota(d *etcdapi.Deps) error {
	builtin := m.cfg.quotaPolicy()
	usage := newPrefixUsage(m.lg.Named("quota"), m.store)
	var p *plugin.QuotaPolicy
	var err error
	if entry := m.cfg.quotaPlugin(); entry != nil {
		p, err = plugin.StartQuotaPolicy(m.lg, *entry, builtin, usage, m.audit.plugin)
	}
	if err != nil || p == nil {
		usage.Close()
		d.Quota = builtin
		return err
	}
	m.quotaPlugin = p
	d.Quota, d.QuotaFallback, d.QuotaUsage = p, builtin, usage
	return nil
}
