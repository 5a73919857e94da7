package metrics

import "github.com/prometheus/client_golang/prometheus"

// featureGateStages are the stages etcd 3.7 gives its server feature
// gates, AllAlpha and AllBeta (which turn on every alpha or beta gate)
// included, as etcd_server_feature_enabled labels them.
var featureGateStages = map[string]string{
	"AllAlpha": "ALPHA", "AllBeta": "BETA",
	"StopGRPCServiceOnDefrag": "ALPHA", "InitialCorruptCheck": "ALPHA", "CompactHashCheck": "ALPHA",
	"TxnModeWriteWithSharedBuffer": "BETA", "LeaseCheckpoint": "ALPHA", "LeaseCheckpointPersist": "ALPHA",
	"SetMemberLocalAddr": "ALPHA", "FastLeaseKeepAlive": "BETA", "PriorityRequest": "ALPHA",
}

// featureGateMetric is etcd_server_feature_enabled: one series per etcd
// feature gate, 1 when enabled says the gate is on.
func featureGateMetric(enabled func(name string) bool) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "etcd_server_feature_enabled",
		Help: "Whether or not a feature is enabled. 1 is enabled, 0 is not.",
	}, []string{"name", "stage"})
	for name, stage := range featureGateStages {
		v := 0.0
		if enabled(name) {
			v = 1
		}
		g.WithLabelValues(name, stage).Set(v)
	}
	return g
}
