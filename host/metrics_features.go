package host

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
// feature gate, 1 when the gate is on. MetaStore implements the two
// corruption checks; every other gate stays at etcd's default (AllAlpha
// and AllBeta off).
func featureGateMetric(c CorruptionConfig) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "etcd_server_feature_enabled",
		Help: "Whether or not a feature is enabled. 1 is enabled, 0 is not.",
	}, []string{"name", "stage"})
	enabled := map[string]bool{"InitialCorruptCheck": c.initialCheck, "CompactHashCheck": c.compactHashCheck}
	for name, stage := range featureGateStages {
		on, set := enabled[name]
		if !set {
			on = etcdFeatureGates[name]
		}
		v := 0.0
		if on {
			v = 1
		}
		g.WithLabelValues(name, stage).Set(v)
	}
	return g
}
