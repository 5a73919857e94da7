// Package mixin holds no code: its directory is MetaStore's Prometheus
// alerting and recording rules (alerts.yaml, rules.yaml), their promtool
// unit tests (tests/) and a Grafana dashboard (dashboards/), as plain
// files; see README.md. Its Go tests check them with promtool, check that
// every metric they name is one a member serves, and run a real
// Prometheus against a real cluster to see the alerts fire.
package mixin
