package metrics

import "github.com/prometheus/client_golang/prometheus"

// Health are etcd's health check counters.
type Health struct {
	success, failures prometheus.Counter
	check             *prometheus.GaugeVec
	checks            *prometheus.CounterVec
}

func newHealth() *Health {
	return &Health{
		success: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "etcd", Subsystem: "server",
			Name: "health_success", Help: "The total number of successful health checks"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "etcd", Subsystem: "server",
			Name: "health_failures", Help: "The total number of failed health checks"}),
		check: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "etcd", Subsystem: "server",
			Name: "healthcheck", Help: "The result of each kind of healthcheck."}, []string{"type", "name"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "etcd", Subsystem: "server",
			Name: "healthchecks_total", Help: "The total number of each kind of healthcheck."}, []string{"type", "name", "status"}),
	}
}

func (hm *Health) register(reg prometheus.Registerer) {
	reg.MustRegister(hm.success, hm.failures, hm.check, hm.checks)
}

// RecordHealth counts a health check of the member that passed (ok) or
// failed.
func (hm *Health) RecordHealth(ok bool) {
	if ok {
		hm.success.Inc()
	} else {
		hm.failures.Inc()
	}
}

// RecordCheck records the result of one check of the given kind and
// name.
func (hm *Health) RecordCheck(kind, name string, ok bool) {
	val, status := 0.0, "error"
	if ok {
		val, status = 1, "success"
	}
	hm.check.WithLabelValues(kind, name).Set(val)
	hm.checks.WithLabelValues(kind, name, status).Inc()
}
