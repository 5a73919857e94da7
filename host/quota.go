package host

import (
	"github.com/metastore/metastore/host/plugin"
)

// startQuota installs the member's quota policy: the built-in one and, in
// front of it, the plugin --quota-policy names, if any (see
// plugin.QuotaPolicy). A plugin that cannot start, or refuses its
// configuration, fails the member's start: the configuration is wrong.
func (m *Member) startQuota() error {
	builtin := m.cfg.quotaPolicy()
	usage := newPrefixUsage(m.lg.Named("quota"), m.store)
	var p *plugin.QuotaPolicy
	var err error
	if entry := m.cfg.quotaPlugin(); entry != nil {
		p, err = plugin.StartQuotaPolicy(m.lg, *entry, builtin, usage, m.audit.plugin)
	}
	if err != nil || p == nil {
		usage.Close()
		m.api.SetQuota(builtin, nil)
		return err
	}
	m.quotaPlugin = p
	m.api.SetQuota(p, builtin)
	m.api.SetQuotaUsage(usage)
	return nil
}
