package backendbytes

import (
	"testing"

	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/pluginapi/quota/quotatest"
)

// fixture: a quota of 1000 bytes, the answers etcd's backend quota gives.
func fixture(newPolicy func(t *testing.T) quota.Policy) quotatest.Fixture {
	at := func(size, cost int64) quota.CheckRequest {
		return quota.CheckRequest{Kind: quota.WritePut, Cost: cost, Usage: quota.Usage{BackendBytes: size}}
	}
	return quotatest.Fixture{
		New: newPolicy,
		Cases: []quotatest.Case{
			{Name: "room left", Request: at(500, 100), Admit: true},
			{Name: "free write when full", Request: at(5000, 0), Admit: true},
			{Name: "reaching the quota", Request: at(900, 100), Alarm: quota.AlarmNoSpace},
			{Name: "already over", Request: at(1200, 1), Alarm: quota.AlarmNoSpace},
			{Name: "lease grant", Request: quota.CheckRequest{Kind: quota.WriteLeaseGrant, Cost: 20, Usage: quota.Usage{BackendBytes: 990}}, Alarm: quota.AlarmNoSpace},
		},
	}
}

func TestConformanceInProcess(t *testing.T) {
	quotatest.Run(t, fixture(func(*testing.T) quota.Policy { return New(1000) }))
}

func TestConformanceOverGRPC(t *testing.T) {
	quotatest.Run(t, fixture(func(t *testing.T) quota.Policy { return quotatest.OverGRPC(t, New(1000)) }))
}
