package mixin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The mixin's files, relative to this directory.
const (
	alertsFile    = "alerts.yaml"
	rulesFile     = "rules.yaml"
	dashboardFile = "dashboards/metastore.json"
)

// ruleFile is a Prometheus rule file, as far as the tests read it.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record string `yaml:"record"`
	Alert  string `yaml:"alert"`
	Expr   string `yaml:"expr"`
	For    string `yaml:"for"`
}

func readRules(t *testing.T, path string) []rule {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var f ruleFile
	require.NoError(t, yaml.Unmarshal(data, &f), path)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	require.NotEmpty(t, out, "%s has no rules", path)
	return out
}

// dashboardQueries returns every PromQL expression of the dashboard: the
// panels' targets (rows' panels included) and its template variables'
// label_values queries, whose metric it rewrites as a plain selector.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var dash struct {
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(data, &dash), path)
	var out []string
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, tgt := range p.Targets {
				require.NotEmpty(t, tgt.Expr, "panel %q has a target without expr", p.Title)
				out = append(out, tgt.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			require.NoError(t, json.Unmarshal(v.Query, &q.Query), "template variable query")
		}
		if m := labelValuesMetric.FindStringSubmatch(q.Query); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// labelValuesMetric finds the metric of Grafana's label_values(metric, label).
var labelValuesMetric = regexp.MustCompile(`^\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,`)

// metricNames returns the metric names a PromQL expression selects, sorted
// and once each.
//
// It strips, in order, what is not a metric name: string literals (label
// values, Grafana's "$cluster"), label matchers {…}, ranges and
// subqueries […] (with Grafana's $__rate_interval), the grouping clauses
// by/without/on/ignoring/group_left/group_right (…) with their label
// lists, offsets and numbers. Of the identifiers left, one followed by "("
// is a function or an aggregation, and the PromQL keywords are operators;
// the rest are metric names.
//
// A scan this narrow, rather than Prometheus' own parser
// (github.com/prometheus/prometheus/promql/parser), keeps the whole
// Prometheus server module and its dependencies out of MetaStore's
// go.mod for one test, and promtool has no command that lists an
// expression's metrics. TestMetricNames holds the scan to the forms the
// mixin uses; promtool check rules (TestPromtoolCheckRules) has already
// parsed every rule expression, so the scan never sees an invalid one.
func metricNames(expr string) []string {
	s := expr
	for _, re := range exprNoise {
		s = re.ReplaceAllString(s, " ")
	}
	var out []string
	for _, m := range identifier.FindAllStringSubmatch(s, -1) {
		name, call := m[1], m[2] != ""
		if call || promqlKeywords[strings.ToLower(name)] || slices.Contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

var (
	exprNoise = []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`"),
		regexp.MustCompile(`\{[^{}]*\}`),
		regexp.MustCompile(`\[[^\[\]]*\]`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`),
		regexp.MustCompile(`\boffset\s+-?[0-9a-zA-Z_$]+`),
		regexp.MustCompile(`(?i)\b(?:0x[0-9a-f]+|[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)\b`),
	}
	identifier     = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?`)
	promqlKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true,
	}
)

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{"selector", `etcd_server_has_leader{job=~".*(etcd|metastore).*"} == 0`, []string{"etcd_server_has_leader"}},
		{"bare name", `up`, []string{"up"}},
		{"aggregation with labels before and after",
			`sum without (instance) (up{job="a"} == bool 0) or count by (To) (rate(x_total[2m])) > 0.01`,
			[]string{"up", "x_total"}},
		{"histogram quantile, Grafana interval",
			`histogram_quantile(0.99, sum by (job, le) (rate(a_seconds_bucket{job="$cluster"}[$__rate_interval])))`,
			[]string{"a_seconds_bucket"}},
		{"subquery, absent, scientific numbers",
			`increase((max without (instance) (c_total) or 0 * absent(c_total))[15m:1m]) >= 4e0`,
			[]string{"c_total"}},
		{"label_replace strings, recorded names",
			`label_replace(a:b:ratio / m_max{x="{y}"}, "limit", "keys", "", "") or on (a) group_left (b) m2 offset 5m`,
			[]string{"a:b:ratio", "m2", "m_max"}},
		{"arithmetic", `predict_linear(db_bytes[4h], 4 * 60 * 60) > quota_bytes`, []string{"db_bytes", "quota_bytes"}},
		{"no metric", `vector(1) + time()`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, metricNames(tt.expr))
		})
	}
}

// mixinMetrics returns the metric names the mixin's rules and dashboard
// select, each with where it is named, leaving out the names the
// recording rules define.
func mixinMetrics(t *testing.T) map[string][]string {
	t.Helper()
	recorded := map[string]bool{}
	named := map[string][]string{}
	add := func(where, expr string) {
		names := metricNames(expr)
		require.NotEmpty(t, names, "%s: no metric found in %q", where, expr)
		for _, n := range names {
			named[n] = append(named[n], where)
		}
	}
	for _, file := range []string{rulesFile, alertsFile} {
		for _, r := range readRules(t, file) {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			add(filepath.Base(file)+": "+r.Record+r.Alert, r.Expr)
		}
	}
	for _, q := range dashboardQueries(t, dashboardFile) {
		add(filepath.Base(dashboardFile), q)
	}
	for n := range recorded {
		require.Contains(t, named, n, "the recording rule %s is used by no alert or panel", n)
		delete(named, n)
	}
	return named
}

// unitTestedAlerts returns the alert names a promtool unit test file
// expects to fire somewhere (an alert_rule_test with exp_alerts).
func unitTestedAlerts(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	require.NoError(t, yaml.Unmarshal(data, &f), path)
	var out []string
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				out = append(out, a.Alertname)
			}
		}
	}
	return out
}
