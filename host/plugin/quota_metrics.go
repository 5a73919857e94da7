package plugin

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"
)

// quotaCollector serves, in its member's registry, the state of the
// member's quota policy plugin, read when scraped:
//
//   - metastore_quota_fallback{name}: 1 while the plugin is down and the
//     built-in check alone decides, 0 while the plugin decides.
//   - metastore_quota_prefix_keys{prefix} and
//     metastore_quota_prefix_bytes{prefix}: the live keys under each
//     prefix the plugin declared, and their bytes, as the member counts
//     them from its applied state (the usage its checks hand the plugin).
//   - metastore_quota_prefix_max_keys{prefix} and
//     metastore_quota_prefix_max_bytes{prefix}: a prefix's limits, when
//     the plugin's config lists them as the prefix-quota policy's does;
//     a limit that is not set is not served.
type quotaCollector struct {
	p    *QuotaPolicy
	name string

	fallback, keys, bytes, maxKeys, maxBytes *prometheus.Desc
}

// Collector returns the metrics of p's state, for its member's registry.
func (p *QuotaPolicy) Collector() prometheus.Collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("metastore", "quota", name), help, labels, nil)
	}
	p.mu.Lock()
	name := p.entry.Name
	p.mu.Unlock()
	return &quotaCollector{
		p: p, name: name,
		fallback: desc("fallback", "1 while the quota policy plugin is down and the built-in quota check alone decides, 0 while the plugin decides.", "name"),
		keys:     desc("prefix_keys", "The live keys under a prefix the quota policy plugin declared.", "prefix"),
		bytes:    desc("prefix_bytes", "The bytes (keys and values) of the live keys under a prefix the quota policy plugin declared.", "prefix"),
		maxKeys:  desc("prefix_max_keys", "The most live keys the quota policy plugin allows under a prefix.", "prefix"),
		maxBytes: desc("prefix_max_bytes", "The most bytes the quota policy plugin allows under a prefix.", "prefix"),
	}
}

// Describe implements prometheus.Collector.
func (c *quotaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.fallback, c.keys, c.bytes, c.maxKeys, c.maxBytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It takes no lock the
// supervisor holds while it starts a process, so a slow restart never
// holds up a scrape.
func (c *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), label)
	}
	down := int64(0)
	if c.p.current() == nil {
		down = 1
	}
	gauge(c.fallback, down, c.name)
	for _, u := range c.p.usage.Counts() {
		gauge(c.keys, u.Keys, string(u.Prefix))
		gauge(c.bytes, u.Bytes, string(u.Prefix))
	}
	if limits := c.p.limits.Load(); limits != nil {
		for _, l := range *limits {
			if l.MaxKeys > 0 {
				gauge(c.maxKeys, l.MaxKeys, l.Prefix)
			}
			if l.MaxBytes > 0 {
				gauge(c.maxBytes, l.MaxBytes, l.Prefix)
			}
		}
	}
}

// prefixLimit is one entry of a quota plugin config in the shape of the
// prefix-quota policy's (plugins/quota/prefix.Limit):
//
//	prefixes:
//	  - prefix: /tenant-a/
//	    max-keys: 1000
//	    max-bytes: 1048576
type prefixLimit struct {
	Prefix   string `json:"prefix"`
	MaxKeys  int64  `json:"max-keys"`
	MaxBytes int64  `json:"max-bytes"`
}

// prefixLimits returns the limits a quota plugin config lists in the
// prefix-quota shape, or nil when it lists none or is of another shape.
func prefixLimits(settings map[string]any) []prefixLimit {
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil
	}
	var cfg struct {
		Prefixes []prefixLimit `json:"prefixes"`
	}
	if json.Unmarshal(raw, &cfg) != nil {
		return nil
	}
	return cfg.Prefixes
}
