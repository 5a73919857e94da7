package host

import (
	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/plugin"
	"github.com/metastore/metastore/host/quotausage"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// The usage of the prefixes a quota plugin declares is counted for the
// admission of writes and tracked as the plugin's configuration says.
var (
	_ etcdapi.QuotaUsage = (*quotausage.Usage)(nil)
	_ plugin.PrefixUsage = (*quotausage.Usage)(nil)
)

// startQuota chooses the member's quota policy: the built-in one and, in
// front of it, the plugin --quota-policy names, if any, which it starts.
// It fills d's quota settings.
func (m *Member) startQuota(d *etcdapi.Deps) error {
	builtin := builtinQuotaPolicy(&m.cfg)
	usage := quotausage.New(m.lg.Named("quota"), m.store)
	var p *plugin.QuotaPolicy
	var err error
	if entry := m.cfg.QuotaPlugin(); entry != nil {
		p, err = plugin.StartQuotaPolicy(m.lg, *entry, builtin, usage, m.audit.Plugin)
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

// builtinQuotaPolicy is the built-in backend-bytes policy for c's quota,
// or nil when a negative --quota-backend-bytes disables the quota, as in
// etcd.
func builtinQuotaPolicy(c *config.Config) quota.Policy {
	if c.QuotaBackendBytes < 0 {
		return nil
	}
	return backendbytes.New(c.QuotaBytes())
}
